package fleet

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Fit is the robust line power_w = P0W + KJPerToken x tokens_per_s through a model's busy, un-capped steps,
// so that J/token(r) = P0W / r + KJPerToken.
type Fit struct {
	P0W        float64
	KJPerToken float64
	// KJPerTokenHigh is the upper end of the one-sided 95% confidence interval of the slope (Sen 1968: the
	// pairwise slope of rank N/2 + 1.645 x sqrt(n(n-1)(2n+5)/18) / 2 of N pairs, widened by the rank error of
	// sampled pairs): right-sizing takes capacity from it, so a noisy fit errs toward less capacity.
	KJPerTokenHigh float64
	// R2 is the coefficient of determination of the line over the fitted steps.
	R2 float64
	// DiminishingReturnsTokensPerS is the rate above which doubling the traffic lowers J/token by less than
	// 10%: J(2r) > 0.9 J(r) with J(r) = P0W / r + k holds above 4 x P0W / k. NaN when that is beyond what the
	// GPUs serve (where their power reaches its limit, see EfficiencyCurve): J/token keeps falling up to
	// capacity.
	DiminishingReturnsTokensPerS float64
	// CapStartsTokensPerS is the token rate where the GPUs reach their power limit (the 10th percentile of the
	// rates of capped steps); NaN when no step was capped.
	CapStartsTokensPerS float64
	BusySteps           int
	CappedSteps         int
	FitSteps            int
	OK                  bool
	// Reason says why there is no fit (OK false).
	Reason string
}

const (
	// MinFitSteps is the fewest busy, un-capped steps a fit is made from.
	MinFitSteps = 20
	// MinRateSpread is the least spread of token rates ((p90 - p10) / median) that separates idle power
	// from per-token energy: a model at one steady rate tells only their sum.
	MinRateSpread = 0.1
	// TheilSenSteps bounds the steps the estimator looks at: beyond it, that many steps evenly strided in time.
	// With thousands of steps the sampling error of the medians is a small fraction of the noise.
	TheilSenSteps = 2048
	// TheilSenMaxPairs bounds the pairwise slopes. Up to this many pairs every pair is used (exact Theil-Sen);
	// beyond, this many pairs are drawn uniformly with a fixed seed, so the result is the median of a
	// deterministic sample of the same slope population: its rank error is about 1/sqrt(TheilSenMaxPairs)
	// (about 1% of the slopes), and the cost does not grow with the window.
	TheilSenMaxPairs = 10000
)

// fitPowerLine fits power_w = p0 + k x tokens_per_s robustly with the Theil-Sen estimator (the median of
// pairwise slopes; the intercept is the median of y - k x), which ignores up to ~29% of outlying steps (bursts,
// restarts, scrape glitches) where least squares would follow them. R2 is over all steps. x and y are not
// modified.
func fitPowerLine(x, y []float64, sc *curveScratch) Fit {
	f := Fit{P0W: math.NaN(), KJPerToken: math.NaN(), KJPerTokenHigh: math.NaN(), R2: math.NaN(), DiminishingReturnsTokensPerS: math.NaN(), FitSteps: len(x)}
	if len(x) < MinFitSteps {
		f.Reason = fmt.Sprintf("only %d busy steps below the power cap; a fit needs %d", len(x), MinFitSteps)
		return f
	}
	stride := max(len(x)/TheilSenSteps, 1)
	sx, sy := sc.sampleX[:0], sc.sampleY[:0]
	for i := 0; i < len(x); i += stride {
		sx, sy = append(sx, x[i]), append(sy, y[i])
	}
	sc.sampleX, sc.sampleY = sx, sy

	tmp := append(sc.tmp[:0], sx...)
	var q [3]float64
	quantilesInPlace(tmp, []float64{0.1, 0.5, 0.9}, q[:])
	if p10, p50, p90 := q[0], q[1], q[2]; p90-p10 < MinRateSpread*p50 || p90 == p10 {
		f.Reason = fmt.Sprintf("traffic too steady to separate idle from per-token power (10th-90th percentile %.3g-%.3g tok/s)", p10, p90)
		sc.tmp = tmp
		return f
	}

	slopes := sc.slopes[:0]
	n := len(sx)
	if n*(n-1)/2 <= TheilSenMaxPairs {
		for i := range n {
			for j := i + 1; j < n; j++ {
				if dx := sx[j] - sx[i]; dx != 0 {
					slopes = append(slopes, (sy[j]-sy[i])/dx)
				}
			}
		}
	} else {
		rng := rand.NewPCG(0x5eed, uint64(n))
		for tries := 0; len(slopes) < TheilSenMaxPairs && tries < 4*TheilSenMaxPairs; tries++ {
			// Both indexes from one draw: the high and low 32 bits scaled to [0, n) (n < 2^32).
			r := rng.Uint64()
			i, j := int((r>>32)*uint64(n)>>32), int((r&(1<<32-1))*uint64(n)>>32)
			if dx := sx[j] - sx[i]; dx != 0 {
				slopes = append(slopes, (sy[j]-sy[i])/dx)
			}
		}
	}
	sc.slopes = slopes
	if len(slopes) == 0 {
		sc.tmp = tmp
		f.Reason = "all busy steps have the same token rate"
		return f
	}
	k := quantileInPlace(slopes, 0.5)
	f.KJPerTokenHigh = quantileInPlace(slopes, senUpperRank(n, len(slopes), n*(n-1)/2 > TheilSenMaxPairs))
	tmp = tmp[:0]
	for i := range sx {
		tmp = append(tmp, sy[i]-k*sx[i])
	}
	p0 := quantileInPlace(tmp, 0.5)
	sc.tmp = tmp

	f.P0W, f.KJPerToken = p0, k
	f.R2 = rSquared(x, y, p0, k)
	if k <= 0 {
		f.Reason = fmt.Sprintf("power does not grow with the token rate (k = %.3g J/token)", k)
		return f
	}
	if p0 > 0 { // else J/token never falls toward k: there is no such rate
		f.DiminishingReturnsTokensPerS = 4 * p0 / k
	}
	f.OK = true
	return f
}

// rSquared is 1 - SS_res / SS_tot of the line y = p0 + k x.
func rSquared(x, y []float64, p0, k float64) float64 {
	mean := 0.0
	for _, v := range y {
		mean += v
	}
	mean /= float64(len(y))
	var res, tot float64
	for i := range x {
		e := y[i] - p0 - k*x[i]
		res += e * e
		d := y[i] - mean
		tot += d * d
	}
	return 1 - ratio(res, tot)
}

// senUpperRank is the rank (0..1) among the pairwise slopes of the upper end of Sen's one-sided 95% interval
// for the slope of n points; sampled adds the rank error of drawing m of the pairs (1.645 x 0.5 / sqrt(m)).
// Steps close in time are correlated, so the interval is narrower than the truth: right-sizing also bounds
// the slope from the power at the p95 (see powerHeadroom), whichever is lower wins.
func senUpperRank(n, m int, sampled bool) float64 {
	const z = 1.645
	pairs := float64(n) * float64(n-1) / 2
	c := z * math.Sqrt(float64(n)*float64(n-1)*float64(2*n+5)/18)
	q := 0.5 + c/(2*pairs)
	if sampled {
		q += z * 0.5 / math.Sqrt(float64(m))
	}
	return math.Min(q, 1)
}
