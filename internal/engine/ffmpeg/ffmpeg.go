// Package ffmpeg runs ffmpeg and ffprobe as child processes. Every run has a
// deadline, and a failure carries the last lines ffmpeg wrote to stderr so
// that the caller can say what was wrong with the file.
package ffmpeg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"time"
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

// Error is a failed run of ffmpeg or ffprobe.
type Error struct {
	Program  string
	Err      error  // the exit error or the context's error
	Stderr   string // the last lines of stderr
	TimedOut bool
}

func (e *Error) Error() string {
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
	Dir     string        // working directory; "": the current one
	Stdout  io.Writer     // nil: discarded
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
	_, err := run(ctx, Opts{Timeout: timeout, Stdout: stdout}, name, args)
	return err
}

func run(ctx context.Context, o Opts, prog string, args []string) (string, error) {
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = o.Dir
	cmd.Stdout = o.Stdout
	tail := &tailBuffer{max: 8192}
	cmd.Stderr = tail
	// Kill the whole process group so that nothing outlives a timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
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
	if ctxErr := ctx.Err(); ctxErr != nil {
		e.Err = ctxErr
		e.TimedOut = errors.Is(ctxErr, context.DeadlineExceeded)
	}
	return tail.String(), e
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
