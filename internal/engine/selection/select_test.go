package selection

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/transcript"
)

// talk is testdata/talk.srt: the sample talk's script with its exact
// sentence times (espeak-ng), paragraphs on money, pricing, sleep,
// languages, remote work, fitness, cooking, AI, presentations, startups,
// reading and health, with three filler-laden announcements in between.
func talk(t *testing.T) []transcript.Word {
	t.Helper()
	tr, err := transcript.Load("testdata/talk.srt")
	if err != nil {
		t.Fatal(err)
	}
	return tr.Words
}

func selectAll(t *testing.T, words []transcript.Word, prompt string, dts ...clipping.DurationType) []Clip {
	t.Helper()
	clips, err := Select(Input{Words: words, Duration: words[len(words)-1].End + 1, Prompt: prompt, Requests: dts})
	if err != nil {
		t.Fatal(err)
	}
	if len(clips) != len(dts) {
		t.Fatalf("got %d clips for %d requests", len(clips), len(dts))
	}
	return clips
}

// Every cut starts at a sentence start and ends at a sentence end, never
// inside a word, and its length fits its window.
func TestCutsAreOnSentenceBoundaries(t *testing.T) {
	words := talk(t)
	clips := selectAll(t, words, "", clipping.Duration30, clipping.Duration60, clipping.Duration180, clipping.DurationLong)
	for _, c := range clips {
		w := Windows[c.DurationType]
		if d := c.End - c.Start; d < w.Min || d > w.Max {
			t.Errorf("%s clip is %.1f s, outside %v-%v", c.DurationType, d, w.Min, w.Max)
		}
		if len(c.Words) == 0 {
			t.Fatalf("%s clip has no words", c.DurationType)
		}
		first, last := c.Words[0], c.Words[len(c.Words)-1]
		for _, wd := range words {
			if (wd.Start < c.Start && wd.End > c.Start) || (wd.Start < c.End && wd.End > c.End) {
				t.Errorf("%s clip [%.2f, %.2f] cuts the word %q [%.2f, %.2f]", c.DurationType, c.Start, c.End, wd.Text, wd.Start, wd.End)
			}
		}
		if !startsSentence(words, first) {
			t.Errorf("%s clip starts mid-sentence at %q", c.DurationType, first.Text)
		}
		if !endsSentence(last.Text) {
			t.Errorf("%s clip ends mid-sentence at %q", c.DurationType, last.Text)
		}
		if c.Title == "" || c.Reason == "" || c.Virality < 0 || c.Virality > 100 {
			t.Errorf("%s clip: title %q, reason %q, virality %d", c.DurationType, c.Title, c.Reason, c.Virality)
		}
	}
}

func startsSentence(words []transcript.Word, w transcript.Word) bool {
	for i, x := range words {
		if x == w {
			return i == 0 || endsSentence(words[i-1].Text)
		}
	}
	return false
}

func clipText(c Clip) string { return strings.ToLower(transcript.Text(c.Words)) }

// The prompt picks the clip about its topic.
func TestPromptPicksTheTopic(t *testing.T) {
	words := talk(t)
	for _, c := range []struct {
		prompt, want string
	}{
		{"pricing strategy for founders", "pricing"},
		{"how to sleep better", "sleep"},
		{"learning a new language", "language"},
		{"pasta recipe", "pasta"},
		{"artificial intelligence at work", "artificial intelligence"},
	} {
		clip := selectAll(t, words, c.prompt, clipping.Duration30)[0]
		if !strings.Contains(clipText(clip), c.want) {
			t.Errorf("prompt %q chose %q", c.prompt, clipText(clip))
		}
		if !strings.Contains(strings.ToLower(clip.Reason), "matches the prompt") {
			t.Errorf("prompt %q: reason %q does not mention the prompt", c.prompt, clip.Reason)
		}
	}
}

