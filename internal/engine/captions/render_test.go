package captions

import (
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/clipmill/clipmill/internal/engine/transcript"
	"github.com/clipmill/clipmill/internal/sample/sampletest"
)

// TestLibassRender burns each preset into one grey frame with ffmpeg and
// checks that libass reports no error, picks the font file we measured, and
// draws everything (text, outline, shadow, box) inside the safe area. The
// page it burns is the widest of those with the most lines.
// Set CAPTIONS_PNG_DIR to keep the frames (this test's and the next ones').
func TestLibassRender(t *testing.T) {
	sampletest.EndToEnd(t)
	keep := os.Getenv("CAPTIONS_PNG_DIR")
	words := speak(sample + " " + talk)
	for _, name := range Names() {
		p, _ := Lookup(name)
		for _, f := range frames {
			t.Run(name+"_"+f.name, func(t *testing.T) {
				dir := t.TempDir()
				g := newGeometry(p, f.width, f.height)
				pages := Layout(words, p, f.width, f.height)
				page := widestPage(tallestPages(pages), p, g)
				out := filepath.Join(dir, "c.png")
				if keep != "" {
					out = filepath.Join(keep, name+"_"+f.name+".png")
				}
				log := burn(t, ASS(pages, p, f.width, f.height), f.width, f.height, page, out)
				if g.face != nil {
					sel := regexp.MustCompile(`fontselect: \(([^,]+), \d+, \d+\) -> ([^,]+),`).FindAllStringSubmatch(log, -1)
					found := false
					for _, m := range sel {
						if m[1] == g.family {
							found = true
							if m[2] != g.face.path {
								t.Errorf("libass picked %s for %q, we measured %s", m[2], m[1], g.face.path)
							}
						}
					}
					if !found {
						t.Errorf("ffmpeg did not log which font libass picked for %q", g.family)
					}
				}
				checkFrame(t, out, p, g, f.width, f.height)
			})
		}
	}
}

// TestLibassRenderAvoidsFace burns a placed page over a face low in a
// portrait frame and checks that no caption pixel (text, outline, shadow,
// box) falls inside the face box, and that all of them are inside the safe
// zone and the block Place reserved.
func TestLibassRenderAvoidsFace(t *testing.T) {
	sampletest.EndToEnd(t)
	keep := os.Getenv("CAPTIONS_PNG_DIR")
	const width, height = 1080, 1920
	face := image.Rect(300, 1000, 780, 1500)
	safe := image.Rect(0, height/10, width, height*8/10)
	words := speak(sample)
	for _, name := range Names() {
		p, _ := Lookup(name)
		t.Run(name, func(t *testing.T) {
			g := newGeometry(p, width, height)
			pages := Layout(words, p, width, height)
			Place(pages, p, width, height, func(start, end float64) []image.Rectangle {
				return []image.Rectangle{face}
			})
			// A page of two lines fills the block Place reserved.
			full := tallestPages(pages)
			if len(full[0].Lines) != maxLines {
				t.Fatal("no page of two lines")
			}
			page := widestPage(full, p, g)
			if page.MarginV == 0 {
				t.Fatal("the page was not moved off the face")
			}
			out := filepath.Join(t.TempDir(), "c.png")
			if keep != "" {
				out = filepath.Join(keep, name+"_face.png")
			}
			burn(t, ASS(pages, p, width, height), width, height, page, out)
			img := readPNG(t, out)
			ink := inkBounds(img, img.Bounds())
			t.Logf("%d lines at MarginV %d: caption at %v, block %v", len(page.Lines), page.MarginV, ink, g.block(page.MarginV))
			if ink.Empty() {
				t.Fatal("no caption in the frame")
			}
			if in := inkBounds(img, face); !in.Empty() {
				t.Errorf("caption pixels inside the face box %v, at %v", face, in)
			}
			if !ink.In(safe) {
				t.Errorf("caption at %v, outside the safe zone %v", ink, safe)
			}
			if b := g.block(page.MarginV); !ink.In(b) {
				t.Errorf("caption at %v, outside its block %v", ink, b)
			}
		})
	}
}

// TestLibassCapHeight burns the bold page "HELLO" into a portrait frame and
// measures its cap height: the height of the H's left stem in the fill
// colour (white, or yellow while the word is spoken), which leaves out the
// outline and the shadow.
func TestLibassCapHeight(t *testing.T) {
	sampletest.EndToEnd(t)
	const width, height, minCap = 1080, 1920, 80
	p, _ := Lookup("bold")
	requireFonts(t, p)
	pages := Layout([]transcript.Word{{Text: "hello", Start: 0, End: 1}}, p, width, height)
	out := filepath.Join(t.TempDir(), "c.png")
	if keep := os.Getenv("CAPTIONS_PNG_DIR"); keep != "" {
		out = filepath.Join(keep, "bold_cap.png")
	}
	burn(t, ASS(pages, p, width, height), width, height, pages[0], out)
	img := readPNG(t, out)
	text := fillBounds(img, img.Bounds())
	if text.Empty() {
		t.Fatal("no caption in the frame")
	}
	stem := fillBounds(img, image.Rect(text.Min.X, text.Min.Y, text.Min.X+text.Dx()/20, text.Max.Y))
	t.Logf("HELLO at %v, cap height %d px (font size %.0f)", text, stem.Dy(), newGeometry(p, width, height).size)
	if stem.Dy() < minCap {
		t.Errorf("cap height %d px, want at least %d", stem.Dy(), minCap)
	}
}

