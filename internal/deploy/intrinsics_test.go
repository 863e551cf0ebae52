package deploy

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// stack evaluates CloudFormation intrinsic functions for one set of
// parameter values, so the tests can see the ARNs a deployment would get:
// Ref, Sub, GetAtt (as "<Resource.Attr>"), If and the condition functions,
// Select, Split and Join.
type stack struct {
	st        *samTemplate
	params    map[string]string
	account   string
	region    string
	partition string
	name      string
}

// noValue is what !Ref AWS::NoValue evaluates to.
type noValue struct{}

// newStack fills the parameters' defaults and applies overrides.
func newStack(t testing.TB, st *samTemplate, overrides map[string]string) *stack {
	t.Helper()
	s := &stack{st: st, params: map[string]string{}, account: "123456789012", region: "eu-west-1",
		partition: "aws", name: "clipmill"}
	params := get(st.doc, "Parameters")
	for _, p := range keys(params) {
		if d := get(get(params, p), "Default"); d != nil {
			s.params[p] = d.Value
		}
	}
	for k, v := range overrides {
		if get(params, k) == nil {
			t.Fatalf("no parameter %s", k)
		}
		s.params[k] = v
	}
	return s
}

func (s *stack) str(t testing.TB, n *yaml.Node) string {
	t.Helper()
	v, err := s.eval(n)
	if err != nil {
		t.Fatalf("evaluate %s: %v", show(n), err)
	}
	str, ok := v.(string)
	if !ok {
		t.Fatalf("evaluate %s: %v is not a string", show(n), v)
	}
	return str
}

func (s *stack) eval(n *yaml.Node) (any, error) {
	if n == nil {
		return nil, fmt.Errorf("nothing to evaluate")
	}
	name, arg := intrinsic(n)
	switch name {
	case "":
		switch n.Kind {
		case yaml.ScalarNode:
			return n.Value, nil
		case yaml.SequenceNode:
			var out []any
			for _, c := range n.Content {
				v, err := s.eval(c)
				if err != nil {
					return nil, err
				}
				if _, skip := v.(noValue); !skip {
					out = append(out, v)
				}
			}
			return out, nil
		case yaml.MappingNode:
			out := map[string]any{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				v, err := s.eval(n.Content[i+1])
				if err != nil {
					return nil, err
				}
				if _, skip := v.(noValue); !skip {
					out[n.Content[i].Value] = v
				}
			}
			return out, nil
		}
		return nil, fmt.Errorf("cannot evaluate %s", show(n))
	case "Ref":
		return s.ref(arg.Value)
	case "GetAtt":
		if arg.Kind == yaml.SequenceNode && len(arg.Content) == 2 {
			return "<" + arg.Content[0].Value + "." + arg.Content[1].Value + ">", nil
		}
		return "<" + arg.Value + ">", nil
	case "Sub":
		return s.sub(arg)
	case "If":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
			return nil, fmt.Errorf("!If takes [condition, then, else]: %s", show(n))
		}
		ok, err := s.condition(arg.Content[0].Value)
		if err != nil {
			return nil, err
		}
		if ok {
			return s.eval(arg.Content[1])
		}
		return s.eval(arg.Content[2])
	case "Select":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			return nil, fmt.Errorf("!Select takes [index, list]: %s", show(n))
		}
		i, err := strconv.Atoi(arg.Content[0].Value)
		if err != nil {
			return nil, err
		}
		v, err := s.eval(arg.Content[1])
		if err != nil {
			return nil, err
		}
		list, ok := v.([]any)
		if !ok || i < 0 || i >= len(list) {
			return nil, fmt.Errorf("!Select %d out of %v", i, v)
		}
		return list[i], nil
	case "Split":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 || isIntrinsic(arg.Content[0]) {
			return nil, fmt.Errorf("!Split takes [literal delimiter, string]: %s", show(n))
		}
		src, err := s.eval(arg.Content[1])
		if err != nil {
			return nil, err
		}
		str, ok := src.(string)
		if !ok {
			return nil, fmt.Errorf("!Split of %v", src)
		}
		var out []any
		for _, p := range strings.Split(str, arg.Content[0].Value) {
			out = append(out, p)
		}
		return out, nil
	case "Join":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			return nil, fmt.Errorf("!Join takes [delimiter, list]: %s", show(n))
		}
		v, err := s.eval(arg.Content[1])
		if err != nil {
			return nil, err
		}
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("!Join of %v", v)
		}
		parts := make([]string, len(list))
		for i, p := range list {
			parts[i] = fmt.Sprint(p)
		}
		return strings.Join(parts, arg.Content[0].Value), nil
	case "Equals", "Not", "And", "Or", "Condition":
		return s.conditionExpr(n)
	}
	return nil, fmt.Errorf("the tests cannot evaluate Fn::%s", name)
}

