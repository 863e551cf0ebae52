package render

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/engine/audio"
	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/sample/sampletest"
)

// Sounds for the loudness tests, as aevalsrc expressions. Speech is noise
// shaped like a voice: syllables at 3.7 Hz, phrases with pauses between.
const (
	speech = "(random(0)*2-1)*pow(max(0\\,sin(2*PI*3.7*t))\\,2)*gt(sin(2*PI*0.29*t)\\,-0.4)"
	// A clap: a burst of noise that decays in 3 ms, every 2.5 s.
	clap = "(random(1)*2-1)*exp(-300*mod(t+0.3\\,2.5))"
	// A door slam: a 55 Hz thump of half a second, every 4 s.
	slam = "sin(2*PI*55*t)*exp(-12*mod(t+0.7\\,4))*lt(mod(t+0.7\\,4)\\,0.5)"
	// Plucked notes over a kick drum: a crest factor of about 17 dB.
	notes = "0.25*sin(2*PI*220*t)*exp(-5*mod(t\\,0.5))+0.2*sin(2*PI*330*t+1)*exp(-4*mod(t+0.25\\,0.75))" +
		"+0.15*sin(2*PI*1320*t)*exp(-20*mod(t\\,0.25))+0.9*sin(2*PI*60*t*(1-mod(t\\,1)))*exp(-25*mod(t\\,1))"
)

// eval is 10 s of an expression as a lavfi source.
func eval(expr string) string { return "aevalsrc=exprs=" + expr + ":s=48000:d=10" }

// r128 measures the first audio stream of the input (the options end with
// -i and the file) with ffmpeg's ebur128: integrated loudness and true peak.
func r128(t *testing.T, in ...string) loudness {
	t.Helper()
	args := append([]string{"-nostdin", "-hide_banner", "-nostats"}, in...)
	args = append(args, "-map", "0:a:0", "-af", "ebur128=peak=true:framelog=verbose", "-f", "null", "-")
	stderr, err := (ffmpeg.Binaries{}).Exec(context.Background(), ffmpeg.Opts{Timeout: time.Minute}, args...)
	if err != nil {
		t.Fatal(err)
	}
	value := func(key string) float64 {
		i := strings.LastIndex(stderr, key)
		if i < 0 {
			t.Fatalf("no %q in the ebur128 summary: %s", key, stderr)
		}
		var v float64
		if _, err := fmt.Sscan(stderr[i+len(key):], &v); err != nil {
			t.Fatalf("read %s: %v", key, err)
		}
		return v
	}
	return loudness{I: value(" I:"), TP: value("Peak:")}
}

