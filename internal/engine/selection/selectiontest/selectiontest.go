// Package selectiontest builds talks whose structure is known, for the
// selection stage's tests and for `make bench-select`: an intro, topics
// joined by segues, and an outro, from the corpus in talks.txt, with exact
// word times. It also scores the clips chosen from them against that
// structure.
package selectiontest

import (
	_ "embed"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/transcript"
)

//go:embed talks.txt
var corpus string

// Role is what a sentence does in a talk.
type Role int

const (
	Body Role = iota
	Intro
	Segue
	Outro
)

func (r Role) String() string { return [...]string{"body", "intro", "segue", "outro"}[r] }

// Sentence is one sentence of a talk.
type Sentence struct {
	Text        string
	Role        Role
	Topic       int  // index in Talk.Topics; -1 outside topics
	Hook        bool // a line a clip may open on
	First, Last int  // word indexes, inclusive
	Start, End  float64
}

// Topic is one topic of a talk: its sentences and their span.
type Topic struct {
	Name, Prompt string
	First, Last  int // sentence indexes, inclusive
	Start, End   float64
}

// Talk is a generated talk and its structure.
type Talk struct {
	Name      string
	Words     []transcript.Word
	Sentences []Sentence
	Topics    []Topic
	Duration  float64
}

type block struct {
	kind, name, prompt string
	lines              []string
}

func blocks() []block {
	var out []block
	for _, part := range strings.Split(corpus, "\n## ")[1:] {
		lines := strings.Split(strings.TrimSpace(part), "\n")
		b := block{kind: strings.TrimSpace(lines[0])}
		if name, ok := strings.CutPrefix(b.kind, "topic "); ok {
			b.kind = "topic"
			b.name, b.prompt, _ = strings.Cut(name, " | ")
			b.name, b.prompt = strings.TrimSpace(b.name), strings.TrimSpace(b.prompt)
		}
		for _, l := range lines[1:] {
			if l = strings.TrimSpace(l); l != "" {
				b.lines = append(b.lines, l)
			}
		}
		out = append(out, b)
	}
	return out
}

// plans are the talks: their topics, in order. Some pause between topics,
// some run straight on, so that pauses alone cannot find the topics.
var plans = []struct {
	topics []string
	pause  bool
}{
	{[]string{"volcanoes", "chess", "coffee"}, true},
	{[]string{"sleep", "pricing", "bees"}, false},
	{[]string{"running", "writing", "bread", "saving"}, true},
	{[]string{"coffee", "saving", "sleep"}, false},
	{[]string{"bees", "volcanoes", "running"}, false},
	{[]string{"pricing", "bread", "chess", "writing"}, true},
}

// Talks builds every talk of the corpus. They are the same on every call.
func Talks() []Talk {
	var intros, outros, segues []block
	topics := map[string]block{}
	for _, b := range blocks() {
		switch b.kind {
		case "intro":
			intros = append(intros, b)
		case "outro":
			outros = append(outros, b)
		case "segue":
			segues = append(segues, b)
		case "topic":
			topics[b.name] = b
		}
	}
	var out []Talk
	for n, p := range plans {
		rng := rand.New(rand.NewPCG(uint64(n)+1, 7))
		t := &Talk{Name: fmt.Sprintf("talk%d-%s", n+1, strings.Join(p.topics, "-"))}
		clock := 0.6
		rate := 2.4 + 0.12*float64(n%5) // words a second
		add := func(text string, role Role, topic int, hook bool, gap float64) {
			clock += gap
			s := Sentence{Text: text, Role: role, Topic: topic, Hook: hook, First: len(t.Words), Start: clock}
			for _, w := range strings.Fields(text) {
				d := (0.1 + 0.045*float64(len(w))) * 2.6 / rate
				t.Words = append(t.Words, transcript.Word{Text: w, Start: round(clock), End: round(clock + d), Confidence: 0.95})
				clock += d + 0.04 + 0.06*rng.Float64()
			}
			s.Last, s.End = len(t.Words)-1, t.Words[len(t.Words)-1].End
			t.Sentences = append(t.Sentences, s)
		}
		gap := func() float64 { return 0.3 + 0.25*rng.Float64() }
		names := joinNames(p.topics)
		for _, l := range intros[n%len(intros)].lines {
			add(strings.ReplaceAll(l, "{topics}", names), Intro, -1, false, gap())
		}
		for k, name := range p.topics {
			if k > 0 {
				seg := segues[(n+k)%len(segues)].lines[0]
				add(strings.ReplaceAll(seg, "{next}", name), Segue, -1, false, gap())
			}
			b := topics[name]
			tp := Topic{Name: name, Prompt: b.prompt, First: len(t.Sentences)}
			for i, l := range b.lines {
				g := gap()
				if i == 0 && p.pause {
					g += 0.6
				}
				hook := strings.HasPrefix(l, "! ")
				add(strings.TrimPrefix(l, "! "), Body, len(t.Topics), hook, g)
			}
			tp.Last = len(t.Sentences) - 1
			tp.Start, tp.End = t.Sentences[tp.First].Start, t.Sentences[tp.Last].End
			t.Topics = append(t.Topics, tp)
		}
		for _, l := range outros[n%len(outros)].lines {
			add(l, Outro, -1, false, gap())
		}
		t.Duration = clock + 1
		out = append(out, *t)
	}
	return out
}

func joinNames(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func round(v float64) float64 { return math.Round(v*1000) / 1000 }

// Job is one clipping request on a talk.
type Job struct {
	Talk     int
	Prompt   string
	Topic    int // the prompted topic; -1 without a prompt
	Requests []clipping.DurationType
}

// Jobs are the requests the benchmark makes of the talks: clips of every
// length with no prompt, and one per topic, prompted by it.
func Jobs(talks []Talk) []Job {
	var out []Job
	for i, t := range talks {
		out = append(out, Job{Talk: i, Topic: -1, Requests: []clipping.DurationType{
			clipping.Duration30, clipping.Duration60, clipping.Duration30}})
		if t.Duration > 300 {
			out = append(out, Job{Talk: i, Topic: -1, Requests: []clipping.DurationType{clipping.Duration180, clipping.Duration60}})
		}
		for k, tp := range t.Topics {
			dt := clipping.Duration30
			if k%2 == 1 {
				dt = clipping.Duration60
			}
			out = append(out, Job{Talk: i, Prompt: tp.Prompt, Topic: k, Requests: []clipping.DurationType{dt}})
		}
	}
	return out
}
