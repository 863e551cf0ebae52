package lambdaruntime

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/clipmill/clipmill/internal/cfn"
	"gopkg.in/yaml.v3"
)

// Template reads a function's configuration out of a SAM template, as
// CloudFormation would resolve it (package cfn evaluates it): Globals.Function
// under the function's own Properties, parameters at their defaults (or
// Params) and the pseudo parameters. A value that only a deployed stack
// knows (GetAtt, a Ref to a resource) is left out.
type Template struct {
	// Params are parameter values over the template's defaults.
	Params map[string]string
	// The pseudo parameters: us-east-1, 123456789012 and clipmill when "".
	Region, Account, StackName string

	tpl *cfn.Template
}

// ReadTemplate reads a template file.
func ReadTemplate(file string) (*Template, error) {
	tpl, err := cfn.Read(file)
	if err != nil {
		return nil, err
	}
	return &Template{tpl: tpl}, nil
}

// ParseTemplate parses a template's YAML.
func ParseTemplate(data []byte) (*Template, error) {
	tpl, err := cfn.Parse(data)
	if err != nil {
		return nil, err
	}
	return &Template{tpl: tpl}, nil
}

// Function is the function with logical id id, as the template
// configures it: Name, Timeout, MemoryMB and Env (the Region and
// Account of the template too). The caller adds the Binary. deployed
// names the variables left out of Env because only a deployed stack
// knows their values (a Ref to a resource, GetAtt), as sam local invoke
// wants them from its --env-vars file.
func (t *Template) Function(id string) (fn Function, deployed []string, err error) {
	if typ := cfn.Scalar(cfn.Get(t.tpl.Resource(id), "Type")); typ != "AWS::Serverless::Function" && typ != "AWS::Lambda::Function" {
		return fn, nil, fmt.Errorf("template: %s is not a function", id)
	}
	s := &cfn.Stack{Template: t.tpl, Params: t.Params, Region: t.Region, Account: t.Account, StackName: t.StackName}
	props := t.tpl.FunctionProperties(id)
	fn = Function{Name: id, Region: s.Pseudo("AWS::Region"), Account: s.Pseudo("AWS::AccountId")}
	// number is a whole-number property, 0 when unset.
	number := func(key, unit string) (int, error) {
		n := cfn.Get(props, key)
		if n == nil {
			return 0, nil
		}
		v, err := s.EvalString(n)
		if err != nil {
			return 0, fmt.Errorf("template: %s %s: %w", id, key, err)
		}
		i, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("template: %s %s %q: not a number of %s", id, key, v, unit)
		}
		return i, nil
	}
	secs, err := number("Timeout", "seconds")
	if err != nil {
		return fn, nil, err
	}
	fn.Timeout = time.Duration(secs) * time.Second
	if fn.MemoryMB, err = number("MemorySize", "MB"); err != nil {
		return fn, nil, err
	}
	fn.Env = map[string]string{}
	vars := cfn.Get(cfn.Get(props, "Environment"), "Variables")
	if vars == nil {
		return fn, nil, nil
	}
	if name, _ := cfn.Intrinsic(vars); name != "" || vars.Kind != yaml.MappingNode {
		return fn, nil, fmt.Errorf("template: %s Environment.Variables is not a mapping", id)
	}
	for i := 0; i+1 < len(vars.Content); i += 2 {
		k := vars.Content[i].Value
		v, err := s.Eval(vars.Content[i+1])
		if errors.Is(err, cfn.ErrDeployed) {
			deployed = append(deployed, k)
			continue
		}
		if err != nil {
			return fn, nil, fmt.Errorf("template: %s Environment %s: %w", id, k, err)
		}
		if v == nil { // !Ref AWS::NoValue
			continue
		}
		str, ok := v.(string)
		if !ok {
			return fn, nil, fmt.Errorf("template: %s Environment %s: not a string", id, k)
		}
		fn.Env[k] = str
	}
	return fn, deployed, nil
}
