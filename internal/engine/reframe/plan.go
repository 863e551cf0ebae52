package reframe

import (
	"fmt"
	"image"
	"math"
	"slices"
	"sort"
	"strings"
)

// Layout is how one shot fills the output frame.
type Layout string

const (
	LayoutScale  Layout = "scale"  // the source already has the output's shape
	LayoutSingle Layout = "single" // one crop that follows one person, or a group that fits
	LayoutSplit  Layout = "split"  // two crops, one per person, stacked (side by side in landscape)
	LayoutFit    Layout = "fit"    // the whole frame over a blurred copy of itself
)

// Plan says how to reframe one clip. It is data: tests read it without
// rendering, and Filter turns it into the ffmpeg filter that renders it.
type Plan struct {
	SrcW, SrcH int
	OutW, OutH int
	FPS        float64 // output frame rate
	// SAR, when not 0 or 1, is the source's pixel aspect: its frames are
	// first stretched to square pixels, which the plan's sizes are in.
	SAR   float64
	Shots []Shot
	// Thumb is when, in seconds from the clip's start, the frame for its
	// thumbnail is.
	Thumb float64
}

// Shot is a stretch of the clip with one layout and one subject: it runs
// between cuts of the source, jumps of a face, changes of speaker and
// changes of layout.
type Shot struct {
	Start, End float64 // seconds from the clip's start
	Layout     Layout
	Why        string  // what starts it: "start", "cut", "face jump", "speaker", "layout"
	Panels     []Panel // single: one; split: two; scale and fit: none
	// Faces are the faces seen during the shot, in source pixels; captions
	// keep clear of where they land in the output.
	Faces []FaceAt
}

// Panel is one crop of the source, scaled into a rectangle of the output.
type Panel struct {
	W, H   int             // the crop, source pixels
	Out    image.Rectangle // where it is shown, output pixels
	Person int             // the person it follows (index in the shot), -1 for a group
	// Path is the crop's top-left corner over the shot, linear between
	// keys; it holds its last key after the end.
	Path []Key
}

// Key is a point of a camera path, in source pixels at a time from the
// clip's start.
type Key struct{ T, X, Y float64 }

// FaceAt is a face seen at a time, in source pixels: centre and side of the
// detector's box, which spans about brow to mouth.
type FaceAt struct {
	T, X, Y, Size float64
	Person        int
}

// Rect is a rectangle in source pixels.
type Rect struct{ X0, Y0, X1, Y1 float64 }

// Box is the whole head around a detector's box, hair to chin: what must
// stay in the crop and clear of the captions.
func (f FaceAt) Box() Rect {
	return Rect{f.X - 0.5*f.Size, f.Y - 0.75*f.Size, f.X + 0.5*f.Size, f.Y + 0.65*f.Size}
}

func (r Rect) height() float64 { return r.Y1 - r.Y0 }

// At is the crop's top-left corner at time t.
func (p Panel) At(t float64) (x, y float64) {
	k := p.Path
	if len(k) == 0 {
		return 0, 0
	}
	// The first key at or after t; at a jump (two keys at one time) the
	// later one holds from its time on.
	i := sort.Search(len(k), func(i int) bool { return k[i].T > t })
	switch {
	case i == 0:
		return k[0].X, k[0].Y
	case i == len(k):
		return k[i-1].X, k[i-1].Y
	}
	a, b := k[i-1], k[i]
	f := (t - a.T) / (b.T - a.T)
	return a.X + f*(b.X-a.X), a.Y + f*(b.Y-a.Y)
}

// ShotAt is the index of the shot that shows time t.
func (p Plan) ShotAt(t float64) int {
	i := sort.Search(len(p.Shots), func(i int) bool { return p.Shots[i].End > t })
	return min(i, len(p.Shots)-1)
}

// Map takes a rectangle of the source at time t to where it lands in the
// output, clipped to the panels (or frame) that show it; ok is false when
// it is not shown.
func (p Plan) Map(t float64, r Rect) (image.Rectangle, bool) {
	var out image.Rectangle
	for _, m := range p.mapEach(t, r) {
		out = out.Union(m)
	}
	return out, !out.Empty()
}

