package cfn

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ErrDeployed is a value only a deployed stack knows: a resource's Ref or
// attribute, an import.
var ErrDeployed = errors.New("known only to a deployed stack")

// Stack evaluates a template's values for one set of parameter values:
// Ref, Sub, GetAtt, If and the condition functions (Equals, Not, And, Or,
// Condition), Join, Select and Split, and the pseudo parameters.
type Stack struct {
	Template *Template
	// Params are parameter values over the template's defaults.
	Params map[string]string
	// The pseudo parameters: us-east-1, 123456789012, clipmill and aws
	// when "".
	Region, Account, StackName, Partition string
	// Placeholders has a Ref to a resource evaluate to "<Resource>" and its
	// attributes to "<Resource.Attr>", so that tests can read the ARNs a
	// stack would get. Without it they are ErrDeployed.
	Placeholders bool
}

// Pseudo is a pseudo parameter's value ("AWS::Region", ...), or "".
func (s *Stack) Pseudo(name string) string {
	switch name {
	case "AWS::Region":
		return cmp.Or(s.Region, "us-east-1")
	case "AWS::AccountId":
		return cmp.Or(s.Account, "123456789012")
	case "AWS::StackName":
		return cmp.Or(s.StackName, "clipmill")
	case "AWS::Partition":
		return cmp.Or(s.Partition, "aws")
	case "AWS::URLSuffix":
		return "amazonaws.com"
	}
	return ""
}

// Eval evaluates a node: a string, a []any, a map[string]any, a bool for a
// condition, or nil for AWS::NoValue (which lists and maps leave out).
func (s *Stack) Eval(n *yaml.Node) (any, error) {
	if n == nil {
		return nil, errors.New("nothing to evaluate")
	}
	fn, arg := Intrinsic(n)
	switch fn {
	case "":
		return s.literal(n)
	case "Ref":
		return s.Ref(arg.Value)
	case "Sub":
		return s.sub(arg)
	case "GetAtt":
		res, attr := GetAtt(arg)
		return s.getAtt(res, attr)
	case "If":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
			return nil, errors.New("Fn::If takes [condition, then, else]")
		}
		c, err := s.Condition(arg.Content[0].Value)
		if err != nil {
			return nil, err
		}
		if c {
			return s.Eval(arg.Content[1])
		}
		return s.Eval(arg.Content[2])
	case "Equals", "Not", "And", "Or", "Condition":
		return s.cond(fn, arg)
	case "Join":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			return nil, errors.New("Fn::Join takes [delimiter, list]")
		}
		list, err := s.strings(arg.Content[1])
		if err != nil {
			return nil, fmt.Errorf("Fn::Join: %w", err)
		}
		return strings.Join(list, arg.Content[0].Value), nil
	case "Split":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 || arg.Content[0].Kind != yaml.ScalarNode || shortTag(arg.Content[0]) != "" {
			return nil, errors.New("Fn::Split takes [literal delimiter, string]")
		}
		str, err := s.EvalString(arg.Content[1])
		if err != nil {
			return nil, fmt.Errorf("Fn::Split: %w", err)
		}
		var out []any
		for _, p := range strings.Split(str, arg.Content[0].Value) {
			out = append(out, p)
		}
		return out, nil
	case "Select":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			return nil, errors.New("Fn::Select takes [index, list]")
		}
		i, err := strconv.Atoi(arg.Content[0].Value)
		if err != nil {
			return nil, fmt.Errorf("Fn::Select: index %q", arg.Content[0].Value)
		}
		list, err := evalAs[[]any](s, arg.Content[1])
		if err != nil {
			return nil, err
		}
		if i < 0 || i >= len(list) {
			return nil, fmt.Errorf("Fn::Select %d of %v", i, list)
		}
		return list[i], nil
	case "ImportValue", "GetAZs":
		return nil, fmt.Errorf("Fn::%s: %w", fn, ErrDeployed)
	}
	return nil, fmt.Errorf("Fn::%s is not supported", fn)
}

