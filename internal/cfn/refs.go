package cfn

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// Substitute is Fn::Sub's text substitution: each ${Name} of format
// becomes value(Name), and each ${!Text} the literal ${Text}. It returns
// the first error value returns.
func Substitute(format string, value func(name string) (string, error)) (string, error) {
	var err error
	out := subVar.ReplaceAllStringFunc(format, func(m string) string {
		name := m[2 : len(m)-1]
		if lit, ok := strings.CutPrefix(name, "!"); ok {
			return "${" + lit + "}"
		}
		v, verr := value(name)
		if verr != nil && err == nil {
			err = verr
		}
		return v
	})
	return out, err
}

// subArgs splits Fn::Sub's argument, a format string or [format,
// variables].
func subArgs(arg *yaml.Node) (format string, vars *yaml.Node, err error) {
	if arg.Kind == yaml.SequenceNode {
		if len(arg.Content) != 2 {
			return "", nil, errors.New("Fn::Sub takes a string or [string, variables]")
		}
		return arg.Content[0].Value, arg.Content[1], nil
	}
	return arg.Value, nil, nil
}

// SubNames lists the ${Name}s of a format string, in order, leaving out
// the ${!Literal}s.
func SubNames(format string) []string {
	var names []string
	Substitute(format, func(name string) (string, error) {
		names = append(names, name)
		return "", nil
	})
	return names
}

// SubRefs lists the names Fn::Sub's argument refers to in its format
// string: a parameter, a pseudo parameter or a resource (Resource for
// ${Resource.Attr}), leaving out its own variables.
func SubRefs(arg *yaml.Node) []string {
	format, vars, _ := subArgs(arg)
	var names []string
	for _, name := range SubNames(format) {
		if Get(vars, name) == nil {
			res, _, _ := strings.Cut(name, ".")
			names = append(names, res)
		}
	}
	return names
}

// GetAtt splits Fn::GetAtt's argument, Resource.Attr or [Resource, Attr];
// "" for nothing.
func GetAtt(arg *yaml.Node) (res, attr string) {
	if arg == nil {
		return "", ""
	}
	if arg.Kind == yaml.SequenceNode {
		if len(arg.Content) > 0 {
			res = arg.Content[0].Value
		}
		if len(arg.Content) > 1 {
			attr = arg.Content[1].Value
		}
		return res, attr
	}
	res, attr, _ = strings.Cut(arg.Value, ".")
	return res, attr
}

// Refs reports each name n refers to through Ref, GetAtt and Sub, on both
// branches of an If: parameters, pseudo parameters and resources.
func Refs(n *yaml.Node, ref func(name string)) {
	refs(n, ref, nil)
}

// Refs reports the names n refers to on the branches of its Ifs that this
// stack takes: those CloudFormation resolves.
func (s *Stack) Refs(n *yaml.Node, ref func(name string)) error {
	return refs(n, ref, s.Condition)
}

// refs walks n for Refs, with holds on the If branches it chooses.
func refs(n *yaml.Node, ref func(string), holds func(cond string) (bool, error)) error {
	if n == nil {
		return nil
	}
	fn, arg := Intrinsic(n)
	next := n.Content
	if fn != "" {
		next = arg.Content
	}
	switch fn {
	case "Ref":
		ref(arg.Value)
	case "GetAtt":
		res, _ := GetAtt(arg)
		ref(res)
	case "Sub":
		for _, name := range SubRefs(arg) {
			ref(name)
		}
		_, vars, _ := subArgs(arg)
		next = []*yaml.Node{vars}
	case "If":
		if holds != nil && len(next) == 3 {
			ok, err := holds(next[0].Value)
			if err != nil {
				return fmt.Errorf("Fn::If %s: %w", next[0].Value, err)
			}
			// Only the branch the condition picks: [cond, then, else].
			if ok {
				next = next[1:2]
			} else {
				next = next[2:3]
			}
		}
	}
	for _, c := range next {
		if err := refs(c, ref, holds); err != nil {
			return err
		}
	}
	return nil
}
