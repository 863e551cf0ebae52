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
	"strconv"
	"strings"
	"time"

	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
)

// Rate is the sample rate every recogniser here wants.
const Rate = 16000

// frame is the energy resolution: 10 ms.
const frameSamples = Rate / 100

// Track is the extracted audio: a raw s16le file, its energy envelope, and
// its loudness as EBU R128 measures it.
type Track struct {
	Path    string    // raw 16-bit little-endian mono PCM at Rate
	Offset  int64     // where the samples start in Path (a WAV's header)
	Samples int64     // number of samples in Path
	Energy  []float32 // dBFS of each 10 ms frame
	// Momentary is the EBU R128 momentary loudness (LUFS, over 400 ms) of
	// the original channels at their own rate, one value per 100 ms; value
	// k covers the 400 ms ending at (k+1)/10 s.
	Momentary []float32
}

// Extract writes the first audio stream of src to dir as raw PCM and, in
// the same decoding pass, measures its loudness over time, so that each
// clip's loudness is known without decoding its audio again. The timeout
// scales with the source's length. src is a file or a URL.
func Extract(ctx context.Context, bin ffmpeg.Binaries, src, dir string, duration float64) (*Track, error) {
	var err error
	if !strings.Contains(src, "://") { // a URL (presigned, on AWS) is read as it is
		if src, err = filepath.Abs(src); err != nil {
			return nil, fmt.Errorf("extract audio: %w", err)
		}
	}
	timeout := time.Minute + time.Duration(duration*0.5*float64(time.Second))
	// ffmpeg runs in dir so that the filter's file option needs no escaping.
	_, err = bin.Exec(ctx, ffmpeg.Opts{Timeout: timeout, Dir: dir}, "-nostdin", "-v", "error", "-y", "-i", src,
		"-map", "0:a:0", "-vn", "-ac", "1", "-ar", fmt.Sprint(Rate), "-c:a", "pcm_s16le", "-f", "s16le", PCMFile,
		"-map", "0:a:0", "-vn", "-af", "ebur128=metadata=1,ametadata=mode=print:key=lavfi.r128.M:file="+LoudnessFile,
		"-f", "null", "-")
	if err != nil {
		return nil, fmt.Errorf("extract audio: %w", err)
	}
	return Load(dir)
}

// The files Extract writes in its folder.
const (
	PCMFile      = "audio.pcm"
	LoudnessFile = "loudness.txt"
)

// Load reads a track that Extract wrote to dir (or that was copied from
// there): its samples and its loudness.
func Load(dir string) (*Track, error) {
	t, err := Open(filepath.Join(dir, PCMFile))
	if err != nil {
		return nil, err
	}
	if t.Momentary, err = readMomentary(filepath.Join(dir, LoudnessFile)); err != nil {
		return nil, err
	}
	return t, nil
}

// readMomentary reads the lavfi.r128.M values that ametadata printed.
func readMomentary(p string) ([]float32, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read loudness: %w", err)
	}
	var m []float32
	for _, line := range strings.Split(string(b), "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "lavfi.r128.M=")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			f = -120 // "-inf" and the like: silence
		}
		m = append(m, float32(f))
	}
	return m, nil
}

// Integrated is the EBU R128 integrated loudness (LUFS) of [start, end),
// gated as BS.1770 says: blocks below -70 LUFS are silence, and blocks more
// than 10 LU below the mean of the rest are pauses. ok is false when the
// span is silent.
func (t *Track) Integrated(start, end float64) (lufs float64, ok bool) {
	var zs []float64
	for k, m := range t.Momentary {
		blockEnd := float64(k+1) / 10
		if blockEnd-0.4 < start-1e-9 || blockEnd > end+1e-9 {
			continue
		}
		if m > -70 {
			zs = append(zs, math.Pow(10, (float64(m)+0.691)/10))
		}
	}
	if len(zs) == 0 {
		return 0, false
	}
	mean := func(v []float64) float64 {
		var s float64
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	}
	relGate := -0.691 + 10*math.Log10(mean(zs)) - 10
	var kept []float64
	for _, z := range zs {
		if -0.691+10*math.Log10(z) > relGate {
			kept = append(kept, z)
		}
	}
	return -0.691 + 10*math.Log10(mean(kept)), true
}

// Open reads the energy envelope of an existing raw PCM file.
func Open(p string) (*Track, error) { return openAt(p, 0) }

// OpenWAV reads a WAV file that WriteWAV wrote (16 kHz mono 16-bit PCM):
// a track without its loudness.
func OpenWAV(p string) (*Track, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open audio: %w", err)
	}
	h := make([]byte, 44)
	_, err = io.ReadFull(f, h)
	f.Close()
	want := wavHeader(0)
	if err != nil || string(h[:4]) != "RIFF" || string(h[8:16]) != string(want[8:16]) || string(h[20:36]) != string(want[20:36]) || string(h[36:40]) != "data" {
		return nil, fmt.Errorf("open audio: %s is not a 16 kHz mono 16-bit WAV file", filepath.Base(p))
	}
	return openAt(p, 44)
}

func openAt(p string, offset int64) (*Track, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open audio: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, fmt.Errorf("open audio: %w", err)
	}
	t := &Track{Path: p, Offset: offset}
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

// Voiced trims [start, end) to the 10 ms frames at or above level (dBFS):
// where a word's sound really starts and stops. ok is false when none is.
func (t *Track) Voiced(start, end, level float64) (s, e float64, ok bool) {
	a, b := t.frames(start, end)
	for a < b && float64(t.Energy[a]) < level {
		a++
	}
	for b > a && float64(t.Energy[b-1]) < level {
		b--
	}
	if a >= b {
		return start, end, false
	}
	return math.Max(start, float64(a)/100), math.Min(end, float64(b)/100), true
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
	_, err = io.Copy(w, io.NewSectionReader(in, t.Offset+a*2, n))
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