// makeSource writes a 10 s clip of a small test picture with the sound at
// lufs, clipped at full scale as a real file would be; a loud sound loses
// loudness to clipping, so that takes a few tries.
func makeSource(t *testing.T, dir, sound string, lufs float64) string {
	t.Helper()
	src := filepath.Join(dir, "src.mp4")
	gain := 0.0
	for try := 0; try < 4; try++ {
		err := (ffmpeg.Binaries{}).Run(context.Background(), time.Minute, "-v", "error", "-y",
			"-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=10", "-f", "lavfi", "-i", sound,
			"-af", fmt.Sprintf("volume=%.2fdB,aformat=sample_fmts=s16", gain),
			"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "192k", src)
		if err != nil {
			t.Fatal(err)
		}
		got := r128(t, "-i", src).I
		if math.Abs(got-lufs) < 0.3 {
			break
		}
		gain += lufs - got
	}
	return src
}

// renderClip renders [1, 9) of the source with the gain the engine would
// pass: none when the span is silent.
func renderClip(t *testing.T, dir, src string) (gain *float64) {
	t.Helper()
	ctx := context.Background()
	track, err := audio.Extract(ctx, ffmpeg.Binaries{}, src, dir, 10)
	if err != nil {
		t.Fatal(err)
	}
	if lufs, ok := track.Integrated(1, 9); ok {
		gain = ptr(GainFor(lufs))
	}
	c := Clip{Source: src, Start: 1, Dur: 8, Video: "null", FPS: 25, Audio: true, Gain: gain, Out: "out.mp4"}
	if err := (Encoder{Preset: "ultrafast"}).Render(ctx, ffmpeg.Binaries{}, dir, c); err != nil {
		t.Fatal(err)
	}
	return gain
}

// Every clip comes out at -14 +/- 0.5 LUFS with true peaks at most
// -1 dBTP, from sources at -30 to -6 LUFS, peaky or not.
func TestRenderLoudness(t *testing.T) {
	sampletest.EndToEnd(t)
	voice := eval(speech) + ",lowpass=4000,highpass=100"
	claps := eval("0.3*"+speech+"+0.9*"+clap) + ",lowpass=8000,highpass=100"
	door := eval("0.3*"+speech+"+0.95*"+slam) + ",lowpass=8000,highpass=30"
	for _, tc := range []struct {
		name  string
		sound string // a lavfi source of 10 s
		lufs  float64
	}{
		{"tone 44.1 kHz mono", "sine=f=440:r=44100:d=10", -30},
		{"tone", "sine=f=440:r=48000:d=10", -6},
		{"speech", voice, -30},
		{"speech", voice, -18},
		{"speech", voice, -6},
		{"speech with claps", claps, -30},
		{"speech with claps", claps, -18},
		{"speech with claps", claps, -6},
		{"speech with a door slam", door, -24},
		{"music", eval(notes), -30},
		{"music", eval(notes), -18},
		{"music", eval(notes), -6},
		{"white noise", "anoisesrc=color=white:r=48000:d=10:seed=7", -12},
	} {
		t.Run(fmt.Sprintf("%s at %.0f LUFS", tc.name, tc.lufs), func(t *testing.T) {
			dir := t.TempDir()
			src := makeSource(t, dir, tc.sound, tc.lufs)
			in := r128(t, "-ss", "1", "-t", "8", "-i", src)
			renderClip(t, dir, src)
			out := r128(t, "-i", filepath.Join(dir, "out.mp4"))
			t.Logf("source %.1f LUFS %.1f dBTP: clip %.1f LUFS %.1f dBTP", in.I, in.TP, out.I, out.TP)
			if math.Abs(out.I-TargetLUFS) > 0.5 {
				t.Errorf("clip at %.1f LUFS, want %.0f +/- 0.5", out.I, TargetLUFS)
			}
			if out.TP > maxTruePeak {
				t.Errorf("true peak %.1f dBTP, want at most %.0f", out.TP, maxTruePeak)
			}
		})
	}
}

// A near-silent clip is raised by no more than maxGain, and a silent one
// renders as it is, whether the engine passes a gain or not.
func TestRenderQuietLoudness(t *testing.T) {
	sampletest.EndToEnd(t)
	t.Run("near silence", func(t *testing.T) {
		dir := t.TempDir()
		src := makeSource(t, dir, "anoisesrc=color=pink:r=48000:d=10:seed=7", -62)
		in := r128(t, "-ss", "1", "-t", "8", "-i", src)
		if gain := renderClip(t, dir, src); gain == nil || *gain <= maxGain {
			t.Fatalf("gain %v: the engine should ask for more than the cap", gain)
		}
		out := r128(t, "-i", filepath.Join(dir, "out.mp4"))
		t.Logf("source %.1f LUFS: clip %.1f LUFS %.1f dBTP", in.I, out.I, out.TP)
		if out.I > in.I+maxGain+0.5 || out.TP > maxTruePeak {
			t.Errorf("clip at %.1f LUFS, %.1f dBTP from a source at %.1f LUFS", out.I, out.TP, in.I)
		}
	})
	for _, gain := range []*float64{nil, ptr(maxGain)} {
		t.Run(fmt.Sprintf("silence with gain %v", gain != nil), func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "src.mp4")
			err := (ffmpeg.Binaries{}).Run(context.Background(), time.Minute, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=4",
				"-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo:d=4", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", src)
			if err != nil {
				t.Fatal(err)
			}
			c := Clip{Source: src, Start: 1, Dur: 2, Video: "null", FPS: 25, Audio: true, Gain: gain, Out: "out.mp4"}
			if err := (Encoder{Preset: "ultrafast"}).Render(context.Background(), ffmpeg.Binaries{}, dir, c); err != nil {
				t.Fatal(err)
			}
			if out := r128(t, "-i", filepath.Join(dir, "out.mp4")); !out.silent() {
				t.Errorf("silence came out at %.1f LUFS", out.I)
			}
		})
	}
}