func (s *stack) ref(name string) (any, error) {
	switch name {
	case "AWS::AccountId":
		return s.account, nil
	case "AWS::Region":
		return s.region, nil
	case "AWS::Partition":
		return s.partition, nil
	case "AWS::StackName":
		return s.name, nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	case "AWS::NoValue":
		return noValue{}, nil
	}
	if v, ok := s.params[name]; ok {
		return v, nil
	}
	if get(get(s.st.doc, "Parameters"), name) != nil {
		return nil, fmt.Errorf("parameter %s has no value", name)
	}
	if _, ok := s.st.resources[name]; ok {
		return "<" + name + ">", nil
	}
	return nil, fmt.Errorf("!Ref %s: no such parameter or resource", name)
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

func (s *stack) sub(arg *yaml.Node) (any, error) {
	format, vars := arg, (*yaml.Node)(nil)
	if arg.Kind == yaml.SequenceNode {
		if len(arg.Content) != 2 {
			return nil, fmt.Errorf("!Sub [format, variables]: %s", show(arg))
		}
		format, vars = arg.Content[0], arg.Content[1]
	}
	var err error
	out := subVar.ReplaceAllStringFunc(format.Value, func(m string) string {
		v := m[2 : len(m)-1]
		if strings.HasPrefix(v, "!") {
			return "${" + v[1:] + "}"
		}
		var val any
		var e error
		switch {
		case get(vars, v) != nil:
			val, e = s.eval(get(vars, v))
		case strings.Contains(v, ".") && !strings.HasPrefix(v, "AWS::"):
			val = "<" + v + ">"
		default:
			val, e = s.ref(v)
		}
		if e != nil {
			err = e
			return ""
		}
		return fmt.Sprint(val)
	})
	return out, err
}

func (s *stack) condition(name string) (bool, error) {
	c := get(get(s.st.doc, "Conditions"), name)
	if c == nil {
		return false, fmt.Errorf("no condition %s", name)
	}
	return s.conditionExpr(c)
}

func (s *stack) conditionExpr(n *yaml.Node) (bool, error) {
	name, arg := intrinsic(n)
	switch name {
	case "Condition":
		return s.condition(arg.Value)
	case "Equals":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			return false, fmt.Errorf("!Equals takes two values: %s", show(n))
		}
		a, err := s.eval(arg.Content[0])
		if err != nil {
			return false, err
		}
		b, err := s.eval(arg.Content[1])
		if err != nil {
			return false, err
		}
		return fmt.Sprint(a) == fmt.Sprint(b), nil
	case "Not":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 1 {
			return false, fmt.Errorf("!Not takes one condition: %s", show(n))
		}
		v, err := s.conditionExpr(arg.Content[0])
		return !v, err
	case "And", "Or":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) < 2 || len(arg.Content) > 10 {
			return false, fmt.Errorf("!%s takes 2 to 10 conditions: %s", name, show(n))
		}
		all := name == "And"
		for _, c := range arg.Content {
			v, err := s.conditionExpr(c)
			if err != nil {
				return false, err
			}
			if v != all {
				return !all, nil
			}
		}
		return all, nil
	}
	return false, fmt.Errorf("not a condition: %s", show(n))
}

// statement is one IAM Allow statement, evaluated.
type statement struct {
	Actions   []string
	Resources []string
}

