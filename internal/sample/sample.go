// Package sample makes a synthetic talk to clip: espeak-ng reads a short
// script of topics over ffmpeg's testsrc2 pattern, and the exact script is
// written beside it as an SRT transcript. The demo, the benchmark and the
// end-to-end tests all use it, so no media is committed.
package sample

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
)

//go:embed talk.txt
var script string

// Options shape the talk.
type Options struct {
	Seconds       float64 // length to reach, looping the script; 0: the script once
	Width, Height int     // default 1280x720
	FPS           int     // default 25
	Face          string  // an image to overlay as the speaker (optional)
	FaceX         float64 // its centre, as a fraction of the width (default 0.7)
	NoAudio       bool    // leave the sound out
	Out           string  // the MP4 to write; the SRT goes next to it
}

// Result names what was written.
type Result struct {
	Video, SRT string
	Duration   float64
	Sentences  []Sentence
}

// Sentence is one spoken sentence and when it is heard.
type Sentence struct {
	Text       string
	Style      string
	Start, End float64
}

type paragraph struct {
	style     string
	sentences []string
}

func parse() []paragraph {
	var out []paragraph
	for _, block := range strings.Split(strings.TrimSpace(script), "\n\n") {
		lines := strings.SplitN(strings.TrimSpace(block), "\n", 2)
		if len(lines) != 2 {
			continue
		}
		p := paragraph{style: strings.TrimSpace(strings.TrimPrefix(lines[0], "#"))}
		p.sentences = splitSentences(lines[1])
		out = append(out, p)
	}
	return out
}

func splitSentences(text string) []string {
	var out []string
	start := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		if (c == '.' || c == '?' || c == '!') && (i+1 == len(text) || text[i+1] == ' ') {
			out = append(out, strings.TrimSpace(text[start:i+1]))
			start = i + 1
		}
	}
	if s := strings.TrimSpace(text[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// voice gives each paragraph style its delivery: lively and loud, even, or
// slow and quiet, so loudness and pace differ as they would in a real talk.
func voice(style string) []string {
	switch style {
	case "energetic":
		return []string{"-v", "en-us", "-s", "180", "-a", "170", "-p", "60"}
	case "dull":
		return []string{"-v", "en-us", "-s", "135", "-a", "55", "-p", "35"}
	case "guest":
		// A second voice, for dialogues.
		return []string{"-v", "en-us+f3", "-s", "165", "-a", "110", "-p", "55"}
	default:
		return []string{"-v", "en-us", "-s", "160", "-a", "110", "-p", "45"}
	}
}

const (
	sentenceGap  = 0.35
	paragraphGap = 1.0
)

// Generate writes the talk.
func Generate(ctx context.Context, bin ffmpeg.Binaries, o Options) (*Result, error) {
	if o.Width == 0 {
		o.Width, o.Height = 1280, 720
	}
	if o.FPS == 0 {
		o.FPS = 25
	}
	if o.FaceX == 0 {
		o.FaceX = 0.7
	}
	if o.Out == "" {
		return nil, errors.New("sample: no output file")
	}
	tmp, err := os.MkdirTemp("", "clipmill-sample-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	// Lay out the sentences, looping the script until long enough; speech
	// for each distinct sentence is synthesised once.
	type item struct {
		text, style string
		paraEnd     bool
	}
	var items []item
	paras := parse()
	est := 0.0
	for {
		for _, p := range paras {
			for k, s := range p.sentences {
				items = append(items, item{s, p.style, k == len(p.sentences)-1})
				est += float64(len(strings.Fields(s)))/2.6 + sentenceGap
			}
		}
		if o.Seconds <= 0 || est >= o.Seconds {
			break
		}
	}
	pcm, rate, err := synthesise(ctx, items2keys(items, func(i item) (string, string) { return i.text, i.style }))
	if err != nil {
		return nil, err
	}

	res := &Result{Video: o.Out, SRT: strings.TrimSuffix(o.Out, filepath.Ext(o.Out)) + ".srt"}
	var wav bytes.Buffer
	t := 0.5
	wav.Write(make([]byte, int(0.5*float64(rate))*2))
	for _, it := range items {
		if o.Seconds > 0 && t >= o.Seconds {
			break
		}
		a := pcm[it.style+"|"+it.text]
		d := float64(len(a)/2) / float64(rate)
		res.Sentences = append(res.Sentences, Sentence{Text: it.text, Style: it.style, Start: t, End: t + d})
		wav.Write(a)
		gap := sentenceGap
		if it.paraEnd {
			gap = paragraphGap
		}
		wav.Write(make([]byte, int(gap*float64(rate))*2))
		t += d + gap
	}
	res.Duration = t
	wavPath := filepath.Join(tmp, "talk.wav")
	if err := os.WriteFile(wavPath, append(wavHeader(rate, wav.Len()), wav.Bytes()...), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(res.SRT, []byte(SRT(res.Sentences)), 0o644); err != nil {
		return nil, err
	}
	if err := encode(ctx, bin, o, wavPath, res.Duration); err != nil {
		return nil, err
	}
	return res, nil
}

func items2keys[T any](items []T, key func(T) (string, string)) [][2]string {
	seen := map[string]bool{}
	var out [][2]string
	for _, it := range items {
		text, style := key(it)
		if !seen[style+"|"+text] {
			seen[style+"|"+text] = true
			out = append(out, [2]string{text, style})
		}
	}
	return out
}

// synthesise runs espeak-ng once per distinct sentence, on every core, and
// returns the PCM of each keyed by "style|text".
func synthesise(ctx context.Context, keys [][2]string) (map[string][]byte, int, error) {
	out := make(map[string][]byte, len(keys))
	var mu sync.Mutex
	var firstErr error
	rate := 0
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, k := range keys {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			var buf bytes.Buffer
			args := append(voice(k[1]), "--stdout", k[0])
			err := ffmpeg.Command(ctx, time.Minute, &buf, "espeak-ng", args...)
			var pcm []byte
			var r int
			if err == nil {
				pcm, r, err = wavData(buf.Bytes())
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("espeak-ng: %w", err)
				}
				return
			}
			out[k[1]+"|"+k[0]] = pcm
			rate = r
		})
	}
	wg.Wait()
	return out, rate, firstErr
}

// wavData returns the PCM samples and rate of a 16-bit mono WAV. espeak-ng
// writes its stdout header with unknown sizes, so the data runs to the end.
func wavData(b []byte) ([]byte, int, error) {
	if len(b) < 44 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, errors.New("not a WAV stream")
	}
	rate := int(binary.LittleEndian.Uint32(b[24:28]))
	i := 12
	for i+8 <= len(b) {
		id, size := string(b[i:i+4]), int(binary.LittleEndian.Uint32(b[i+4:i+8]))
		if id == "data" {
			data := b[i+8:]
			if size > 0 && size <= len(data) {
				data = data[:size]
			}
			return data[:len(data)&^1], rate, nil
		}
		i += 8 + size
	}
	return nil, 0, errors.New("WAV stream has no data")
}

