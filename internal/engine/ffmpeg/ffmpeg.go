// Package ffmpeg runs ffmpeg, ffprobe and other programs as child processes.
// Every run has a deadline, and may also be stopped when it has been silent
// for too long; a failure carries the last lines the program wrote to stderr
// so that the caller can say what was wrong with the file.
package ffmpeg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync/atomic"
	"time"

	"github.com/clipmill/clipmill/internal/procgroup"
)

// Binaries names the programs to run; the zero value uses ffmpeg and ffprobe
// from PATH.
type Binaries struct {
	FFmpeg  string
	FFprobe string
}

func (b Binaries) ffmpeg() string {
	if b.FFmpeg != "" {
		return b.FFmpeg
	}
	return "ffmpeg"
}

func (b Binaries) ffprobe() string {
	if b.FFprobe != "" {
		return b.FFprobe
	}
	return "ffprobe"
}

// ErrStalled is the Err of a run stopped for writing nothing for too long.
var ErrStalled = errors.New("no progress")

// Error is a failed run of ffmpeg, ffprobe or another program.
type Error struct {
	Program  string
	Err      error  // the exit error, the context's error or ErrStalled
	Stderr   string // the last lines of stderr
	TimedOut bool   // Opts.Timeout ran out
	// Stalled, when not 0, is how long the run had been silent when it was
	// stopped (Opts.Stall).
	Stalled time.Duration
}

func (e *Error) Error() string {
	if e.Stalled > 0 {
		return fmt.Sprintf("%s stopped after %v without progress", e.Program, e.Stalled)
	}
	if e.TimedOut {
		return fmt.Sprintf("%s timed out", e.Program)
	}
	msg := e.Program + ": " + e.Err.Error()
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Opts are the per-run settings.
type Opts struct {
	Timeout time.Duration // bounds the whole run; 0: none
	// Stall stops a run that has written nothing to stdout or stderr for
	// this long, however much of Timeout is left; 0: never. A slow machine
	// then only slows a run down, while a hung one is still stopped. ffmpeg
	// is silent under -v error: give it "-progress pipe:1" (stdout, so the
	// stderr tail keeps the error) and "-stats_period".
	Stall  time.Duration
	Dir    string    // working directory; "": the current one
	Stdout io.Writer // nil: discarded
}

// Run runs ffmpeg with args (which should not include the program name) and
// returns an *Error on failure. The timeout bounds the whole run.
func (b Binaries) Run(ctx context.Context, timeout time.Duration, args ...string) error {
	_, err := b.Exec(ctx, Opts{Timeout: timeout}, args...)
	return err
}

// Exec runs ffmpeg and returns the tail of what it wrote to stderr, which
// some filters (loudnorm) use to report their measurements.
func (b Binaries) Exec(ctx context.Context, o Opts, args ...string) (string, error) {
	return run(ctx, o, b.ffmpeg(), args)
}

// Output runs ffmpeg and returns its standard output.
func (b Binaries) Output(ctx context.Context, timeout time.Duration, args ...string) ([]byte, error) {
	var out bytes.Buffer
	_, err := run(ctx, Opts{Timeout: timeout, Stdout: &out}, b.ffmpeg(), args)
	return out.Bytes(), err
}

// Probe runs ffprobe and returns its standard output.
func (b Binaries) Probe(ctx context.Context, timeout time.Duration, args ...string) ([]byte, error) {
	var out bytes.Buffer
	_, err := run(ctx, Opts{Timeout: timeout, Stdout: &out}, b.ffprobe(), args)
	return out.Bytes(), err
}

// Command runs any other program (pocketsphinx, espeak-ng) with the same
// deadline and error handling.
func Command(ctx context.Context, timeout time.Duration, stdout io.Writer, name string, args ...string) error {
	return CommandOpts(ctx, Opts{Timeout: timeout, Stdout: stdout}, name, args...)
}

// CommandOpts runs any other program with all of Opts.
func CommandOpts(ctx context.Context, o Opts, name string, args ...string) error {
	_, err := run(ctx, o, name, args)
	return err
}

func run(ctx context.Context, o Opts, prog string, args []string) (string, error) {
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	// Inside the timeout, so that a stall is told apart from it by its cause.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = o.Dir
	cmd.Stdout = o.Stdout
	tail := &tailBuffer{max: 8192}
	cmd.Stderr = tail
	var watch *stallWatch
	if o.Stall > 0 {
		watch = newStallWatch(o.Stall)
		go watch.run(ctx, func() { stop(ErrStalled) })
		cmd.Stdout = watch.wrap(o.Stdout)
		cmd.Stderr = watch.wrap(tail)
	}
	// Kill the whole process group so that nothing outlives a timeout.
	cmd.SysProcAttr = procgroup.Attr()
	cmd.Cancel = func() error { return procgroup.Kill(cmd.Process) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err == nil {
		return tail.String(), nil
	}
	name := prog
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	e := &Error{Program: name, Err: err, Stderr: tail.lastLines(3)}
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, ErrStalled):
		e.Err, e.Stalled = ErrStalled, o.Stall
	case ctx.Err() != nil:
		e.Err = ctx.Err()
		e.TimedOut = errors.Is(e.Err, context.DeadlineExceeded)
	}
	return tail.String(), e
}

// stallWatch notes when a run last wrote anything, and stops it when that
// was longer ago than limit.
type stallWatch struct {
	limit time.Duration
	start time.Time    // the monotonic clock's origin for last
	last  atomic.Int64 // time since start of the last write, ns
}

func newStallWatch(limit time.Duration) *stallWatch {
	return &stallWatch{limit: limit, start: time.Now()}
}

// Write notes output; it is called from the goroutines that copy stdout
// and stderr.
func (w *stallWatch) Write(p []byte) (int, error) {
	if len(p) > 0 {
		w.last.Store(int64(time.Since(w.start)))
	}
	return len(p), nil
}

// wrap returns a writer that notes output before passing it to out (nil:
// discarded; the pipe is still read, so output is seen).
func (w *stallWatch) wrap(out io.Writer) io.Writer {
	if out == nil {
		return w
	}
	return io.MultiWriter(w, out)
}

// run calls stall once the output has been silent for limit, unless ctx
// ends first. A timer that checks the time of the last write, rather than
// one reset by every write, keeps writes cheap.
func (w *stallWatch) run(ctx context.Context, stall func()) {
	t := time.NewTimer(w.limit)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			idle := time.Since(w.start) - time.Duration(w.last.Load())
			if idle >= w.limit {
				stall()
				return
			}
			t.Reset(w.limit - idle)
		}
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	b := t.buf
	if len(b) > t.max {
		b = b[len(b)-t.max:]
	}
	return string(b)
}

func (t *tailBuffer) lastLines(n int) string {
	lines := strings.Split(strings.TrimSpace(t.String()), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, " | ")
}

// Seconds formats t for ffmpeg's time options with millisecond precision.
func Seconds(t float64) string {
	return fmt.Sprintf("%.3f", t)
}
