// Package reframe is the stage that turns any source shape into the
// requested one. It crops around the main face, held steady within each
// shot, when faces are found; otherwise it lays the whole frame over a
// blurred copy of itself, so nothing is cut off.
package reframe

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/engine/scene"
)

// OutputSize is the frame size of each aspect ratio.
func OutputSize(a clipping.AspectRatio) (int, int) {
	switch a {
	case clipping.AspectLandscape:
		return 1920, 1080
	case clipping.AspectSquare:
		return 1080, 1080
	default:
		return 1080, 1920
	}
}

// Mode is how a clip is reframed.
type Mode string

const (
	ModeScale Mode = "scale" // the source already has the output's shape
	ModeCrop  Mode = "crop"  // crop around the main face, per shot
	ModeFit   Mode = "fit"   // the whole frame over a blurred copy of itself
)

// Shot is a stretch between two cuts, with where to centre the crop.
type Shot struct {
	Start, End float64 // seconds from the clip's start
	CX, CY     float64 // crop centre in source pixels
	Face       bool    // the centre comes from a face found in this shot
}

// Plan says how to reframe one clip.
type Plan struct {
	Mode         Mode
	SrcW, SrcH   int
	OutW, OutH   int
	CropW, CropH int // ModeCrop: the crop size in source pixels
	Shots        []Shot
	FPS          float64 // output frame rate
	// SAR, when not 0 or 1, is the source's pixel aspect: its frames are
	// first stretched to square pixels, which the plan's sizes are in.
	SAR float64
}

// Analysis settings: a few small frames per second is enough to find shots
// and faces; very long clips are sampled more sparsely to bound the cost.
const (
	sampleSide     = 480
	maxFPS         = 2.0
	maxFrames      = 240
	framesPerShot  = 4
	sameShapeSlack = 0.03
)

// Analyse decides how to reframe the span [start, start+dur) of the source.
func Analyse(ctx context.Context, bin ffmpeg.Binaries, path string, srcW, srcH int, fps float64, start, dur float64, outW, outH int) (Plan, error) {
	p := Plan{SrcW: srcW, SrcH: srcH, OutW: outW, OutH: outH, FPS: outputFPS(fps)}
	srcA, outA := float64(srcW)/float64(srcH), float64(outW)/float64(outH)
	if math.Abs(srcA-outA)/outA < sameShapeSlack {
		p.Mode = ModeScale
		return p, nil
	}
	// Decoding is the cost: look at the span's keyframes first, which costs
	// little, and decode it densely only if they show a face. A span with
	// no face on any keyframe gets the fit layout, which cuts nothing off.
	keys, err := scene.Sample(ctx, bin, scene.Request{
		Path: path, Start: start, Dur: dur, SrcW: srcW, SrcH: srcH, Side: sampleSide, KeyframesOnly: true,
		MaxFrames: 60,
	})
	if err != nil {
		return Plan{}, fmt.Errorf("reframe: %w", err)
	}
	if len(keys.Frames) > 0 {
		face, err := anyFace(ctx, keys)
		if err != nil {
			return Plan{}, err
		}
		if !face {
			p.Mode = ModeFit
			return p, nil
		}
	}
	rate := math.Max(0.25, math.Min(maxFPS, maxFrames/math.Max(dur, 1)))
	frames, err := scene.Sample(ctx, bin, scene.Request{
		Path: path, Start: start, Dur: dur, FPS: rate,
		SrcW: srcW, SrcH: srcH, Side: sampleSide,
	})
	if err != nil {
		return Plan{}, fmt.Errorf("reframe: %w", err)
	}
	return plan(p, frames, dur)
}

func outputFPS(fps float64) float64 {
	if fps <= 0 || fps > 60 {
		return 30
	}
	return fps
}

