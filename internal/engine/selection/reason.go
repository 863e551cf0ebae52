package selection

import (
	"fmt"
	"strings"

	"github.com/clipmill/clipmill/internal/clipping"
)

// reason says in one line why the clip was chosen, from the same features
// that scored it, each claim naming its fact.
func (a *analysis) reason(c candidate) string {
	f := c.f
	var parts []string
	if k, ok := f.hook.best(); ok && f.hook.score >= 0.3 {
		parts = append(parts, fmt.Sprintf("opens with %s: “%s”", hookNames[k], a.quote(c.first)))
	}
	if len(a.terms) > 0 {
		switch {
		case f.promptWords > 0:
			parts = append(parts, fmt.Sprintf("matches the prompt: %s said %s", a.promptList(f.termsHit), times(f.promptWords)))
		case a.topRelevance() == 0:
			parts = append(parts, "nothing in the source matches the prompt, so this is its strongest moment")
		default:
			parts = append(parts, "the prompt's words are not said in this clip")
		}
	}
	switch {
	case c.crossings == 0 && f.startsTopic && f.endsTopic:
		parts = append(parts, fmt.Sprintf("one whole topic (%s)", strings.Join(a.topics[a.info[c.first].topic].words, ", ")))
	case c.crossings == 0:
		parts = append(parts, fmt.Sprintf("stays on one topic (%s)", strings.Join(a.topics[a.info[c.first].topic].words, ", ")))
	case c.forcedCross:
		parts = append(parts, fmt.Sprintf("crosses %d topic changes, since no single topic fills %s", c.crossings, lengthName(c.dt)))
	default:
		parts = append(parts, fmt.Sprintf("crosses %d topic changes", c.crossings))
	}
	switch {
	case f.wps >= 3:
		parts = append(parts, fmt.Sprintf("fast delivery (%.1f words/s)", f.wps))
	case f.density < 0.5:
		parts = append(parts, fmt.Sprintf("slow speech with long pauses (%.1f words/s)", f.wps))
	}
	if f.dbAbove >= 2 {
		parts = append(parts, fmt.Sprintf("energetic delivery (+%.0f dB)", f.dbAbove))
	}
	switch {
	case f.filler >= 0.4:
		parts = append(parts, fmt.Sprintf("but many filler words (%.0f%%)", 100*f.fillerShare))
	case f.fillerShare == 0:
		parts = append(parts, "no filler words")
	}
	if f.lowConf >= 0.5 {
		parts = append(parts, fmt.Sprintf("but %.0f%% of its words were recognised with low confidence, so its captions and title may be wrong (a transcript file or a whisper server gives exact ones)", 100*f.lowConf))
	}
	if c.weak {
		parts = append(parts, "the source has only an intro, segues or an outro to offer")
	}
	if c.overlapped > 0 {
		parts = append(parts, fmt.Sprintf("the source is too short for distinct clips, so it shares %.0f%% with another clip", 100*c.overlapped))
	}
	line := strings.Join(parts, "; ") + "."
	w := Windows[c.dt]
	if d := c.end - c.start; d < w.Min {
		if c.dt == clipping.DurationLong {
			return fmt.Sprintf("The source is too short for a long clip (over %.0f s), so this is its best %.0f s: %s", w.Min, d, line)
		}
		return fmt.Sprintf("The source has only %.0f s of speech to offer for the %s s target, so this is its best %.0f s: %s", a.speechSpan(), c.dt, d, line)
	}
	return capitalise(line)
}

// quote is the opening words of sentence k, as spoken.
func (a *analysis) quote(k int) string {
	s := a.sents[k]
	last := min(s.last, s.first+7)
	parts := make([]string, 0, last-s.first+1)
	for i := s.first; i <= last; i++ {
		parts = append(parts, a.words[i].Text)
	}
	q := strings.Join(parts, " ")
	if last < s.last {
		q = strings.TrimRight(q, ",.;:") + "…"
	}
	return q
}

// promptList names the prompt words a clip says, as the user typed them.
func (a *analysis) promptList(mask uint64) string {
	var hit []string
	for b, t := range a.terms {
		if mask&(1<<b) != 0 {
			hit = append(hit, "“"+a.promptWord(t)+"”")
		}
	}
	return strings.Join(hit, " and ")
}

// promptWord maps a prompt stem back to the word the user typed.
func (a *analysis) promptWord(stemmed string) string {
	for _, t := range strings.Fields(a.in.Prompt) {
		if n := norm(t); stem(n) == stemmed {
			return n
		}
	}
	return stemmed
}

func times(n int) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return fmt.Sprintf("%d times", n)
}

func lengthName(dt clipping.DurationType) string {
	if dt == clipping.DurationLong {
		return "a long clip"
	}
	return "a " + string(dt) + " s clip"
}

// speechSpan is how much speech the source has: its sentences' lengths.
func (a *analysis) speechSpan() float64 {
	sum := 0.0
	for _, s := range a.sents {
		sum += s.end - s.start
	}
	return sum
}
