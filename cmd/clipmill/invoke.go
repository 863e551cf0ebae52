package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/clipmill/clipmill/internal/lambdalocal"
	"github.com/clipmill/clipmill/internal/lambdaruntime"
)

// functionError is a function that answered with an error: exit status
// 1, its error document already on stdout.
type functionError struct{ typ string }

func (e functionError) Error() string { return "the function failed with " + e.typ }

func invokeCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	var (
		data  = fs.String("data", "", "the bucket's folder, as clipmill local's --data; a scratch folder, removed afterwards, when empty")
		bin   = fs.String("build", "build/local", "where the function is built, as <name>/bootstrap (relative to the repository)")
		quiet = fs.Bool("quiet", false, "do not copy the function's logs to stderr")
	)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: clipmill invoke [flags] FUNCTION EVENT

Runs one of template.yaml's functions (SubmitFunction, PollFunction,
StoreFunction, EngineFunction, TranscribeFunction) on the event in the file
EVENT, as sam local invoke does, without Docker: the function is built for
this machine and run under a local Lambda runtime API with its Timeout and
MemorySize, and with its environment from events/local-env.json pointed at
a clipmill local started on a scratch folder (its S3 endpoint and API), and
at loopback stand-ins for Secrets Manager, Step Functions and Transcribe.
It prints the response, or the {"errorType","errorMessage"} document;
the exit status is 0 for a response and 1 for an error. Run it in the
repository.

Flags:
`)
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError{"invoke takes FUNCTION and EVENT; see clipmill invoke -h"}
	}
	id, eventFile := pos[0], pos[1]
	event, err := os.ReadFile(eventFile)
	if err != nil {
		return fmt.Errorf("event: %w", err)
	}
	if !json.Valid(event) {
		return fmt.Errorf("event %s: not JSON", eventFile)
	}
	root, err := lambdalocal.Root(".")
	if err != nil {
		return err
	}
	if !filepath.IsAbs(*bin) {
		*bin = filepath.Join(root, *bin)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	scratch, err := os.MkdirTemp("", "clipmill-invoke-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	cfg := lambdalocal.Config{Root: root, Data: *data, Scratch: scratch, Bin: *bin, Logs: stderr,
		Log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if *quiet {
		cfg.Logs = nil
	}
	h, err := lambdalocal.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer h.Close()
	fn, err := h.Function(id)
	if err != nil {
		return usageError{err.Error()}
	}
	if err := lambdalocal.Build(ctx, root, *bin, id); err != nil {
		return err
	}
	res, err := lambdaruntime.Invoke(ctx, fn, event)
	if err != nil {
		return err
	}
	out := []byte(res.Payload)
	if res.Error != nil {
		out, _ = json.Marshal(res.Error)
	}
	fmt.Fprintf(stdout, "%s\n", out)
	if res.Error != nil {
		return functionError{res.Error.Type}
	}
	return nil
}
