// Package scene looks at the pictures: it samples small frames from a span of
// the source and finds the shot cuts and the motion in them. Decoding is the
// whole cost of visual analysis, so it only ever looks at the spans it is
// asked about, at a few frames per second, on small frames.
package scene

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
)

// Frame is one sampled picture.
type Frame struct {
	T    float64 // seconds from the start of the span
	Gray []uint8 // W*H luma
	hist [512]float32
}

// Frames is a sampled span.
type Frames struct {
	W, H   int
	FPS    float64
	Frames []Frame
}

// Request says what to sample.
type Request struct {
	Path       string
	Start, Dur float64 // the span, seconds; Dur 0: to the end
	FPS        float64 // frames per second to sample
	SrcW, SrcH int     // the source's display size
	Side       int     // the sampled frames' longer side, pixels
	// KeyframesOnly decodes keyframes alone: a whole-source scan then costs
	// seconds instead of minutes. FPS is ignored; frames carry the
	// keyframes' times.
	KeyframesOnly bool
	// MaxFrames thins the keyframes of a source that has very many (an
	// all-intra export), to bound memory and time; 0 means 1000.
	MaxFrames int
	// Every decodes every frame in full. Without it, frames that no other
	// frame refers to (B-frames) are skipped, which is cheaper but moves
	// a sampled frame by up to a frame or two: fine for finding faces,
	// not for placing a cut on its frame.
	Every bool
}

// Sample decodes the span and returns its frames, scaled so the longer side
// is Side pixels. Frame k is at k/FPS seconds from the span's start.
func Sample(ctx context.Context, bin ffmpeg.Binaries, r Request) (*Frames, error) {
	var out *Frames
	err := Stream(ctx, bin, r, func(f *Frames, fr Frame) error {
		if out == nil {
			out = &Frames{W: f.W, H: f.H, FPS: f.FPS}
		}
		out.Frames = append(out.Frames, fr)
		return nil
	})
	if out == nil {
		w, h := fitSide(r.SrcW, r.SrcH, r.Side)
		out = &Frames{W: w, H: h, FPS: r.FPS}
	}
	return out, err
}

// Stream decodes the span like Sample, but hands each frame to fn as it is
// decoded instead of keeping them all, so a long span costs the memory of a
// few frames. f holds the frame size; its Frames stay empty. An error from
// fn stops the decoding and is returned.
func Stream(ctx context.Context, bin ffmpeg.Binaries, r Request, fn func(f *Frames, fr Frame) error) error {
	w, h := fitSide(r.SrcW, r.SrcH, r.Side)
	var times []float64
	every := 1
	timeout := time.Minute + time.Duration(r.Dur*float64(time.Second))
	if r.KeyframesOnly {
		var err error
		if times, err = keyframeTimes(ctx, bin, r.Path, r.Start, r.Dur); err != nil {
			return err
		}
		limit := r.MaxFrames
		if limit <= 0 {
			limit = 1000
		}
		every = (len(times) + limit - 1) / max(1, limit)
		every = max(1, every)
		kept := times[:0:0]
		for i := 0; i < len(times); i += every {
			kept = append(kept, times[i])
		}
		times = kept
		// Decoding a keyframe of 1080p takes about 5 ms; allow ten times that.
		timeout = time.Minute + time.Duration(len(times)*every)*50*time.Millisecond
	}
	args := Args(r, w, h, every)
	pr, pw := io.Pipe()
	out := &Frames{W: w, H: h, FPS: r.FPS}
	done := make(chan error, 1)
	go func() {
		k := 0
		err := out.read(pr, func(fr Frame) error {
			if r.KeyframesOnly {
				if k >= len(times) {
					return nil
				}
				fr.T = times[k]
			}
			k++
			return fn(out, fr)
		})
		pr.CloseWithError(err) // unblock ffmpeg if reading failed
		done <- err
	}()
	_, err := bin.Exec(ctx, ffmpeg.Opts{Timeout: timeout, Stdout: pw}, args...)
	pw.Close()
	rerr := <-done
	if rerr != nil {
		return fmt.Errorf("sample frames: %w", rerr)
	}
	if err != nil {
		return fmt.Errorf("sample frames: %w", err)
	}
	return nil
}

// keyframeTimes lists the times of the keyframes in a span, relative to its
// start, from the video's packets: that takes reading the container, not
// decoding.
func keyframeTimes(ctx context.Context, bin ffmpeg.Binaries, path string, start, dur float64) ([]float64, error) {
	args := []string{"-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags", "-of", "csv=p=0"}
	end := math.Inf(1)
	if dur > 0 {
		end = start + dur
		args = append(args, "-read_intervals", fmt.Sprintf("%s%%%s", ffmpeg.Seconds(start), ffmpeg.Seconds(end+1)))
	}
	out, err := bin.Probe(ctx, 2*time.Minute, append(args, path)...)
	if err != nil {
		return nil, fmt.Errorf("list keyframes: %w", err)
	}
	var times []float64
	for _, line := range strings.Split(string(out), "\n") {
		ts, flags, ok := strings.Cut(strings.TrimSpace(line), ",")
		if !ok || !strings.Contains(flags, "K") {
			continue
		}
		// The decoder drops frames before the seek point, as here.
		if t, err := strconv.ParseFloat(ts, 64); err == nil && t >= start-1e-3 && t < end {
			times = append(times, t-start)
		}
	}
	sort.Float64s(times)
	return times, nil
}

