package transcript

import (
	"math"
	"strings"
	"testing"
)

// want is a word with times to check to the millisecond.
type want struct {
	text       string
	start, end float64
}

func checkWords(t *testing.T, got []Word, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("got %d words %q, want %d %q", len(got), Text(got), len(wants), wantText(wants))
	}
	for i, w := range wants {
		g := got[i]
		if g.Text != w.text || !near(g.Start, w.start) || !near(g.End, w.end) {
			t.Errorf("word %d = %q %.3f-%.3f, want %q %.3f-%.3f", i, g.Text, g.Start, g.End, w.text, w.start, w.end)
		}
	}
}

// checkText checks the words' text only, and that times are sane.
func checkText(t *testing.T, got []Word, text string) {
	t.Helper()
	if g := Text(got); g != text {
		t.Errorf("text = %q, want %q", g, text)
	}
	checkOrder(t, got)
}

// checkOrder checks the invariants every parser promises.
func checkOrder(t *testing.T, got []Word) {
	t.Helper()
	for i, w := range got {
		if w.Start < 0 || w.End < w.Start || math.IsNaN(w.Start) || math.IsNaN(w.End) {
			t.Errorf("word %d %q has bad times %v-%v", i, w.Text, w.Start, w.End)
		}
		if i+1 < len(got) && (got[i+1].Start < w.Start || w.End > got[i+1].Start+1e-9) {
			t.Errorf("word %d %q (%v-%v) overlaps or follows word %d %q (%v-%v)", i, w.Text, w.Start, w.End, i+1, got[i+1].Text, got[i+1].Start, got[i+1].End)
		}
		if strings.TrimSpace(w.Text) != w.Text || w.Text == "" {
			t.Errorf("word %d %q has bad text", i, w.Text)
		}
	}
}

func wantText(ws []want) string {
	var s []string
	for _, w := range ws {
		s = append(s, w.text)
	}
	return strings.Join(s, " ")
}

func near(a, b float64) bool { return math.Abs(a-b) < 0.0005 }

// errContains checks that err is not nil and mentions every part.
func errContains(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}
