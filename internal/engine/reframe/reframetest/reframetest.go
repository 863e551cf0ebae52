// Package reframetest makes videos whose truth is known, for the reframe
// stage's tests and for the benchmark: pigo's sample face (one or two
// people) moved over a moving background by ffmpeg overlay expressions,
// mouths that move while their person speaks, and espeak-ng voices. It
// also scores a plan against that truth, with the figures the reframe stage
// is held to.
package reframetest

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/engine/reframe"
	"github.com/clipmill/clipmill/internal/sample"
)

// The sample face is 320x400; in it the head (hair to chin, ear to ear)
// and the lips sit here.
const (
	imgW, imgH = 320, 400
)

var (
	headInImage  = reframe.Rect{X0: 45, Y0: 12, X1: 275, Y1: 352}
	mouthInImage = reframe.Rect{X0: 118, Y0: 266, X1: 202, Y1: 298}
)

// Person is one face on screen.
type Person struct {
	// Path is the face image's top-left corner over time, in source
	// pixels, linear between keys; two keys at one time are a jump.
	Path []reframe.Key
	Flip bool // mirror the face, so two people do not look alike
}

// Line is something a person says, after a pause.
type Line struct {
	Who   int
	Text  string
	Pause float64
}

// Scenario is a generated video and its truth.
type Scenario struct {
	Name   string
	W, H   int
	Dur    float64 // with Lines, set by Make: a second after the last
	Height int     // of the face image, pixels
	Preset string  // x264's; "" is ultrafast (no B-frames); "medium" has them
	People []Person
	Lines  []Line

	// Set by Make: the video, its exact transcript (with Lines), and when
	// each line is heard, in the order of Lines.
	Video, SRT string
	Heard      []reframe.Span
}

// Make writes the scenario's video into dir and returns its path. Each
// person's mouth moves while one of their lines is heard.
func (s *Scenario) Make(ctx context.Context, dir string) (string, error) {
	face, err := FaceImage()
	if err != nil {
		return "", err
	}
	audio := ""
	if len(s.Lines) > 0 {
		audio = filepath.Join(dir, s.Name+".wav")
		if err := s.speak(ctx, audio); err != nil {
			return "", err
		}
		s.Dur = s.Heard[len(s.Heard)-1].End + 1
	}
	out := filepath.Join(dir, s.Name+".mp4")
	args := []string{"-nostdin", "-v", "error", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=s=%dx%d:r=25:d=%s", s.W, s.H, ffmpeg.Seconds(s.Dur)),
		"-loop", "1", "-framerate", "25", "-t", ffmpeg.Seconds(s.Dur), "-i", face}
	if audio != "" {
		args = append(args, "-i", audio)
	}
	var g strings.Builder
	fmt.Fprintf(&g, "[1:v]format=yuv420p,split=%d", max(1, len(s.People)))
	for i := range s.People {
		fmt.Fprintf(&g, "[f%d]", i)
	}
	last := "[0:v]"
	for i, p := range s.People {
		chain := fmt.Sprintf("[f%d]", i)
		if p.Flip {
			chain += "hflip,"
		} else {
			chain += "null,"
		}
		// A mouth: a dark opening under a lip of skin that slides down to
		// open it, by a changing amount at speech's syllable rate (4-7 Hz,
		// not periodic) while the person speaks, and stays shut otherwise.
		m := mouthInImage
		if p.Flip {
			m.X0, m.X1 = imgW-m.X1, imgW-m.X0
		}
		open := fmt.Sprintf("(%s)*(0.5+0.25*sin(26.7*t)+0.25*sin(41.9*t))", s.talkExpr(i))
		fmt.Fprintf(&g, ";color=c=0xc98b74:s=%gx%g:r=25:d=%s[lid%d]", m.X1-m.X0, m.Y1-m.Y0, ffmpeg.Seconds(s.Dur), i)
		chain += fmt.Sprintf("drawbox=x=%g:y=%g:w=%g:h=%g:color=0x3a1010:t=fill[m%d];[m%d][lid%d]overlay=x=%g:y='%g+%g*%s':eval=frame,scale=-2:%d",
			m.X0, m.Y0, m.X1-m.X0, m.Y1-m.Y0, i, i, i, m.X0, m.Y0, 0.9*(m.Y1-m.Y0), open, s.Height)
		fmt.Fprintf(&g, ";%s[p%d]", chain, i)
		next := fmt.Sprintf("[v%d]", i)
		fmt.Fprintf(&g, ";%s[p%d]overlay=x='%s':y='%s':eval=frame:shortest=1%s",
			last, i, reframe.PathExpr(p.Path, false), reframe.PathExpr(p.Path, true), next)
		last = next
	}
	if len(s.People) == 0 {
		g.WriteString("[f0];[f0]nullsink;[0:v]null[v]")
		last = "[v]"
	}
	args = append(args, "-filter_complex", g.String(), "-map", last)
	if audio != "" {
		args = append(args, "-map", "2:a", "-c:a", "aac", "-b:a", "96k")
	}
	preset := s.Preset
	if preset == "" {
		preset = "ultrafast"
	}
	args = append(args, "-c:v", "libx264", "-preset", preset, "-crf", "24", "-g", "50",
		"-pix_fmt", "yuv420p", "-t", ffmpeg.Seconds(s.Dur), out)
	if err := (ffmpeg.Binaries{}).Run(ctx, 5*time.Minute, args...); err != nil {
		return "", fmt.Errorf("make %s: %w", s.Name, err)
	}
	s.Video = out
	return out, nil
}

