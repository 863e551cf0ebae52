// Package render is the last stage: one ffmpeg pass per clip that seeks,
// reframes, burns in the captions, normalises loudness and encodes a
// social-ready MP4, then a JPEG thumbnail from the result.
package render

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
)

// Encoder holds the encoder settings shared by every clip.
type Encoder struct {
	Preset string // x264 preset; default "veryfast"
	CRF    int    // default 20
}

func (e Encoder) preset() string {
	if e.Preset == "" {
		return "veryfast"
	}
	return e.Preset
}

func (e Encoder) crf() int {
	if e.CRF == 0 {
		return 20
	}
	return e.CRF
}

// VideoArgs are the output options for the video and container: H.264 High,
// yuv420p, and the index at the front so playback starts before download
// ends. The benchmark's plain-ffmpeg floor uses the same arguments.
func (e Encoder) VideoArgs(fps float64) []string {
	args := []string{"-c:v", "libx264", "-preset", e.preset(), "-crf", strconv.Itoa(e.crf()),
		"-profile:v", "high", "-pix_fmt", "yuv420p"}
	if e.preset() == "ultrafast" {
		// ultrafast alone falls back to Constrained Baseline; these two
		// keep the High profile that the contract promises.
		args = append(args, "-x264-params", "cabac=1:8x8dct=1")
	}
	if fps > 0 {
		// A keyframe every two seconds keeps seeking in players snappy.
		args = append(args, "-g", strconv.Itoa(int(math.Round(2*fps))))
	}
	return args
}

// AudioArgs are the output options for the sound: AAC at 48 kHz stereo.
func AudioArgs() []string {
	return []string{"-c:a", "aac", "-b:a", "160k", "-ar", "48000", "-ac", "2"}
}

// Target loudness for social platforms, and the ceiling for true peaks.
const (
	TargetLUFS  = -14.0
	maxTruePeak = -1.0 // dBTP
	maxGain     = 30.0 // dB; beyond this, a "quiet" span is really silence
)

// audioFilter mixes to stereo, applies a linear gain, then a limiter that
// holds the samples under limit dB; it only resamples when the span is
// silent. Linear gain keeps the voice's dynamics, as loudnorm's linear mode
// does, at a fraction of loudnorm's cost (it resamples to 192 kHz). The mix
// comes first so that metering this chain meters what is encoded.
// alimiter holds sample peaks, not the true peaks between them: fit lowers
// the limit by what the true peaks overshoot.
func audioFilter(gain *float64, limit float64) string {
	if gain == nil {
		return "aresample=48000"
	}
	return fmt.Sprintf("aresample=48000,aformat=channel_layouts=stereo,volume=%.2fdB,alimiter=limit=%.4f:level=false:latency=true",
		clampGain(*gain), math.Pow(10, limit/20))
}

func clampGain(g float64) float64 { return math.Max(-maxGain, math.Min(maxGain, g)) }

// GainFor is the gain from a measured loudness to the target.
func GainFor(lufs float64) float64 { return TargetLUFS - lufs }

// Clip is one render.
type Clip struct {
	Source     string
	Start, Dur float64
	Video      string // the filter chain from reframe, subtitles appended
	FPS        float64
	Audio      bool     // the source has sound
	Gain       *float64 // dB to the target loudness; nil: leave the level
	limit      float64  // dB of the limiter after the gain; 0: ceiling
	Title      string
	Out        string // the MP4 path, relative to the working directory
}

// Graph is the clip's filtergraph.
func (c Clip) Graph() string {
	graph := "[0:v]" + c.Video + "[v]"
	if c.Audio {
		graph += ";[0:a]" + audioFilter(c.Gain, c.peakLimit()) + "[a]"
	}
	return graph
}

func (c Clip) peakLimit() float64 {
	if c.limit == 0 {
		return ceiling
	}
	return c.limit
}

