package ffmpeg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The test binary plays the child process: run with FFMPEG_TEST_CHILD set,
// it behaves as that child instead of running the tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv("FFMPEG_TEST_CHILD"); mode != "" {
		child(mode)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func child(mode string) {
	switch mode {
	case "stall": // starts, then hangs
		fmt.Println("starting")
		time.Sleep(time.Hour)
	case "slow-stdout", "slow-stderr": // a line every 50 ms for 2.5 s
		out := os.Stdout
		if mode == "slow-stderr" {
			out = os.Stderr
		}
		for i := range 50 {
			fmt.Fprintf(out, "line %d\n", i)
			time.Sleep(50 * time.Millisecond)
		}
	case "chatty": // never stops talking, nor finishes
		for {
			fmt.Println("still here")
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// testStall is short, so that a test takes a second, yet long enough that
// a loaded machine does not make a steady child look stalled.
const testStall = time.Second

// runChild runs the test binary as the child mode.
func runChild(t *testing.T, mode string, o Opts) (time.Duration, error) {
	t.Helper()
	t.Setenv("FFMPEG_TEST_CHILD", mode)
	// Under -race a child sleeps a silent second at exit.
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	start := time.Now()
	err := CommandOpts(context.Background(), o, os.Args[0])
	return time.Since(start), err
}

func TestStallStopsASilentRun(t *testing.T) {
	took, err := runChild(t, "stall", Opts{Timeout: 20 * time.Second, Stall: testStall})
	var fe *Error
	if !errors.As(err, &fe) || fe.Stalled != testStall || fe.TimedOut || !errors.Is(err, ErrStalled) {
		t.Fatalf("err = %#v, want a stall after %v", err, testStall)
	}
	// A stall must not read as the job being cancelled or out of time.
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v reads as a cancellation or deadline", err)
	}
	if took < testStall || took > 10*time.Second {
		t.Errorf("stopped after %v, want soon after %v", took, testStall)
	}
	if !strings.Contains(err.Error(), "without progress") {
		t.Errorf("message %q", err)
	}
}

// A run that keeps writing, on either stream, is not stopped however long
// it takes: here 2.5 times the stall limit.
func TestStallSparesASlowRunThatKeepsWriting(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes that must stall for seconds: the full run has it")
	}
	for _, mode := range []string{"slow-stdout", "slow-stderr"} {
		t.Run(mode, func(t *testing.T) {
			var out strings.Builder
			took, err := runChild(t, mode, Opts{Timeout: time.Minute, Stall: testStall, Stdout: &out})
			if err != nil {
				t.Fatalf("err = %v after %v", err, took)
			}
			if took < 2500*time.Millisecond {
				t.Errorf("took %v, want the whole 2.5 s", took)
			}
			if mode == "slow-stdout" && strings.Count(out.String(), "\n") != 50 {
				t.Errorf("stdout = %q, want all 50 lines passed through", out.String())
			}
		})
	}
}

// The overall timeout still bounds a run that talks forever.
func TestTimeoutBoundsARunThatNeverEnds(t *testing.T) {
	took, err := runChild(t, "chatty", Opts{Timeout: 1500 * time.Millisecond, Stall: testStall})
	var fe *Error
	if !errors.As(err, &fe) || !fe.TimedOut || fe.Stalled != 0 {
		t.Fatalf("err = %#v, want a timeout", err)
	}
	if took > 10*time.Second {
		t.Errorf("stopped after %v", took)
	}
}

// ffmpeg reports progress only when asked to; then the stall limit serves
// it too.
func TestStallWithFFmpeg(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes that must stall for seconds: the full run has it")
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	// -re makes a 3 s input take 3 s of wall time at almost no CPU.
	args := []string{"-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "sine=d=3", "-f", "null", "-"}
	o := Opts{Timeout: time.Minute, Stall: 1500 * time.Millisecond}
	if _, err := (Binaries{}).Exec(context.Background(), o, append([]string{"-progress", "pipe:1", "-stats_period", "0.2"}, args...)...); err != nil {
		t.Errorf("reporting progress: %v", err)
	}
	_, err := (Binaries{}).Exec(context.Background(), o, args...)
	if !errors.Is(err, ErrStalled) {
		t.Errorf("silent: err = %v, want a stall", err)
	}
}