// talkExpr is 1 while person i speaks one of their lines.
func (s *Scenario) talkExpr(i int) string {
	var during []string
	for k, l := range s.Lines {
		if l.Who == i && k < len(s.Heard) {
			during = append(during, fmt.Sprintf("between(t,%s,%s)", ffmpeg.Seconds(s.Heard[k].Start), ffmpeg.Seconds(s.Heard[k].End)))
		}
	}
	if len(during) == 0 {
		return "0"
	}
	return strings.Join(during, "+")
}

// speak synthesises the lines: the first person in one voice, the second
// in another.
func (s *Scenario) speak(ctx context.Context, wav string) error {
	lines := make([]sample.Line, len(s.Lines))
	for i, l := range s.Lines {
		lines[i] = sample.Line{Style: []string{"calm", "guest"}[l.Who%2], Text: l.Text, Pause: l.Pause}
	}
	heard, err := sample.Dialogue(ctx, lines, wav)
	if err != nil {
		return err
	}
	s.SRT = strings.TrimSuffix(wav, ".wav") + ".srt"
	if err := os.WriteFile(s.SRT, []byte(sample.SRT(heard)), 0o644); err != nil {
		return err
	}
	s.Heard = s.Heard[:0]
	for _, h := range heard {
		s.Heard = append(s.Heard, reframe.Span{Start: h.Start, End: h.End})
	}
	return nil
}

// FaceImage is pigo's sample face, in the module cache.
func FaceImage() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/esimov/pigo").Output()
	if err != nil {
		return "", fmt.Errorf("find pigo's sample face: %w", err)
	}
	p := filepath.Join(strings.TrimSpace(string(out)), "testdata", "sample.jpg")
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}

// Head is where person i's head is at time t, in source pixels.
func (s *Scenario) Head(i int, t float64) reframe.Rect {
	x, y := reframe.Panel{Path: s.People[i].Path}.At(t)
	k := float64(s.Height) / imgH
	h := headInImage
	if s.People[i].Flip {
		h.X0, h.X1 = imgW-h.X1, imgW-h.X0
	}
	return reframe.Rect{X0: x + k*h.X0, Y0: y + k*h.Y0, X1: x + k*h.X1, Y1: y + k*h.Y1}
}

// Speech is when someone speaks: the lines as heard.
func (s *Scenario) Speech() []reframe.Span { return append([]reframe.Span(nil), s.Heard...) }

// Request is the reframe request for the whole video, to the output size.
func (s *Scenario) Request(path string, outW, outH int) reframe.Request {
	var speech []reframe.Span
	if len(s.Lines) > 0 {
		speech = s.Speech()
	}
	return reframe.Request{Path: path, SrcW: s.W, SrcH: s.H, FPS: 25, Start: 0, Dur: s.Dur,
		OutW: outW, OutH: outH, Speech: speech}
}

// Empty: the set with nobody on it.
func Empty(dur float64) *Scenario {
	return &Scenario{Name: "empty", W: 1920, H: 1080, Dur: dur, Height: 300}
}

