package render

import (
	"context"
	"flag"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
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
	loud := &Loudness{I: -23.5, TP: -6.1, LRA: 4.2, Thresh: -34, Offset: 0.3}
	c := Clip{Source: "/src/talk.mp4", Start: 65.03, Dur: 54.246, Video: "crop=w=608:h=1080:x=136:y=0,scale=1080:1920,setsar=1,fps=25,subtitles=f=c1.ass",
		FPS: 25, Audio: true, Loudness: loud, Title: "The biggest mistake", Out: "c1.mp4"}
	golden(t, "args_veryfast.golden", strings.Join(Encoder{}.Args(c), "\n")+"\n")

	silent := Clip{Source: "/src/silent.mkv", Start: 0, Dur: 30, Video: "scale=1080:1080,setsar=1", FPS: 30, Out: "c2.mp4"}
	golden(t, "args_ultrafast_silent.golden", strings.Join(Encoder{Preset: "ultrafast", Threads: 2}.Args(silent), "\n")+"\n")
}

func TestAudioFilter(t *testing.T) {
	var none *Loudness
	if got := none.audioFilter(); got != "aresample=48000" {
		t.Errorf("no measurement: %q", got)
	}
	silence := &Loudness{I: math.Inf(-1), TP: math.Inf(-1), LRA: 0, Thresh: math.Inf(-1)}
	if got := silence.audioFilter(); got != "aresample=48000" {
		t.Errorf("silence: %q", got)
	}
}

func TestParseLoudnorm(t *testing.T) {
	stderr := `[Parsed_loudnorm_0 @ 0x55] 
{
	"input_i" : "-27.61",
	"input_tp" : "-9.42",
	"input_lra" : "3.10",
	"input_thresh" : "-38.12",
	"output_i" : "-14.53",
	"output_tp" : "-1.50",
	"output_lra" : "2.60",
	"output_thresh" : "-25.01",
	"normalization_type" : "dynamic",
	"target_offset" : "0.53"
}
`
	l, err := parseLoudnorm(stderr)
	if err != nil {
		t.Fatal(err)
	}
	if l != (Loudness{I: -27.61, TP: -9.42, LRA: 3.1, Thresh: -38.12, Offset: 0.53}) {
		t.Fatalf("parsed %+v", l)
	}
	l, err = parseLoudnorm(`{"input_i" : "-inf", "input_tp" : "-inf", "input_lra" : "0.00", "input_thresh" : "-inf", "target_offset" : "inf"}`)
	if err != nil || !math.IsInf(l.I, -1) {
		t.Fatalf("silence parsed %+v, %v", l, err)
	}
	if _, err := parseLoudnorm("no json here"); err == nil {
		t.Fatal("want an error without a report")
	}
}

// TestRenderNormalisesLoudness renders a quiet tone and checks the clip
// comes out near -14 LUFS, in the promised codecs, with a thumbnail.
func TestRenderNormalisesLoudness(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	ctx := context.Background()
	bin := ffmpeg.Binaries{}
	dir := t.TempDir()
	src := filepath.Join(dir, "src.mp4")
	err := bin.Run(ctx, time.Minute, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=12",
		"-f", "lavfi", "-i", "sine=f=300:d=12,volume=0.05", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", src)
	if err != nil {
		t.Fatal(err)
	}
	l, err := MeasureLoudness(ctx, bin, src, 2, 8)
	if err != nil {
		t.Fatal(err)
	}
	if l.I > -25 {
		t.Fatalf("source measured at %.1f LUFS; the fixture should be quiet", l.I)
	}
	enc := Encoder{Preset: "ultrafast"}
	c := Clip{Source: src, Start: 2, Dur: 8, Video: "scale=1080:1920,setsar=1", FPS: 25, Audio: true, Loudness: &l, Title: "t", Out: "out.mp4"}
	if err := enc.Render(ctx, bin, dir, c); err != nil {
		t.Fatal(err)
	}
	out, err := MeasureLoudness(ctx, bin, filepath.Join(dir, "out.mp4"), 0, 8)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(out.I-targetI) > 1.5 {
		t.Fatalf("rendered clip at %.1f LUFS, want about %.0f", out.I, targetI)
	}
	if err := Thumbnail(ctx, bin, dir, "out.mp4", 1, "out.jpg"); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, "out.jpg")); err != nil || st.Size() < 1000 {
		t.Fatalf("thumbnail: %v", err)
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