// mapEach is Map per panel (one for a layout without panels): each panel
// that shows the rectangle gives where, clipped to the panel.
func (p Plan) mapEach(t float64, r Rect) []image.Rectangle {
	if len(p.Shots) == 0 {
		return nil
	}
	s := p.Shots[p.ShotAt(t)]
	place := func(cx, cy, cw, ch float64, dst image.Rectangle) image.Rectangle {
		kx, ky := float64(dst.Dx())/cw, float64(dst.Dy())/ch
		return image.Rect(
			dst.Min.X+int(math.Floor((r.X0-cx)*kx)), dst.Min.Y+int(math.Floor((r.Y0-cy)*ky)),
			dst.Min.X+int(math.Ceil((r.X1-cx)*kx)), dst.Min.Y+int(math.Ceil((r.Y1-cy)*ky))).Intersect(dst)
	}
	sw, sh := float64(p.SrcW), float64(p.SrcH)
	switch s.Layout {
	case LayoutSingle, LayoutSplit:
		out := make([]image.Rectangle, len(s.Panels))
		for i, pn := range s.Panels {
			cx, cy := pn.At(t)
			out[i] = place(cx, cy, float64(pn.W), float64(pn.H), pn.Out)
		}
		return out
	case LayoutFit:
		k := math.Min(float64(p.OutW)/sw, float64(p.OutH)/sh)
		w, h := sw*k, sh*k
		ox, oy := (float64(p.OutW)-w)/2, (float64(p.OutH)-h)/2
		return []image.Rectangle{place(0, 0, sw, sh, image.Rect(int(ox), int(oy), int(ox+w), int(oy+h)))}
	default: // scale: fill the frame, cropping the overflow evenly
		k := math.Max(float64(p.OutW)/sw, float64(p.OutH)/sh)
		cw, ch := float64(p.OutW)/k, float64(p.OutH)/k
		return []image.Rectangle{place((sw-cw)/2, (sh-ch)/2, cw, ch, image.Rect(0, 0, p.OutW, p.OutH))}
	}
}

// FaceBoxes returns where the faces of every shot that overlaps [t0, t1)
// land in the output: one box per person, panel and shot, covering the
// whole shot. Captions keep clear of them.
func (p Plan) FaceBoxes(t0, t1 float64) []image.Rectangle {
	var boxes []image.Rectangle
	for _, s := range p.Shots {
		if s.End <= t0 || s.Start >= t1 {
			continue
		}
		type key struct{ person, panel int }
		union := map[key]image.Rectangle{}
		var order []key
		for _, f := range s.Faces {
			for i, r := range p.mapEach(f.T, f.Box()) {
				k := key{f.Person, i}
				if r.Empty() {
					continue
				}
				if _, seen := union[k]; !seen {
					order = append(order, k)
				}
				union[k] = union[k].Union(r)
			}
		}
		for _, k := range order {
			boxes = append(boxes, union[k])
		}
	}
	return boxes
}

// Filter returns the video filter chain from the source's frames to the
// output frame size, as an ffmpeg filtergraph fragment whose first filter
// takes the input and whose last filter's output is left open. Each layout
// the plan uses is one branch; when there are several, the later ones are
// overlaid on the first only during their shots.
func (p Plan) Filter() string {
	prefix := ""
	if p.SAR > 0 && math.Abs(p.SAR-1) > 0.001 {
		prefix = fmt.Sprintf("scale=%d:%d,setsar=1,", p.SrcW, p.SrcH)
	}
	var used []Layout
	for _, s := range p.Shots {
		if !slices.Contains(used, s.Layout) {
			used = append(used, s.Layout)
		}
	}
	if len(used) == 0 {
		used = []Layout{LayoutScale}
	}
	var chain string
	if len(used) == 1 {
		chain = p.branch(used[0], "", "")
	} else {
		var b strings.Builder
		fmt.Fprintf(&b, "split=%d", len(used))
		for i := range used {
			fmt.Fprintf(&b, "[in%d]", i)
		}
		for i, l := range used {
			fmt.Fprintf(&b, ";%s", p.branch(l, fmt.Sprintf("[in%d]", i), fmt.Sprintf("[out%d]", i)))
		}
		last := "[out0]"
		for i := 1; i < len(used); i++ {
			fmt.Fprintf(&b, ";%s[out%d]overlay=enable=%s", last, i, p.during(used[i]))
			if i+1 < len(used) {
				last = fmt.Sprintf("[mix%d]", i)
				b.WriteString(last)
			}
		}
		chain = b.String()
	}
	chain = prefix + chain + ",setsar=1"
	if p.FPS > 0 {
		chain += fmt.Sprintf(",fps=%s", trimFloat(p.FPS))
	}
	return chain
}

// during is an expression of t that is 1 in the shots with layout l.
func (p Plan) during(l Layout) string {
	var terms []string
	for _, s := range p.Shots {
		if s.Layout == l {
			// From its start to just before its end: at a frame on the
			// boundary, the next shot shows.
			terms = append(terms, fmt.Sprintf(`gte(t\,%s)*lt(t\,%s)`, trimFloat(s.Start), trimFloat(s.End)))
		}
	}
	return sumTree(terms)
}

