package fleet

import "math"

// quantileInPlace is the q-quantile of buf (no NaN), linearly interpolated between order statistics like
// QuantileSorted, found by selection in linear time. It reorders buf.
func quantileInPlace(buf []float64, q float64) float64 {
	var out [1]float64
	quantilesInPlace(buf, []float64{q}, out[:])
	return out[0]
}

// quantilesInPlace sets out[j] to the qs[j]-quantile of buf (no NaN; qs ascending, at most 8), interpolated
// like QuantileSorted. The middle quantile is selected first and the others within the parts it leaves, so
// three quantiles cost about two selections; the next order statistic for interpolation is the minimum of
// the part between a rank and the next selected one. It reorders buf.
func quantilesInPlace(buf []float64, qs []float64, out []float64) {
	n := len(buf)
	if n == 0 {
		for j := range qs {
			out[j] = math.NaN()
		}
		return
	}
	var ranks, work [8]int
	for j, q := range qs {
		ranks[j] = int(min(max(q, 0), 1) * float64(n-1))
	}
	copy(work[:], ranks[:len(qs)])
	selectRanks(buf, work[:len(qs)])
	for j, q := range qs {
		lo := ranks[j]
		v := buf[lo]
		frac := min(max(q, 0), 1)*float64(n-1) - float64(lo)
		if frac > 0 && lo+1 < n {
			end := n
			if j+1 < len(qs) {
				end = ranks[j+1] + 1
			}
			next := buf[lo+1]
			for _, w := range buf[lo+2 : max(end, lo+2)] {
				if w < next {
					next = w
				}
			}
			v += (next - v) * frac
		}
		out[j] = v
	}
}

// selectRanks places the order statistics of ranks (ascending indexes into buf) at their indexes, each
// selected within the part of buf between its neighbours. It rewrites ranks.
func selectRanks(buf []float64, ranks []int) {
	if len(ranks) == 0 || len(buf) < 2 {
		return
	}
	mid := len(ranks) / 2
	k := ranks[mid]
	if k < 0 || k >= len(buf) { // a rank equal to one already placed
		return
	}
	selectKth(buf, k)
	selectRanks(buf[:k], ranks[:mid])
	right := ranks[mid+1:]
	for j := range right {
		right[j] -= k + 1
	}
	selectRanks(buf[k+1:], right)
}

// selectKth reorders buf so that buf[k] is its k-th smallest value, smaller values before it and larger or
// equal after. Quickselect with a median-of-three pivot and branch-free partitions (the comparisons of random
// values defeat branch prediction); values equal to the pivot are gathered, so repeated values cost nothing.
func selectKth(buf []float64, k int) {
	for len(buf) > 1 {
		n := len(buf)
		a, b, c := buf[0], buf[n/2], buf[n-1]
		if a > b {
			a, b = b, a
		}
		if b > c {
			b = c
		}
		if a > b {
			b = a
		}
		less := partition(buf, func(v float64) bool { return v < b })
		if k < less {
			buf = buf[:less]
			continue
		}
		upTo := less + partition(buf[less:], func(v float64) bool { return v <= b })
		if k < upTo {
			return
		}
		buf, k = buf[upTo:], k-upTo
	}
}

// partition moves the values of buf for which in(v) to its front, keeping none of the orders, and returns how
// many there are (Lomuto's scheme without a branch on the comparison).
func partition(buf []float64, in func(float64) bool) int {
	j := 0
	for i, v := range buf {
		buf[i] = buf[j]
		buf[j] = v
		d := 0
		if in(v) {
			d = 1
		}
		j += d
	}
	return j
}
