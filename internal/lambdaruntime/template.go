package lambdaruntime

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Template reads a function's configuration out of a SAM template, as
// CloudFormation would resolve it: Globals.Function under the function's
// own Properties, parameters at their defaults (or Params), the
// intrinsics a function's Timeout, MemorySize and Environment may use
// (Ref, Sub, If and its conditions, Join, Select, Split) and the pseudo
// parameters. A value that only a deployed stack knows (GetAtt, a Ref to
// a resource) is an error.
type Template struct {
	// Params are parameter values over the template's defaults.
	Params map[string]string
	// The pseudo parameters: us-east-1, 123456789012 and clipmill when "".
	Region, Account, StackName string

	doc *yaml.Node // the top-level mapping
}

// ReadTemplate reads a template file.
func ReadTemplate(file string) (*Template, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	t, err := ParseTemplate(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return t, nil
}

// ParseTemplate parses a template's YAML.
func ParseTemplate(data []byte) (*Template, error) {
	var root yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&root); err != nil {
		return nil, err
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not a YAML mapping")
	}
	return &Template{doc: root.Content[0]}, nil
}

// errDeployed is a value only a deployed stack knows.
var errDeployed = errors.New("known only to a deployed stack")

// Function is the function with logical id id, as the template
// configures it: Name, Timeout, MemoryMB and Env (the Region and
// Account of the template too). The caller adds the Binary. deployed
// names the variables left out of Env because only a deployed stack
// knows their values (a Ref to a resource, GetAtt), as sam local invoke
// wants them from its --env-vars file.
func (t *Template) Function(id string) (fn Function, deployed []string, err error) {
	res := get(get(t.doc, "Resources"), id)
	if typ := scalar(get(res, "Type")); typ != "AWS::Serverless::Function" && typ != "AWS::Lambda::Function" {
		return fn, nil, fmt.Errorf("template: %s is not a function", id)
	}
	props, globals := get(res, "Properties"), get(get(t.doc, "Globals"), "Function")
	// A function's own setting wins over Globals; variables merge.
	prop := func(k string) *yaml.Node {
		if v := get(props, k); v != nil {
			return v
		}
		return get(globals, k)
	}
	fn = Function{Name: id, Region: t.region(), Account: t.account()}
	if n := prop("Timeout"); n != nil {
		s, err := t.str(n)
		if err != nil {
			return fn, nil, fmt.Errorf("template: %s Timeout: %w", id, err)
		}
		secs, err := strconv.Atoi(s)
		if err != nil {
			return fn, nil, fmt.Errorf("template: %s Timeout %q: not a number of seconds", id, s)
		}
		fn.Timeout = time.Duration(secs) * time.Second
	}
	if n := prop("MemorySize"); n != nil {
		s, err := t.str(n)
		if err != nil {
			return fn, nil, fmt.Errorf("template: %s MemorySize: %w", id, err)
		}
		if fn.MemoryMB, err = strconv.Atoi(s); err != nil {
			return fn, nil, fmt.Errorf("template: %s MemorySize %q: not a number of MB", id, s)
		}
	}
	fn.Env = map[string]string{}
	for _, vars := range []*yaml.Node{get(get(globals, "Environment"), "Variables"), get(get(props, "Environment"), "Variables")} {
		if vars == nil {
			continue
		}
		if vars.Kind != yaml.MappingNode {
			return fn, nil, fmt.Errorf("template: %s Environment.Variables is not a mapping", id)
		}
		for i := 0; i+1 < len(vars.Content); i += 2 {
			k := vars.Content[i].Value
			v, err := t.resolve(vars.Content[i+1])
			if errors.Is(err, errDeployed) {
				delete(fn.Env, k)
				deployed = append(deployed, k)
				continue
			}
			if err != nil {
				return fn, nil, fmt.Errorf("template: %s Environment %s: %w", id, k, err)
			}
			if v == nil { // !Ref AWS::NoValue
				delete(fn.Env, k)
				continue
			}
			s, ok := v.(string)
			if !ok {
				return fn, nil, fmt.Errorf("template: %s Environment %s: not a string", id, k)
			}
			fn.Env[k] = s
		}
	}
	return fn, deployed, nil
}

func (t *Template) region() string  { return cmp(t.Region, "us-east-1") }
func (t *Template) account() string { return cmp(t.Account, "123456789012") }

func (t *Template) str(n *yaml.Node) (string, error) {
	v, err := t.resolve(n)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", errors.New("not a scalar")
	}
	return s, nil
}

// resolve evaluates a node: a string, a []any, nil for AWS::NoValue, or a
// bool for a condition.
func (t *Template) resolve(n *yaml.Node) (any, error) {
	fn, arg, ok := intrinsic(n)
	if !ok {
		switch n.Kind {
		case yaml.ScalarNode:
			return n.Value, nil
		case yaml.SequenceNode:
			out := make([]any, 0, len(n.Content))
			for _, c := range n.Content {
				v, err := t.resolve(c)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			return out, nil
		}
		return nil, errors.New("a mapping where a value should be")
	}
	switch fn {
	case "Ref":
		return t.ref(arg.Value)
	case "Sub":
		return t.sub(arg)
	case "If":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
			return nil, errors.New("Fn::If takes [condition, then, else]")
		}
		c, err := t.condition(arg.Content[0].Value)
		if err != nil {
			return nil, err
		}
		if c {
			return t.resolve(arg.Content[1])
		}
		return t.resolve(arg.Content[2])
	case "Equals", "Not", "And", "Or", "Condition":
		return t.cond(fn, arg)
	case "Join":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			return nil, errors.New("Fn::Join takes [delimiter, list]")
		}
		list, err := t.list(arg.Content[1])
		if err != nil {
			return nil, err
		}
		return strings.Join(list, arg.Content[0].Value), nil
	case "Split":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			return nil, errors.New("Fn::Split takes [delimiter, string]")
		}
		s, err := t.str(arg.Content[1])
		if err != nil {
			return nil, err
		}
		var out []any
		for _, p := range strings.Split(s, arg.Content[0].Value) {
			out = append(out, p)
		}
		return out, nil
	case "Select":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			return nil, errors.New("Fn::Select takes [index, list]")
		}
		i, err := strconv.Atoi(arg.Content[0].Value)
		list, lerr := t.list(arg.Content[1])
		if err != nil || lerr != nil || i < 0 || i >= len(list) {
			return nil, errors.New("Fn::Select: bad index or list")
		}
		return list[i], nil
	}
	return nil, fmt.Errorf("%s: %w", fn, errDeployed)
}

