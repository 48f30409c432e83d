package fleet

import (
	"fmt"
	"math"
)

// TwoSlopes is the fit power_w = P0W + KPromptJPerToken x prompt tokens/s + KGenJPerToken x generation
// tokens/s over the same busy, un-capped steps as Fit: prefill processes a prompt's tokens in parallel
// (compute-bound) while decoding reads the weights once per generated token (memory-bound), so the two cost
// very differently. Made only where both rates vary independently enough to tell the slopes apart.
type TwoSlopes struct {
	P0W              float64
	KPromptJPerToken float64
	KGenJPerToken    float64
	R2               float64
	OK               bool
	// Reason says why there is no fit (OK false).
	Reason string
}

// MaxRateCorrelation is the largest correlation of prompt and generation rates the two-slope fit separates:
// above it, the rates move together and any split of the energy between them fits about as well.
const MaxRateCorrelation = 0.95

// fitTwoSlopes fits the plane by least squares, then once more without the steps whose residual is over
// 3 median absolute deviations (bursts, restarts): a plane has no cheap Theil-Sen. steps are the grid steps of
// the line's fit, power their power.
func fitTwoSlopes(m *Model, steps []int, power []float64, sc *curveScratch) TwoSlopes {
	out := TwoSlopes{P0W: math.NaN(), KPromptJPerToken: math.NaN(), KGenJPerToken: math.NaN(), R2: math.NaN()}
	if len(steps) < MinFitSteps {
		out.Reason = fmt.Sprintf("only %d busy steps below the power cap; a fit needs %d", len(steps), MinFitSteps)
		return out
	}
	// As the line's fit, at most TheilSenSteps steps evenly strided in time.
	stride := max(len(steps)/TheilSenSteps, 1)
	n := (len(steps) + stride - 1) / stride
	sc.planeBuf = grow(sc.planeBuf, 4*n)
	p, g, y, res := sc.planeBuf[:n], sc.planeBuf[n:2*n], sc.planeBuf[2*n:3*n], sc.planeBuf[3*n:]
	for j := range n {
		i := steps[j*stride]
		p[j], g[j], y[j] = at(m.PromptTokensPerS, i), at(m.GenerationTokensPerS, i), power[j*stride]
		if math.IsNaN(p[j]) || math.IsNaN(g[j]) {
			out.Reason = "prompt or generation rates are missing on some busy steps"
			return out
		}
	}
	c := correlation(p, g)
	if math.IsNaN(c) {
		out.Reason = "the prompt or the generation rate does not vary: only their sum's slope can be fitted"
		return out
	}
	if math.Abs(c) > MaxRateCorrelation {
		out.Reason = fmt.Sprintf("prompt and generation rates move together (correlation %.2f): their costs cannot be told apart", c)
		return out
	}
	if cap(sc.keep) < n {
		sc.keep = make([]bool, n)
	}
	keep := sc.keep[:n]
	for j := range keep {
		keep[j] = true
	}
	b, ok := leastSquaresPlane(p, g, y, keep)
	if ok {
		for j := range res {
			res[j] = math.Abs(y[j] - b[0] - b[1]*p[j] - b[2]*g[j])
		}
		if mad := Quantile(res, 0.5); mad > 0 {
			for j, r := range res {
				keep[j] = r <= 3*mad
			}
			b, ok = leastSquaresPlane(p, g, y, keep)
		}
	}
	if !ok {
		out.Reason = "the prompt and generation rates do not vary enough to separate their costs"
		return out
	}
	out.P0W, out.KPromptJPerToken, out.KGenJPerToken = b[0], b[1], b[2]
	mean, kept := 0.0, 0
	for j, k := range keep {
		if k {
			mean += y[j]
			kept++
		}
	}
	mean /= float64(kept)
	var ssRes, ssTot float64
	for j, k := range keep {
		if k {
			e := y[j] - b[0] - b[1]*p[j] - b[2]*g[j]
			d := y[j] - mean
			ssRes, ssTot = ssRes+e*e, ssTot+d*d
		}
	}
	out.R2 = 1 - ratio(ssRes, ssTot)
	out.OK = true
	return out
}

// leastSquaresPlane solves the normal equations of y = b0 + b1 x1 + b2 x2 over the kept points by Gaussian
// elimination with partial pivoting; false when they are singular.
func leastSquaresPlane(x1, x2, y []float64, keep []bool) ([3]float64, bool) {
	var a [3][4]float64
	for j := range y {
		if !keep[j] {
			continue
		}
		row := [3]float64{1, x1[j], x2[j]}
		for r := range 3 {
			for c := range 3 {
				a[r][c] += row[r] * row[c]
			}
			a[r][3] += row[r] * y[j]
		}
	}
	for col := range 3 {
		pivot := col
		for r := col + 1; r < 3; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[pivot][col]) {
				pivot = r
			}
		}
		if math.Abs(a[pivot][col]) < 1e-12*math.Max(1, math.Abs(a[0][0])) {
			return [3]float64{}, false
		}
		a[col], a[pivot] = a[pivot], a[col]
		for r := range 3 {
			if r == col {
				continue
			}
			f := a[r][col] / a[col][col]
			for c := col; c < 4; c++ {
				a[r][c] -= f * a[col][c]
			}
		}
	}
	return [3]float64{a[0][3] / a[0][0], a[1][3] / a[1][1], a[2][3] / a[2][2]}, true
}

// correlation is Pearson's correlation of x and y; NaN when either does not vary.
func correlation(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx, my = mx+x[i], my+y[i]
	}
	mx, my = mx/n, my/n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy, sxx, syy = sxy+dx*dy, sxx+dx*dx, syy+dy*dy
	}
	return sxy / math.Sqrt(sxx*syy)
}
