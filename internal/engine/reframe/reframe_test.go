package reframe

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
)

// pigoDir is the pigo module in the module cache: its testdata holds a
// photo of a face, and its cascade is the one embedded here.
func pigoDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/esimov/pigo").Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		t.Skipf("pigo module not in the module cache: %v", err)
	}
	return string(bytes.TrimSpace(out))
}

func TestEmbeddedCascadeIsPigos(t *testing.T) {
	want, err := os.ReadFile(filepath.Join(pigoDir(t), "cascade", "facefinder"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, facefinder) {
		t.Fatal("embedded facefinder differs from pigo's cascade/facefinder")
	}
}

func needFFmpeg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
}

// video makes a 1920x1080 clip of shots: each shot is a background (testsrc2
// or smptebars, so the cut is a real change) with the face photo at a
// horizontal position (a fraction of the width), or no face when < 0.
func video(t *testing.T, shotSecs float64, faceX ...float64) string {
	t.Helper()
	face := filepath.Join(pigoDir(t), "testdata", "sample.jpg")
	p := filepath.Join(t.TempDir(), "v.mp4")
	total := fmt.Sprint(shotSecs * float64(len(faceX)))
	args := []string{"-v", "error", "-loop", "1", "-t", total, "-i", face}
	var graph, concat strings.Builder
	fmt.Fprintf(&graph, "[0:v]scale=-2:600,split=%d", len(faceX))
	for i := range faceX {
		fmt.Fprintf(&graph, "[f%d]", i)
	}
	graph.WriteString(";")
	for i, x := range faceX {
		bg := []string{"testsrc2", "smptebars"}[i%2]
		args = append(args, "-f", "lavfi", "-i", fmt.Sprintf("%s=s=1920x1080:r=25:d=%g", bg, shotSecs))
		if x < 0 {
			fmt.Fprintf(&graph, "[%d:v]null[s%d];[f%d]nullsink;", i+1, i, i)
		} else {
			fmt.Fprintf(&graph, "[%d:v][f%d]overlay=x=W*%g-w/2:y=(H-h)/2:shortest=1[s%d];", i+1, i, x, i)
		}
		fmt.Fprintf(&concat, "[s%d]", i)
	}
	fmt.Fprintf(&graph, "%sconcat=n=%d:v=1:a=0,format=yuv420p[v]", concat.String(), len(faceX))
	args = append(args, "-filter_complex", graph.String(), "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", p)
	if err := (ffmpeg.Binaries{}).Run(context.Background(), 2*time.Minute, args...); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCropFollowsTheFace(t *testing.T) {
	needFFmpeg(t)
	p := video(t, 3, 0.75)
	w, h := OutputSize(clipping.AspectPortrait)
	plan, err := Analyse(context.Background(), ffmpeg.Binaries{}, p, 1920, 1080, 25, 0, 3, w, h)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Mode != ModeCrop || len(plan.Shots) != 1 {
		t.Fatalf("plan = %+v, want one cropped shot", plan)
	}
	if cx := plan.Shots[0].CX; math.Abs(cx-1440) > 60 {
		t.Fatalf("crop centre x = %.0f, want the face near 1440", cx)
	}
	if plan.CropW != 608 || plan.CropH != 1080 {
		t.Fatalf("crop = %dx%d, want 608x1080 (9:16 of the full height)", plan.CropW, plan.CropH)
	}
	checkFilter(t, p, plan)
}

func TestCropHoldsPerShot(t *testing.T) {
	needFFmpeg(t)
	p := video(t, 2, 0.25, 0.75)
	plan, err := Analyse(context.Background(), ffmpeg.Binaries{}, p, 1920, 1080, 25, 0, 4, 1080, 1080)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Mode != ModeCrop || len(plan.Shots) != 2 {
		t.Fatalf("plan = %+v, want two cropped shots", plan)
	}
	if math.Abs(plan.Shots[0].Start) > 0 || math.Abs(plan.Shots[1].Start-2) > 0.6 {
		t.Fatalf("shots = %+v, want a cut near 2 s", plan.Shots)
	}
	if math.Abs(plan.Shots[0].CX-480) > 60 || math.Abs(plan.Shots[1].CX-1440) > 60 {
		t.Fatalf("shot centres = %.0f, %.0f; want 480 and 1440", plan.Shots[0].CX, plan.Shots[1].CX)
	}
	f := plan.Filter()
	if !strings.Contains(f, `x=if(lt(t\,`) {
		t.Fatalf("filter %q does not switch the crop at the cut", f)
	}
	checkFilter(t, p, plan)
}

func TestNoFaceGivesFitLayout(t *testing.T) {
	needFFmpeg(t)
	p := video(t, 3, -1)
	plan, err := Analyse(context.Background(), ffmpeg.Binaries{}, p, 1920, 1080, 25, 0, 3, 1080, 1920)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Mode != ModeFit {
		t.Fatalf("plan = %+v, want the fit layout", plan)
	}
	checkFilter(t, p, plan)
}

func TestSameShapeOnlyScales(t *testing.T) {
	plan, err := Analyse(context.Background(), ffmpeg.Binaries{}, "unused.mp4", 1280, 720, 30, 0, 60, 1920, 1080)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Mode != ModeScale {
		t.Fatalf("plan = %+v, want scale with no analysis", plan)
	}
	want := "scale=1920:1080:force_original_aspect_ratio=increase,crop=1920:1080,setsar=1,fps=30"
	if got := plan.Filter(); got != want {
		t.Fatalf("filter = %q, want %q", got, want)
	}
}

// The filter strings are what ffmpeg runs: pin them.
func TestFilterGolden(t *testing.T) {
	crop := Plan{Mode: ModeCrop, SrcW: 1920, SrcH: 1080, OutW: 1080, OutH: 1920, CropW: 606, CropH: 1080, FPS: 25,
		Shots: []Shot{{0, 2.5, 500, 540, true}, {2.5, 4, 500, 540, false}, {4, 9, 1500, 540, true}}}
	fit := Plan{Mode: ModeFit, SrcW: 1920, SrcH: 1080, OutW: 1080, OutH: 1920, FPS: 29.97}
	for _, c := range []struct {
		p    Plan
		want string
	}{
		{crop, `crop=w=606:h=1080:x=if(lt(t\,4)\,197\,1197):y=0,scale=1080:1920,setsar=1,fps=25`},
		{fit, "split=2[bg0][fg0];[bg0]scale=134:240:force_original_aspect_ratio=increase,crop=134:240,boxblur=6:2,eq=brightness=-0.12:saturation=0.85,scale=1080:1920:flags=fast_bilinear,setsar=1[bg1];[fg0]scale=1080:1920:force_original_aspect_ratio=decrease,setsar=1[fg1];[bg1][fg1]overlay=(W-w)/2:(H-h)/2,setsar=1,fps=29.97"},
	} {
		if got := c.p.Filter(); got != c.want {
			t.Errorf("filter =\n%s\nwant\n%s", got, c.want)
		}
	}
}

// checkFilter runs the plan's filter on a second of the video and checks
// the output frame size.
func checkFilter(t *testing.T, src string, p Plan) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.mp4")
	err := (ffmpeg.Binaries{}).Run(context.Background(), time.Minute, "-v", "error", "-t", "1", "-i", src,
		"-filter_complex", "[0:v]"+p.Filter()+"[v]", "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := (ffmpeg.Binaries{}).Probe(context.Background(), time.Minute, "-v", "error", "-select_streams", "v:0",
		"-show_entries", "stream=width,height", "-of", "csv=p=0", out)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%d,%d", p.OutW, p.OutH); strings.TrimSpace(string(got)) != want {
		t.Fatalf("output is %s, want %s", got, want)
	}
}

// A source with non-square pixels (1440x1080 shown as 16:9) is stretched
// to its display shape before anything else, so it is not squeezed.
func TestAnamorphicSource(t *testing.T) {
	needFFmpeg(t)
	p := Plan{Mode: ModeScale, SrcW: 1920, SrcH: 1080, OutW: 1920, OutH: 1080, SAR: 4.0 / 3}
	if f := p.Filter(); !strings.HasPrefix(f, "scale=1920:1080,setsar=1,") {
		t.Fatalf("filter %q", f)
	}
	src := filepath.Join(t.TempDir(), "hdv.mp4")
	if err := (ffmpeg.Binaries{}).Run(context.Background(), time.Minute, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=1440x1080:r=25:d=1",
		"-vf", "setsar=4/3", "-c:v", "libx264", "-preset", "ultrafast", src); err != nil {
		t.Fatal(err)
	}
	checkFilter(t, src, p)
}
