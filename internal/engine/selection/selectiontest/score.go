package selectiontest

import (
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/clipmill/clipmill/internal/engine/selection"
	"github.com/clipmill/clipmill/internal/engine/transcript"
)

// Figures add up how the clips of many jobs hold to the talks' structure.
type Figures struct {
	Clips int

	Prompted, PromptHits int // prompted clips, and those that lie in the prompted topic

	PurityClips int     // clips whose length one topic can hold
	PuritySum   float64 // their share of time inside their main topic, summed

	MaxOverlap float64 // the largest overlap of two clips of one job, over the shorter

	HookChances, Hooked int // clips whose topic has a hook they could open on; those that do

	BadEdges int // clips that start on an intro or a segue, or end on a segue or an outro

	Scores    []int // the virality scores given
	BadTitles int   // titles over 60 characters, cut mid-phrase, or with a number not spoken

	Problems []string // one line per failure, for a test to print
}

func (f *Figures) problem(format string, args ...any) {
	f.Problems = append(f.Problems, fmt.Sprintf(format, args...))
}

// PromptHit, Purity and HookRate are the shares the benchmark prints.
func (f *Figures) PromptHit() float64 { return ratio(f.PromptHits, f.Prompted) }
func (f *Figures) Purity() float64    { return f.PuritySum / math.Max(1, float64(f.PurityClips)) }
func (f *Figures) HookRate() float64  { return ratio(f.Hooked, f.HookChances) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// Add scores the clips chosen for one job.
func (f *Figures) Add(t Talk, j Job, clips []selection.Clip) {
	longest := 0.0
	for _, tp := range t.Topics {
		longest = math.Max(longest, tp.End-tp.Start)
	}
	for i, c := range clips {
		f.Clips++
		f.Scores = append(f.Scores, c.Virality)
		name := fmt.Sprintf("%s %q %s clip %.1f-%.1f", t.Name, j.Prompt, c.DurationType, c.Start, c.End)
		topic, share := t.mainTopic(c.Start, c.End)
		if j.Topic >= 0 {
			f.Prompted++
			tp := t.Topics[j.Topic]
			if in := overlapLen(c.Start, c.End, tp.Start-0.5, tp.End+0.5) / (c.End - c.Start); in >= 0.8 {
				f.PromptHits++
			} else {
				f.problem("%s: %.0f%% in the prompted topic %s", name, 100*in, tp.Name)
			}
		}
		if w := selection.Windows[c.DurationType]; w.Min <= longest {
			f.PurityClips++
			f.PuritySum += share
			if share < 0.9 {
				f.problem("%s: only %.0f%% in one topic", name, 100*share)
			}
		}
		first, last := t.sentenceAt(c.Start, c.End)
		if first >= 0 {
			if r := t.Sentences[first].Role; r == Intro || r == Segue {
				f.BadEdges++
				f.problem("%s: starts on the %s %q", name, r, t.Sentences[first].Text)
			}
			if r := t.Sentences[last].Role; r == Segue || r == Outro {
				f.BadEdges++
				f.problem("%s: ends on the %s %q", name, r, t.Sentences[last].Text)
			}
			if topic >= 0 && t.hookWithin(topic, selection.Windows[c.DurationType].Min) {
				f.HookChances++
				if t.Sentences[first].Hook {
					f.Hooked++
				} else {
					f.problem("%s: opens on %q, not on a hook", name, t.Sentences[first].Text)
				}
			}
		}
		if why := badTitle(c); why != "" {
			f.BadTitles++
			f.problem("%s: title %q %s", name, c.Title, why)
		}
		for _, o := range clips[:i] {
			ov := overlapLen(c.Start, c.End, o.Start, o.End) / math.Min(c.End-c.Start, o.End-o.Start)
			f.MaxOverlap = math.Max(f.MaxOverlap, ov)
			if ov > 0.2 {
				f.problem("%s: overlaps the %s clip %.1f-%.1f by %.0f%%", name, o.DurationType, o.Start, o.End, 100*ov)
			}
		}
	}
}

func overlapLen(a0, a1, b0, b1 float64) float64 {
	return math.Max(0, math.Min(a1, b1)-math.Max(a0, b0))
}

// mainTopic is the topic that holds most of [start, end), and its share of
// the span's speech.
func (t Talk) mainTopic(start, end float64) (int, float64) {
	best, bestLen, speech := -1, 0.0, 0.0
	per := map[int]float64{}
	for _, s := range t.Sentences {
		l := overlapLen(start, end, s.Start, s.End)
		speech += l
		if s.Topic >= 0 {
			per[s.Topic] += l
		}
	}
	for k, l := range per {
		if l > bestLen {
			best, bestLen = k, l
		}
	}
	return best, bestLen / math.Max(speech, 1e-9)
}

// sentenceAt returns the first and last sentences a clip holds.
func (t Talk) sentenceAt(start, end float64) (int, int) {
	first, last := -1, -1
	for i, s := range t.Sentences {
		if s.Start >= start-0.05 && s.End <= end+0.05 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	return first, last
}

// hookWithin reports whether a topic has a hook from which a clip of at
// least min seconds fits inside the topic.
func (t Talk) hookWithin(topic int, min float64) bool {
	tp := t.Topics[topic]
	for k := tp.First; k <= tp.Last; k++ {
		if t.Sentences[k].Hook && tp.End-t.Sentences[k].Start >= min {
			return true
		}
	}
	return false
}

// badTitle says what is wrong with a clip's title, or "".
func badTitle(c selection.Clip) string {
	if n := utf8.RuneCountInString(c.Title); n > 60 {
		return fmt.Sprintf("is %d characters long", n)
	}
	title := words(c.Title)
	spoken := make([]string, len(c.Words))
	for i, w := range c.Words {
		spoken[i] = strings.Join(words(w.Text), "")
	}
	for _, run := range numberRuns(title) {
		if !hasRun(numberRuns(spoken), run) {
			return fmt.Sprintf("has the number %q, which the clip never says", strings.Join(run, " "))
		}
	}
	if !wholePhrase(title, c.Words, strings.HasSuffix(c.Title, "?")) {
		return "is not a whole phrase of the clip (cut mid-phrase, or not its words)"
	}
	return ""
}

// words lowercases text and splits it into words of letters and digits.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
}

var numberWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`zero one two three four five six seven eight nine ten eleven twelve
thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy
eighty ninety hundred thousand million billion`) {
		numberWords[w] = true
	}
}

