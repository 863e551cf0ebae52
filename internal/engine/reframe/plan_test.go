package reframe

import (
	"context"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/sample/sampletest"
)

func TestSameShapeOnlyScales(t *testing.T) {
	p, err := Analyse(context.Background(), ffmpeg.Binaries{}, Request{Path: "unused.mp4", SrcW: 1280, SrcH: 720, FPS: 30, Dur: 60, OutW: 1920, OutH: 1080})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Shots) != 1 || p.Shots[0].Layout != LayoutScale {
		t.Fatalf("plan = %+v, want scale with no analysis", p)
	}
	want := "scale=1920:1080:force_original_aspect_ratio=increase,crop=1920:1080,setsar=1,fps=30"
	if got := p.Filter(); got != want {
		t.Fatalf("filter = %q, want %q", got, want)
	}
}

var (
	// A crop that holds, cuts to the other side, then pans.
	cropPlan = Plan{SrcW: 1920, SrcH: 1080, OutW: 1080, OutH: 1920, FPS: 25, Shots: []Shot{
		{Start: 0, End: 2.5, Layout: LayoutSingle, Panels: []Panel{{W: 606, H: 1080, Out: image.Rect(0, 0, 1080, 1920),
			Path: []Key{{0, 197, 0}, {2.5, 197, 0}}}}},
		{Start: 2.5, End: 6, Layout: LayoutSingle, Panels: []Panel{{W: 606, H: 1080, Out: image.Rect(0, 0, 1080, 1920),
			Path: []Key{{2.5, 1197, 0}, {4, 1197, 0}, {6, 997, 0}}}}},
	}}
	// Single, then split, then fit.
	mixedPlan = Plan{SrcW: 1920, SrcH: 1080, OutW: 1080, OutH: 1920, FPS: 30, Shots: []Shot{
		{Start: 0, End: 2, Layout: LayoutSingle, Panels: []Panel{{W: 606, H: 1080, Out: image.Rect(0, 0, 1080, 1920),
			Path: []Key{{0, 100, 0}, {2, 100, 0}}}}},
		{Start: 2, End: 4, Layout: LayoutSplit, Panels: []Panel{
			{W: 680, H: 604, Out: image.Rect(0, 0, 1080, 960), Path: []Key{{2, 10, 100}, {4, 10, 100}}},
			{W: 680, H: 604, Out: image.Rect(0, 960, 1080, 1920), Path: []Key{{2, 1200, 120}, {4, 1200, 120}}}}},
		{Start: 4, End: 6, Layout: LayoutFit},
	}}
	fitPlan = Plan{SrcW: 1920, SrcH: 1080, OutW: 1080, OutH: 1920, FPS: 29.97, Shots: []Shot{{Start: 0, End: 6, Layout: LayoutFit}}}
)

// The filter strings are what ffmpeg runs: pin them.
func TestFilterGolden(t *testing.T) {
	for _, c := range []struct {
		p    Plan
		want string
	}{
		{cropPlan, `crop=w=606:h=1080:x=197+(1000*gte(t\,2.5)+-200*clip(t-4\,0\,2)/2):y=0,scale=1080:1920,setsar=1,fps=25`},
		{fitPlan, "split=2[bg0][fg0];[bg0]scale=134:240:force_original_aspect_ratio=increase,crop=134:240,boxblur=6:2,eq=brightness=-0.12:saturation=0.85,scale=1080:1920:flags=fast_bilinear,setsar=1[bg1];[fg0]scale=1080:1920:force_original_aspect_ratio=decrease,setsar=1[fg1];[bg1][fg1]overlay=(W-w)/2:(H-h)/2,setsar=1,fps=29.97"},
		{mixedPlan, `split=3[in0][in1][in2];` +
			`[in0]crop=w=606:h=1080:x=100:y=0,scale=1080:1920[out0];` +
			`[in1]split=2[pa][pb];[pa]crop=w=680:h=604:x=10:y=100,scale=1080:960[qa];[pb]crop=w=680:h=604:x=1200:y=120,scale=1080:960[qb];[qa][qb]vstack[out1];` +
			`[in2]split=2[bg0][fg0];[bg0]scale=134:240:force_original_aspect_ratio=increase,crop=134:240,boxblur=6:2,eq=brightness=-0.12:saturation=0.85,scale=1080:1920:flags=fast_bilinear,setsar=1[bg1];[fg0]scale=1080:1920:force_original_aspect_ratio=decrease,setsar=1[fg1];[bg1][fg1]overlay=(W-w)/2:(H-h)/2[out2];` +
			`[out0][out1]overlay=enable=gte(t\,2)*lt(t\,4)[mix1];[mix1][out2]overlay=enable=gte(t\,4)*lt(t\,6),setsar=1,fps=30`},
	} {
		if got := c.p.Filter(); got != c.want {
			t.Errorf("filter =\n%s\nwant\n%s", got, c.want)
		}
	}
}

func TestPanelAt(t *testing.T) {
	pn := cropPlan.Shots[1].Panels[0]
	for _, c := range []struct{ t, x float64 }{{2.5, 1197}, {3, 1197}, {5, 1097}, {6, 997}, {9, 997}} {
		if x, _ := pn.At(c.t); x != c.x {
			t.Errorf("x at %.1f = %.1f, want %.1f", c.t, x, c.x)
		}
	}
}