// literal evaluates a node that is no function call.
func (s *Stack) literal(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value, nil
	case yaml.SequenceNode:
		out := []any{}
		for _, c := range n.Content {
			v, err := s.Eval(c)
			if err != nil {
				return nil, err
			}
			if v != nil {
				out = append(out, v)
			}
		}
		return out, nil
	case yaml.MappingNode:
		out := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := s.Eval(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			if v != nil {
				out[n.Content[i].Value] = v
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot evaluate a YAML node of kind %v", n.Kind)
}

// EvalString evaluates a node that must be a string.
func (s *Stack) EvalString(n *yaml.Node) (string, error) { return evalAs[string](s, n) }

// EvalBool evaluates a condition: Equals, Not, And, Or or Condition.
func (s *Stack) EvalBool(n *yaml.Node) (bool, error) { return evalAs[bool](s, n) }

func evalAs[T any](s *Stack, n *yaml.Node) (T, error) {
	var t T
	v, err := s.Eval(n)
	if err != nil {
		return t, err
	}
	t, ok := v.(T)
	if !ok {
		return t, fmt.Errorf("%v is not a %T", v, t)
	}
	return t, nil
}

func (s *Stack) strings(n *yaml.Node) ([]string, error) {
	items, err := evalAs[[]any](s, n)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(items))
	for i, it := range items {
		var ok bool
		if out[i], ok = it.(string); !ok {
			return nil, fmt.Errorf("%v is not a string", it)
		}
	}
	return out, nil
}

// Ref is a parameter's value, a pseudo parameter's or a resource's; nil
// for AWS::NoValue.
func (s *Stack) Ref(name string) (any, error) {
	if name == "AWS::NoValue" {
		return nil, nil
	}
	if v := s.Pseudo(name); v != "" {
		return v, nil
	}
	if v, ok := s.Params[name]; ok {
		return v, nil
	}
	if p := Get(Get(s.Template.Doc, "Parameters"), name); p != nil {
		if def := Get(p, "Default"); def != nil {
			return def.Value, nil
		}
		return nil, fmt.Errorf("Ref %s: the parameter has no default and no value", name)
	}
	if s.Template.Resource(name) == nil {
		return nil, fmt.Errorf("Ref %s: no such parameter or resource", name)
	}
	if !s.Placeholders {
		return nil, fmt.Errorf("Ref %s: %w", name, ErrDeployed)
	}
	return "<" + name + ">", nil
}

func (s *Stack) getAtt(res, attr string) (any, error) {
	if s.Template.Resource(res) == nil {
		return nil, fmt.Errorf("GetAtt %s.%s: no such resource", res, attr)
	}
	if !s.Placeholders {
		return nil, fmt.Errorf("GetAtt %s.%s: %w", res, attr, ErrDeployed)
	}
	return "<" + res + "." + attr + ">", nil
}

func (s *Stack) sub(arg *yaml.Node) (any, error) {
	format, vars, err := subArgs(arg)
	if err != nil {
		return nil, err
	}
	return Substitute(format, func(name string) (string, error) {
		var v any
		var err error
		if n := Get(vars, name); n != nil {
			v, err = s.Eval(n)
		} else if res, attr, ok := strings.Cut(name, "."); ok {
			v, err = s.getAtt(res, attr)
		} else {
			v, err = s.Ref(name)
		}
		if err != nil {
			return "", err
		}
		str, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("Fn::Sub ${%s} is not a string", name)
		}
		return str, nil
	})
}

// Condition evaluates the condition the template declares as name.
func (s *Stack) Condition(name string) (bool, error) {
	c := Get(Get(s.Template.Doc, "Conditions"), name)
	if c == nil {
		return false, fmt.Errorf("no condition %s", name)
	}
	b, err := s.EvalBool(c)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	return b, nil
}

func (s *Stack) cond(fn string, arg *yaml.Node) (bool, error) {
	if fn == "Condition" {
		return s.Condition(arg.Value)
	}
	if arg.Kind != yaml.SequenceNode {
		return false, fmt.Errorf("Fn::%s takes a list", fn)
	}
	vals, err := evalAs[[]any](s, arg)
	if err != nil {
		return false, err
	}
	if fn == "Equals" {
		if len(vals) != 2 {
			return false, errors.New("Fn::Equals takes two values")
		}
		return fmt.Sprint(vals[0]) == fmt.Sprint(vals[1]), nil
	}
	conds := make([]bool, len(vals))
	for i, v := range vals {
		var ok bool
		if conds[i], ok = v.(bool); !ok {
			return false, fmt.Errorf("Fn::%s takes conditions, not %v", fn, v)
		}
	}
	switch {
	case fn == "Not" && len(conds) == 1:
		return !conds[0], nil
	case fn == "Not":
		return false, errors.New("Fn::Not takes one condition")
	case len(conds) < 2 || len(conds) > 10:
		return false, fmt.Errorf("Fn::%s takes 2 to 10 conditions", fn)
	case fn == "And":
		return !slices.Contains(conds, false), nil
	}
	return slices.Contains(conds, true), nil
}