// policyStatements expands a function's or state machine's Policies for
// this stack: inline statements and the SAM policy templates the template
// uses (their definitions as in SAM's policy_templates.json).
func (s *stack) policyStatements(t testing.TB, policies *yaml.Node) []statement {
	t.Helper()
	var out []statement
	if policies == nil {
		return nil
	}
	for _, p := range policies.Content {
		v, err := s.eval(p)
		if err != nil {
			t.Fatalf("evaluate policy %s: %v", show(p), err)
		}
		if _, skip := v.(noValue); skip {
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("policy %s is neither a statement nor a policy template", show(p))
		}
		if stmts, ok := m["Statement"]; ok {
			list, ok := stmts.([]any)
			if !ok {
				list = []any{stmts}
			}
			for _, st := range list {
				sm, _ := st.(map[string]any)
				if sm["Effect"] != "Allow" {
					t.Fatalf("statement %v: only Allow statements are expected", st)
				}
				out = append(out, statement{Actions: strs(sm["Action"]), Resources: strs(sm["Resource"])})
			}
			continue
		}
		if len(m) != 1 {
			t.Fatalf("policy %v: a policy template has exactly one key", m)
		}
		for name, params := range m {
			out = append(out, s.expandPolicyTemplate(t, name, params)...)
		}
	}
	return out
}

func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return nil
}

func (s *stack) expandPolicyTemplate(t testing.TB, name string, params any) []statement {
	t.Helper()
	pm, _ := params.(map[string]any)
	param := func(k string) string {
		v, ok := pm[k].(string)
		if !ok {
			t.Fatalf("policy template %s needs %s, got %v", name, k, params)
		}
		return v
	}
	arn := func(service, rest string) string {
		return fmt.Sprintf("arn:%s:%s:%s:%s:%s", s.partition, service, s.region, s.account, rest)
	}
	bucket := func() (string, string) {
		b := "arn:" + s.partition + ":s3:::" + param("BucketName")
		return b, b + "/*"
	}
	switch name {
	case "S3ReadPolicy":
		b, o := bucket()
		return []statement{{Actions: []string{"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObjectVersion", "s3:GetLifecycleConfiguration"}, Resources: []string{b, o}}}
	case "S3WritePolicy":
		b, o := bucket()
		return []statement{{Actions: []string{"s3:PutObject", "s3:PutObjectAcl", "s3:PutLifecycleConfiguration"}, Resources: []string{b, o}}}
	case "S3CrudPolicy":
		b, o := bucket()
		return []statement{{Actions: []string{"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObjectVersion", "s3:PutObject", "s3:PutObjectAcl", "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration", "s3:DeleteObject"}, Resources: []string{b, o}}}
	case "StepFunctionsExecutionPolicy":
		return []statement{{Actions: []string{"states:StartExecution"}, Resources: []string{arn("states", "stateMachine:"+param("StateMachineName"))}}}
	case "LambdaInvokePolicy":
		return []statement{{Actions: []string{"lambda:InvokeFunction"}, Resources: []string{arn("lambda", "function:"+param("FunctionName")+"*")}}}
	case "AWSSecretsManagerGetSecretValuePolicy":
		return []statement{{Actions: []string{"secretsmanager:GetSecretValue"}, Resources: []string{param("SecretArn")}}}
	case "SSMParameterReadPolicy":
		return []statement{
			{Actions: []string{"ssm:DescribeParameters"}, Resources: []string{"*"}},
			{Actions: []string{"ssm:GetParameters", "ssm:GetParameter", "ssm:GetParametersByPath"}, Resources: []string{arn("ssm", "parameter/"+param("ParameterName"))}},
		}
	case "SSMParameterWithSlashPrefixReadPolicy":
		return []statement{
			{Actions: []string{"ssm:DescribeParameters"}, Resources: []string{"*"}},
			{Actions: []string{"ssm:GetParameters", "ssm:GetParameter", "ssm:GetParametersByPath"}, Resources: []string{arn("ssm", "parameter"+param("ParameterName"))}},
		}
	case "KMSDecryptPolicy":
		return []statement{{Actions: []string{"kms:Decrypt"}, Resources: []string{arn("kms", "key/"+param("KeyId"))}}}
	}
	t.Fatalf("policy template %s: the tests do not know what it grants; add it to expandPolicyTemplate", name)
	return nil
}

// grants lists "action resource" pairs of the statements whose actions
// start with prefix ("s3:", "secretsmanager:", ...).
func grants(stmts []statement, prefix string) []string {
	var out []string
	for _, st := range stmts {
		for _, a := range st.Actions {
			if !strings.HasPrefix(a, prefix) {
				continue
			}
			for _, r := range st.Resources {
				out = append(out, a+" "+r)
			}
		}
	}
	return out
}