// Args is the whole ffmpeg command line for a clip: the seek goes before the
// input (a fast keyframe seek; after -i it would decode everything before it).
// With graphScript set, the filtergraph is read from that file.
func (e Encoder) Args(c Clip, graphScript string) []string {
	maps := []string{"-map", "[v]"}
	if c.Audio {
		maps = append(maps, "-map", "[a]")
	}
	graph := []string{"-filter_complex", c.Graph()}
	if graphScript != "" {
		graph = []string{"-filter_complex_script", graphScript}
	}
	args := []string{"-nostdin", "-hide_banner", "-nostats", "-v", "error", "-y",
		"-ss", ffmpeg.Seconds(c.Start), "-t", ffmpeg.Seconds(c.Dur), "-i", c.Source}
	args = append(args, graph...)
	args = append(args, maps...)
	args = append(args, e.VideoArgs(c.FPS)...)
	if c.Audio {
		args = append(args, AudioArgs()...)
	}
	return append(args, c.outputArgs(c.Out)...)
}

// outputArgs end the command line that writes the clip to out.
func (c Clip) outputArgs(out string) []string {
	args := []string{"-map_metadata", "-1", "-map_chapters", "-1"}
	if c.Title != "" {
		args = append(args, "-metadata", "title="+c.Title)
	}
	return append(args, "-movflags", "+faststart", "-t", ffmpeg.Seconds(c.Dur), out)
}

// maxGraphArg is the longest filtergraph passed as an argument; a longer
// one (a long camera path) goes in a file, as Linux caps one argument at
// 128 KiB.
const maxGraphArg = 32 << 10

// Render runs the clip's ffmpeg pass in dir (where the caption file is).
// With a gain, the clip's sound is first metered to fit the gain and the
// limit, and the rendered clip is metered after (see loudness.go).
func (e Encoder) Render(ctx context.Context, bin ffmpeg.Binaries, dir string, c Clip) error {
	normalise := c.Audio && c.Gain != nil
	var fitted loudness
	if normalise {
		var err error
		if c, fitted, err = fit(ctx, bin, dir, c, TargetLUFS, ceiling); err != nil {
			return fmt.Errorf("render: %w", err)
		}
	}
	// x264 veryfast encodes 1080x1920 at about twice real time on two cores;
	// a generous multiple still catches a hang.
	timeout := 2*time.Minute + time.Duration(8*c.Dur*float64(time.Second))
	script, err := graphScript(dir, c.Out, c.Graph())
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	if script != "" {
		defer os.Remove(filepath.Join(dir, script))
	}
	if _, err := bin.Exec(ctx, ffmpeg.Opts{Timeout: timeout, Dir: dir}, e.Args(c, script)...); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	if normalise {
		if err := e.settle(ctx, bin, dir, c, fitted); err != nil {
			return fmt.Errorf("render: %w", err)
		}
	}
	return nil
}

// graphScript writes a filtergraph too long for one argument to a file in
// dir named after out, and returns the file's name; "" when the graph is
// short enough to pass as it is.
func graphScript(dir, out, graph string) (string, error) {
	if len(graph) <= maxGraphArg {
		return "", nil
	}
	name := out + ".graph"
	return name, os.WriteFile(filepath.Join(dir, name), []byte(graph), 0o644)
}

// Still writes a JPEG of the clip's picture at time at, seconds from the
// clip's start, as video (the reframe chain, without captions) shows it.
// It seeks the source straight to that frame and shifts its timestamps, so
// that the chain's expressions of t see the clip's time.
func Still(ctx context.Context, bin ffmpeg.Binaries, dir, source string, clipStart, at float64, video, out string) error {
	graph := fmt.Sprintf("[0:v]setpts=PTS+%s/TB,%s[v]", ffmpeg.Seconds(at), video)
	script, err := graphScript(dir, out, graph)
	if err != nil {
		return fmt.Errorf("thumbnail: %w", err)
	}
	filter := []string{"-filter_complex", graph}
	if script != "" {
		defer os.Remove(filepath.Join(dir, script))
		filter = []string{"-filter_complex_script", script}
	}
	args := append([]string{"-nostdin", "-v", "error", "-y", "-ss", ffmpeg.Seconds(clipStart + at), "-i", source}, filter...)
	args = append(args, "-map", "[v]", "-frames:v", "1", "-q:v", "3", "-update", "1", out)
	if _, err := bin.Exec(ctx, ffmpeg.Opts{Timeout: time.Minute, Dir: dir}, args...); err != nil {
		return fmt.Errorf("thumbnail: %w", err)
	}
	return nil
}