// fillBounds is the bounding box of the pixels inside area that have the
// text's fill colour, white or yellow: bright in red and green.
func fillBounds(img image.Image, area image.Rectangle) image.Rectangle {
	return bounds(img, area, func(r, g, b uint32) bool { return r > 200 && g > 180 })
}

// tallestPages are the pages with the most lines.
func tallestPages(pages []Page) []Page {
	most := 0
	for _, pg := range pages {
		most = max(most, len(pg.Lines))
	}
	var out []Page
	for _, pg := range pages {
		if len(pg.Lines) == most {
			out = append(out, pg)
		}
	}
	return out
}

// widestPage is the page with the widest line, which tests the margins best.
func widestPage(pages []Page, p Preset, g geometry) Page {
	page, widest := pages[0], 0.0
	for _, pg := range pages {
		for _, line := range pg.Lines {
			var s []string
			for _, w := range line {
				s = append(s, displayText(w, p))
			}
			if w := min(g.textWidth(strings.Join(s, " ")), g.maxLine); w > widest {
				page, widest = pg, w
			}
		}
	}
	return page
}

// burn renders the ASS script onto one grey frame in the middle of page,
// writes it to out as PNG, and returns ffmpeg's log, failing on errors.
func burn(t *testing.T, script string, width, height int, page Page, out string) string {
	t.Helper()
	ass := filepath.Join(t.TempDir(), "c.ass")
	if err := os.WriteFile(ass, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	// Shift the frame's timestamp to the middle of the page rather than
	// rendering every frame up to it.
	at := (page.Start + page.End) / 2
	vf := fmt.Sprintf("setpts=PTS+%.3f/TB,subtitles=f=%s", at, ass)
	cmd := exec.Command("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "level+verbose",
		"-f", "lavfi", "-i", fmt.Sprintf("color=c=0x808080:s=%dx%d:d=0.1", width, height),
		"-vf", vf, "-frames:v", "1", "-y", out)
	log, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, log)
	}
	for _, l := range strings.Split(string(log), "\n") {
		if strings.Contains(l, "[error]") || strings.Contains(l, "[fatal]") {
			t.Errorf("ffmpeg: %s", l)
		}
	}
	return string(log)
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	img, err := png.Decode(file)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return img
}

// inkBounds is the bounding box of the caption pixels (those that differ
// from the grey background) inside area.
func inkBounds(img image.Image, area image.Rectangle) image.Rectangle {
	return bounds(img, area, func(r, g, b uint32) bool {
		return absDiff(r, 128) > 24 || absDiff(g, 128) > 24 || absDiff(b, 128) > 24
	})
}

// bounds is the bounding box of the pixels inside area whose 8-bit colour
// matches.
func bounds(img image.Image, area image.Rectangle, match func(r, g, b uint32) bool) image.Rectangle {
	var box image.Rectangle
	for y := area.Min.Y; y < area.Max.Y; y++ {
		for x := area.Min.X; x < area.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if match(r>>8, g>>8, b>>8) {
				box = box.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return box
}

// checkFrame finds the caption pixels and checks their bounds against the
// safe area.
func checkFrame(t *testing.T, path string, p Preset, g geometry, width, height int) {
	t.Helper()
	img := readPNG(t, path)
	box := inkBounds(img, img.Bounds())
	if box.Empty() {
		t.Fatal("no caption in the frame")
	}
	// A pixel of slack for anti-aliasing.
	if float64(box.Min.X) < g.safeLeft-1 || float64(box.Max.X) > g.safeRgt+1 ||
		float64(box.Min.Y) < g.safeTop-1 || float64(box.Max.Y) > g.safeBottom+1 {
		t.Errorf("caption at %v; safe area x %.0f-%.0f, y %.0f-%.0f", box, g.safeLeft, g.safeRgt, g.safeTop, g.safeBottom)
	}
	t.Logf("caption at %v, centre y %.0f%% of the height", box, 100*float64(box.Min.Y+box.Max.Y)/2/float64(height))
	if p.Highlight.A != 0 && !p.Karaoke {
		highlighted := 0
		for y := box.Min.Y; y < box.Max.Y; y++ {
			for x := box.Min.X; x < box.Max.X; x++ {
				r, g, b, _ := img.At(x, y).RGBA()
				if r>>8 > 200 && g>>8 > 180 && b>>8 < 90 {
					highlighted++
				}
			}
		}
		if highlighted < 100 {
			t.Errorf("no highlighted word visible (%d yellow pixels)", highlighted)
		}
	}
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}
