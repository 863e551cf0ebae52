package stats

import "testing"

func TestOrderStatistics(t *testing.T) {
	v := []float64{5, 1, 4, 2, 3}
	if Median(v) != 3 || Median([]float64{4, 1, 3, 2}) != 2.5 || Median(nil) != 0 {
		t.Error("median")
	}
	for q, want := range map[float64]float64{0: 1, 0.25: 2, 0.5: 3, 0.9: 5, 1: 5} {
		if got := Percentile(v, q); got != want {
			t.Errorf("percentile %v: %v, want %v", q, got, want)
		}
	}
	if Percentile(nil, 0.5) != 0 || v[0] != 5 {
		t.Error("empty input, or v was sorted in place")
	}
}
