package render

import (
	"encoding/binary"
	"math"
)

// meter measures what ffmpeg's ebur128=peak=true does (BS.1770 integrated
// loudness and true peak) on 48 kHz stereo float samples written to it:
// about 0.1 s for a minute of sound, where ebur128 takes 0.6 s.
type meter struct {
	aac    bool         // low-pass first, as the AAC encoder does
	lp     [2][2]biquad // that low-pass, for each channel
	k      [2][2]biquad // the K-weighting of each channel
	x      [2][]float64 // each channel's last taps-1 samples, then new ones
	energy float64      // K-weighted energy of the current 100 ms
	n      int          // samples in it
	blocks []float64    // energy of each 100 ms
	peak   float64      // linear
	rest   []byte       // a partial frame left by the last write
}

const (
	rate    = 48000
	block   = rate / 10 // 100 ms
	taps    = 12        // of each phase of the 4x interpolator
	channel = 4         // bytes of a float32 sample
)

// phases are the three interpolating phases of a 4x oversampler (the
// fourth is the samples themselves): a Hann-windowed sinc, as BS.1770's
// 48-tap filter.
var phases = func() (h [3][taps]float64) {
	for p := range h {
		for i := range h[p] {
			x := float64(i-taps/2+1) - float64(p+1)/4
			h[p][i] = math.Sin(math.Pi*x) / (math.Pi * x) * (0.5 + 0.5*math.Cos(math.Pi*x/(taps/2+1)))
		}
	}
	return h
}()

// biquad is one second-order section (direct form I).
type biquad struct{ b0, b1, b2, a1, a2, x1, x2, y1, y2 float64 }

func (f *biquad) run(x float64) float64 {
	y := f.b0*x + f.b1*f.x1 + f.b2*f.x2 - f.a1*f.y1 - f.a2*f.y2
	if math.Abs(y) < 1e-20 {
		y = 0 // decaying through silence, y would turn subnormal: slow
	}
	f.x2, f.x1, f.y2, f.y1 = f.x1, x, f.y1, y
	return y
}

// lowpass is a low-pass biquad at f Hz with quality q (RBJ's cookbook).
func lowpass(f, q float64) biquad {
	w := 2 * math.Pi * f / rate
	alpha, cos := math.Sin(w)/(2*q), math.Cos(w)
	a0 := 1 + alpha
	return biquad{b0: (1 - cos) / 2 / a0, b1: (1 - cos) / a0, b2: (1 - cos) / 2 / a0, a1: -2 * cos / a0, a2: (1 - alpha) / a0}
}

// aacCutoff is where ffmpeg's AAC encoder low-passes at 160 kb/s stereo,
// with a 4th-order Butterworth filter. Sound metered through the same
// filter measures as it will after encoding: broadband sound, such as
// noise or claps, loses up to 1.2 LU above 17 kHz.
const aacCutoff = 17000

// newMeter is a meter; with aac set, it hears what AAC encoding keeps.
func newMeter(aac bool) *meter {
	m := &meter{aac: aac}
	for c := range m.k {
		m.lp[c] = [2]biquad{lowpass(aacCutoff, 0.5412), lowpass(aacCutoff, 1.3066)}
		// BS.1770's K-weighting at 48 kHz: a high shelf, then a high-pass.
		m.k[c][0] = biquad{b0: 1.53512485958697, b1: -2.69169618940638, b2: 1.19839281085285, a1: -1.69065929318241, a2: 0.73248077421585}
		m.k[c][1] = biquad{b0: 1, b1: -2, b2: 1, a1: -1.99004745483398, a2: 0.99007225036621}
		m.x[c] = make([]float64, taps-1)
	}
	return m
}

// Write takes interleaved little-endian float32 stereo samples.
func (m *meter) Write(p []byte) (int, error) {
	n := len(p)
	if len(m.rest) > 0 {
		p = append(m.rest, p...)
	}
	frames := len(p) / (2 * channel)
	for c := range m.x {
		for i := 0; i < frames; i++ {
			v := float64(math.Float32frombits(binary.LittleEndian.Uint32(p[(2*i+c)*channel:])))
			if m.aac {
				v = m.lp[c][1].run(m.lp[c][0].run(v))
			}
			m.x[c] = append(m.x[c], v)
		}
	}
	m.loudness(m.x[0][taps-1:], m.x[1][taps-1:])
	for c := range m.x {
		m.truePeak(m.x[c])
		m.x[c] = append(m.x[c][:0], m.x[c][len(m.x[c])-(taps-1):]...)
	}
	m.rest = append(m.rest[:0], p[frames*2*channel:]...)
	return n, nil
}

// loudness sums the K-weighted energy of each 100 ms.
func (m *meter) loudness(l, r []float64) {
	for i := range l {
		a, b := m.k[0][1].run(m.k[0][0].run(l[i])), m.k[1][1].run(m.k[1][0].run(r[i]))
		m.energy += a*a + b*b
		if m.n++; m.n == block {
			m.blocks = append(m.blocks, m.energy)
			m.energy, m.n = 0, 0
		}
	}
}

// truePeak raises the peak to the largest sample of x and of the three
// points the oversampler puts between each pair. It skips pairs under a
// quarter of the peak so far, which nothing between them can reach: a
// sine under 20 kHz has a sample within half a sample of its crest, at
// more than a quarter of it.
func (m *meter) truePeak(x []float64) {
	floor := m.peak / 4
	for i := 0; i+taps <= len(x); i++ {
		a, b := math.Abs(x[i+taps/2-1]), math.Abs(x[i+taps/2])
		m.peak = math.Max(m.peak, b)
		if a <= floor && b <= floor {
			continue
		}
		w := x[i : i+taps]
		for _, h := range phases {
			var s float64
			for j, v := range h {
				s += v * w[j]
			}
			m.peak = math.Max(m.peak, math.Abs(s))
		}
		floor = m.peak / 4
	}
}

// result is the integrated loudness, gated as BS.1770 says over 400 ms
// blocks every 100 ms, and the true peak in dBTP.
func (m *meter) result() loudness {
	const abs = -70.0
	lufs := func(e float64) float64 { return -0.691 + 10*math.Log10(e/(4*block)) }
	var gated []float64
	for i := 3; i < len(m.blocks); i++ {
		if e := m.blocks[i] + m.blocks[i-1] + m.blocks[i-2] + m.blocks[i-3]; lufs(e) > abs {
			gated = append(gated, e)
		}
	}
	mean := func(es []float64, above float64) (float64, bool) {
		var sum float64
		var n int
		for _, e := range es {
			if lufs(e) > above {
				sum += e
				n++
			}
		}
		return sum / float64(max(n, 1)), n > 0
	}
	all, ok := mean(gated, abs)
	if !ok {
		return loudness{I: abs, TP: 20 * math.Log10(m.peak)}
	}
	kept, _ := mean(gated, lufs(all)-10)
	return loudness{I: lufs(kept), TP: 20 * math.Log10(m.peak)}
}