func TestMapFaces(t *testing.T) {
	head := Rect{300, 200, 500, 500} // in the first shot's crop (x 197-803)
	r, ok := cropPlan.Map(1, head)
	// 1080/606 output pixels per source pixel.
	if !ok || r.Min.X != 183 || r.Max.X != 540 || r.Min.Y != 355 || r.Max.Y != 889 {
		t.Errorf("mapped to %v, %v", r, ok)
	}
	if _, ok := cropPlan.Map(3, head); ok {
		t.Error("a head outside the second shot's crop is shown")
	}
	// The fit layout shows the whole frame across the middle.
	if r, ok := fitPlan.Map(1, Rect{0, 0, 1920, 1080}); !ok || r != image.Rect(0, 656, 1080, 1263) {
		t.Errorf("fit shows the frame at %v", r)
	}
	// In a split, each panel shows its own person.
	r, ok = mixedPlan.Map(3, Rect{1300, 200, 1500, 500})
	if !ok || r.Min.Y < 960 {
		t.Errorf("the right person is at %v, want the bottom panel", r)
	}
}

// Each plan's filter runs in ffmpeg and gives the output size.
func TestFilterRunsInFFmpeg(t *testing.T) {
	sampletest.EndToEnd(t)
	src := filepath.Join(t.TempDir(), "src.mp4")
	if err := (ffmpeg.Binaries{}).Run(context.Background(), time.Minute, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=25:d=6",
		"-c:v", "libx264", "-preset", "ultrafast", src); err != nil {
		t.Fatal(err)
	}
	anamorphic := Plan{SrcW: 1920, SrcH: 1080, OutW: 1920, OutH: 1080, SAR: 4.0 / 3, Shots: []Shot{{Start: 0, End: 6, Layout: LayoutScale}}}
	if f := anamorphic.Filter(); !strings.HasPrefix(f, "scale=1920:1080,setsar=1,") {
		t.Fatalf("an anamorphic source is not stretched first: %q", f)
	}
	// Ten minutes of a podcast that switches between a single and a split
	// layout every three seconds.
	var long Plan = mixedPlan
	long.Shots = nil
	for k := 0; k < 200; k++ {
		s := mixedPlan.Shots[k%2]
		s.Start, s.End = float64(3*k), float64(3*k+3)
		s.Panels = append([]Panel(nil), s.Panels...)
		for i := range s.Panels {
			s.Panels[i].Path = []Key{{s.Start, s.Panels[i].Path[0].X, s.Panels[i].Path[0].Y}}
		}
		long.Shots = append(long.Shots, s)
	}
	for name, p := range map[string]Plan{"crop": cropPlan, "mixed": mixedPlan, "fit": fitPlan, "anamorphic": anamorphic, "long": long} {
		out := filepath.Join(t.TempDir(), name+".mp4")
		err := (ffmpeg.Binaries{}).Run(context.Background(), time.Minute, "-v", "error", "-i", src,
			"-filter_complex", "[0:v]"+p.Filter()+"[v]", "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", out)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := (ffmpeg.Binaries{}).Probe(context.Background(), time.Minute, "-v", "error", "-select_streams", "v:0",
			"-show_entries", "stream=width,height", "-of", "csv=p=0", out)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%d,%d", p.OutW, p.OutH); strings.TrimSpace(string(got)) != want {
			t.Errorf("%s: output is %s, want %s", name, got, want)
		}
	}
}

// ffmpeg computes a long path (ten minutes, a key every 0.2 s, with cuts)
// to the pixel Panel.At plans. ffmpeg refuses an expression nested about
// a hundred deep, so this guards the balanced sum too. geq prints each
// frame's value into two grey pixels (high and low byte).
func TestPathExprInFFmpeg(t *testing.T) {
	sampletest.EndToEnd(t)
	var keys []Key
	x := 500.0
	for k := 0; k <= 3000; k++ {
		tt := float64(k) / 5
		if k%97 == 0 {
			keys = append(keys, Key{tt, x, 0}) // a cut: two keys at one time
			x = 1300 - x
		}
		x += float64(k%7) - 3
		keys = append(keys, Key{tt, x, 0})
	}
	pn := Panel{Path: keys}
	e := pathExpr(keys, false, "T")
	graph := fmt.Sprintf(`color=c=black:s=2x1:r=5:d=600,format=gray,geq=lum=if(eq(X\,0)\,floor(round(%s)/256)\,mod(round(%s)\,256))`, e, e)
	script := filepath.Join(t.TempDir(), "graph")
	if err := os.WriteFile(script, []byte(graph), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := (ffmpeg.Binaries{}).Output(context.Background(), 2*time.Minute, "-v", "error", "-filter_complex_script", script,
		"-f", "rawvideo", "-pix_fmt", "gray", "-")
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2*600*5 {
		t.Fatalf("%d bytes, want two a frame", len(out))
	}
	for k := 0; k < len(out)/2; k++ {
		got := 256*float64(out[2*k]) + float64(out[2*k+1])
		want, _ := pn.At(float64(k) / 5)
		if math.Abs(got-math.Round(want)) > 1 {
			t.Fatalf("frame %d: ffmpeg says %.0f, the plan %.1f", k, got, want)
		}
	}
}
