package deploy

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/clipmill/clipmill/internal/cfn"
	"gopkg.in/yaml.v3"
)

// depGraph maps a resource to the resources it depends on, as
// CloudFormation orders them after the SAM transform.
type depGraph map[string]map[string]bool

// dependencies builds the graph from !Ref, !GetAtt, !Sub ${X} and
// ${X.Attr}, and DependsOn, plus what SAM adds: a function's Globals apply
// to it, and an S3 event on a function makes the bucket depend on the
// function (SAM puts a NotificationConfiguration on the bucket, which
// DependsOn a Lambda permission that refers to the function), not the other
// way round.
func dependencies(st *samTemplate) depGraph {
	g := depGraph{}
	add := func(from, to string) {
		if from == to || st.resources[to] == nil {
			return
		}
		if g[from] == nil {
			g[from] = map[string]bool{}
		}
		g[from][to] = true
	}
	globals := cfn.Get(cfn.Get(st.Doc, "Globals"), "Function")
	for _, id := range st.ids {
		res := st.resources[id]
		g[id] = map[string]bool{}
		isFunction := st.resourceType(id) == functionType
		for i := 0; i+1 < len(res.Content); i += 2 {
			key, val := res.Content[i].Value, res.Content[i+1]
			switch key {
			case "Type", "Condition", "DeletionPolicy", "UpdateReplacePolicy":
				continue
			case "DependsOn":
				if val.Kind == yaml.SequenceNode {
					for _, d := range val.Content {
						add(id, d.Value)
					}
				} else {
					add(id, val.Value)
				}
				continue
			case "Properties":
				if !isFunction {
					break
				}
				for j := 0; j+1 < len(val.Content); j += 2 {
					prop, pv := val.Content[j].Value, val.Content[j+1]
					if prop != "Events" {
						cfn.Refs(pv, func(to string) { add(id, to) })
						continue
					}
					for _, ev := range keys(pv) {
						e := cfn.Get(pv, ev)
						if cfn.Scalar(cfn.Get(e, "Type")) == "S3" {
							if name, arg := cfn.Intrinsic(path(e, "Properties", "Bucket")); name == "Ref" {
								add(arg.Value, id) // the bucket waits for the function
							}
							continue
						}
						cfn.Refs(e, func(to string) { add(id, to) })
					}
				}
				continue
			}
			cfn.Refs(val, func(to string) { add(id, to) })
		}
		if isFunction {
			cfn.Refs(globals, func(to string) { add(id, to) })
		}
	}
	return g
}

