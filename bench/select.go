package main

import (
	"fmt"
	"sort"
	"time"

	"github.com/clipmill/clipmill/internal/engine/selection"
	"github.com/clipmill/clipmill/internal/engine/selection/selectiontest"
)

// selectFigures runs the selection stage on the generated talks, whose
// topics, hooks, intros, segues and outros are known, with and without
// prompts, and prints how the clips hold to that structure.
func selectFigures() error {
	talks := selectiontest.Talks()
	var f selectiontest.Figures
	start := time.Now()
	jobs := selectiontest.Jobs(talks)
	for _, j := range jobs {
		t := talks[j.Talk]
		clips, err := selection.Select(selection.Input{Words: t.Words, Duration: t.Duration, Prompt: j.Prompt, Requests: j.Requests})
		if err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
		f.Add(t, j, clips)
	}
	took := time.Since(start)
	fmt.Printf("== selection: %d talks, %d jobs, %d clips (%.0f ms in all)\n", len(talks), len(jobs), f.Clips, float64(took.Microseconds())/1000)
	fmt.Printf("  %-62s %-9s %s\n", "figure", "aim", "measured")
	row := func(fig, aim, res string) { fmt.Printf("  %-62s %-9s %s\n", fig, aim, res) }
	row("prompt hit: the clip lies in the prompted topic", ">= 95%", fmt.Sprintf("%.0f%% (%d of %d)", 100*f.PromptHit(), f.PromptHits, f.Prompted))
	row("topic purity: share of clip time inside one topic", ">= 0.9", fmt.Sprintf("%.2f (%d clips)", f.Purity(), f.PurityClips))
	row("overlap between the clips of one job, of the shorter", "<= 20%", fmt.Sprintf("%.0f%%", 100*f.MaxOverlap))
	row("clips that open on a hook where their topic has one", ">= 80%", fmt.Sprintf("%.0f%% (%d of %d)", 100*f.HookRate(), f.Hooked, f.HookChances))
	row("clips that start or end on an intro, segue or outro", "0", fmt.Sprint(f.BadEdges))
	row("titles over 60 characters, cut mid-phrase, or a number not spoken", "0", fmt.Sprint(f.BadTitles))
	sort.Ints(f.Scores)
	if n := len(f.Scores); n > 0 {
		row("virality of the chosen clips: lowest, median, highest", "-", fmt.Sprintf("%d, %d, %d", f.Scores[0], f.Scores[n/2], f.Scores[n-1]))
	}
	fmt.Println()
	return nil
}
