package fleet

import (
	"math"
	"slices"
)

// Quantile is the q-quantile (0..1) of the non-NaN values, linearly interpolated between order statistics;
// NaN when there are none. It sorts a copy: vals is left as it is.
func Quantile(vals []float64, q float64) float64 {
	s := make([]float64, 0, len(vals))
	for _, v := range vals {
		if !math.IsNaN(v) {
			s = append(s, v)
		}
	}
	slices.Sort(s)
	return QuantileSorted(s, q)
}

// QuantileSorted is Quantile for values already sorted ascending and free of NaN.
func QuantileSorted(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	q = math.Min(math.Max(q, 0), 1)
	pos := q * float64(n-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, n-1)
	frac := pos - float64(lo)
	return sorted[lo] + (sorted[hi]-sorted[lo])*frac
}

// Mean is the mean of the non-NaN values; NaN when there are none.
func Mean(vals []float64) float64 {
	sum, n := 0.0, 0
	for _, v := range vals {
		if !math.IsNaN(v) {
			sum += v
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}
