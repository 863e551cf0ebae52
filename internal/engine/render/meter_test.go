package render

import (
	"encoding/binary"
	"math"
	"testing"
)

// samples is seconds of stereo float32 PCM at 48 kHz, the same in both
// channels.
func samples(seconds float64, f func(t float64) float64) []byte {
	n := int(seconds * rate)
	b := make([]byte, 0, n*2*channel)
	for i := 0; i < n; i++ {
		v := math.Float32bits(float32(f(float64(i) / rate)))
		b = binary.LittleEndian.AppendUint32(b, v)
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

// meterIn meters p written in pieces of the given size.
func meterIn(p []byte, piece int) loudness {
	m := newMeter(false)
	for len(p) > 0 {
		n := min(piece, len(p))
		m.Write(p[:n])
		p = p[n:]
	}
	return m.result()
}

func TestMeter(t *testing.T) {
	// BS.1770: a 997 Hz sine at full scale in one channel reads -3.01 LUFS,
	// so at half scale in both, -6.02.
	sine := samples(5, func(t float64) float64 { return 0.5 * math.Sin(2*math.Pi*997*t) })
	if got := meterIn(sine, 1<<16); math.Abs(got.I+6.02) > 0.05 || math.Abs(got.TP+6.02) > 0.05 {
		t.Errorf("997 Hz sine at -6 dBFS: %.2f LUFS %.2f dBTP, want -6.02 and -6.02", got.I, got.TP)
	}
	// Pieces that split frames and samples change nothing.
	if a, b := meterIn(sine, 1<<16), meterIn(sine, 7); a != b {
		t.Errorf("in 64 KiB pieces %v, in 7-byte pieces %v", a, b)
	}
	// A sine at a quarter of the rate, sampled 45 degrees off its crests:
	// the samples reach 0.707 of it, the true peak is all of it.
	quarter := samples(2, func(t float64) float64 { return 0.5 * math.Sin(2*math.Pi*rate/4*t+math.Pi/4) })
	if got := meterIn(quarter, 1<<16); math.Abs(got.TP+6.02) > 0.2 {
		t.Errorf("sine at 12 kHz, crests between samples: %.2f dBTP, want -6.02", got.TP)
	}
	// The gates: a second of tone, then nine of silence, reads as the seven
	// blocks of tone and the three that hold 3/4, 1/2 and 1/4 of it.
	gated := samples(10, func(t float64) float64 {
		if t >= 1 {
			return 0
		}
		return 0.5 * math.Sin(2*math.Pi*997*t)
	})
	if got, want := meterIn(gated, 1<<16), -6.02+10*math.Log10(8.5/10); math.Abs(got.I-want) > 0.05 {
		t.Errorf("a second of tone, then silence: %.2f LUFS, want %.2f", got.I, want)
	}
	if got := meterIn(samples(3, func(float64) float64 { return 0 }), 1<<16); !got.silent() || !math.IsInf(got.TP, -1) {
		t.Errorf("silence: %v", got)
	}
}

// The meter hears what AAC encoding keeps: a tone at 20 kHz fades, one at
// 1 kHz does not.
func TestMeterAAC(t *testing.T) {
	loss := func(f float64) float64 {
		p := samples(3, func(t float64) float64 { return 0.5 * math.Sin(2*math.Pi*f*t) })
		m := newMeter(true)
		m.Write(p)
		return meterIn(p, len(p)).I - m.result().I
	}
	if l := loss(1000); math.Abs(l) > 0.05 {
		t.Errorf("1 kHz loses %.2f LU", l)
	}
	if l := loss(20000); l < 5 {
		t.Errorf("20 kHz loses only %.2f LU", l)
	}
}
