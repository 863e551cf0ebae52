package cfn

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const testTemplate = `
Parameters:
  Mode: {Type: String, Default: fast}
  Prefix: {Type: String, Default: p}
  NoDefault: {Type: String}
Conditions:
  Fast: !Equals [!Ref Mode, fast]
  Slow: !Not [!Condition Fast]
  Both: {"Fn::And": [{"Condition": "Fast"}, !Equals [a, a]]}
  Either: !Or [!Condition Slow, !Equals [!Ref Prefix, q]]
  Lonely: !And [!Condition Fast]
Globals:
  Function:
    Timeout: 5
    Layers: [g]
    Environment:
      Variables: {GLOBAL: g, OVERRIDDEN: global}
Resources:
  Queue: {Type: AWS::SQS::Queue}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: !If [Both, 7, 9]
      Layers: [own]
      Environment:
        Variables: {OVERRIDDEN: own}
`

func node(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatalf("parse %q: %v", src, err)
	}
	return n.Content[0]
}

func testStack(t *testing.T) *Stack {
	t.Helper()
	tpl, err := Parse([]byte(testTemplate))
	if err != nil {
		t.Fatal(err)
	}
	return &Stack{Template: tpl, Params: map[string]string{"Extra": "e"}}
}

// Each intrinsic, in both forms, evaluated as a deployed stack would.
func TestEval(t *testing.T) {
	s := testStack(t)
	for _, c := range []struct{ src, want string }{
		{`!Ref Mode`, "fast"},
		{`{Ref: Prefix}`, "p"},
		{`!Ref AWS::Region`, "us-east-1"},
		{`!Sub "${Prefix}-${AWS::AccountId}-${AWS::Region}-${Extra}"`, "p-123456789012-us-east-1-e"},
		{`{"Fn::Sub": ["${Prefix}/${X}", {X: !Ref Mode}]}`, "p/fast"},
		{`!Sub "${!Literal}-${AWS::Partition}-${AWS::StackName}.${AWS::URLSuffix}"`, "${Literal}-aws-clipmill.amazonaws.com"},
		{`!Join [",", [a, !Ref Prefix]]`, "a,p"},
		{`!Select [1, !Split ["/", "x/y/z"]]`, "y"},
		{`!If [Both, 7, 9]`, "7"},
		{`!If [Slow, yes, !Ref AWS::NoValue]`, "<nil>"},
		{`!If [Either, yes, no]`, "no"},
		{`[a, !Ref AWS::NoValue, b]`, "[a b]"},
		{`{A: !Ref Mode, B: !Ref AWS::NoValue}`, "map[A:fast]"},
		{`!Equals [!Ref Prefix, p]`, "true"},
		{`!Condition Slow`, "false"},
	} {
		v, err := s.Eval(node(t, c.src))
		if got := fmt.Sprint(v); err != nil || got != c.want {
			t.Errorf("%s = %s (%v), want %s", c.src, got, err, c.want)
		}
	}

	s.Params["Mode"] = "slow"
	for _, c := range []struct{ src, want string }{
		{`!If [Both, 7, 9]`, "9"},
		{`!If [Slow, yes, !Ref AWS::NoValue]`, "yes"},
		{`!If [Either, yes, no]`, "yes"},
	} {
		if v, err := s.Eval(node(t, c.src)); fmt.Sprint(v) != c.want {
			t.Errorf("Mode slow: %s = %v (%v), want %s", c.src, v, err, c.want)
		}
	}
}

// What only a deployed stack knows is ErrDeployed, or with Placeholders
// the resource's name in angle brackets.
func TestDeployed(t *testing.T) {
	s := testStack(t)
	for _, c := range []struct{ src, want string }{
		{`!Ref Queue`, "<Queue>"},
		{`!GetAtt Queue.Arn`, "<Queue.Arn>"},
		{`{"Fn::GetAtt": [Queue, Arn]}`, "<Queue.Arn>"},
		{`!Sub "${Queue.Arn}/x"`, "<Queue.Arn>/x"},
	} {
		s.Placeholders = false
		if _, err := s.Eval(node(t, c.src)); !errors.Is(err, ErrDeployed) {
			t.Errorf("%s: %v, want ErrDeployed", c.src, err)
		}
		s.Placeholders = true
		if v, err := s.Eval(node(t, c.src)); err != nil || v != c.want {
			t.Errorf("with placeholders, %s = %v (%v), want %s", c.src, v, err, c.want)
		}
	}
}

func TestEvalErrors(t *testing.T) {
	s := testStack(t)
	for _, c := range []struct{ src, want string }{
		{`!Ref NoDefault`, "NoDefault"},
		{`!Ref Nothing`, "no such parameter or resource"},
		{`!GetAtt Nothing.Arn`, "no such resource"},
		{`!If [Nowhere, a, b]`, "no condition Nowhere"},
		{`!If [Lonely, a, b]`, "2 to 10 conditions"},
		{`!Select [3, [a, b]]`, "Fn::Select 3"},
		{`!Split [!Ref Prefix, a/b]`, "literal delimiter"},
		{`!Split [{Ref: Prefix}, a/b]`, "literal delimiter"},
		{`!Split x`, "literal delimiter"},
		{`!Join [",", [a, [b]]]`, "not a string"},
		{`!Base64 x`, "Fn::Base64 is not supported"},
	} {
		if _, err := s.Eval(node(t, c.src)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.src, err, c.want)
		}
	}
}

// Globals.Function under the function's own Properties, as SAM merges them.
func TestFunctionProperties(t *testing.T) {
	s := testStack(t)
	props := s.Template.FunctionProperties("Fn")
	for key, want := range map[string]string{
		"Timeout":     "7",
		"Layers":      "[g own]",
		"Environment": "map[Variables:map[GLOBAL:g OVERRIDDEN:own]]",
	} {
		if v, err := s.Eval(Get(props, key)); fmt.Sprint(v) != want {
			t.Errorf("%s = %v (%v), want %s", key, v, err, want)
		}
	}
}

// The names a Sub refers to, and every name a value refers to.
func TestRefs(t *testing.T) {
	if got, want := SubNames("${A}${!B}${C.D}"), []string{"A", "C.D"}; !slices.Equal(got, want) {
		t.Errorf("SubNames = %v, want %v", got, want)
	}
	_, arg := Intrinsic(node(t, `{"Fn::Sub": ["${!Lit}${Queue.Arn}:${AWS::Region}/${X}/${Prefix}", {X: !Ref Mode}]}`))
	if got, want := SubRefs(arg), []string{"Queue", "AWS::Region", "Prefix"}; !slices.Equal(got, want) {
		t.Errorf("SubRefs = %v, want %v", got, want)
	}
	n := node(t, `{A: !If [Fast, !GetAtt [Fn, Arn], !Ref Mode], B: [!Sub ["${Y}-${Queue}", {Y: !If [Slow, !Ref Prefix, x]}]]}`)
	var got []string
	Refs(n, func(name string) { got = append(got, name) })
	if want := []string{"Fn", "Mode", "Queue", "Prefix"}; !slices.Equal(got, want) {
		t.Errorf("Refs = %v, want %v", got, want)
	}
	// A stack's, on the branches it takes.
	got = nil
	if err := testStack(t).Refs(n, func(name string) { got = append(got, name) }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"Fn", "Queue"}; !slices.Equal(got, want) {
		t.Errorf("Stack.Refs = %v, want %v", got, want)
	}
}