// branch is the chain of one layout, from the input label in to the output
// label out (both may be empty in a single chain).
func (p Plan) branch(l Layout, in, out string) string {
	ow, oh := p.OutW, p.OutH
	switch l {
	case LayoutSingle:
		pn := p.panels(l, 0)
		return fmt.Sprintf("%scrop=w=%d:h=%d:x=%s:y=%s,scale=%d:%d%s",
			in, pn.W, pn.H, PathExpr(pn.keys, false), PathExpr(pn.keys, true), ow, oh, out)
	case LayoutSplit:
		a, b := p.panels(l, 0), p.panels(l, 1)
		stack := "vstack"
		if a.out.Dx() < ow {
			stack = "hstack"
		}
		return fmt.Sprintf("%ssplit=2[pa][pb];"+
			"[pa]crop=w=%d:h=%d:x=%s:y=%s,scale=%d:%d[qa];"+
			"[pb]crop=w=%d:h=%d:x=%s:y=%s,scale=%d:%d[qb];"+
			"[qa][qb]%s%s",
			in,
			a.W, a.H, PathExpr(a.keys, false), PathExpr(a.keys, true), a.out.Dx(), a.out.Dy(),
			b.W, b.H, PathExpr(b.keys, false), PathExpr(b.keys, true), b.out.Dx(), b.out.Dy(),
			stack, out)
	case LayoutFit:
		// The background is blurred at an eighth of the size: the blur
		// costs almost nothing there and looks the same scaled up.
		bw, bh := ow/8&^1, oh/8&^1
		return fmt.Sprintf("%ssplit=2[bg0][fg0];"+
			"[bg0]scale=%d:%d:force_original_aspect_ratio=increase,crop=%d:%d,boxblur=6:2,eq=brightness=-0.12:saturation=0.85,scale=%d:%d:flags=fast_bilinear,setsar=1[bg1];"+
			"[fg0]scale=%d:%d:force_original_aspect_ratio=decrease,setsar=1[fg1];"+
			"[bg1][fg1]overlay=(W-w)/2:(H-h)/2%s",
			in, bw, bh, bw, bh, ow, oh, ow, oh, out)
	default:
		return fmt.Sprintf("%sscale=%d:%d:force_original_aspect_ratio=increase,crop=%d:%d%s", in, ow, oh, ow, oh, out)
	}
}

// panelTrack is the path of panel i across every shot of one layout, as
// one track of keys for the filter; between those shots it holds.
type panelTrack struct {
	W, H int
	out  image.Rectangle
	keys []Key
}

func (p Plan) panels(l Layout, i int) panelTrack {
	var pt panelTrack
	for _, s := range p.Shots {
		if s.Layout != l || i >= len(s.Panels) {
			continue
		}
		pn := s.Panels[i]
		pt.W, pt.H, pt.out = pn.W, pn.H, pn.Out
		for k, key := range pn.Path {
			t := key.T
			if k == 0 {
				t = s.Start // a cut: the new position from the shot's first frame
			}
			pt.keys = append(pt.keys, Key{t, math.Round(key.X), math.Round(key.Y)})
		}
	}
	return pt
}

// PathExpr writes a path's x (or, with y, its y) as an ffmpeg expression of
// t: the first value, plus a ramp for each later key, or a step where two
// keys share a time (a cut). Commas are escaped for a filtergraph.
func PathExpr(keys []Key, y bool) string { return pathExpr(keys, y, "t") }

// pathExpr is PathExpr with the time variable named (geq calls it T). The
// terms are summed as a balanced tree: ffmpeg refuses an expression nested
// about a hundred deep, and a chain of sums nests one level a term.
func pathExpr(keys []Key, y bool, t string) string {
	if len(keys) == 0 {
		return "0"
	}
	val := func(k Key) float64 {
		if y {
			return k.Y
		}
		return k.X
	}
	var terms []string
	for i := 1; i < len(keys); i++ {
		a, c := keys[i-1], keys[i]
		dv := val(c) - val(a)
		if dv == 0 {
			continue
		}
		if dt := c.T - a.T; dt < 0.0005 {
			terms = append(terms, fmt.Sprintf(`%s*gte(%s\,%s)`, trimFloat(dv), t, trimFloat(c.T)))
		} else {
			terms = append(terms, fmt.Sprintf(`%s*clip(%s-%s\,0\,%s)/%s`, trimFloat(dv), t, trimFloat(a.T), trimFloat(dt), trimFloat(dt)))
		}
	}
	if len(terms) == 0 {
		return trimFloat(val(keys[0]))
	}
	return trimFloat(val(keys[0])) + "+" + sumTree(terms)
}

// sumTree adds the terms in a balanced tree of brackets.
func sumTree(terms []string) string {
	if len(terms) == 1 {
		return terms[0]
	}
	m := len(terms) / 2
	return "(" + sumTree(terms[:m]) + "+" + sumTree(terms[m:]) + ")"
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		s = "0"
	}
	return s
}