// Jump: one face right of centre, then left of it from the middle on, on
// the same background: no colour cut, only the face moves.
func Jump(dur float64) *Scenario {
	h := 300
	half := dur / 2
	return &Scenario{Name: "jump", W: 1920, H: 1080, Dur: dur, Height: h, People: []Person{{Path: []reframe.Key{
		{T: 0, X: 1250, Y: 300}, {T: half, X: 1250, Y: 300}, {T: half, X: 450, Y: 300}, {T: dur, X: 450, Y: 300},
	}}}}
}

// Walk: one face that stands, walks across the frame, stands, and walks
// part of the way back.
func Walk(dur float64) *Scenario {
	k := dur / 20
	return &Scenario{Name: "walk", W: 1920, H: 1080, Dur: dur, Height: 300, People: []Person{{Path: []reframe.Key{
		{T: 0, X: 200, Y: 320}, {T: 2 * k, X: 200, Y: 320}, {T: 10 * k, X: 1500, Y: 300},
		{T: 13 * k, X: 1500, Y: 300}, {T: 18 * k, X: 900, Y: 330}, {T: dur, X: 900, Y: 330},
	}}}}
}

// Still: one face that only sways a little, as a seated speaker does.
func Still(dur float64) *Scenario {
	var path []reframe.Key
	for t := 0.0; t <= dur; t += 0.5 {
		path = append(path, reframe.Key{T: t, X: 1100 + 12*math.Sin(t*1.3), Y: 330 + 6*math.Sin(t*0.7)})
	}
	return &Scenario{Name: "still", W: 1920, H: 1080, Dur: dur, Height: 300, People: []Person{{Path: path}}}
}

// LowFace: one face low in the frame, as a presenter filmed from above,
// who talks for about half a minute.
func LowFace() *Scenario {
	return &Scenario{Name: "lowface", W: 1920, H: 1080, Height: 340, People: []Person{{Path: []reframe.Key{
		{T: 0, X: 900, Y: 700}, {T: 3600, X: 900, Y: 700},
	}}}, Lines: []Line{
		{0, "Here is the one habit that changed how I work.", 0.5},
		{0, "Every morning I write down the three things that matter today.", 0.4},
		{0, "Not ten things, not a long list, just three.", 0.4},
		{0, "If I finish them, the day was a success, whatever else happens.", 0.4},
		{0, "It sounds simple, but it forces you to choose, and choosing is the hard part.", 0.4},
		{0, "Try it for a week and see what you stop doing.", 0.4},
	}}
}

// Backchannel is the line of TwoSpeakers that is a backchannel.
const Backchannel = "Yeah."

// TwoSpeakers: two people side by side who take turns of 2 to 8 seconds;
// only the speaker's mouth moves, and the listener once says "Yeah" in a
// pause of the speaker's.
func TwoSpeakers() *Scenario {
	lines := []Line{
		{0, "Welcome back to the show. Today we talk about why small teams ship faster than big ones.", 0.6},
		{1, "Thanks for having me. I think it comes down to fewer handoffs.", 0.5},
		{0, "Fewer handoffs, and fewer meetings.", 0.4},
		{1, "Exactly. Every meeting is a queue, and queues are where work goes to wait.", 0.5},
		{0, Backchannel, 0.5},
		{1, "A team of five keeps the whole plan in their heads, so they decide in minutes.", 0.5},
		{0, "What about quality, though?", 0.6},
		{1, "Quality goes up too, because the person who writes the code also hears from the customer.", 0.4},
		{0, "That is a great point. Let us stop there for today.", 0.5},
	}
	path := func(x float64) []reframe.Key { return []reframe.Key{{T: 0, X: x, Y: 320}, {T: 3600, X: x, Y: 320}} }
	return &Scenario{Name: "two", W: 1920, H: 1080, Height: 300, Lines: lines,
		People: []Person{{Path: path(300)}, {Path: path(1380), Flip: true}}}
}

// Banter: two people in a quick exchange of one-second turns, then one of
// them talks at length.
func Banter() *Scenario {
	s := TwoSpeakers()
	s.Name = "banter"
	s.Lines = []Line{
		{0, "So, cats or dogs?", 0.6},
		{1, "Dogs.", 0.3},
		{0, "Really?", 0.3},
		{1, "Always.", 0.3},
		{0, "Why?", 0.3},
		{1, "Loyalty.", 0.3},
		{0, "Fair.", 0.3},
		{1, "Cats ignore you, and dogs are happy every time you come home, even after five minutes.", 0.4},
		{0, "That is true, my cat does not even look up when I walk in the door.", 0.5},
	}
	return s
}
