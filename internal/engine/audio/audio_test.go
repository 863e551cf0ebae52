package audio

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
)

// pcm writes seconds of a 1 kHz tone at the given amplitude (0..1), then
// as many seconds of silence.
func pcm(t *testing.T, tone, silence, amp float64) *Track {
	t.Helper()
	n := int((tone + silence) * Rate)
	b := make([]byte, 2*n)
	for i := 0; i < int(tone*Rate); i++ {
		v := int16(amp * 32767 * math.Sin(2*math.Pi*1000*float64(i)/Rate))
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	p := filepath.Join(t.TempDir(), "a.pcm")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestLoudness(t *testing.T) {
	tr := pcm(t, 2, 2, 0.5)
	if d := tr.Duration(); d != 4 {
		t.Fatalf("duration %v", d)
	}
	// A sine of amplitude 0.5 has an RMS of 0.5/sqrt(2): about -9 dBFS.
	if l := tr.Loudness(0, 2); math.Abs(l-(-9.03)) > 0.1 {
		t.Errorf("tone at %.2f dBFS, want -9.03", l)
	}
	if l := tr.Loudness(2.5, 4); l > -99 {
		t.Errorf("silence at %.2f dBFS", l)
	}
	if l := tr.Loudness(5, 6); l != -100 {
		t.Errorf("past the end at %.2f dBFS", l)
	}
}

func TestSplitShortTrackIsOnePiece(t *testing.T) {
	tr := pcm(t, 20, 5, 0.3)
	if s := tr.Split(60, 600); len(s) != 1 || s[0] != (Span{0, 25}) {
		t.Fatalf("spans %v", s)
	}
}

func TestWriteWAV(t *testing.T) {
	tr := pcm(t, 2, 1, 0.3)
	p := filepath.Join(t.TempDir(), "x.wav")
	if err := tr.WriteWAV(p, Span{0.5, 1.5}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 44+2*Rate || string(b[:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " ||
		binary.LittleEndian.Uint32(b[24:]) != Rate || binary.LittleEndian.Uint32(b[40:]) != 2*Rate {
		t.Fatalf("bad WAV: %d bytes, header % x", len(b), b[:44])
	}
	if err := tr.WriteWAV(p, Span{2, 2}); err == nil {
		t.Fatal("an empty span should be an error")
	}
	// Read back, a WAV is the same samples: its pieces are the same bytes.
	back, err := OpenWAV(p)
	if err != nil || back.Samples != Rate || back.Offset != 44 {
		t.Fatalf("OpenWAV: %+v, %v", back, err)
	}
	p2 := filepath.Join(t.TempDir(), "y.wav")
	if err := back.WriteWAV(p2, Span{0.25, 0.75}); err != nil {
		t.Fatal(err)
	}
	b2, _ := os.ReadFile(p2)
	if string(b2[44:]) != string(b[44+Rate/2:44+3*Rate/2]) {
		t.Error("a piece of a WAV track holds other samples")
	}
	if _, err := OpenWAV(tr.Path); err == nil {
		t.Error("raw PCM opened as a WAV")
	}
	if _, err := exec.LookPath("ffprobe"); err == nil {
		out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=sample_rate,channels", "-of", "csv=p=0", p).Output()
		if err != nil || string(out) != "16000,1\n" {
			t.Fatalf("ffprobe reads %q, %v", out, err)
		}
	}
}

func TestExtract(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "s.mp4")
	err := (ffmpeg.Binaries{}).Run(context.Background(), time.Minute, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=160x120:d=3",
		"-f", "lavfi", "-i", "sine=f=440:sample_rate=44100:d=3", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-ac", "2", src)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Extract(context.Background(), ffmpeg.Binaries{}, src, dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(tr.Duration()-3) > 0.1 || len(tr.Energy) < 290 || tr.Loudness(0.5, 2.5) < -30 {
		t.Fatalf("track %.2f s, %d frames, %.1f dBFS", tr.Duration(), len(tr.Energy), tr.Loudness(0.5, 2.5))
	}
}

// Integrated gates as BS.1770 does: silence below -70 LUFS never counts,
// and quiet pauses more than 10 LU under the rest are left out.
func TestIntegratedGating(t *testing.T) {
	tr := &Track{}
	for k := 0; k < 100; k++ { // 10 s
		switch {
		case k < 30:
			tr.Momentary = append(tr.Momentary, -20) // speech
		case k < 40:
			tr.Momentary = append(tr.Momentary, -45) // a quiet pause: relative gate
		case k < 60:
			tr.Momentary = append(tr.Momentary, -120) // silence: absolute gate
		default:
			tr.Momentary = append(tr.Momentary, -20)
		}
	}
	if got, ok := tr.Integrated(0, 10); !ok || math.Abs(got-(-20)) > 0.01 {
		t.Fatalf("integrated = %.2f, %v; want -20", got, ok)
	}
	if _, ok := tr.Integrated(4.5, 5.9); ok {
		t.Fatal("a silent span should report no loudness")
	}
	// Blocks are 400 ms ending every 100 ms: [3.1, 3.9] holds the pause only.
	if got, ok := tr.Integrated(3.1, 3.9); !ok || math.Abs(got-(-45)) > 0.01 {
		t.Fatalf("pause = %.2f, %v; want -45", got, ok)
	}
}

func TestVoicedTrimsToTheSound(t *testing.T) {
	// 10 ms frames: silence, then sound from 0.30 to 0.55 s, then silence.
	tr := &Track{Energy: make([]float32, 100)}
	for i := range tr.Energy {
		tr.Energy[i] = -70
		if i >= 30 && i < 55 {
			tr.Energy[i] = -20
		}
	}
	s, e, ok := tr.Voiced(0.1, 0.9, -45)
	if !ok || s != 0.3 || e != 0.55 {
		t.Errorf("voiced = %.2f-%.2f %v, want 0.30-0.55", s, e, ok)
	}
	if _, _, ok := tr.Voiced(0.6, 0.9, -45); ok {
		t.Error("silence is voiced")
	}
}
