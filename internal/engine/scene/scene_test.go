package scene

import (
	"bytes"
	"context"
	"math"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
)

// frames builds raw RGB frames of solid colours with a little noise.
func frames(colours ...[3]byte) []byte {
	var b bytes.Buffer
	for k, c := range colours {
		for i := 0; i < 16*8; i++ {
			n := byte((i*7 + k) % 5)
			b.Write([]byte{c[0] + n, c[1] + n, c[2] + n})
		}
	}
	return b.Bytes()
}

func TestCutsOnAHardCut(t *testing.T) {
	red, blue := [3]byte{200, 20, 20}, [3]byte{20, 20, 200}
	var seq [][3]byte
	for i := 0; i < 20; i++ {
		if i < 10 {
			seq = append(seq, red)
		} else {
			seq = append(seq, blue)
		}
	}
	f := &Frames{W: 16, H: 8, FPS: 2}
	err := f.read(bytes.NewReader(frames(seq...)), func(fr Frame) error {
		f.Frames = append(f.Frames, fr)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Frames) != 20 {
		t.Fatalf("read %d frames, want 20", len(f.Frames))
	}
	cuts := f.Cuts()
	if len(cuts) != 1 || cuts[0] != 5 {
		t.Fatalf("cuts = %v, want [5] (frame 10 at 2 fps)", cuts)
	}
	m := f.Motion()
	if m[10] < 0.1 || m[5] > 0.02 {
		t.Fatalf("motion at the cut = %.2f, inside a shot = %.2f", m[10], m[5])
	}
}

func TestFitSide(t *testing.T) {
	for _, c := range []struct{ w, h, side, ow, oh int }{
		{1920, 1080, 480, 480, 270},
		{1080, 1920, 480, 270, 480},
		{640, 480, 160, 160, 120},
		{1000, 1000, 480, 480, 480},
	} {
		if w, h := fitSide(c.w, c.h, c.side); w != c.ow || h != c.oh {
			t.Errorf("fitSide(%d,%d,%d) = %d,%d want %d,%d", c.w, c.h, c.side, w, h, c.ow, c.oh)
		}
	}
}

// TestSampleRealVideo decodes a real file with a cut at 3 s: the cut is
// found at the right time, and frame times follow the sampling rate.
func TestSampleRealVideo(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	p := filepath.Join(t.TempDir(), "cut.mp4")
	err := (ffmpeg.Binaries{}).Run(context.Background(), time.Minute, "-v", "error",
		"-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=3", "-f", "lavfi", "-i", "smptebars=s=640x360:r=25:d=3",
		"-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0", "-c:v", "libx264", "-preset", "veryfast", "-g", "250", p)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []bool{false, true} {
		f, err := Sample(context.Background(), ffmpeg.Binaries{}, Request{Path: p, FPS: 4, SrcW: 640, SrcH: 360, Side: 160, KeyframesOnly: key})
		if err != nil {
			t.Fatal(err)
		}
		if f.W != 160 || f.H != 90 || (!key && (len(f.Frames) < 20 || len(f.Frames) > 25)) || (key && len(f.Frames) != 2) {
			t.Fatalf("keyframes=%v: %dx%d, %d frames", key, f.W, f.H, len(f.Frames))
		}
		cuts := f.Cuts()
		if len(cuts) != 1 || math.Abs(cuts[0]-3) > 0.5 {
			t.Fatalf("keyframes=%v: cuts = %v, want one near 3 s", key, cuts)
		}
	}
	// Keyframes of a span carry times relative to the span: the keyframe at
	// the cut (3 s) is 1 s into [2, 4).
	k, err := Sample(context.Background(), ffmpeg.Binaries{}, Request{Path: p, Start: 2, Dur: 2, SrcW: 640, SrcH: 360, Side: 160, KeyframesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Frames) != 1 || math.Abs(k.Frames[0].T-1) > 0.05 {
		t.Fatalf("span keyframes: %d; want one at 1 s", len(k.Frames))
	}
	// A span: 2 s from 2 s holds the cut at 1 s into the span.
	f, err := Sample(context.Background(), ffmpeg.Binaries{}, Request{Path: p, Start: 2, Dur: 2, FPS: 4, SrcW: 640, SrcH: 360, Side: 160})
	if err != nil {
		t.Fatal(err)
	}
	if cuts := f.Cuts(); len(cuts) != 1 || math.Abs(cuts[0]-1) > 0.3 {
		t.Fatalf("span cuts = %v, want one near 1 s", cuts)
	}
}

// An all-intra source has a keyframe per frame: the scan keeps at most
// MaxFrames of them, evenly, with their true times.
func TestKeyframesAreThinned(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	p := filepath.Join(t.TempDir(), "intra.mp4")
	if err := (ffmpeg.Binaries{}).Run(context.Background(), time.Minute, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=160x90:r=25:d=8",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "1", p); err != nil {
		t.Fatal(err)
	}
	f, err := Sample(context.Background(), ffmpeg.Binaries{}, Request{Path: p, SrcW: 160, SrcH: 90, Side: 160, KeyframesOnly: true, MaxFrames: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Frames) < 18 || len(f.Frames) > 20 {
		t.Fatalf("%d frames from 200 keyframes, want about 20", len(f.Frames))
	}
	if step := f.Frames[1].T - f.Frames[0].T; math.Abs(step-0.4) > 0.01 || math.Abs(f.Frames[len(f.Frames)-1].T-0.4*float64(len(f.Frames)-1)) > 0.05 {
		t.Fatalf("frame times %v, %v ... %v", f.Frames[0].T, f.Frames[1].T, f.Frames[len(f.Frames)-1].T)
	}
}