func wavHeader(rate, n int) []byte {
	h := make([]byte, 44)
	copy(h, "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+n))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1)
	binary.LittleEndian.PutUint16(h[22:], 1)
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(rate*2))
	binary.LittleEndian.PutUint16(h[32:], 2)
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(n))
	return h
}

// SRT is the sentences as an SubRip transcript, one cue each.
func SRT(ss []Sentence) string {
	var b strings.Builder
	for i, s := range ss {
		fmt.Fprintf(&b, "%d\n%s --> %s\n%s\n\n", i+1, srtTime(s.Start), srtTime(s.End), s.Text)
	}
	return b.String()
}

func srtTime(t float64) string {
	ms := int64(t*1000 + 0.5)
	return fmt.Sprintf("%02d:%02d:%02d,%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

// encode puts the speech over testsrc2 (and the face, if any).
func encode(ctx context.Context, bin ffmpeg.Binaries, o Options, wav string, dur float64) error {
	args := []string{"-nostdin", "-v", "error", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=s=%dx%d:r=%d:d=%s", o.Width, o.Height, o.FPS, ffmpeg.Seconds(dur))}
	graph := "[0:v]null[v]"
	next := 1
	if o.Face != "" {
		args = append(args, "-loop", "1", "-framerate", fmt.Sprint(o.FPS), "-i", o.Face)
		side := min(o.Width, o.Height) * 6 / 10
		graph = fmt.Sprintf("[%d:v]scale=-2:%d,format=yuv420p[face];[0:v][face]overlay=x=W*%g-w/2:y=(H-h)/2:shortest=1[v]", next, side, o.FaceX)
		next++
	}
	maps := []string{"-map", "[v]"}
	if !o.NoAudio {
		args = append(args, "-i", wav)
		maps = append(maps, "-map", fmt.Sprintf("%d:a", next))
	}
	args = append(args, "-filter_complex", graph)
	args = append(args, maps...)
	args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-crf", "26", "-g", fmt.Sprint(o.FPS*4),
		"-pix_fmt", "yuv420p")
	if !o.NoAudio {
		args = append(args, "-c:a", "aac", "-b:a", "96k")
	}
	args = append(args, "-t", ffmpeg.Seconds(dur), "-movflags", "+faststart", o.Out)
	timeout := 2*time.Minute + time.Duration(dur*float64(time.Second))
	if err := bin.Run(ctx, timeout, args...); err != nil {
		return fmt.Errorf("encode sample: %w", err)
	}
	return nil
}

// Line is one utterance of a dialogue: who says it (a voice style, such as
// "calm" or "guest"), what, and the silence before it.
type Line struct {
	Style string
	Text  string
	Pause float64
}

// Dialogue synthesises the lines one after the other, each after its
// pause, into a 16-bit mono WAV file that ends a second after the last, and
// returns when each line is heard.
func Dialogue(ctx context.Context, lines []Line, out string) ([]Sentence, error) {
	keys := items2keys(lines, func(l Line) (string, string) { return l.Text, l.Style })
	pcm, rate, err := synthesise(ctx, keys)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	var heard []Sentence
	for _, l := range lines {
		buf.Write(make([]byte, int(l.Pause*float64(rate))*2))
		start := float64(buf.Len()/2) / float64(rate)
		buf.Write(pcm[l.Style+"|"+l.Text])
		heard = append(heard, Sentence{Text: l.Text, Style: l.Style, Start: start, End: float64(buf.Len()/2) / float64(rate)})
	}
	buf.Write(make([]byte, rate*2))
	if err := os.WriteFile(out, append(wavHeader(rate, buf.Len()), buf.Bytes()...), 0o644); err != nil {
		return nil, err
	}
	return heard, nil
}
