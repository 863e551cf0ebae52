// Package stats holds the order statistics the engine's stages share.
package stats

import (
	"math"
	"sort"
)

// Median is the middle of v, or the mean of its two middle values; 0 for
// none. v is not changed.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := sorted(v)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Percentile is the q-th quantile of v (q from 0 to 1), by nearest rank;
// 0 for none. v is not changed.
func Percentile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := sorted(v)
	return s[int(math.Round(q*float64(len(s)-1)))]
}

func sorted(v []float64) []float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s
}
