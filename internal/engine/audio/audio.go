// Package audio extracts the source's sound once, as 16 kHz mono PCM, and
// answers the questions later stages ask of it: how loud a span is, and where
// the quiet places are to cut long audio into pieces for recognition.
package audio

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
)

// Rate is the sample rate every recogniser here wants.
const Rate = 16000

// frame is the energy resolution: 10 ms.
const frameSamples = Rate / 100

// Track is the extracted audio: a raw s16le file and its energy envelope.
type Track struct {
	Path    string    // raw 16-bit little-endian mono PCM at Rate
	Samples int64     // number of samples in Path
	Energy  []float32 // dBFS of each 10 ms frame
}

// Extract writes the first audio stream of src to dir as raw PCM and reads
// its energy envelope. The timeout scales with the source's length.
func Extract(ctx context.Context, bin ffmpeg.Binaries, src, dir string, duration float64) (*Track, error) {
	out := filepath.Join(dir, "audio.pcm")
	timeout := time.Minute + time.Duration(duration*0.5*float64(time.Second))
	err := bin.Run(ctx, timeout, "-nostdin", "-v", "error", "-y", "-i", src,
		"-map", "0:a:0", "-vn", "-ac", "1", "-ar", fmt.Sprint(Rate),
		"-c:a", "pcm_s16le", "-f", "s16le", out)
	if err != nil {
		return nil, fmt.Errorf("extract audio: %w", err)
	}
	return Open(out)
}

// Open reads the energy envelope of an existing raw PCM file.
func Open(p string) (*Track, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open audio: %w", err)
	}
	defer f.Close()
	t := &Track{Path: p}
	r := bufio.NewReaderSize(f, 1<<16)
	buf := make([]byte, frameSamples*2)
	for {
		n, err := io.ReadFull(r, buf)
		if n >= 2 {
			t.Energy = append(t.Energy, frameDB(buf[:n&^1]))
			t.Samples += int64(n / 2)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read audio: %w", err)
		}
	}
	return t, nil
}

func frameDB(b []byte) float32 {
	var sum float64
	n := len(b) / 2
	for i := 0; i < n; i++ {
		s := float64(int16(binary.LittleEndian.Uint16(b[2*i:])))
		sum += s * s
	}
	return float32(toDB(sum / float64(n)))
}

// toDB converts a mean square of 16-bit samples to dBFS, floored at -100.
func toDB(meanSquare float64) float64 {
	if meanSquare <= 0 {
		return -100
	}
	return math.Max(-100, 10*math.Log10(meanSquare/(32768.0*32768.0)))
}

// Duration is the length of the track in seconds.
func (t *Track) Duration() float64 { return float64(t.Samples) / Rate }

// Loudness is the power-averaged level of [start, end) in dBFS.
func (t *Track) Loudness(start, end float64) float64 {
	a, b := t.frames(start, end)
	if a >= b {
		return -100
	}
	var sum float64
	for _, db := range t.Energy[a:b] {
		sum += math.Pow(10, float64(db)/10)
	}
	return 10 * math.Log10(sum/float64(b-a))
}

func (t *Track) frames(start, end float64) (int, int) {
	a := int(math.Max(0, start*100))
	b := int(math.Min(float64(len(t.Energy)), math.Ceil(end*100)))
	return a, b
}

// Span is a piece of the track in seconds.
type Span struct{ Start, End float64 }

// Split cuts the track into pieces of about target seconds (never more than
// max), each cut placed at the quietest 300 ms near the target point, so that
// no word is cut in two.
func (t *Track) Split(target, max float64) []Span {
	total := t.Duration()
	if total <= max && total <= target*1.5 {
		return []Span{{0, total}}
	}
	// Smooth over 300 ms so that a cut lands in a pause, not between syllables.
	const win = 30
	smooth := make([]float64, len(t.Energy))
	var acc float64
	for i, db := range t.Energy {
		acc += float64(db)
		if i >= win {
			acc -= float64(t.Energy[i-win])
		}
		smooth[i] = acc / float64(min(i+1, win))
	}
	var spans []Span
	start := 0.0
	for total-start > max || total-start > target*1.5 {
		// Search the quietest frame in [start+0.7*target, start+min(1.3*target, max)].
		lo := int((start + 0.7*target) * 100)
		hi := int(math.Min(start+math.Min(1.3*target, max), total) * 100)
		best, bestDB := hi, math.Inf(1)
		for i := lo; i < hi && i < len(smooth); i++ {
			if smooth[i] < bestDB {
				best, bestDB = i, smooth[i]
			}
		}
		// smooth[i] averages the 300 ms ending at frame i: cut in its middle.
		cut := float64(best-win/2) / 100
		if cut <= start {
			cut = float64(hi) / 100
		}
		spans = append(spans, Span{start, cut})
		start = cut
	}
	return append(spans, Span{start, total})
}

// WriteWAV writes span s of the track as a 16 kHz mono WAV file.
func (t *Track) WriteWAV(dst string, s Span) error {
	a := int64(math.Max(0, s.Start*Rate))
	b := int64(math.Min(float64(t.Samples), s.End*Rate))
	if b <= a {
		return fmt.Errorf("write wav: empty span %.2f-%.2f", s.Start, s.End)
	}
	in, err := os.Open(t.Path)
	if err != nil {
		return fmt.Errorf("write wav: %w", err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("write wav: %w", err)
	}
	n := (b - a) * 2
	w := bufio.NewWriter(out)
	w.Write(wavHeader(n))
	_, err = io.Copy(w, io.NewSectionReader(in, a*2, n))
	if err == nil {
		err = w.Flush()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write wav: %w", err)
	}
	return nil
}

// wavHeader is the 44-byte RIFF header of a 16-bit mono PCM file.
func wavHeader(dataBytes int64) []byte {
	h := make([]byte, 44)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+dataBytes))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1) // PCM
	binary.LittleEndian.PutUint16(h[22:], 1) // mono
	binary.LittleEndian.PutUint32(h[24:], Rate)
	binary.LittleEndian.PutUint32(h[28:], Rate*2)
	binary.LittleEndian.PutUint16(h[32:], 2)
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(dataBytes))
	return h
}