// Without a prompt, the filler-laden announcements are never chosen, and a
// strong opening wins: the 30 s clip opens on the talk's strongest hook,
// "Why do most people fail at saving money?", and the 60 s clip on another
// of its questions. With that first question cut, the 30 s clip moves to
// another question rather than open on what followed it.
func TestBestMomentWithoutPrompt(t *testing.T) {
	questions := []string{
		"Why do most people fail at saving money?",
		"What if you could learn a language in three months?",
		"How will artificial intelligence change your job in the next five years?",
		"Did you know that ninety percent of startups fail?",
	}
	words := talk(t)
	clips := selectAll(t, words, "", clipping.Duration30, clipping.Duration60)
	for _, c := range clips {
		text := clipText(c)
		if strings.Count(text, " um") > 0 || strings.Count(text, " uh") > 0 {
			t.Errorf("%s clip contains filler: %q", c.DurationType, text)
		}
		if first := firstSentence(c); !slices.Contains(questions, first) {
			t.Errorf("%s clip opens on %q, not on one of the talk's questions", c.DurationType, first)
		}
		if !strings.Contains(c.Reason, "Opens with a question") {
			t.Errorf("%s clip's reason %q does not name its opening", c.DurationType, c.Reason)
		}
	}
	if first := firstSentence(clips[0]); first != questions[0] {
		t.Errorf("30 s clip opens on %q; want %q", first, questions[0])
	}

	rest := words[len(strings.Fields(questions[0])):]
	c := selectAll(t, rest, "", clipping.Duration30)[0]
	if first := firstSentence(c); !slices.Contains(questions[1:], first) {
		t.Errorf("without the first question, the 30 s clip opens on %q, not on another question", first)
	}
}

// firstSentence is the text of a clip's first sentence.
func firstSentence(c Clip) string {
	for i, w := range c.Words {
		if endsSentence(w.Text) {
			return transcript.Text(c.Words[:i+1])
		}
	}
	return transcript.Text(c.Words)
}

// The virality score spreads: a strong paragraph scores high, a rambling
// announcement full of filler words under 50.
func TestViralitySpreads(t *testing.T) {
	words := talk(t)
	strong := paragraph(words, "Why do most people fail", "make it automatic.")
	weak := paragraph(words, "And then, um, there was", "with these things.")
	s := selectAll(t, strong, "", clipping.Duration30)[0]
	w := selectAll(t, weak, "", clipping.Duration30)[0]
	if s.Virality < 70 || w.Virality >= 50 || s.Virality > 99 {
		t.Fatalf("virality strong=%d weak=%d; want 70-99 and under 50", s.Virality, w.Virality)
	}
	if !strings.Contains(s.Reason, "question") {
		t.Errorf("strong reason %q does not name its question opening", s.Reason)
	}
	if !strings.Contains(w.Reason, "filler") {
		t.Errorf("weak reason %q does not name the filler", w.Reason)
	}
}

// paragraph cuts the words from the sentence starting with from to the one
// ending with to, re-timed to start at 0.5 s.
func paragraph(words []transcript.Word, from, to string) []transcript.Word {
	text := transcript.Text(words)
	a := strings.Index(text, from)
	b := strings.Index(text[a:], to) + a + len(to)
	start := len(strings.Fields(text[:a]))
	n := len(strings.Fields(text[a:b]))
	out := append([]transcript.Word(nil), words[start:start+n]...)
	off := out[0].Start - 0.5
	for i := range out {
		out[i].Start -= off
		out[i].End -= off
	}
	return out
}

// A source shorter than the target gets its best shorter clip and a reason.
func TestShortSource(t *testing.T) {
	words := paragraph(talk(t), "Here is the biggest mistake", "If everyone says yes, your price is wrong.")
	c := selectAll(t, words, "", clipping.Duration60)[0]
	span := words[len(words)-1].End - words[0].Start
	if d := c.End - c.Start; d < span-0.1 || d > 45 {
		t.Fatalf("short-source clip is %.1f s; want all %.1f s of speech", d, span)
	}
	if !strings.Contains(c.Reason, "only") {
		t.Fatalf("reason %q does not say the source is short", c.Reason)
	}
	long := selectAll(t, words, "", clipping.DurationLong)[0]
	if !strings.Contains(long.Reason, "too short for a long clip") {
		t.Fatalf("long reason %q", long.Reason)
	}
}

