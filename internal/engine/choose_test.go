package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/llm"
	"github.com/clipmill/clipmill/internal/engine/selection"
	"github.com/clipmill/clipmill/internal/engine/selection/selectiontest"
)

// chat answers a chat-completions request with content.
func chat(w http.ResponseWriter, content string) {
	c, _ := json.Marshal(content)
	fmt.Fprintf(w, `{"choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}]}`, c)
}

// The model chooses among the offline candidates and writes the text; when
// its answer cannot be used, or it is too slow, the offline choice stays.
func TestLanguageModelChooses(t *testing.T) {
	tk := selectiontest.Talks()[0]
	props, err := selection.Propose(selection.Input{Words: tk.Words, Duration: tk.Duration,
		Requests: []clipping.DurationType{clipping.Duration30, clipping.Duration60}}, llmCandidates)
	if err != nil {
		t.Fatal(err)
	}
	if len(props[0].Alternatives) < 3 {
		t.Fatalf("%d alternatives for the 30 s clip, want several", len(props[0].Alternatives))
	}
	second := props[0].Alternatives[1] // the model prefers the offline runner-up
	words := strings.Fields(second.Title)
	good := fmt.Sprintf(`{"slot_1":{"id":"c1_2","title":%q,"hook":"A hook.","reason":"It is short.","hashtags":["#a1","#b2","#c3"]},`+
		`"slot_2":{"id":"c2_1","title":%q,"hook":"Another.","reason":"It is long.","hashtags":["#d4","#e5","#f6"]}}`,
		strings.Join(words[:min(4, len(words))], " "), props[1].Clip.Title)
	for _, c := range []struct {
		name   string
		answer func(w http.ResponseWriter)
		want   []selection.Clip
		tags   bool
	}{
		{"good", func(w http.ResponseWriter) { chat(w, good) }, []selection.Clip{second, props[1].Clip}, true},
		{"invalid JSON", func(w http.ResponseWriter) { chat(w, "{slot_1: yes") }, []selection.Clip{props[0].Clip, props[1].Clip}, false},
		{"unknown id", func(w http.ResponseWriter) { chat(w, strings.Replace(good, "c1_2", "c9_9", 1)) }, []selection.Clip{props[0].Clip, props[1].Clip}, false},
		{"slow", func(w http.ResponseWriter) { time.Sleep(time.Second); chat(w, good) }, []selection.Clip{props[0].Clip, props[1].Clip}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { c.answer(w) }))
			defer srv.Close()
			e := &Engine{LLM: &llm.Client{BaseURL: srv.URL, Model: "m", Timeout: 500 * time.Millisecond}}
			got := e.choose(context.Background(), "Talk", "", props)
			for i, g := range got {
				if g.Start != c.want[i].Start || g.End != c.want[i].End {
					t.Errorf("clip %d is %.1f-%.1f, want %.1f-%.1f", i, g.Start, g.End, c.want[i].Start, c.want[i].End)
				}
				if c.tags != (len(g.Hashtags) == 3) {
					t.Errorf("clip %d hashtags %v", i, g.Hashtags)
				}
			}
			if c.tags && (!strings.Contains(got[0].Reason, "Opening line: “A hook.”") || got[0].Title == second.Title) {
				t.Errorf("the model's text is not used: %q, %q", got[0].Title, got[0].Reason)
			}
		})
	}
}