func anyFace(ctx context.Context, f *scene.Frames) (bool, error) {
	for _, fr := range f.Frames {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		faces, err := DetectFaces(fr.Gray, f.W, f.H)
		if err != nil {
			return false, err
		}
		if len(faces) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// plan finds faces per shot and chooses the mode. It is separate from
// Analyse so tests can feed it frames.
func plan(p Plan, frames *scene.Frames, dur float64) (Plan, error) {
	bounds := append([]float64{0}, frames.Cuts()...)
	bounds = append(bounds, dur)
	sx := float64(p.SrcW) / float64(frames.W)
	sy := float64(p.SrcH) / float64(frames.H)
	faceTime := 0.0
	for k := 0; k+1 < len(bounds); k++ {
		s := Shot{Start: bounds[k], End: bounds[k+1], CX: float64(p.SrcW) / 2, CY: float64(p.SrcH) / 2}
		idx := shotFrames(frames, s.Start, s.End)
		var xs, ys []float64
		for _, i := range idx {
			faces, err := DetectFaces(frames.Frames[i].Gray, frames.W, frames.H)
			if err != nil {
				return Plan{}, err
			}
			if f, ok := mainFace(faces); ok {
				xs = append(xs, f.X*sx)
				ys = append(ys, f.Y*sy)
			}
		}
		// A face seen in at least half the samples is the shot's subject;
		// fewer is likely a false detection.
		if len(idx) > 0 && 2*len(xs) >= len(idx) {
			s.CX, s.CY, s.Face = median(xs), median(ys), true
			faceTime += s.End - s.Start
		}
		p.Shots = append(p.Shots, s)
	}
	if faceTime < 0.5*dur {
		p.Mode = ModeFit
		p.Shots = nil
		return p, nil
	}
	p.Mode = ModeCrop
	outA := float64(p.OutW) / float64(p.OutH)
	if float64(p.SrcW)/float64(p.SrcH) > outA {
		p.CropH = p.SrcH &^ 1
		p.CropW = int(math.Round(float64(p.SrcH)*outA)) &^ 1
	} else {
		p.CropW = p.SrcW &^ 1
		p.CropH = int(math.Round(float64(p.SrcW)/outA)) &^ 1
	}
	fillFacelessShots(p.Shots)
	return p, nil
}

// shotFrames picks up to framesPerShot frames spread inside a shot, away
// from its cuts.
func shotFrames(f *scene.Frames, start, end float64) []int {
	var in []int
	for i, fr := range f.Frames {
		if fr.T >= start && fr.T < end {
			in = append(in, i)
		}
	}
	if len(in) <= framesPerShot {
		return in
	}
	out := make([]int, 0, framesPerShot)
	for k := 0; k < framesPerShot; k++ {
		out = append(out, in[(2*k+1)*len(in)/(2*framesPerShot)])
	}
	return out
}

// mainFace is the largest confident face: the speaker is usually the
// biggest face on screen. (Speaker tracking comes later.)
func mainFace(faces []Face) (Face, bool) {
	if len(faces) == 0 {
		return Face{}, false
	}
	best := faces[0]
	for _, f := range faces[1:] {
		if f.Size*math.Sqrt(f.Q) > best.Size*math.Sqrt(best.Q) {
			best = f
		}
	}
	return best, true
}

// fillFacelessShots gives a shot without a face the centre of the nearest
// shot that has one, so the crop does not jump to the middle and back.
func fillFacelessShots(shots []Shot) {
	for i := range shots {
		if shots[i].Face {
			continue
		}
		best, dist := -1, math.Inf(1)
		for j := range shots {
			if shots[j].Face && math.Abs(float64(j-i)) < dist {
				best, dist = j, math.Abs(float64(j-i))
			}
		}
		if best >= 0 {
			shots[i].CX, shots[i].CY = shots[best].CX, shots[best].CY
		}
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// cropXY is the top-left corner of the crop for a shot, kept inside the
// frame. A face sits a little above the middle of a tall crop, where a
// viewer expects eyes.
func (p Plan) cropXY(s Shot) (int, int) {
	x := clampInt(int(math.Round(s.CX-float64(p.CropW)/2)), 0, p.SrcW-p.CropW)
	y := clampInt(int(math.Round(s.CY-0.4*float64(p.CropH))), 0, p.SrcH-p.CropH)
	return x, y
}

func clampInt(v, lo, hi int) int {
	if hi < lo {
		return lo
	}
	return max(lo, min(hi, v))
}

// Filter returns the video filter chain from the source's frames to the
// output frame size, as an ffmpeg filtergraph fragment whose first filter
// takes the input and whose last filter's output is left open.
func (p Plan) Filter() string {
	ow, oh := p.OutW, p.OutH
	var chain string
	prefix := ""
	if p.SAR > 0 && math.Abs(p.SAR-1) > 0.001 {
		prefix = fmt.Sprintf("scale=%d:%d,setsar=1,", p.SrcW, p.SrcH)
	}
	switch p.Mode {
	case ModeCrop:
		chain = fmt.Sprintf("crop=w=%d:h=%d:x=%s:y=%s,scale=%d:%d",
			p.CropW, p.CropH, p.cropExpr(true), p.cropExpr(false), ow, oh)
	case ModeFit:
		// The background is blurred at an eighth of the size: the blur
		// costs almost nothing there and looks the same scaled up.
		bw, bh := ow/8&^1, oh/8&^1
		chain = fmt.Sprintf("split=2[bg0][fg0];"+
			"[bg0]scale=%d:%d:force_original_aspect_ratio=increase,crop=%d:%d,boxblur=6:2,eq=brightness=-0.12:saturation=0.85,scale=%d:%d:flags=fast_bilinear,setsar=1[bg1];"+
			"[fg0]scale=%d:%d:force_original_aspect_ratio=decrease,setsar=1[fg1];"+
			"[bg1][fg1]overlay=(W-w)/2:(H-h)/2",
			bw, bh, bw, bh, ow, oh, ow, oh)
	default:
		chain = fmt.Sprintf("scale=%d:%d:force_original_aspect_ratio=increase,crop=%d:%d", ow, oh, ow, oh)
	}
	chain = prefix + chain + ",setsar=1"
	if p.FPS > 0 {
		chain += fmt.Sprintf(",fps=%s", trimFloat(p.FPS))
	}
	return chain
}

// cropExpr is the crop's x (or y) as a constant, or as a step function of
// time when shots need different positions.
func (p Plan) cropExpr(x bool) string {
	vals := make([]int, len(p.Shots))
	for i, s := range p.Shots {
		cx, cy := p.cropXY(s)
		if x {
			vals[i] = cx
		} else {
			vals[i] = cy
		}
	}
	if len(vals) == 0 {
		return "0"
	}
	expr := fmt.Sprint(vals[len(vals)-1])
	for i := len(vals) - 2; i >= 0; i-- {
		if vals[i] == vals[i+1] {
			continue
		}
		expr = fmt.Sprintf("if(lt(t\\,%s)\\,%d\\,%s)", trimFloat(p.Shots[i].End), vals[i], expr)
	}
	return expr
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}