// cycle returns one dependency cycle as a path that starts and ends with
// the same resource, or nil.
func (g depGraph) cycle() []string {
	const (
		unseen = iota
		open
		done
	)
	state := map[string]int{}
	var stack []string
	var found []string
	var visit func(string) bool
	visit = func(n string) bool {
		state[n] = open
		stack = append(stack, n)
		var next []string
		for m := range g[n] {
			next = append(next, m)
		}
		sort.Strings(next)
		for _, m := range next {
			switch state[m] {
			case open:
				i := slices.Index(stack, m)
				found = append(slices.Clone(stack[i:]), m)
				return true
			case unseen:
				if visit(m) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		return false
	}
	var ids []string
	for id := range g {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if state[id] == unseen && visit(id) {
			return found
		}
	}
	return nil
}

func TestNoCircularDependencies(t *testing.T) {
	if c := dependencies(loadTemplate(t)).cycle(); c != nil {
		t.Fatalf("circular dependency: %s", strings.Join(c, " -> "))
	}
}

// The graph is not vacuous: it sees the wiring that matters.
func TestDependencyGraphSeesTheWiring(t *testing.T) {
	g := dependencies(loadTemplate(t))
	for _, e := range [][2]string{
		{bucketID, "SubmitFunction"},       // the S3 event
		{"SubmitFunction", stateMachineID}, // STATE_MACHINE_ARN, StepFunctionsExecutionPolicy
		{stateMachineID, "PollFunction"},   // DefinitionSubstitutions, LambdaInvokePolicy
		{stateMachineID, "StoreFunction"},
		{stateMachineID, "PipelineLogGroup"},
		{"SubmitFunction", engineMachineID}, // the same, with Backend=engine
		{engineMachineID, "EngineFunction"},
		{engineMachineID, "TranscribeFunction"},
		{engineMachineID, "StoreFunction"},
		{engineMachineID, "EngineStateMachineLogGroup"},
		{"EngineFunction", "EngineLogGroup"},
		{"SubmitFunction", "SubmitDeadLetterQueue"},
		{"ClipBucketPolicy", bucketID},
	} {
		if !g[e[0]][e[1]] {
			t.Errorf("the graph misses %s -> %s", e[0], e[1])
		}
	}
	for _, fn := range []string{"SubmitFunction", "PollFunction", "StoreFunction", "EngineFunction", "TranscribeFunction"} {
		if g[fn][bucketID] {
			t.Errorf("%s depends on %s: with the S3 event that is a cycle", fn, bucketID)
		}
	}
}

// The check can fail: copies of the template broken the classic ways are
// cycles.
func TestBrokenCopiesAreCycles(t *testing.T) {
	cases := []struct {
		name    string
		breakIt func(t *testing.T, st *samTemplate)
		via     []string // resources the cycle must pass through
	}{
		{
			name: "S3ReadPolicy on !Ref ClipBucket in SubmitFunction",
			breakIt: func(t *testing.T, st *samTemplate) {
				pols := cfn.Get(st.props("SubmitFunction"), "Policies")
				pols.Content = append(pols.Content, mustParseNode(t, "S3ReadPolicy:\n  BucketName: !Ref ClipBucket\n"))
			},
			via: []string{bucketID, "SubmitFunction"},
		},
		{
			name: "statement on !GetAtt ClipBucket.Arn in SubmitFunction",
			breakIt: func(t *testing.T, st *samTemplate) {
				pols := cfn.Get(st.props("SubmitFunction"), "Policies")
				pols.Content = append(pols.Content, mustParseNode(t,
					"Statement:\n  - Effect: Allow\n    Action: s3:GetObject\n    Resource: !Sub \"${ClipBucket.Arn}/inbox/*\"\n"))
			},
			via: []string{bucketID, "SubmitFunction"},
		},
		{
			name: "BUCKET_NAME: !Ref ClipBucket in StoreFunction",
			breakIt: func(t *testing.T, st *samTemplate) {
				vars := path(st.props("StoreFunction"), "Environment", "Variables")
				for i := 0; i+1 < len(vars.Content); i += 2 {
					if vars.Content[i].Value == "BUCKET_NAME" {
						vars.Content[i+1] = mustParseNode(t, "!Ref ClipBucket")
					}
				}
			},
			// ClipBucket -> SubmitFunction -> (either state machine) -> StoreFunction -> ClipBucket
			via: []string{bucketID, "SubmitFunction", "StoreFunction"},
		},
		{
			name: "a Globals variable on !Ref ClipBucket",
			breakIt: func(t *testing.T, st *samTemplate) {
				fn := path(st.Doc, "Globals", "Function")
				if cfn.Get(fn, "Environment") == nil {
					fn.Content = append(fn.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "Environment"},
						mustParseNode(t, "Variables: {}\n"))
				}
				vars := path(fn, "Environment", "Variables")
				vars.Content = append(vars.Content,
					&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "CLIP_BUCKET"}, mustParseNode(t, "!Ref ClipBucket"))
			},
			via: []string{bucketID, "SubmitFunction"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := loadTemplate(t).clone(t)
			c.breakIt(t, st)
			cyc := dependencies(st).cycle()
			if cyc == nil {
				t.Fatal("no cycle found in a template that has one")
			}
			for _, v := range c.via {
				if !slices.Contains(cyc, v) {
					t.Errorf("cycle %s does not pass through %s", strings.Join(cyc, " -> "), v)
				}
			}
			t.Logf("found %s", strings.Join(cyc, " -> "))
		})
	}
}
