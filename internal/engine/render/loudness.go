package render

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
)

// A gain computed from the source's loudness alone lands short on peaky
// sound: the limiter takes loudness away where it holds peaks down, and
// peaks between the samples get past it. So the clip's own sound is
// metered as it will be processed, and the gain and the limit are fitted
// before the render (a few passes that decode only the sound, about 0.25 s
// each for a minute); the rendered file is metered after it, and its sound
// alone re-encoded in the rare case that encoding moved it out of bounds.
const (
	ceiling   = -2.0 // dBTP the fit aims under: AAC encoding adds up to 0.4 dB
	fitTol    = 0.15 // LU from the target at which the fit stops
	peakTol   = 0.15 // dB the limiter may let true peaks past the ceiling
	maxPasses = 4    // meterings per fit
	minLimit  = -12  // dB: a limiter any lower would flatten the sound
	outTol    = 0.4  // LU from the target, and
	outPeak   = -1.2 // dBTP: past these, a rendered clip is corrected
)

// loudness is integrated loudness (LUFS) and true peak (dBTP).
type loudness struct{ I, TP float64 }

// silent is sound entirely below the -70 LUFS gate.
func (m loudness) silent() bool { return m.I <= -70 }

// measure runs ffmpeg on the first audio stream of the input (the options
// in end with -i and the file) through the filter chain af, if any, and
// meters what comes out with m.
func measure(ctx context.Context, bin ffmpeg.Binaries, dir string, dur float64, m *meter, af string, in ...string) (loudness, error) {
	args := append([]string{"-nostdin", "-v", "error"}, in...)
	args = append(args, "-map", "0:a:0")
	if af != "" {
		args = append(args, "-af", af)
	}
	args = append(args, "-ar", "48000", "-ac", "2", "-f", "f32le", "-")
	timeout := time.Minute + time.Duration(dur*float64(time.Second))
	if _, err := bin.Exec(ctx, ffmpeg.Opts{Timeout: timeout, Dir: dir, Stdout: m}, args...); err != nil {
		return loudness{}, fmt.Errorf("measure loudness: %w", err)
	}
	return m.result(), nil
}

// sourceInput is the clip's span of its source, seeked as the render seeks.
func (c Clip) sourceInput() []string {
	return []string{"-ss", ffmpeg.Seconds(c.Start), "-t", ffmpeg.Seconds(c.Dur), "-i", c.Source}
}

// fit sets the clip's gain and limit so that its processed sound meters
// target LUFS, with true peaks at most peak dBTP, after AAC encoding; it
// starts from the clip's gain. It returns the clip and that loudness. The
// gain moves by secant steps, as limiting makes loudness grow slower than
// the gain; the limit comes down by what the true peaks overshoot.
func fit(ctx context.Context, bin ffmpeg.Binaries, dir string, c Clip, target, peak float64) (Clip, loudness, error) {
	c = withGain(c, clampGain(*c.Gain))
	c.limit = peak
	var prevGain, prevI float64
	for pass := 1; ; pass++ {
		m, err := measure(ctx, bin, dir, c.Dur, newMeter(true), audioFilter(c.Gain, c.limit), c.sourceInput()...)
		if err != nil {
			return c, m, err
		}
		gain, miss, over := *c.Gain, target-m.I, m.TP-peak
		if m.silent() || pass == maxPasses || math.Abs(miss) <= fitTol && over <= peakTol {
			return c, m, nil
		}
		if math.Max(m.TP, m.TP+miss) < c.limit-1 {
			// The limiter is idle, and stays so at the new gain: it is exact.
			g := clampGain(gain + miss)
			return withGain(c, g), loudness{m.I + g - gain, m.TP + g - gain}, nil
		}
		slope := 0.8 // what the loudness of limited sound usually follows
		if pass > 1 && gain != prevGain {
			slope = math.Max(0.25, math.Min(1, (m.I-prevI)/(gain-prevGain)))
		}
		prevGain, prevI = gain, m.I
		limit := c.limit
		if over > peakTol {
			limit = math.Max(minLimit, limit-over)
		}
		g := clampGain(gain + miss/slope)
		if g == gain && limit == c.limit {
			return c, m, nil // the gain is capped: a near-silent clip
		}
		c = withGain(c, g)
		c.limit = limit
	}
}

func withGain(c Clip, g float64) Clip {
	c.Gain = &g
	return c
}

// settle meters the rendered clip. When encoding moved it out of bounds
// more than fit foresaw, it fits again with the targets moved against that
// shift and re-encodes the sound alone, copying the video.
func (e Encoder) settle(ctx context.Context, bin ffmpeg.Binaries, dir string, c Clip, fitted loudness) error {
	out, err := measure(ctx, bin, dir, c.Dur, newMeter(false), "", "-i", c.Out)
	if err != nil {
		return err
	}
	onTarget := math.Abs(out.I-TargetLUFS) <= outTol || *c.Gain >= maxGain || fitted.silent()
	if out.silent() || onTarget && out.TP <= outPeak {
		return nil
	}
	c, _, err = fit(ctx, bin, dir, c, TargetLUFS-(out.I-fitted.I), ceiling-math.Max(0, out.TP-fitted.TP))
	if err != nil {
		return err
	}
	return e.encodeAudio(ctx, bin, dir, c)
}

// encodeAudio replaces the rendered clip's sound, copying its video.
func (e Encoder) encodeAudio(ctx context.Context, bin ffmpeg.Binaries, dir string, c Clip) error {
	tmp := c.Out + ".audio.mp4"
	args := append([]string{"-nostdin", "-v", "error", "-y"}, c.sourceInput()...)
	args = append(args, "-i", c.Out, "-map", "1:v", "-map", "0:a:0", "-af", audioFilter(c.Gain, c.limit), "-c:v", "copy")
	args = append(args, AudioArgs()...)
	args = append(args, c.outputArgs(tmp)...)
	timeout := time.Minute + time.Duration(c.Dur*float64(time.Second))
	if _, err := bin.Exec(ctx, ffmpeg.Opts{Timeout: timeout, Dir: dir}, args...); err != nil {
		os.Remove(inDir(dir, tmp))
		return fmt.Errorf("correct loudness: %w", err)
	}
	return os.Rename(inDir(dir, tmp), inDir(dir, c.Out))
}

// inDir is where ffmpeg, run in dir, finds the file p.
func inDir(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}