// The same duration asked twice gives two different clips.
func TestRepeatedDurationGivesDistinctClips(t *testing.T) {
	clips := selectAll(t, talk(t), "", clipping.Duration30, clipping.Duration30, clipping.Duration30)
	for i := range clips {
		for j := i + 1; j < len(clips); j++ {
			if o := shared(clips[i].Start, clips[i].End, clips[j].Start, clips[j].End); o > 0 {
				t.Errorf("clips %d and %d overlap by %.0f%%", i, j, 100*o)
			}
			if clips[i].Title == clips[j].Title {
				t.Errorf("clips %d and %d share the title %q", i, j, clips[i].Title)
			}
		}
	}
}

// Recognised speech has no punctuation: pauses make the sentences.
func TestUnpunctuatedTranscript(t *testing.T) {
	var words []transcript.Word
	for _, w := range talk(t) {
		w.Text = strings.ToLower(strings.Trim(w.Text, ".,?!"))
		words = append(words, w)
	}
	clips := selectAll(t, words, "sleep", clipping.Duration30, clipping.Duration60)
	for _, c := range clips {
		if d := c.End - c.Start; d < Windows[c.DurationType].Min || d > Windows[c.DurationType].Max {
			t.Errorf("%s clip is %.1f s", c.DurationType, d)
		}
	}
	if !strings.Contains(clipText(clips[0]), "sleep") && !strings.Contains(clipText(clips[1]), "sleep") {
		t.Errorf("prompt sleep chose %q and %q", clipText(clips[0]), clipText(clips[1]))
	}
}

func TestSplitSentences(t *testing.T) {
	ws := func(spec ...any) []transcript.Word {
		var out []transcript.Word
		for i := 0; i < len(spec); i += 2 {
			s := spec[i+1].(float64)
			out = append(out, transcript.Word{Text: spec[i].(string), Start: s, End: s + 0.3})
		}
		return out
	}
	got := splitSentences(ws("Dr.", 0.0, "Smith", 0.4, "said", 0.8, "hi.", 1.2, "Why?", 1.6, "Because", 3.5, "e.g.", 3.9, "this", 4.3))
	want := [][2]int{{0, 3}, {4, 4}, {5, 7}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i, s := range got {
		if s.first != want[i][0] || s.last != want[i][1] {
			t.Errorf("sentence %d = %d..%d, want %v", i, s.first, s.last, want[i])
		}
	}
}

func TestVisual(t *testing.T) {
	var times, motion []float64
	for i := 0; i < 300; i++ {
		times = append(times, float64(i))
		m := 0.01
		if i >= 200 && i < 240 {
			m = 0.2 // the action is at 200-240 s
		}
		motion = append(motion, m)
	}
	clips := SelectVisual(VisualInput{Duration: 300, Cuts: []float64{100, 200, 230, 262}, Times: times, Motion: motion,
		Title: "Demo", Why: "The source has no audio track", Requests: []clipping.DurationType{clipping.Duration30, clipping.Duration60}})
	if c := clips[0]; c.Start != 200 || c.End != 230 {
		t.Errorf("30 s clip = %.0f-%.0f, want 200-230 (cut to cut, most motion)", c.Start, c.End)
	}
	for _, c := range clips {
		if !strings.Contains(c.Reason, "no audio track") || !strings.Contains(c.Reason, "no captions") || len(c.Words) != 0 {
			t.Errorf("reason %q", c.Reason)
		}
		if d := c.End - c.Start; d < Windows[c.DurationType].Min || d > Windows[c.DurationType].Max {
			t.Errorf("%s visual clip is %.0f s", c.DurationType, d)
		}
	}
	short := SelectVisual(VisualInput{Duration: 12, Times: times[:12], Motion: motion[:12], Why: "x", Requests: []clipping.DurationType{clipping.Duration30}})
	if c := short[0]; c.Start != 0 || math.Abs(c.End-12) > 1e-9 || !strings.Contains(c.Reason, "only 12 s") {
		t.Errorf("short visual clip = %+v", c)
	}
}
