package deploy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/clipmill/clipmill/internal/cfn"
	"gopkg.in/yaml.v3"
)

// stack is template.yaml evaluated by package cfn for one set of parameter
// values, in eu-west-1, with what only a deployment knows as "<Resource>"
// and "<Resource.Attr>", so the tests can see the ARNs a deployment would
// get.
type stack struct {
	*cfn.Stack
	st *samTemplate
}

// newStack applies overrides over the parameters' defaults.
func newStack(t testing.TB, st *samTemplate, overrides map[string]string) *stack {
	t.Helper()
	for k := range overrides {
		if cfn.Get(cfn.Get(st.Doc, "Parameters"), k) == nil {
			t.Fatalf("no parameter %s", k)
		}
	}
	return &stack{Stack: &cfn.Stack{Template: st.Template, Params: overrides, Region: "eu-west-1", Placeholders: true}, st: st}
}

func (s *stack) str(t testing.TB, n *yaml.Node) string {
	t.Helper()
	v, err := s.EvalString(n)
	if err != nil {
		t.Fatalf("evaluate %s: %v", show(n), err)
	}
	return v
}

// The values of the template's Backend parameter: every test that depends
// on the backend runs for each.
var backends = []string{"api", "engine"}

// backendStack is the stack of one backend, with an API key where the api
// backend needs one (the rule ApiBackendNeedsAKey) and the other
// parameters at their defaults, overrides applied last.
func backendStack(t testing.TB, st *samTemplate, backend string, overrides map[string]string) *stack {
	t.Helper()
	params := map[string]string{"Backend": backend}
	if backend == "api" {
		params["ApiKeyId"] = "clipmill/heygen-api-key"
	}
	for k, v := range overrides {
		params[k] = v
	}
	return newStack(t, st, params)
}

// exists says whether a resource is created in this stack: it has no
// Condition, or its Condition holds.
func (s *stack) exists(t testing.TB, id string) bool {
	t.Helper()
	res := s.st.resources[id]
	if res == nil {
		return false
	}
	c := cfn.Get(res, "Condition")
	if c == nil {
		return true
	}
	ok, err := s.Condition(cfn.Scalar(c))
	if err != nil {
		t.Fatalf("%s: Condition: %v", id, err)
	}
	return ok
}

// live lists the logical ids of a type that this stack creates, sorted.
func (s *stack) live(t testing.TB, typ string) []string {
	t.Helper()
	var out []string
	for _, id := range s.st.ofType(typ) {
		if s.exists(t, id) {
			out = append(out, id)
		}
	}
	return out
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
		v, err := s.Eval(p)
		if err != nil {
			t.Fatalf("evaluate policy %s: %v", show(p), err)
		}
		if v == nil { // !Ref AWS::NoValue
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
		return fmt.Sprintf("arn:%s:%s:%s:%s:%s", s.Pseudo("AWS::Partition"), service, s.Pseudo("AWS::Region"), s.Pseudo("AWS::AccountId"), rest)
	}
	bucket := func() (string, string) {
		b := "arn:" + s.Pseudo("AWS::Partition") + ":s3:::" + param("BucketName")
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
