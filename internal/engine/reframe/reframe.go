// Package reframe is the stage that turns any source shape into the
// requested one, keeping the speaker in frame. It tracks faces through the
// clip, cuts where the source cuts or a face jumps, follows the active
// speaker when two or more people are on screen, and moves the crop as a
// good camera operator would. Without faces it lays the whole frame over a
// blurred copy of itself, so nothing is cut off.
package reframe

import (
	"context"
	"fmt"
	"image"
	"math"
	"sort"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/engine/scene"
	"github.com/clipmill/clipmill/internal/stats"
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

// Request says which span of which source to reframe, and to what.
type Request struct {
	Path       string
	SrcW, SrcH int     // the source's display size, in square pixels
	FPS        float64 // the source's frame rate
	SAR        float64 // the source's pixel aspect (0 or 1: square)
	Start, Dur float64 // the clip, seconds
	OutW, OutH int
	// Speech is when someone speaks, in seconds from the clip's start; nil
	// when unknown, and then mouths alone pick the speaker.
	Speech []Span
}

// Clip is the request for the clip [start, start+dur) of the same source;
// speech times move onto the clip's clock.
func (r Request) Clip(start, dur float64) Request {
	c := r
	c.Start, c.Dur, c.Speech = r.Start+start, dur, nil
	if r.Speech != nil {
		c.Speech = []Span{}
		for _, s := range r.Speech {
			s.Start, s.End = math.Max(0, s.Start-start), math.Min(dur, s.End-start)
			if s.End > s.Start {
				c.Speech = append(c.Speech, s)
			}
		}
	}
	return c
}

// sameShapeSlack: a source this close to the output's shape is only scaled.
const sameShapeSlack = 0.03

// Analyse decides how to reframe the clip.
func Analyse(ctx context.Context, bin ffmpeg.Binaries, r Request) (Plan, error) {
	p := Plan{SrcW: r.SrcW, SrcH: r.SrcH, OutW: r.OutW, OutH: r.OutH, FPS: outputFPS(r.FPS), SAR: r.SAR}
	whole := func(l Layout) Plan {
		p.Shots = []Shot{{Start: 0, End: r.Dur, Layout: l, Why: "start"}}
		p.Thumb = clampF(r.Dur/6, math.Min(0.5, r.Dur/2), 5)
		return p
	}
	srcA, outA := float64(r.SrcW)/float64(r.SrcH), float64(r.OutW)/float64(r.OutH)
	if math.Abs(srcA-outA)/outA < sameShapeSlack {
		return whole(LayoutScale), nil
	}
	// Decoding is the cost: look at the clip's keyframes first, which costs
	// little, and decode it densely only if they show a face.
	keys, err := scene.Sample(ctx, bin, scene.Request{
		Path: r.Path, Start: r.Start, Dur: r.Dur, SrcW: r.SrcW, SrcH: r.SrcH, Side: sampleSide,
		KeyframesOnly: true, MaxFrames: 60,
	})
	if err != nil {
		return Plan{}, fmt.Errorf("reframe: %w", err)
	}
	// Only keyframes at least every two seconds can speak for the clip: a
	// source with long GOPs is looked at densely.
	if len(keys.Frames) > 0 && float64(len(keys.Frames)) >= r.Dur/2 {
		face, err := anyFace(ctx, keys)
		if err != nil {
			return Plan{}, err
		}
		if !face {
			return whole(LayoutFit), nil
		}
	}
	o, err := observe(ctx, bin, r)
	if err != nil {
		return Plan{}, err
	}
	tracks := link(o.obs)
	cuts, err := findCuts(ctx, bin, r, o, tracks)
	if err != nil {
		return Plan{}, err
	}
	return build(p, o.obs, tracks, cuts, mergeSpans(r.Speech), r.Dur), nil
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

// mergeSpans sorts spans and joins those that touch.
func mergeSpans(in []Span) []Span {
	if in == nil {
		return nil
	}
	s := append([]Span{}, in...)
	sort.Slice(s, func(i, j int) bool { return s[i].Start < s[j].Start })
	var out []Span
	for _, x := range s {
		if n := len(out); n > 0 && x.Start <= out[n-1].End {
			out[n-1].End = math.Max(out[n-1].End, x.End)
			continue
		}
		out = append(out, x)
	}
	return out
}

// cut is a shot boundary and what made it.
type cut struct {
	T   float64
	Why string
}

// build turns what the frames show into a plan. It is separate from
// Analyse so tests can feed it observations.
func build(p Plan, obs []observation, tracks []*track, cuts []cut, speech []Span, dur float64) Plan {
	bounds := []cut{{0, "start"}}
	var cutTimes []float64
	for _, c := range cuts {
		if c.T > 0 && c.T < dur {
			bounds = append(bounds, c)
			cutTimes = append(cutTimes, c.T)
		}
	}
	tracks = splitAt(tracks, cutTimes)
	cw, ch := cropSize(p.SrcW, p.SrcH, p.OutW, p.OutH)

	type part struct {
		seg segment
		ps  []*person
		why string
	}
	var parts []part
	for i, b := range bounds {
		end := dur
		if i+1 < len(bounds) {
			end = bounds[i+1].T
		}
		var times []float64
		for _, o := range obs {
			if o.T >= b.T && o.T < end {
				times = append(times, o.T)
			}
		}
		var in []*track
		for _, tr := range tracks {
			if t := tr.first().T; t >= b.T && t < end {
				in = append(in, tr)
			}
		}
		ps := people(in, len(times))
		for k, s := range shotSegments(ps, times, speech, b.T, end, cw, ch, p.SrcH) {
			why := s.why
			if k == 0 {
				why = b.Why
			}
			parts = append(parts, part{s, ps, why})
		}
	}

	// One size for every split panel, so the filter crops at one size.
	var sizes []float64
	for _, pt := range parts {
		if pt.seg.layout == LayoutSplit {
			for _, w := range pt.seg.who {
				sizes = append(sizes, pt.ps[w].medianSize())
			}
		}
	}
	top, bottom := splitRects(p.OutW, p.OutH)
	sw, sh := splitCropSize(p.SrcW, p.SrcH, top, stats.Median(sizes))

	for _, pt := range parts {
		s := pt.seg
		shot := Shot{Start: s.start, End: s.end, Layout: s.layout, Why: pt.why}
		for i, per := range pt.ps {
			for _, q := range per.pts {
				if q.T >= s.start && q.T < s.end {
					shot.Faces = append(shot.Faces, FaceAt{T: q.T, X: q.X, Y: q.Y, Size: q.S, Person: i})
				}
			}
		}
		full := image.Rect(0, 0, p.OutW, p.OutH)
		switch s.layout {
		case LayoutSingle:
			if len(s.who) == 1 {
				shot.Panels = []Panel{follow(pt.ps, s.who[0], s, cw, ch, 0.4, full, p)}
			} else {
				shot.Panels = []Panel{followGroup(pt.ps, s, cw, ch, full, p)}
			}
		case LayoutSplit:
			shot.Panels = []Panel{
				follow(pt.ps, s.who[0], s, sw, sh, 0.45, top, p),
				follow(pt.ps, s.who[1], s, sw, sh, 0.45, bottom, p),
			}
		}
		p.Shots = append(p.Shots, shot)
	}
	holdShortFaceless(p.Shots)
	p.Thumb = p.thumb(obs, dur)
	return p
}

// thumb chooses the thumbnail's frame in the first third of the clip: the
// largest face, upright in the frame, away from cuts and layout changes
// and not in a fade; without faces, the brightest steady frame.
func (p Plan) thumb(obs []observation, dur float64) float64 {
	var lumas []float64
	for _, o := range obs {
		lumas = append(lumas, o.Luma)
	}
	dark := 0.6 * stats.Median(lumas)
	best, bestScore := clampF(dur/6, math.Min(0.5, dur/2), 5), math.Inf(-1)
	for _, o := range obs {
		if o.T < math.Min(0.5, dur/4) || o.T > math.Max(dur/3, 1) || o.Luma < dark || p.nearChange(o.T, 0.4) {
			continue
		}
		score := o.Luma / 255 * 0.1
		for _, f := range o.Faces {
			fa := FaceAt{T: o.T, X: f.X, Y: f.Y, Size: f.Size}
			if r, ok := p.Map(o.T, fa.Box()); ok {
				// A face's share of the frame; a talking mouth blurs.
				a := float64(r.Dx()*r.Dy()) / float64(p.OutW*p.OutH)
				score = math.Max(score, 1+a-0.005*f.Mouth)
			}
		}
		if score > bestScore {
			best, bestScore = o.T, score
		}
	}
	return best
}

// nearChange reports whether t is within d of a shot's start or end.
func (p Plan) nearChange(t, d float64) bool {
	for _, s := range p.Shots {
		if (s.Start > 0 && math.Abs(t-s.Start) < d) || math.Abs(t-s.End) < d {
			return true
		}
	}
	return false
}

func clampF(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// shotSegments decides the layout of one shot.
func shotSegments(ps []*person, times []float64, speech []Span, start, end float64, cw, ch, srcH int) []segment {
	all := make([]int, len(ps))
	for i := range ps {
		all[i] = i
	}
	one := func(l Layout, who []int) []segment {
		return []segment{{start: start, end: end, layout: l, who: who}}
	}
	switch {
	case len(ps) == 0:
		return one(LayoutFit, nil)
	case len(ps) == 1:
		// A webcam inset over slides, or a speaker far off on a wide
		// stage, is better seen with everything around it; a head too
		// big for the crop cannot be framed at all.
		if s := ps[0].medianSize(); s < smallFace*float64(srcH) || (FaceAt{Size: s}).Box().height() > 0.85*float64(ch) {
			return one(LayoutFit, nil)
		}
		return whileSeen(ps[0], one(LayoutSingle, all))
	case groupFits(ps, cw, ch):
		return one(LayoutSingle, all)
	case len(ps) >= 3:
		// A panel or an audience: small faces, nobody to single out.
		sizes := make([]float64, len(ps))
		for i, per := range ps {
			sizes[i] = per.medianSize()
		}
		if stats.Median(sizes) < 0.12*float64(srcH) {
			return one(LayoutFit, nil)
		}
	}
	return speakers(ps, times, speech, start, end)
}

// smallFace: a face smaller than this share of the source's height is too
// small to crop on.
const smallFace = 0.08

// whileSeen gives the fit layout to the stretches of a single-person
// segment in which the person is not seen for more than a second and a half
// (they walked off, or turned away), so the crop never holds an empty set.
func whileSeen(per *person, segs []segment) []segment {
	var out []segment
	for _, s := range segs {
		at, why := s.start, s.why
		emit := func(end float64, l Layout, who []int) {
			if end-at > 1e-6 {
				out = append(out, segment{start: at, end: end, layout: l, who: who, why: why})
				at, why = end, "layout"
			}
		}
		last := s.start - 1/sampleRate // as if seen just before
		seen := func(t float64) {
			if t-last > 1.5 {
				emit(last+1/sampleRate, s.layout, s.who)
				emit(math.Min(s.end, t), LayoutFit, nil)
			}
			last = t
		}
		for _, q := range per.pts {
			if q.T >= s.start && q.T <= s.end {
				seen(q.T)
			}
		}
		seen(s.end + 1/sampleRate) // as if seen just after
		emit(s.end, s.layout, s.who)
	}
	return out
}

// groupFits reports whether every person's head fits in one crop at once.
func groupFits(ps []*person, cw, ch int) bool {
	x0, x1 := math.Inf(1), math.Inf(-1)
	y0, y1 := math.Inf(1), math.Inf(-1)
	for _, per := range ps {
		for _, q := range per.pts {
			f := FaceAt{X: q.X, Y: q.Y, Size: q.S}
			b := f.Box()
			x0, y0, x1, y1 = math.Min(x0, b.X0), math.Min(y0, b.Y0), math.Max(x1, b.X1), math.Max(y1, b.Y1)
		}
	}
	return x1-x0 <= 0.9*float64(cw) && y1-y0 <= 0.9*float64(ch)
}

// cropSize is the largest crop of the output's shape in the source.
func cropSize(srcW, srcH, outW, outH int) (int, int) {
	outA := float64(outW) / float64(outH)
	if float64(srcW)/float64(srcH) > outA {
		return int(math.Round(float64(srcH)*outA)) &^ 1, srcH &^ 1
	}
	return srcW &^ 1, int(math.Round(float64(srcW)/outA)) &^ 1
}

// splitRects are the two panels of a split layout: stacked in a tall or
// square frame, side by side in a wide one.
func splitRects(w, h int) (image.Rectangle, image.Rectangle) {
	if w > h {
		return image.Rect(0, 0, w/2, h), image.Rect(w/2, 0, w, h)
	}
	return image.Rect(0, 0, w, h/2), image.Rect(0, h/2, w, h)
}

// splitCropSize frames a face of the given size in a panel: about a third
// of the panel's height, as a close-up is framed.
func splitCropSize(srcW, srcH int, panel image.Rectangle, face float64) (int, int) {
	a := float64(panel.Dx()) / float64(panel.Dy())
	h := math.Min(float64(srcH), math.Max(3.2*face, 0.3*float64(srcH)))
	w := h * a
	if w > float64(srcW) {
		w, h = float64(srcW), float64(srcW)/a
	}
	return int(w) &^ 1, int(h) &^ 1
}

// follow is a panel whose crop follows one person, with the face's centre
// at the middle of the crop across and at fromTop of its height down.
func follow(ps []*person, who int, s segment, cw, ch int, fromTop float64, out image.Rectangle, p Plan) Panel {
	per := ps[who]
	size := per.medianSize()
	head := FaceAt{Size: size}.Box()
	ax := axis{crop: cw, src: p.SrcW, slack: float64(cw)/2 - 0.5*size}
	ay := axis{crop: ch, src: p.SrcH, slack: math.Min(fromTop*float64(ch)+head.Y0, (1-fromTop)*float64(ch)-head.Y1)}
	path := cameraPath(func(t float64) (float64, float64) {
		q := per.at(t)
		return q.X - float64(cw)/2, q.Y - fromTop*float64(ch)
	}, s.start, s.end, ax, ay)
	return Panel{W: cw, H: ch, Out: out, Person: who, Path: path}
}

// followGroup is a panel whose crop follows the middle of everyone's heads.
func followGroup(ps []*person, s segment, cw, ch int, out image.Rectangle, p Plan) Panel {
	box := func(t float64) (x0, y0, x1, y1 float64) {
		x0, y0, x1, y1 = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for _, per := range ps {
			q := per.at(t)
			b := FaceAt{X: q.X, Y: q.Y, Size: q.S}.Box()
			x0, y0, x1, y1 = math.Min(x0, b.X0), math.Min(y0, b.Y0), math.Max(x1, b.X1), math.Max(y1, b.Y1)
		}
		return
	}
	x0, y0, x1, y1 := box(s.start)
	ax := axis{crop: cw, src: p.SrcW, slack: (float64(cw) - (x1 - x0)) / 2}
	ay := axis{crop: ch, src: p.SrcH, slack: (float64(ch) - (y1 - y0)) / 2}
	path := cameraPath(func(t float64) (float64, float64) {
		x0, y0, x1, y1 := box(t)
		return (x0+x1)/2 - float64(cw)/2, (y0+y1)/2 - 0.45*float64(ch)
	}, s.start, s.end, ax, ay)
	return Panel{W: cw, H: ch, Out: out, Person: -1, Path: path}
}

// holdShortFaceless keeps a faceless moment of under a second (a face
// turned away, a flash) on the neighbouring shot's framing instead of
// flashing the fit layout.
func holdShortFaceless(shots []Shot) {
	for i := range shots {
		s := &shots[i]
		if s.Layout != LayoutFit || s.End-s.Start >= 1 || len(shots) == 1 {
			continue
		}
		var from *Shot
		var at Key
		switch {
		case i > 0 && shots[i-1].Layout == LayoutSingle:
			from = &shots[i-1]
			at = from.Panels[0].Path[len(from.Panels[0].Path)-1]
		case i+1 < len(shots) && shots[i+1].Layout == LayoutSingle:
			from = &shots[i+1]
			at = from.Panels[0].Path[0]
		default:
			continue
		}
		pn := from.Panels[0]
		pn.Path = []Key{{s.Start, at.X, at.Y}, {s.End, at.X, at.Y}}
		s.Layout, s.Panels = LayoutSingle, []Panel{pn}
	}
}
