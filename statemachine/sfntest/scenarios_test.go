package sfntest

import (
	"context"
	"encoding/json"
	"maps"
	"testing"

	"github.com/clipmill/clipmill/statemachine/scenarios"
)

// The shared scenarios take the same paths in aws-local-stepfunctions as
// in package asl's interpreter (whose tests run them too).
func TestScenarios(t *testing.T) {
	for _, sc := range scenarios.All {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel() // each is a node process, mostly starting up
			script := sc.Script()
			res := Run(t, sc.Definition, func(_ context.Context, fn string, _ json.RawMessage) (any, error) {
				return script.Answer(fn)
			}, sc.Input)
			if res.Status != sc.Status || res.Path() != sc.Path {
				t.Errorf("%s through %s (%s %s), want %s through %s", res.Status, res.Path(), res.Error, res.Cause, sc.Status, sc.Path)
			}
			if got := script.Calls(); !maps.Equal(got, sc.Calls) {
				t.Errorf("calls %v, want %v", got, sc.Calls)
			}
		})
	}
}