// Args builds the ffmpeg arguments for a sampling run of w x h frames;
// with keyframes only, every keeps one keyframe in every that many.
func Args(r Request, w, h, every int) []string {
	args := []string{"-nostdin", "-v", "error"}
	if r.KeyframesOnly {
		args = append(args, "-skip_frame", "nokey")
	} else if !r.Every {
		// The pictures only feed histograms and a face finder: skipping the
		// deblocking filter and non-reference frames nearly halves decoding.
		args = append(args, "-skip_loop_filter", "all", "-skip_frame", "noref")
	}
	if r.Start > 0 {
		args = append(args, "-ss", ffmpeg.Seconds(r.Start))
	}
	if r.Dur > 0 {
		args = append(args, "-t", ffmpeg.Seconds(r.Dur))
	}
	vf := fmt.Sprintf("fps=%g,scale=%d:%d:flags=fast_bilinear,format=rgb24", r.FPS, w, h)
	args = append(args, "-i", r.Path, "-map", "0:v:0", "-an")
	if r.KeyframesOnly {
		vf = fmt.Sprintf("scale=%d:%d:flags=fast_bilinear,format=rgb24", w, h)
		if every > 1 {
			vf = fmt.Sprintf("select='not(mod(n\\,%d))',%s", every, vf)
		}
		args = append(args, "-fps_mode", "passthrough")
	}
	return append(args, "-vf", vf, "-f", "rawvideo", "-")
}

// fitSide scales w x h so its longer side is side, keeping even sizes.
func fitSide(w, h, side int) (int, int) {
	if w <= 0 || h <= 0 {
		return side, side
	}
	if w >= h {
		return side, max(2, int(math.Round(float64(h)*float64(side)/float64(w)/2))*2)
	}
	return max(2, int(math.Round(float64(w)*float64(side)/float64(h)/2))*2), side
}

// read decodes raw RGB frames from r and hands each to fn, with its time,
// luma and colour histogram.
func (f *Frames) read(r io.Reader, fn func(Frame) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	rgb := make([]byte, f.W*f.H*3)
	for k := 0; ; k++ {
		if _, err := io.ReadFull(br, rgb); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil
			}
			return err
		}
		fr := Frame{T: float64(k) / f.FPS, Gray: make([]uint8, f.W*f.H)}
		for i := 0; i < f.W*f.H; i++ {
			r, g, b := rgb[3*i], rgb[3*i+1], rgb[3*i+2]
			fr.Gray[i] = uint8((299*int(r) + 587*int(g) + 114*int(b)) / 1000)
			fr.hist[int(r>>5)<<6|int(g>>5)<<3|int(b>>5)]++
		}
		if err := fn(fr); err != nil {
			return err
		}
	}
}

// Cuts returns the times of shot cuts, by MediaPipe AutoFlip's rule: an
// 8x8x8 colour histogram per frame, and a cut where one minus its
// correlation with the previous frame's exceeds 0.3, or exceeds both 0.05 and
// ten times the largest of the last 15 frames' values.
func (f *Frames) Cuts() []float64 {
	var cuts []float64
	var recent []float64
	for i := 1; i < len(f.Frames); i++ {
		d := Change(&f.Frames[i-1], &f.Frames[i])
		peak := 0.0
		for _, v := range recent {
			peak = math.Max(peak, v)
		}
		if d > 0.3 || (d > 0.05 && d > 10*peak && len(recent) > 0) {
			cuts = append(cuts, f.Frames[i].T)
		}
		recent = append(recent, d)
		if len(recent) > 15 {
			recent = recent[1:]
		}
	}
	return cuts
}

// Change is how much the colours change from frame a to frame b: one minus
// the correlation of their histograms, 0 for the same picture.
func Change(a, b *Frame) float64 {
	return 1 - correlation(&a.hist, &b.hist)
}

func correlation(a, b *[512]float32) float64 {
	var ma, mb float64
	for i := range a {
		ma += float64(a[i])
		mb += float64(b[i])
	}
	ma /= 512
	mb /= 512
	var num, da, db float64
	for i := range a {
		x, y := float64(a[i])-ma, float64(b[i])-mb
		num += x * y
		da += x * x
		db += y * y
	}
	if da == 0 || db == 0 {
		if da == db {
			return 1
		}
		return 0
	}
	return num / math.Sqrt(da*db)
}

// Motion returns, per frame, the mean absolute luma change from the previous
// frame, from 0 (still) to 1.
func (f *Frames) Motion() []float64 {
	m := make([]float64, len(f.Frames))
	for i := 1; i < len(f.Frames); i++ {
		a, b := f.Frames[i-1].Gray, f.Frames[i].Gray
		var sum int
		for k := 0; k < len(a); k += 4 {
			d := int(a[k]) - int(b[k])
			if d < 0 {
				d = -d
			}
			sum += d
		}
		m[i] = float64(sum) / float64((len(a)+3)/4) / 255
	}
	return m
}
