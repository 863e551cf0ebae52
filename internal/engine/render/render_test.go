package render

import (
	"context"
	"flag"
	"fmt"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/engine/audio"
	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/engine/reframe"
	"github.com/clipmill/clipmill/internal/sample/sampletest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n got: %s\nwant: %s", name, got, want)
	}
}

// The ffmpeg command line is the render: pin it.
func TestArgsGolden(t *testing.T) {
	c := Clip{Source: "/src/talk.mp4", Start: 65.03, Dur: 54.246, Video: "crop=w=608:h=1080:x=136:y=0,scale=1080:1920,setsar=1,fps=25,subtitles=f=c1.ass",
		FPS: 25, Audio: true, Gain: ptr(GainFor(-23.5)), Title: "The biggest mistake", Out: "c1.mp4"}
	golden(t, "args_veryfast.golden", strings.Join(Encoder{}.Args(c, ""), "\n")+"\n")

	silent := Clip{Source: "/src/silent.mkv", Start: 0, Dur: 30, Video: "scale=1080:1080,setsar=1", FPS: 30, Out: "c2.mp4"}
	golden(t, "args_ultrafast_silent.golden", strings.Join(Encoder{Preset: "ultrafast"}.Args(silent, ""), "\n")+"\n")

	args := strings.Join(Encoder{}.Args(c, "c1.mp4.graph"), " ")
	if !strings.Contains(args, " -filter_complex_script c1.mp4.graph ") || strings.Contains(args, "-filter_complex ") {
		t.Errorf("with a script, args = %s", args)
	}
}

// A filtergraph longer than one argument may be (a long camera path) is
// read from a file, and the clip still renders.
func TestRenderLongGraph(t *testing.T) {
	if testing.Short() {
		t.Skip("renders with ffmpeg")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src.mp4")
	if err := (ffmpeg.Binaries{}).Run(context.Background(), time.Minute, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=2", src); err != nil {
		t.Fatal(err)
	}
	// Ten minutes of a camera that moves every fifth of a second.
	var path []reframe.Key
	for k := 0; k < 3000; k++ {
		path = append(path, reframe.Key{T: float64(k) / 5, X: float64(k % 150)})
	}
	c := Clip{Source: src, Dur: 1, FPS: 25, Out: "long.mp4",
		Video: fmt.Sprintf("crop=w=160:h=240:x=%s:y=%s,scale=160:240", reframe.PathExpr(path, false), reframe.PathExpr(path, false))}
	if len(c.Graph()) < 128<<10 {
		t.Fatalf("the graph is only %d bytes", len(c.Graph()))
	}
	if err := (Encoder{Preset: "ultrafast"}).Render(context.Background(), ffmpeg.Binaries{}, dir, c); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "long.mp4.graph")); !os.IsNotExist(err) {
		t.Errorf("the graph file was left behind: %v", err)
	}
}

func ptr(v float64) *float64 { return &v }

func TestAudioFilter(t *testing.T) {
	if got := audioFilter(nil, ceiling); got != "aresample=48000" {
		t.Errorf("no gain: %q", got)
	}
	if got := audioFilter(ptr(80), -6); !strings.Contains(got, "volume=30.00dB") || !strings.Contains(got, "limit=0.5012") {
		t.Errorf("gain is not capped, or the limit is not -6 dB: %q", got)
	}
}

// TestRenderNormalisesLoudness renders a quiet tone with the gain its
// measured loudness calls for and checks the clip comes out at -14 LUFS,
// with true peaks held under the ceiling, and a thumbnail.
func TestRenderNormalisesLoudness(t *testing.T) {
	sampletest.EndToEnd(t)
	ctx := context.Background()
	bin := ffmpeg.Binaries{}
	dir := t.TempDir()
	src := filepath.Join(dir, "src.mp4")
	err := bin.Run(ctx, time.Minute, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=12",
		"-f", "lavfi", "-i", "sine=f=300:d=12,volume=0.5", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", src)
	if err != nil {
		t.Fatal(err)
	}
	track, err := audio.Extract(ctx, bin, src, dir, 12)
	if err != nil {
		t.Fatal(err)
	}
	lufs, ok := track.Integrated(2, 10)
	if !ok || lufs > -25 {
		t.Fatalf("source measured at %.1f LUFS (%v); the fixture should be quiet", lufs, ok)
	}
	enc := Encoder{Preset: "ultrafast"}
	c := Clip{Source: src, Start: 2, Dur: 8, Video: "scale=1080:1920,setsar=1", FPS: 25, Audio: true, Gain: ptr(GainFor(lufs)), Title: "t", Out: "out.mp4"}
	if err := enc.Render(ctx, bin, dir, c); err != nil {
		t.Fatal(err)
	}
	if got := r128(t, "-i", filepath.Join(dir, "out.mp4")); math.Abs(got.I-TargetLUFS) > 0.5 || got.TP > maxTruePeak {
		t.Fatalf("rendered clip at %.1f LUFS %.1f dBTP, want %.0f LUFS", got.I, got.TP, TargetLUFS)
	}
}

// A still is the clip's picture at a time of the clip, from the source and
// the reframe chain: the chain's expressions of t see the clip's time.
func TestStill(t *testing.T) {
	sampletest.EndToEnd(t)
	ctx := context.Background()
	bin := ffmpeg.Binaries{}
	dir := t.TempDir()
	src := filepath.Join(dir, "src.mp4")
	if err := bin.Run(ctx, time.Minute, "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=320x240:r=25:d=20",
		"-c:v", "libx264", "-preset", "ultrafast", src); err != nil {
		t.Fatal(err)
	}
	// A white box from 4 s of the clip on: the clip starts at 10 s.
	video := "drawbox=x=0:y=0:w=320:h=240:color=white:t=fill:enable=gte(t\\,4),scale=160:120"
	for _, c := range []struct {
		at    float64
		white bool
	}{{3, false}, {5, true}} {
		out := fmt.Sprintf("still%.0f.jpg", c.at)
		if err := Still(ctx, bin, dir, src, 10, c.at, video, out); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(filepath.Join(dir, out))
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != 160 || b.Dy() != 120 {
			t.Errorf("still is %v, want 160x120", b)
		}
		r, _, _, _ := img.At(80, 60).RGBA()
		if white := r > 0x8000; white != c.white {
			t.Errorf("still at %.0f s: white = %v, want %v (the chain saw the wrong time)", c.at, white, c.white)
		}
	}
}

func TestRenderTimesOut(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	// A source that never ends: ffmpeg would run forever.
	c := Clip{Source: "/dev/zero", Dur: 1e6, Video: "null", Out: "never.mp4"}
	err := Encoder{}.Render(ctx, ffmpeg.Binaries{FFmpeg: "sleep"}, t.TempDir(), c)
	if err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}
