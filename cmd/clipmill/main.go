// Command clipmill clips long videos into short, captioned, reframed clips.
//
//	clipmill clip INPUT [flags]    clip a local file or an https URL
//	clipmill serve [flags]         serve the AI Clipping API
//	clipmill local [flags]         run the S3 drop-folder pipeline locally
//	clipmill invoke FUNCTION EVENT run one of the stack's Lambda functions locally
//	clipmill sample OUT.mp4        make a synthetic talk to try it on
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
)

const usage = `clipmill turns long videos into short, captioned, reframed clips.

Usage:
  clipmill clip INPUT [flags]     clip a video file or an https URL
  clipmill plan INPUT --out DIR   find the clips and write DIR/plan.json, to edit
  clipmill render PLAN [flags]    render the clips of a plan.json
  clipmill serve [flags]          serve the AI Clipping API (HeyGen-compatible)
  clipmill local [flags]          run the S3 drop-folder pipeline on this machine
  clipmill invoke FUNCTION EVENT  run a Lambda function of template.yaml on an event, as sam local invoke
  clipmill sample OUT.mp4 [flags] make a synthetic talk (and its .srt) to try clipmill on

Run "clipmill COMMAND -h" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	// Logs go to stderr as text; the progress bar and results are separate.
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	var err error
	switch args[0] {
	case "clip":
		err = clipCmd(args[1:], stdout, stderr)
	case "plan":
		err = planCmd(args[1:], stdout, stderr)
	case "render":
		err = renderCmd(args[1:], stdout, stderr)
	case "sample":
		err = sampleCmd(args[1:], stdout, stderr)
	case "serve":
		err = serveCmd(args[1:], stdout, stderr)
	case "local":
		err = localCmd(args[1:], stdout, stderr)
	case "invoke":
		err = invokeCmd(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "clipmill: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "clipmill: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// parseFlags parses flags that may come before or after the positional
// arguments ("clip talk.mp4 --duration 30" as well as "clip --duration 30
// talk.mp4"), and returns the positional ones.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(os.Stdout)
				fs.Usage()
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