func (t *Template) list(n *yaml.Node) ([]string, error) {
	v, err := t.resolve(n)
	if err != nil {
		return nil, err
	}
	items, ok := v.([]any)
	if !ok {
		return nil, errors.New("not a list")
	}
	out := make([]string, len(items))
	for i, it := range items {
		if out[i], ok = it.(string); !ok {
			return nil, errors.New("a list of non-strings")
		}
	}
	return out, nil
}

// ref is a parameter's value or a pseudo parameter; nil for AWS::NoValue.
func (t *Template) ref(name string) (any, error) {
	switch name {
	case "AWS::NoValue":
		return nil, nil
	case "AWS::Region":
		return t.region(), nil
	case "AWS::AccountId":
		return t.account(), nil
	case "AWS::StackName":
		return cmp(t.StackName, "clipmill"), nil
	case "AWS::Partition":
		return "aws", nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	}
	if v, ok := t.Params[name]; ok {
		return v, nil
	}
	p := get(get(t.doc, "Parameters"), name)
	if p == nil {
		if get(get(t.doc, "Resources"), name) != nil {
			return nil, fmt.Errorf("Ref %s: %w", name, errDeployed)
		}
		return nil, fmt.Errorf("Ref %s: no such parameter or resource", name)
	}
	def := get(p, "Default")
	if def == nil {
		return nil, fmt.Errorf("Ref %s: the parameter has no default; give it in Params", name)
	}
	return def.Value, nil
}

var subVar = regexp.MustCompile(`\$\{([^}!]+)\}`)

func (t *Template) sub(arg *yaml.Node) (any, error) {
	tmpl, vars := arg, (*yaml.Node)(nil)
	if arg.Kind == yaml.SequenceNode {
		if len(arg.Content) != 2 {
			return nil, errors.New("Fn::Sub takes a string or [string, variables]")
		}
		tmpl, vars = arg.Content[0], arg.Content[1]
	}
	var err error
	out := subVar.ReplaceAllStringFunc(tmpl.Value, func(m string) string {
		name := m[2 : len(m)-1]
		var v any
		var rerr error
		if n := get(vars, name); n != nil {
			v, rerr = t.resolve(n)
		} else {
			v, rerr = t.ref(name)
		}
		s, ok := v.(string)
		if rerr == nil && !ok {
			rerr = fmt.Errorf("${%s} is not a string", name)
		}
		if rerr != nil && err == nil {
			err = rerr
		}
		return s
	})
	return out, err
}

func (t *Template) condition(name string) (bool, error) {
	c := get(get(t.doc, "Conditions"), name)
	if c == nil {
		return false, fmt.Errorf("no condition %s", name)
	}
	v, err := t.resolve(c)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("condition %s is not a condition", name)
	}
	return b, nil
}

func (t *Template) cond(fn string, arg *yaml.Node) (bool, error) {
	if fn == "Condition" {
		return t.condition(arg.Value)
	}
	if arg.Kind != yaml.SequenceNode {
		return false, fmt.Errorf("Fn::%s takes a list", fn)
	}
	vals := make([]any, len(arg.Content))
	for i, c := range arg.Content {
		v, err := t.resolve(c)
		if err != nil {
			return false, err
		}
		vals[i] = v
	}
	switch fn {
	case "Equals":
		if len(vals) != 2 {
			return false, errors.New("Fn::Equals takes two values")
		}
		return fmt.Sprint(vals[0]) == fmt.Sprint(vals[1]), nil
	}
	conds := make([]bool, len(vals))
	for i, v := range vals {
		b, ok := v.(bool)
		if !ok {
			return false, fmt.Errorf("Fn::%s takes conditions", fn)
		}
		conds[i] = b
	}
	switch fn {
	case "Not":
		if len(conds) != 1 {
			return false, errors.New("Fn::Not takes one condition")
		}
		return !conds[0], nil
	case "And":
		return !slices.Contains(conds, false), nil
	}
	return slices.Contains(conds, true), nil
}

// intrinsic reads a function call in either form: the short tag (!Ref x)
// or the mapping ({Ref: x}, {Fn::Sub: ...}).
func intrinsic(n *yaml.Node) (string, *yaml.Node, bool) {
	if tag := n.Tag; strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!") {
		// The short form's argument is the node itself, untagged.
		arg := *n
		arg.Tag = ""
		if n.Kind == yaml.ScalarNode {
			arg.Tag = "!!str"
		}
		return tag[1:], &arg, true
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		k := n.Content[0].Value
		if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
			return strings.TrimPrefix(k, "Fn::"), n.Content[1], true
		}
	}
	return "", nil, false
}

func get(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}
