package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/clipmill/clipmill/internal/engine"
)

// planCmd is the first half of clip: it finds the clips and writes them to
// DIR/plan.json, to be edited and rendered by the render command.
func planCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	f := addJobFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: clipmill plan INPUT --out DIR [flags]\n\n"+
			"Finds the clips, as clip does, and writes DIR/plan.json instead of rendering them.\n"+
			"Edit a clip's start, end, title or words there, then run clipmill render DIR/plan.json.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	eng, job, err := f.build("plan", pos)
	if err != nil {
		return err
	}
	ctx, done := jobContext(*f.engine.timeout)
	defer done()
	bar := newProgressBar(stderr)
	pl, err := eng.Plan(ctx, job, bar)
	bar.finish()
	if err != nil {
		return fmt.Errorf("%s", engine.FailureMessage(err))
	}
	path := filepath.Join(job.OutDir, "plan.json")
	if err := engine.WritePlan(path, pl); err != nil {
		return err
	}
	for _, c := range pl.Clips {
		fmt.Fprintf(stdout, "  %-5s %s  %6.1f-%6.1f s  score %3d  %s\n", c.DurationType, c.ID, c.Start, c.End, c.Virality, c.Title)
	}
	fmt.Fprintf(stdout, "plan: %s\nrender it: clipmill render %s\n", path, path)
	return nil
}

// renderCmd is the second half of clip: it renders the clips of a plan.
func renderCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	ef := addEngineFlags(fs)
	ids := fs.String("clip", "", "comma-separated ids of the clips to render (default: all)")
	out := fs.String("out", "", "output folder (default: the plan's)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: clipmill render PLAN [flags]\n\nRenders the clips of a plan.json that clipmill plan wrote.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"render takes one PLAN (a plan.json); see clipmill render -h"}
	}
	pl, err := engine.ReadPlan(pos[0])
	if err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Dir(pos[0])
	}
	var only []string
	if *ids != "" {
		only = strings.Split(*ids, ",")
	}
	ctx, done := jobContext(*ef.timeout)
	defer done()
	bar := newProgressBar(stderr)
	res, runErr := ef.newEngine().Render(ctx, pl, *out, only, bar)
	bar.finish()
	return finish(ctx, stdout, *out, pl.Settings.AspectRatio, res, runErr, *ef.timeout, "")
}