func isNumber(w string) bool {
	if numberWords[w] {
		return true
	}
	for _, r := range w {
		if unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

// numberRuns are the maximal runs of number words ("one thousand three
// hundred and fifty"), so that "fifty" alone is not taken from them.
func numberRuns(ws []string) [][]string {
	var runs [][]string
	for i := 0; i < len(ws); i++ {
		if !isNumber(ws[i]) {
			continue
		}
		j := i
		for j+1 < len(ws) && (isNumber(ws[j+1]) || (ws[j+1] == "and" && j+2 < len(ws) && isNumber(ws[j+2]))) {
			j++
		}
		runs = append(runs, ws[i:j+1])
		i = j
	}
	return runs
}

func hasRun(runs [][]string, run []string) bool {
	for _, r := range runs {
		if strings.Join(r, " ") == strings.Join(run, " ") {
			return true
		}
	}
	return false
}

// clauseWords start a clause: a title may start after one, or end before
// one. A copula ends a subject: "The biggest mistake beginners make | is".
// "and" and "or" join words as often as clauses: a title may start after
// one, but not end before one.
var clauseWords = map[string]bool{"but": true, "because": true, "which": true,
	"that": true, "when": true, "while": true, "if": true, "since": true, "yet": true,
	"although": true, "though": true, "unless": true, "until": true, "where": true, "whereas": true,
	"is": true, "are": true, "was": true, "were": true}

// leadIns are words a title may drop from the start of its sentence.
var leadIns = map[string]bool{"so": true, "and": true, "but": true, "here": true, "is": true, "here's": true,
	"well": true, "okay": true, "ok": true, "now": true, "look": true, "listen": true, "basically": true,
	"um": true, "uh": true, "did": true, "you": true, "know": true, "i": true, "think": true}

// wholePhrase reports whether the title is a run of the clip's words that
// starts a clause (a sentence start, after lead-in words, after
// punctuation or before a clause word) and ends one (at punctuation, at the
// sentence's end, or before a clause word; a question also before "and").
func wholePhrase(title []string, ws []transcript.Word, question bool) bool {
	if len(title) == 0 {
		return false
	}
	spoken := make([]string, len(ws))
	for i, w := range ws {
		spoken[i] = strings.Join(words(w.Text), "")
	}
	boundaryAfter := func(i int) bool { // a clause may start after word i
		return i < 0 || strings.ContainsAny(lastRune(ws[i].Text), ",.;:?!—") || clauseWords[spoken[i]] ||
			spoken[i] == "and" || spoken[i] == "or"
	}
	for i := range spoken {
		if i+len(title) > len(spoken) {
			break
		}
		match := true
		for k, w := range title {
			match = match && spoken[i+k] == strings.Join(words(w), "")
		}
		if !match {
			continue
		}
		s := i - 1
		for n := 0; n < 4 && s >= 0 && leadIns[spoken[s]] && !boundaryAfter(s); n++ {
			s--
		}
		if !boundaryAfter(s) && !boundaryAfter(i-1) {
			continue
		}
		end := i + len(title) - 1
		if strings.ContainsAny(lastRune(ws[end].Text), ",.;:?!—") || end+1 == len(ws) || clauseWords[spoken[end+1]] ||
			(question && (spoken[end+1] == "and" || spoken[end+1] == "or")) {
			return true
		}
	}
	return false
}

func endsSentence(w string) bool { return strings.ContainsAny(lastRune(w), ".?!") }

func lastRune(s string) string {
	r, _ := utf8.DecodeLastRuneInString(strings.TrimRight(s, `"')`))
	return string(r)
}
