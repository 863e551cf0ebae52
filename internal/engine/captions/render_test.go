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
)

// TestLibassRender burns each preset into one grey frame with ffmpeg and
// checks that libass reports no error, picks the font file we measured, and
// draws everything (text, outline, shadow, box) inside the safe area.
// Set CAPTIONS_PNG_DIR to keep the frames.
func TestLibassRender(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not on PATH")
	}
	keep := os.Getenv("CAPTIONS_PNG_DIR")
	words := speak(sample)
	for _, name := range Names() {
		p, _ := Lookup(name)
		for _, f := range frames {
			t.Run(name+"_"+f.name, func(t *testing.T) {
				dir := t.TempDir()
				g := newGeometry(p, f.width, f.height)
				pages := Layout(words, p, f.width, f.height)
				// The page with the widest line tests the margins best.
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
				ass := filepath.Join(dir, "c.ass")
				if err := os.WriteFile(ass, []byte(ASS(pages, p, f.width, f.height)), 0o644); err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(dir, "c.png")
				if keep != "" {
					out = filepath.Join(keep, name+"_"+f.name+".png")
				}
				// Shift the frame's timestamp to the middle of the page
				// rather than rendering every frame up to it.
				at := (page.Start + page.End) / 2
				vf := fmt.Sprintf("setpts=PTS+%.3f/TB,subtitles=f=%s", at, ass)
				cmd := exec.Command("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "level+verbose",
					"-f", "lavfi", "-i", fmt.Sprintf("color=c=0x808080:s=%dx%d:d=0.1", f.width, f.height),
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
				if g.face != nil {
					sel := regexp.MustCompile(`fontselect: \(([^,]+), \d+, \d+\) -> ([^,]+),`).FindAllStringSubmatch(string(log), -1)
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

// checkFrame finds the pixels that differ from the grey background and
// checks their bounds against the safe area.
func checkFrame(t *testing.T, path string, p Preset, g geometry, width, height int) {
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
	box := image.Rectangle{Min: image.Pt(width, height)}
	highlighted := 0
	for y := 0; y < height; y++ {
		for x := 0; x < width; x++ {
			r, gr, b, _ := img.At(x, y).RGBA()
			r, gr, b = r>>8, gr>>8, b>>8
			if absDiff(r, 128) > 24 || absDiff(gr, 128) > 24 || absDiff(b, 128) > 24 {
				box = box.Union(image.Rect(x, y, x+1, y+1))
			}
			if r > 200 && gr > 180 && b < 90 {
				highlighted++
			}
		}
	}
	if box.Empty() {
		t.Fatal("no caption in the frame")
	}
	// A pixel of slack for anti-aliasing.
	if float64(box.Min.X) < g.safeLeft-1 || float64(box.Max.X) > g.safeRgt+1 || float64(box.Max.Y) > g.safeBottom+1 {
		t.Errorf("caption at %v; safe area x %.0f-%.0f, y up to %.0f", box, g.safeLeft, g.safeRgt, g.safeBottom)
	}
	t.Logf("caption at %v, centre y %.0f%% of the height", box, 100*float64(box.Min.Y+box.Max.Y)/2/float64(height))
	if p.Highlight.A != 0 && !p.Karaoke && highlighted < 100 {
		t.Errorf("no highlighted word visible (%d yellow pixels)", highlighted)
	}
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}
