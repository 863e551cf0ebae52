package engine

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/clipmill/clipmill/internal/clipping"
)

// The model's hashtags reach the API's clip; a clip without them, or a
// failed one, shows [] in JSON.
func TestResourceHashtags(t *testing.T) {
	same := func(f string) string { return f }
	tags := []string{"#coffee", "#brewing", "#tips"}
	c := Clip{ID: "c1", DurationType: clipping.Duration30, Title: "t", Video: "c1.mp4", Hashtags: tags}
	r := c.Resource(clipping.AspectPortrait, same)
	if !slices.Equal(r.Hashtags, tags) {
		t.Errorf("hashtags %v, want %v", r.Hashtags, tags)
	}
	tags[0] = "#changed"
	if r.Hashtags[0] != "#coffee" {
		t.Error("the resource shares the engine clip's slice")
	}
	for _, c := range []Clip{{ID: "c2", Title: "t"}, {ID: "c3", Hashtags: tags, Err: errors.New("render failed")}} {
		b, err := json.Marshal(c.Resource(clipping.AspectPortrait, same))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"hashtags":[]`) {
			t.Errorf("%s: %s", c.ID, b)
		}
	}
}
