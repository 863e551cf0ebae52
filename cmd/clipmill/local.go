package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/render"
	"github.com/clipmill/clipmill/internal/local"
)

func localCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	var (
		data       = fs.String("data", "clipmill-local", "the bucket's folder: inbox/, clips/, failed/")
		state      = fs.String("state", "", "the folder for the local server's database, keys and executions, outside --data (default: DATA.state beside it)")
		s3Addr     = fs.String("s3-addr", "127.0.0.1:9000", "HOST:PORT of the embedded S3 endpoint")
		settings   = fs.String("settings", "", `default settings as JSON, like a sidecar file: {"output_settings":{"duration_types":["30","60"]}}`)
		pollMin    = fs.Duration("poll-min", 2*time.Second, "first wait between polls; it doubles up to --poll-max")
		pollMax    = fs.Duration("poll-max", 10*time.Second, "longest wait between polls")
		attempts   = fs.Int("max-polls", 2000, "polls before a job is given up")
		jobTimeout = fs.Duration("job-timeout", 2*time.Hour, "fail a job that runs longer")
		once       = fs.Bool("once", false, "process what is in inbox/ now, wait for it to finish, then exit")
		preset     = fs.String("x264-preset", "veryfast", "x264 preset for the clips")
		backend    = fs.String("backend", local.BackendAPI, "api: send jobs to a local clipmill server (statemachine/pipeline.asl.json); engine: run the stack's own engine steps (statemachine/engine.asl.json), with local speech recognition for Amazon Transcribe")
		renders    = fs.Int("render-concurrency", 1, "with --backend engine, clips rendered at once")
	)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: clipmill local [flags]\n\nRuns the S3 drop-folder pipeline on this machine: copy a video into\nDATA/inbox/ (or upload it to s3://%s/inbox/ through the S3 endpoint)\nand find its clips in DATA/clips/<video name>/.\n\nFlags:\n", local.Bucket)
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError{"local takes no arguments; see clipmill local -h"}
	}
	defaults := clipping.CreateRequest{OutputSettings: clipping.DefaultOutputSettings()}
	if *settings != "" {
		if defaults, err = clipping.DecodeSettings([]byte(*settings), clipping.Options{AllowHTTP: true}); err != nil {
			return flagError(err)
		}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	l, err := local.Start(ctx, local.Config{
		DataDir: *data, StateDir: *state, S3Addr: *s3Addr, Defaults: defaults, PollMin: *pollMin, PollMax: *pollMax,
		MaxAttempts: *attempts, JobTimeout: *jobTimeout, Encoder: render.Encoder{Preset: *preset}, Log: log,
		Backend: *backend, RenderConcurrency: *renders,
	})
	if err != nil {
		return err
	}
	abs, _ := filepath.Abs(*data)
	fmt.Fprintf(stdout, `clipmill local: the bucket %q is %s
  drop videos into   %s
  or upload them to  s3://%s/inbox/ at %s (path-style, any access key), e.g.
                     aws --endpoint-url %s s3 cp talk.mp4 s3://%s/inbox/
  presigned URLs:    checked; sign them with access key %q, secret %q
  settings:          inbox/<video>.json, else inbox/<folder>/clipmill.json, else --settings
  transcript:        inbox/<video>.srt, .vtt or .transcript.json beside it (engine backend)
  results:           %s/<video>/manifest.json, failures in %s/<video>.json
  to retry a failure: upload the video again
`, local.Bucket, abs, filepath.Join(abs, "inbox"), local.Bucket, l.S3URL, l.S3URL, local.Bucket,
		local.AccessKeyID, local.SecretAccessKey, filepath.Join(abs, "clips"), filepath.Join(abs, "failed"))
	if *once {
		err = l.Idle(ctx)
	} else {
		<-ctx.Done()
	}
	if cerr := l.Close(); err == nil {
		err = cerr
	}
	if err == context.Canceled {
		err = nil
	}
	return err
}
