package captions

import (
	"image"
	"math"
)

// faceMargin is how far, as a fraction of the frame height, captions keep
// from a face box: detectors cut boxes tight, and hair and chin lie outside.
const faceMargin = 0.02

// Place chooses each page's height on the frame so that it keeps clear of the
// faces that faces(page.Start, page.End) returns (boxes in output-frame pixels),
// staying inside the platforms' safe zone.
//
// A page keeps the preset's position (MarginV 0) when that is clear, else
// moves to the nearest clear position, typically just below the chin or just
// above the head; when none is clear, to the one that covers the least face.
// The block is sized for two lines, so pages over the same faces sit at the
// same height however many lines they have. A nil faces leaves pages alone.
func Place(pages []Page, p Preset, width, height int, faces func(start, end float64) []image.Rectangle) {
	if faces == nil {
		return
	}
	g := newGeometry(p, width, height)
	for i, pg := range pages {
		mv := g.place(faces(pg.Start, pg.End))
		if mv == g.marginV {
			mv = 0 // the style's
		}
		pages[i].MarginV = mv
	}
}

// place returns the MarginV whose block, inside the safe area, overlaps the
// grown face boxes least, and of those the nearest to the default (the lower
// one of two equally near).
func (g geometry) place(faces []image.Rectangle) int {
	obstacles := g.obstacles(faces)
	if len(obstacles) == 0 {
		return g.marginV
	}
	best, bestArea := g.marginV, -1
	for mv := 1; mv < g.height; mv++ {
		b := g.block(mv)
		if float64(b.Min.Y) < g.safeTop || float64(b.Max.Y) > g.safeBottom {
			continue
		}
		area := overlap(b, obstacles)
		if bestArea < 0 || area < bestArea || area == bestArea && abs(mv-g.marginV) < abs(best-g.marginV) {
			best, bestArea = mv, area
		}
	}
	return best
}

// block is the rectangle the caption's pixels may cover when its text's
// bottom is mv above the frame's bottom. libass scales each face so that its
// cell (what cellHeight reads) is the font size and stacks the lines cell on
// cell, so maxLines lines are maxLines font sizes tall; the outline, shadow
// or box pad that. Across, Layout keeps every line inside the safe area.
func (g geometry) block(mv int) image.Rectangle {
	bottom := float64(g.height - mv)
	return image.Rect(
		int(math.Floor(g.safeLeft)), int(math.Floor(bottom-maxLines*g.size-g.padTop)),
		int(math.Ceil(g.safeRgt)), int(math.Ceil(bottom+g.padBottom)))
}

// obstacles are the non-empty face boxes grown by faceMargin and cut to the
// frame.
func (g geometry) obstacles(faces []image.Rectangle) []image.Rectangle {
	m := int(math.Ceil(faceMargin * float64(g.height)))
	frame := image.Rect(0, 0, g.width, g.height)
	var out []image.Rectangle
	for _, f := range faces {
		if f.Empty() {
			continue
		}
		if r := f.Inset(-m).Intersect(frame); !r.Empty() {
			out = append(out, r)
		}
	}
	return out
}

// overlap is the area of r that the boxes cover, counting twice where they
// overlap each other.
func overlap(r image.Rectangle, boxes []image.Rectangle) int {
	area := 0
	for _, b := range boxes {
		i := r.Intersect(b)
		area += i.Dx() * i.Dy()
	}
	return area
}

func abs(v int) int { return max(v, -v) }