// truePeak is the true peak (dBTP) of the input's first audio stream,
// found by oversampling eight times with soxr.
func truePeak(t *testing.T, in ...string) float64 {
	t.Helper()
	args := append([]string{"-nostdin", "-hide_banner", "-nostats"}, in...)
	args = append(args, "-map", "0:a:0", "-af", "aresample=384000:resampler=soxr:precision=28,"+
		"astats=measure_perchannel=none:measure_overall=Peak_level", "-f", "null", "-")
	stderr, err := (ffmpeg.Binaries{}).Exec(context.Background(), ffmpeg.Opts{Timeout: time.Minute}, args...)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.LastIndex(stderr, "Peak level dB:")
	var v float64
	if _, err := fmt.Sscan(stderr[i+len("Peak level dB:"):], &v); i < 0 || err != nil {
		t.Fatalf("no peak level in %s", stderr)
	}
	return v
}

// The meter reads the loudness that ffmpeg's ebur128 reads, and the true
// peak that oversampling eight times finds (ebur128 reads up to 0.3 dB low
// on noise), for sound that AAC encoding low-passed: the meter's
// interpolator, like BS.1770's, rolls off above 17 kHz. The noise is
// seeded: each of the three ffmpeg runs must read the same signal.
func TestMeterMatchesEbur128(t *testing.T) {
	sampletest.EndToEnd(t)
	for _, sound := range []string{
		eval("0.3*" + speech + "+0.9*" + clap),
		eval(notes),
		"anoisesrc=color=white:a=0.5:r=48000:d=10:seed=7",
		"sine=f=440:r=44100:d=10,volume=-40dB",
	} {
		sound += ",aformat=channel_layouts=stereo,lowpass=16000,lowpass=16000"
		want := loudness{I: r128(t, "-f", "lavfi", "-i", sound).I, TP: truePeak(t, "-f", "lavfi", "-i", sound)}
		got, err := measure(context.Background(), ffmpeg.Binaries{}, "", 10, newMeter(false), "", "-f", "lavfi", "-i", sound)
		if err != nil {
			t.Fatal(err)
		}
		// ebur128 prints one decimal.
		if math.Abs(got.I-want.I) > 0.1 || math.Abs(got.TP-want.TP) > 0.15 {
			t.Errorf("%s: meter %.2f LUFS %.2f dBTP, want %.1f LUFS %.2f dBTP", sound, got.I, got.TP, want.I, want.TP)
		}
	}
}

// When the rendered clip's loudness is off, its sound alone is re-encoded
// at the right level, and its picture and title stay.
func TestSettleCorrects(t *testing.T) {
	sampletest.EndToEnd(t)
	ctx := context.Background()
	bin := ffmpeg.Binaries{}
	dir := t.TempDir()
	src := makeSource(t, dir, eval(speech)+",lowpass=4000,highpass=100", -18)
	// Rendered 3 dB too quiet, as if encoding had taken that much.
	c := Clip{Source: src, Start: 1, Dur: 8, Video: "null", FPS: 25, Audio: true, Gain: ptr(GainFor(-18) - 3), Title: "t", Out: "out.mp4"}
	fitted, err := measure(ctx, bin, dir, c.Dur, newMeter(true), audioFilter(c.Gain, c.peakLimit()), c.sourceInput()...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bin.Exec(ctx, ffmpeg.Opts{Dir: dir}, (Encoder{Preset: "ultrafast"}).Args(c, "")...); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.mp4")
	if before := r128(t, "-i", out); before.I > -16 {
		t.Fatalf("the clip should start off quiet: %.1f LUFS", before.I)
	}
	if err := (Encoder{}).settle(ctx, bin, dir, c, fitted); err != nil {
		t.Fatal(err)
	}
	if got := r128(t, "-i", out); math.Abs(got.I-TargetLUFS) > 0.5 || got.TP > maxTruePeak {
		t.Errorf("corrected clip at %.1f LUFS %.1f dBTP", got.I, got.TP)
	}
	probe, err := bin.Probe(ctx, time.Minute, "-v", "error", "-show_entries", "stream=codec_name,nb_frames:format_tags=title", "-of", "csv=p=0", out)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(probe)); len(got) != 3 || got[0] != "h264,200" || !strings.HasPrefix(got[1], "aac") || got[2] != "t" {
		t.Errorf("streams and title: %q", got)
	}
	if _, err := os.Stat(out + ".audio.mp4"); !os.IsNotExist(err) {
		t.Errorf("the temporary file is left: %v", err)
	}
}
