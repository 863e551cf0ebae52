// Package render is the last stage: one ffmpeg pass per clip that seeks,
// reframes, burns in the captions, normalises loudness and encodes a
// social-ready MP4, then a JPEG thumbnail from the result.
package render

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
)

// Encoder holds the encoder settings shared by every clip.
type Encoder struct {
	Preset string // x264 preset; default "veryfast"
	CRF    int    // default 20
	// Threads limits x264's threads; 0 lets x264 choose.
	Threads int
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
	if e.Threads > 0 {
		args = append(args, "-threads", strconv.Itoa(e.Threads))
	}
	return args
}

// AudioArgs are the output options for the sound: AAC at 48 kHz stereo.
func AudioArgs() []string {
	return []string{"-c:a", "aac", "-b:a", "160k", "-ar", "48000", "-ac", "2"}
}

// Loudness is loudnorm's first-pass measurement of a span.
type Loudness struct {
	I, TP, LRA, Thresh, Offset float64
}

// Target loudness for social platforms.
const (
	targetI   = -14.0
	targetTP  = -1.5
	targetLRA = 11.0
)

// MeasureLoudness runs loudnorm's analysis pass over the span's audio;
// decoding audio alone takes a fraction of a second per minute.
func MeasureLoudness(ctx context.Context, bin ffmpeg.Binaries, src string, start, dur float64) (Loudness, error) {
	stderr, err := bin.Exec(ctx, ffmpeg.Opts{Timeout: time.Minute + time.Duration(dur*float64(time.Second))},
		"-nostdin", "-hide_banner", "-nostats", "-ss", ffmpeg.Seconds(start), "-t", ffmpeg.Seconds(dur), "-i", src,
		"-map", "0:a:0", "-vn", "-af",
		fmt.Sprintf("loudnorm=I=%g:TP=%g:LRA=%g:print_format=json", targetI, targetTP, targetLRA),
		"-f", "null", "-")
	if err != nil {
		return Loudness{}, fmt.Errorf("measure loudness: %w", err)
	}
	return parseLoudnorm(stderr)
}

// parseLoudnorm reads the JSON block loudnorm prints at the end of stderr.
func parseLoudnorm(stderr string) (Loudness, error) {
	i := strings.LastIndex(stderr, "{")
	j := strings.LastIndex(stderr, "}")
	if i < 0 || j < i {
		return Loudness{}, errors.New("measure loudness: no loudnorm report")
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(stderr[i:j+1]), &m); err != nil {
		return Loudness{}, fmt.Errorf("measure loudness: %w", err)
	}
	get := func(k string) float64 {
		v, err := strconv.ParseFloat(strings.TrimSpace(m[k]), 64)
		if err != nil {
			return math.Inf(-1) // loudnorm says "-inf" for silence
		}
		return v
	}
	return Loudness{I: get("input_i"), TP: get("input_tp"), LRA: get("input_lra"),
		Thresh: get("input_thresh"), Offset: get("target_offset")}, nil
}

// audioFilter normalises to about -14 LUFS with the measured values (linear
// gain where loudnorm can, so the voice is not pumped), or only resamples
// when the span is silent.
func (l *Loudness) audioFilter() string {
	if l == nil || math.IsInf(l.I, 0) || math.IsInf(l.TP, 0) || math.IsInf(l.Thresh, 0) || l.I < -70 {
		return "aresample=48000"
	}
	return fmt.Sprintf("loudnorm=I=%g:TP=%g:LRA=%g:measured_I=%.2f:measured_TP=%.2f:measured_LRA=%.2f:measured_thresh=%.2f:offset=%.2f:linear=true:print_format=none,aresample=48000",
		targetI, targetTP, targetLRA, l.I, l.TP, l.LRA, l.Thresh, l.Offset)
}

// Clip is one render.
type Clip struct {
	Source     string
	Start, Dur float64
	Video      string // the filter chain from reframe, subtitles appended
	FPS        float64
	Audio      bool      // the source has sound
	Loudness   *Loudness // nil: no normalisation
	Title      string
	Out        string // the MP4 path, relative to the working directory
}

// Args is the whole ffmpeg command line for a clip: the seek goes before the
// input (a fast keyframe seek; after -i it would decode everything before it).
func (e Encoder) Args(c Clip) []string {
	graph := "[0:v]" + c.Video + "[v]"
	maps := []string{"-map", "[v]"}
	if c.Audio {
		graph += ";[0:a]" + c.Loudness.audioFilter() + "[a]"
		maps = append(maps, "-map", "[a]")
	}
	args := []string{"-nostdin", "-hide_banner", "-nostats", "-v", "error", "-y",
		"-ss", ffmpeg.Seconds(c.Start), "-t", ffmpeg.Seconds(c.Dur), "-i", c.Source,
		"-filter_complex", graph}
	args = append(args, maps...)
	args = append(args, e.VideoArgs(c.FPS)...)
	if c.Audio {
		args = append(args, AudioArgs()...)
	}
	args = append(args, "-map_metadata", "-1", "-map_chapters", "-1")
	if c.Title != "" {
		args = append(args, "-metadata", "title="+c.Title)
	}
	return append(args, "-movflags", "+faststart", "-t", ffmpeg.Seconds(c.Dur), c.Out)
}

// Render runs the clip's ffmpeg pass in dir (where the caption file is).
func (e Encoder) Render(ctx context.Context, bin ffmpeg.Binaries, dir string, c Clip) error {
	// x264 veryfast encodes 1080x1920 at about twice real time on two cores;
	// a generous multiple still catches a hang.
	timeout := 2*time.Minute + time.Duration(8*c.Dur*float64(time.Second))
	if _, err := bin.Exec(ctx, ffmpeg.Opts{Timeout: timeout, Dir: dir}, e.Args(c)...); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	return nil
}

// Thumbnail writes a JPEG of the rendered clip at time at.
func Thumbnail(ctx context.Context, bin ffmpeg.Binaries, dir, mp4 string, at float64, out string) error {
	_, err := bin.Exec(ctx, ffmpeg.Opts{Timeout: time.Minute, Dir: dir},
		"-nostdin", "-v", "error", "-y", "-ss", ffmpeg.Seconds(at), "-i", mp4,
		"-frames:v", "1", "-q:v", "3", "-update", "1", out)
	if err != nil {
		return fmt.Errorf("thumbnail: %w", err)
	}
	return nil
}
