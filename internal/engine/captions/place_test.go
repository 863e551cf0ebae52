package captions

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/clipmill/clipmill/internal/engine/transcript"
)

// placeOne places a one-line and a two-line page over the same faces, checks
// that they get the same MarginV, and returns the two-line page's block.
func placeOne(t *testing.T, p Preset, g geometry, faces ...image.Rectangle) (mv int, block image.Rectangle) {
	t.Helper()
	w := []transcript.Word{{Text: "word"}}
	pages := []Page{
		{Start: 0, End: 1, Lines: [][]transcript.Word{w}},
		{Start: 1, End: 2, Lines: [][]transcript.Word{w, w}},
	}
	Place(pages, p, g.width, g.height, func(start, end float64) []image.Rectangle { return faces })
	if pages[0].MarginV != pages[1].MarginV {
		t.Errorf("one line at MarginV %d, two at %d", pages[0].MarginV, pages[1].MarginV)
	}
	mv = pages[1].MarginV
	if mv == 0 {
		return 0, g.block(g.marginV)
	}
	return mv, g.block(mv)
}

// TestPlaceDefault checks that without faces in the way pages keep the
// style's position (MarginV 0), and the ASS output stays as it was.
func TestPlaceDefault(t *testing.T) {
	p, _ := Lookup("classic")
	g := newGeometry(p, 1080, 1920)
	cases := map[string][]image.Rectangle{
		"no faces":           nil,
		"empty box":          {{}, {Min: image.Pt(500, 1300), Max: image.Pt(400, 1200)}},
		"outside the frame":  {image.Rect(-500, -500, -100, -100), image.Rect(300, 2000, 700, 2400)},
		"beside the caption": {image.Rect(-300, 1100, 40, 1400)}, // grown by 39 px, still left of the safe area at x 86
		"above the caption":  {image.Rect(300, 300, 780, 900)},
	}
	for name, faces := range cases {
		if mv, _ := placeOne(t, p, g, faces...); mv != 0 {
			t.Errorf("%s: MarginV %d, want 0 (the default)", name, mv)
		}
	}

	pages := Layout(speak(sample), p, 1080, 1920)
	want := ASS(pages, p, 1080, 1920)
	Place(pages, p, 1080, 1920, func(start, end float64) []image.Rectangle { return nil })
	if got := ASS(pages, p, 1080, 1920); got != want {
		t.Errorf("placing with no faces changed the ASS:\n%s", got)
	}
	// A nil faces leaves pages alone.
	pages[0].MarginV = 123
	Place(pages, p, 1080, 1920, nil)
	if pages[0].MarginV != 123 {
		t.Errorf("Place with nil faces set MarginV to %d", pages[0].MarginV)
	}
	if ass := ASS(pages[:1], p, 1080, 1920); !strings.Contains(ass, ",,0,0,123,,") {
		t.Errorf("ASS does not write the page's MarginV:\n%s", ass)
	}
}

// TestPlaceAroundFaces checks where pages go on a portrait frame, for every
// preset. Faces span x 300-780, under the caption; they are grown by 2% of
// the height (38.4, so 39 px), and the safe zone is y 192-1536.
func TestPlaceAroundFaces(t *testing.T) {
	const m = 39
	for _, name := range Names() {
		p, _ := Lookup(name)
		g := newGeometry(p, 1080, 1920)
		def := g.block(g.marginV)
		h := def.Dy()
		t.Run(name, func(t *testing.T) {
			// A face whose chin reaches the caption's top: just below
			// the chin.
			face := image.Rect(300, 700, 780, def.Min.Y+10)
			if _, b := placeOne(t, p, g, face); b.Min.Y != face.Max.Y+m {
				t.Errorf("face %v: block %v, want its top just below the chin at %d", face, b, face.Max.Y+m)
			}
			// A face in the middle with no room below its chin: just
			// above the head.
			face = image.Rect(300, 700, 780, 1450)
			if _, b := placeOne(t, p, g, face); b.Max.Y != face.Min.Y-m {
				t.Errorf("face %v: block %v, want its bottom just above the head at %d", face, b, face.Min.Y-m)
			}
			// A face low in the frame: above the head.
			face = image.Rect(300, 1000, 780, 1500)
			if _, b := placeOne(t, p, g, face); b.Max.Y != face.Min.Y-m {
				t.Errorf("face %v: block %v, want its bottom just above the head at %d", face, b, face.Min.Y-m)
			}
			// A split screen with a gap 20 px taller than the block
			// between the grown faces: in the gap, nearest the default.
			lower := image.Rect(300, 1100, 780, 1700)
			upper := image.Rect(300, 250, 780, lower.Min.Y-2*m-h-20)
			if _, b := placeOne(t, p, g, upper, lower); b.Max.Y != lower.Min.Y-m {
				t.Errorf("faces %v %v: block %v, want it between them, its bottom at %d", upper, lower, b, lower.Min.Y-m)
			}
			// Nothing is clear: a wide face over the lower frame and a
			// narrow one above it. The least face is covered just
			// above the wide one.
			wide, narrow := image.Rect(0, 700, 1080, 1920), image.Rect(500, 150, 560, 700)
			if _, b := placeOne(t, p, g, wide, narrow); b.Max.Y != wide.Min.Y-m || !b.Overlaps(narrow) {
				t.Errorf("faces %v %v: block %v, want its bottom at %d over the narrow face", wide, narrow, b, wide.Min.Y-m)
			}
			// A face over the whole frame: every position is as bad,
			// so the default.
			if mv, _ := placeOne(t, p, g, image.Rect(0, 0, 1080, 1920)); mv != 0 {
				t.Errorf("face over the whole frame: MarginV %d, want 0", mv)
			}
		})
	}
}

// TestPlaceSafeZone places pages over random faces, for every preset and
// frame shape, and checks that the block stays in the safe zone, and at the
// default when that is clear of the grown faces.
func TestPlaceSafeZone(t *testing.T) {
	// The fractions of the height captions keep clear of at the top and
	// bottom.
	zones := map[string][2]float64{"portrait": {0.10, 0.20}, "square": {0.05, 0.10}, "landscape": {0.05, 0.07}}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range Names() {
		p, _ := Lookup(name)
		for _, f := range frames {
			g := newGeometry(p, f.width, f.height)
			top, bottom := zones[f.name][0]*float64(f.height), (1-zones[f.name][1])*float64(f.height)
			check := func(what string, b image.Rectangle) {
				if float64(b.Min.Y) < top || float64(b.Max.Y) > bottom {
					t.Errorf("%s %s %s: block %v outside y %.0f-%.0f", name, f.name, what, b, top, bottom)
				}
			}
			_, b := placeOne(t, p, g)
			check("without faces", b)
			for range 200 {
				var faces []image.Rectangle
				clear := true
				for range 1 + rng.IntN(3) {
					x, y := rng.IntN(f.width)-f.width/8, rng.IntN(f.height)-f.height/8
					face := image.Rect(x, y, x+rng.IntN(f.width/2), y+rng.IntN(f.height/2))
					faces = append(faces, face)
					m := int(math.Ceil(0.02 * float64(f.height)))
					clear = clear && (face.Empty() || !face.Inset(-m).Overlaps(g.block(g.marginV)))
				}
				mv, b := placeOne(t, p, g, faces...)
				check(fmt.Sprint(faces), b)
				if clear && mv != 0 {
					t.Errorf("%s %s %v: MarginV %d, but the default is clear", name, f.name, faces, mv)
				}
			}
		}
	}
}
