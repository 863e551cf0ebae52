package reframe

import (
	"bytes"
	"image"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pigoDir is the pigo module in the module cache: its cascade is the one
// embedded here.
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

// face is a synthetic face for observations: where it is at t, its size,
// how much its mouth moves, and whether it is seen at all.
type face func(t float64) (x, y, size, mouth float64, seen bool)

func still(x, y float64) face {
	return func(float64) (float64, float64, float64, float64, bool) { return x, y, 190, 0.5, true }
}

// observations samples the faces at sampleRate for dur seconds.
func observations(dur float64, faces ...face) []observation {
	var obs []observation
	for k := 0; float64(k)/sampleRate < dur; k++ {
		o := observation{T: float64(k) / sampleRate}
		for _, f := range faces {
			if x, y, s, m, ok := f(o.T); ok {
				o.Faces = append(o.Faces, sighting{X: x, Y: y, Size: s, Mouth: m})
			}
		}
		obs = append(obs, o)
	}
	return obs
}

func portrait() Plan { return Plan{SrcW: 1920, SrcH: 1080, OutW: 1080, OutH: 1920, FPS: 25} }

func TestLinkBridgesShortGapsOnly(t *testing.T) {
	gap := func(from, to float64) face {
		return func(t float64) (float64, float64, float64, float64, bool) {
			return 900, 500, 190, 0, t < from || t >= to
		}
	}
	if n := len(link(observations(6, gap(2, 2.8)))); n != 1 {
		t.Errorf("a face unseen for 0.8 s gave %d tracks, want 1", n)
	}
	tracks := link(observations(6, gap(2, 3.6)))
	if len(tracks) != 2 {
		t.Fatalf("a face unseen for 1.6 s gave %d tracks, want 2", len(tracks))
	}
	if ps := people(tracks, 30); len(ps) != 1 {
		t.Errorf("the two tracks of one face in one place are %d persons, want 1", len(ps))
	}
}

func TestLinkKeepsTwoPeopleApart(t *testing.T) {
	tracks := link(observations(5, still(500, 500), still(1400, 500)))
	if len(tracks) != 2 {
		t.Fatalf("%d tracks, want 2", len(tracks))
	}
	ps := people(tracks, 25)
	if len(ps) != 2 || ps[0].medianX() != 500 {
		t.Fatalf("persons %v, want two, left first", ps)
	}
}

func TestJumps(t *testing.T) {
	jumping := func(t float64) (float64, float64, float64, float64, bool) {
		if t < 6 {
			return 1400, 500, 190, 0, true
		}
		return 500, 500, 190, 0, true
	}
	js := jumps(link(observations(12, jumping)))
	if len(js) != 1 || js[0].from.T != 5.8 || js[0].to.T != 6 {
		t.Fatalf("jumps = %+v, want one between 5.8 and 6 s", js)
	}

	// Walking is not jumping, even briskly.
	walking := func(t float64) (float64, float64, float64, float64, bool) { return 200 + 250*t, 500, 190, 0, true }
	if js := jumps(link(observations(6, walking))); len(js) != 0 {
		t.Errorf("a walking face jumped: %+v", js)
	}
	// Gone for two seconds and back elsewhere: the person walked off and
	// on, which is not a cut.
	away := func(t float64) (float64, float64, float64, float64, bool) {
		if t < 4 {
			return 1400, 500, 190, 0, true
		}
		return 500, 500, 190, 0, t >= 6
	}
	if js := jumps(link(observations(10, away))); len(js) != 0 {
		t.Errorf("a face gone for 2 s counted as a jump: %+v", js)
	}
}

// sampleAt evaluates a panel's path at the output frame rate.
func sampleAt(pn Panel, start, end, fps float64) []float64 {
	var xs []float64
	for t := start; t < end; t += 1 / fps {
		x, _ := pn.At(t)
		xs = append(xs, x)
	}
	return xs
}

func TestCameraHoldsStillThroughSwayAndJitter(t *testing.T) {
	sway := func(t float64) (float64, float64, float64, float64, bool) {
		// A seated speaker's sway, the detector's jitter, and one false
		// reading far off.
		x := 1000 + 25*math.Sin(1.7*t) + 8*math.Sin(37*t)
		if t > 3 && t < 3.15 {
			x = 1400
		}
		return x, 500, 190, 0, true
	}
	obs := observations(10, sway)
	p := build(portrait(), obs, link(obs), nil, nil, 10)
	if len(p.Shots) != 1 || p.Shots[0].Layout != LayoutSingle {
		t.Fatalf("shots %+v", p.Shots)
	}
	path := p.Shots[0].Panels[0].Path
	for _, k := range path {
		if k.X != path[0].X {
			t.Fatalf("the crop moved: %+v", path)
		}
	}
	if cx := path[0].X + float64(p.Shots[0].Panels[0].W)/2; math.Abs(cx-1000) > 30 {
		t.Errorf("crop centred at %.0f, the face is at 1000", cx)
	}
}

func TestCameraPansSmoothlyWithTheWalker(t *testing.T) {
	// Stands, walks right at 160 px/s, stands, walks back a little.
	walker := func(t float64) (float64, float64, float64, float64, bool) {
		x := 300.0
		switch {
		case t < 2:
		case t < 10:
			x = 300 + 160*(t-2)
		case t < 13:
			x = 1580
		case t < 17:
			x = 1580 - 120*(t-13)
		default:
			x = 1100
		}
		return x, 500, 190, 0, true
	}
	const dur = 20
	obs := observations(dur, walker)
	p := build(portrait(), obs, link(obs), nil, nil, dur)
	pn := p.Shots[0].Panels[0]
	xs := sampleAt(pn, 0, dur, 25)
	turns, dir := 0, 0.0
	for k := 1; k < len(xs); k++ {
		d := xs[k] - xs[k-1]
		if v := math.Abs(d) * 25; v > maxSpeed*float64(pn.W)*1.01 {
			t.Fatalf("pan at %.0f px/s at %.2f s, over the cap", v, float64(k)/25)
		}
		// Speed and acceleration over a fifth of a second, as the eye
		// sees them: the path is linear between keys a tenth of a second
		// or more apart.
		if k >= 10 {
			v1, v0 := (xs[k]-xs[k-5])*5, (xs[k-5]-xs[k-10])*5
			if a := math.Abs(v1-v0) * 5; a > maxAccel*float64(pn.W)*1.1 {
				t.Fatalf("acceleration %.0f px/s² at %.2f s, over the cap", a, float64(k)/25)
			}
		}
		if math.Abs(d) > 0.01 {
			if s := math.Copysign(1, d); dir != 0 && s != dir {
				turns++
			}
			dir = math.Copysign(1, d)
		}
		fx, _, _, _, _ := walker(float64(k) / 25)
		if fx-95 < xs[k] || fx+95 > xs[k]+float64(pn.W) {
			t.Fatalf("at %.2f s the face (x %.0f) is outside the crop %.0f-%.0f", float64(k)/25, fx, xs[k], xs[k]+float64(pn.W))
		}
	}
	if turns != 1 {
		t.Errorf("the pan changed direction %d times, want once", turns)
	}
}

// talker is a face that sits still and moves its mouth during the spans.
func talker(x float64, talks ...Span) face {
	return func(t float64) (float64, float64, float64, float64, bool) {
		m := 0.3 + 0.2*math.Sin(13*t) // a still mouth, and the detector's noise
		for _, s := range talks {
			if t >= s.Start && t < s.End {
				m = 6 + 4*math.Sin(23*t)
			}
		}
		return x, 500, 190, m, true
	}
}

func TestFollowsTheSpeaker(t *testing.T) {
	a := []Span{{0.5, 6}, {11, 13.5}, {20, 24}}
	b := []Span{{6.4, 10.6}, {14, 19.5}}
	backchannel := Span{16, 16.5} // a speaks in b's turn: "yeah"
	speech := mergeSpans(append(append(append([]Span{}, a...), b...), backchannel))
	obs := observations(25, talker(500, append(a, backchannel)...), talker(1400, b...))
	p := build(portrait(), obs, link(obs), nil, speech, 25)
	var got []string
	for _, s := range p.Shots {
		x, _ := s.Panels[0].At(s.Start)
		who := "a"
		if x > 700 {
			who = "b"
		}
		got = append(got, who)
		if s.Layout != LayoutSingle {
			t.Errorf("shot %+v is %s, want single", s, s.Layout)
		}
	}
	starts := []float64{0, 6.4, 11, 14, 20}
	if want := []string{"a", "b", "a", "b", "a"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("speakers %v, want %v", got, want)
	}
	for i, s := range p.Shots {
		if math.Abs(s.Start-starts[i]) > 1e-9 {
			t.Errorf("shot %d starts at %.2f, want the turn's first word at %.2f", i, s.Start, starts[i])
		}
	}
}

func TestRapidExchangeSplits(t *testing.T) {
	var a, b []Span
	for t := 2.0; t < 10; t += 2 {
		a = append(a, Span{t, t + 0.8})
		b = append(b, Span{t + 1, t + 1.8})
	}
	a = append(a, Span{10.5, 18})
	speech := mergeSpans(append(append([]Span{}, a...), b...))
	obs := observations(18, talker(500, a...), talker(1400, b...))
	p := build(portrait(), obs, link(obs), nil, speech, 18)
	var layouts []Layout
	for _, s := range p.Shots {
		layouts = append(layouts, s.Layout)
	}
	if len(p.Shots) != 3 || p.Shots[1].Layout != LayoutSplit || p.Shots[2].Layout != LayoutSingle {
		t.Fatalf("layouts %v, want single, split, single", layouts)
	}
	sp := p.Shots[1]
	if sp.Start != 2 {
		t.Errorf("the split starts at %.2f, want 2 where the exchange does", sp.Start)
	}
	if sp.Panels[0].Out.Max.Y != 960 || sp.Panels[1].Out.Min.Y != 960 {
		t.Errorf("panels %v and %v, want stacked halves", sp.Panels[0].Out, sp.Panels[1].Out)
	}
	if x, _ := sp.Panels[0].At(5); x+float64(sp.Panels[0].W)/2 > 700 {
		t.Errorf("the top panel shows x %.0f, want the left person", x)
	}
	if s := p.Shots[2].Start; math.Abs(s-10.5) > 1e-9 {
		t.Errorf("the split ends at %.2f, want 10.5 where the long turn starts", s)
	}
}

func TestTalkingAtOnceSplits(t *testing.T) {
	a := []Span{{1, 9}}
	b := []Span{{1.5, 4}, {5, 8.5}}
	obs := observations(10, talker(500, a...), talker(1400, b...))
	p := build(portrait(), obs, link(obs), nil, mergeSpans(a), 10)
	split := 0.0
	for _, s := range p.Shots {
		if s.Layout == LayoutSplit {
			split += s.End - s.Start
		}
	}
	if split < 5 {
		t.Errorf("%.1f s of split while both talk for 6.5 s", split)
	}
}

func TestLayoutsFromFaces(t *testing.T) {
	small := func(x float64) face {
		return func(float64) (float64, float64, float64, float64, bool) { return x, 400, 60, 0, true }
	}
	for _, c := range []struct {
		name string
		out  [2]int
		obs  []observation
		want Layout
	}{
		{"no face", [2]int{1080, 1920}, observations(5), LayoutFit},
		{"one face", [2]int{1080, 1920}, observations(5, still(900, 500)), LayoutSingle},
		{"an audience", [2]int{1080, 1920}, observations(5, small(300), small(900), small(1500)), LayoutFit},
		{"two close faces in a square", [2]int{1080, 1080}, observations(5, still(700, 500), still(1200, 500)), LayoutSingle},
	} {
		p := Plan{SrcW: 1920, SrcH: 1080, OutW: c.out[0], OutH: c.out[1]}
		p = build(p, c.obs, link(c.obs), nil, nil, 5)
		if len(p.Shots) != 1 || p.Shots[0].Layout != c.want {
			t.Errorf("%s: shots %+v, want one %s", c.name, p.Shots, c.want)
		}
	}
}

func TestShortFacelessMomentHolds(t *testing.T) {
	cuts := []cut{{4, "cut"}, {4.6, "cut"}}
	blink := func(t float64) (float64, float64, float64, float64, bool) { return 900, 500, 190, 0, t < 4 || t >= 4.6 }
	obs := observations(8, blink)
	p := build(portrait(), obs, link(obs), cuts, nil, 8)
	for _, s := range p.Shots {
		if s.Layout != LayoutSingle {
			t.Errorf("shot %.1f-%.1f is %s, want the crop held", s.Start, s.End, s.Layout)
		}
	}
}

// A presenter who walks off is not followed by an empty crop: the frame is
// shown whole until they are back.
func TestWalkOffShowsTheWholeFrame(t *testing.T) {
	away := func(t float64) (float64, float64, float64, float64, bool) { return 900, 500, 190, 0, t < 5 || t >= 12 }
	obs := observations(16, away)
	p := build(portrait(), obs, link(obs), nil, nil, 16)
	var got []string
	for _, s := range p.Shots {
		got = append(got, string(s.Layout))
	}
	if strings.Join(got, " ") != "single fit single" {
		t.Fatalf("layouts %v, want single, fit, single", got)
	}
	if f := p.Shots[1]; f.Start > 5.3 || f.End < 11.9 || f.End > 12.1 {
		t.Errorf("fit from %.1f to %.1f s, want about 5 to 12", f.Start, f.End)
	}
}

// A small face (a webcam inset over slides) and a head too big for the crop
// get the whole frame; someone seen only now and then still counts.
func TestFacesTooSmallOrTooBig(t *testing.T) {
	inset := func(float64) (float64, float64, float64, float64, bool) { return 1750, 950, 70, 0, true }
	obs := observations(6, inset)
	if p := build(portrait(), obs, link(obs), nil, nil, 6); p.Shots[0].Layout != LayoutFit {
		t.Errorf("a webcam inset is cropped on: %+v", p.Shots)
	}
	selfie := func(float64) (float64, float64, float64, float64, bool) { return 540, 900, 500, 0, true }
	obs = observations(6, selfie)
	land := Plan{SrcW: 1080, SrcH: 1920, OutW: 1920, OutH: 1080}
	if p := build(land, obs, link(obs), nil, nil, 6); p.Shots[0].Layout != LayoutFit {
		t.Errorf("a head taller than the crop is cropped on: %+v", p.Shots)
	}
	profile := func(t float64) (float64, float64, float64, float64, bool) {
		return 1400, 500, 190, 0, math.Mod(t, 6) < 1.2 // seen a second in six
	}
	obs = observations(24, still(500, 500), profile)
	if ps := people(link(obs), len(obs)); len(ps) != 2 {
		t.Errorf("%d persons, want the one seen now and then too", len(ps))
	}
}

// In a split, captions may sit at the seam: each panel's face is a box of
// its own, even when the two people sit close together.
func TestSplitFaceBoxesPerPanel(t *testing.T) {
	var a, b []Span
	for t := 1.0; t < 10; t += 2 {
		a = append(a, Span{t, t + 0.8})
		b = append(b, Span{t + 1, t + 1.8})
	}
	obs := observations(10, talker(700, a...), talker(1100, b...))
	p := build(portrait(), obs, link(obs), nil, mergeSpans(append(append([]Span{}, a...), b...)), 10)
	if p.Shots[0].Layout != LayoutSplit {
		t.Fatalf("shots %+v, want a split", p.Shots)
	}
	boxes := p.FaceBoxes(2, 3)
	seam := image.Rect(0, 940, 1080, 980)
	for _, r := range boxes {
		if r.Overlaps(seam) {
			t.Errorf("face box %v covers the seam between the panels", r)
		}
	}
	if len(boxes) < 2 {
		t.Errorf("face boxes %v, want one per panel", boxes)
	}
}

// The thumbnail is the frame in the first third with the largest face, not
// in a fade and not on a cut.
func TestThumbnailFrame(t *testing.T) {
	nearer := func(t float64) (float64, float64, float64, float64, bool) {
		size := 150.0
		if t >= 2.6 && t < 3.4 {
			size = 200 // leans in
		}
		return 900, 500, size, 0, true
	}
	obs := observations(12, nearer)
	for i := range obs {
		obs[i].Luma = 120
		if obs[i].T < 1 {
			obs[i].Luma = 20 // fading in
		}
	}
	p := build(portrait(), obs, link(obs), []cut{{3.2, "cut"}}, nil, 12)
	if p.Thumb < 2.6 || p.Thumb >= 3.4 || math.Abs(p.Thumb-3.2) < 0.4 {
		t.Errorf("thumbnail at %.1f s, want the near face (2.6-3.4 s) away from the cut at 3.2 s", p.Thumb)
	}
}
