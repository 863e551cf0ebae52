package selection_test

import (
	"strings"
	"testing"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/selection"
	"github.com/clipmill/clipmill/internal/engine/selection/selectiontest"
	"github.com/clipmill/clipmill/internal/engine/transcript"
)

// The clips of generated talks of known structure hold to it, by the
// figures make bench-select prints: in the prompted topic, inside one
// topic, distinct, opening on the topic's hook, never on an intro, a segue
// or an outro, with whole-phrase titles that say only spoken numbers.
func TestClipsKeepToTheTalksStructure(t *testing.T) {
	talks := selectiontest.Talks()
	var f selectiontest.Figures
	for _, j := range selectiontest.Jobs(talks) {
		tk := talks[j.Talk]
		clips, err := selection.Select(selection.Input{Words: tk.Words, Duration: tk.Duration, Prompt: j.Prompt, Requests: j.Requests})
		if err != nil {
			t.Fatalf("%s: %v", tk.Name, err)
		}
		for _, c := range clips {
			t.Logf("%s %q %s %.1f-%.1f v=%d %q | %s", tk.Name, j.Prompt, c.DurationType, c.Start, c.End, c.Virality, c.Title, c.Reason)
		}
		f.Add(tk, j, clips)
	}
	for _, p := range f.Problems {
		t.Log(p)
	}
	if f.PromptHit() < 0.95 {
		t.Errorf("prompt hit %.0f%%, want >= 95%%", 100*f.PromptHit())
	}
	if f.Purity() < 0.9 {
		t.Errorf("topic purity %.2f, want >= 0.9", f.Purity())
	}
	if f.MaxOverlap > 0.2 {
		t.Errorf("clips of one job overlap by %.0f%%, want <= 20%%", 100*f.MaxOverlap)
	}
	if f.HookRate() < 0.8 {
		t.Errorf("%.0f%% of clips open on their topic's hook, want >= 80%%", 100*f.HookRate())
	}
	if f.BadEdges > 0 || f.BadTitles > 0 {
		t.Errorf("%d clips start or end on an intro, segue or outro; %d bad titles; want none", f.BadEdges, f.BadTitles)
	}
}

func selectFrom(t *testing.T, tk selectiontest.Talk, prompt string, dts ...clipping.DurationType) []selection.Clip {
	t.Helper()
	clips, err := selection.Select(selection.Input{Words: tk.Words, Duration: tk.Duration, Prompt: prompt, Requests: dts})
	if err != nil {
		t.Fatal(err)
	}
	return clips
}

// A clip longer than any topic crosses topics, and says why.
func TestCrossingIsForcedAndSaid(t *testing.T) {
	tk := selectiontest.Talks()[0]
	c := selectFrom(t, tk, "", clipping.Duration180)[0]
	if !strings.Contains(c.Reason, "since no single topic fills a 180 s clip") {
		t.Errorf("180 s clip reason %q does not say why it crosses topics", c.Reason)
	}
	for _, c := range selectFrom(t, tk, "", clipping.Duration60, clipping.Duration30) {
		if strings.Contains(c.Reason, "crosses") {
			t.Errorf("%s clip crosses topics when one holds it: %q", c.DurationType, c.Reason)
		}
	}
}

// A source too short for distinct clips shares as little as it can, and
// the reason says so.
func TestTooShortForDistinctClips(t *testing.T) {
	tk := selectiontest.Talks()[0]
	tp := tk.Topics[1]
	var words []transcript.Word
	for _, w := range tk.Words {
		if w.Start >= tp.Start && w.End <= tp.End {
			words = append(words, w)
		}
	}
	short := selectiontest.Talk{Words: words, Duration: tp.End + 1}
	clips := selectFrom(t, short, "", clipping.Duration60, clipping.Duration60)
	said := false
	for _, c := range clips {
		said = said || strings.Contains(c.Reason, "too short for distinct clips")
	}
	if !said {
		t.Errorf("two 60 s clips from %.0f s of speech, and no reason says they share: %q / %q", tp.End-tp.Start, clips[0].Reason, clips[1].Reason)
	}
}

// A talk that is only an intro and an outro still gets a clip, scored under
// 50 and said so.
func TestIntroAndOutroScoreLow(t *testing.T) {
	tk := selectiontest.Talks()[0]
	var words []transcript.Word
	for _, s := range tk.Sentences {
		if s.Role == selectiontest.Intro || s.Role == selectiontest.Outro {
			words = append(words, tk.Words[s.First:s.Last+1]...)
		}
	}
	c := selectFrom(t, selectiontest.Talk{Words: words, Duration: tk.Duration}, "", clipping.Duration30)[0]
	if c.Virality >= 50 || !strings.Contains(c.Reason, "only an intro") {
		t.Errorf("intro-and-outro clip: virality %d, reason %q", c.Virality, c.Reason)
	}
}

// Words recognised with low confidence never make a title, and a clip of
// mostly such words scores under 50 with a reason that says so.
func TestLowConfidence(t *testing.T) {
	tk := selectiontest.Talks()[0]
	hook := tk.Sentences[tk.Topics[1].First+2] // "The biggest mistake beginners make…"
	words := append([]transcript.Word(nil), tk.Words...)
	for i := hook.First; i <= hook.Last; i++ {
		words[i].Confidence = 0.3
	}
	c := selectFrom(t, selectiontest.Talk{Words: words, Duration: tk.Duration}, "chess openings", clipping.Duration30)[0]
	if strings.Contains(strings.ToLower(c.Title), "biggest mistake") {
		t.Errorf("title %q is made of low-confidence words", c.Title)
	}
	for i := range words {
		words[i].Confidence = 0.4
	}
	c = selectFrom(t, selectiontest.Talk{Words: words, Duration: tk.Duration}, "", clipping.Duration30)[0]
	if c.Virality >= 50 || !strings.Contains(c.Reason, "low confidence") || !strings.HasPrefix(c.Title, "Moment at") {
		t.Errorf("an uncertain transcript: virality %d, title %q, reason %q", c.Virality, c.Title, c.Reason)
	}
}
