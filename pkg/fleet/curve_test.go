package fleet

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var a100Floor = IdleFloors{a100: {GPUType: a100, W: 90, Source: IdleSetting, Known: true}}

func TestFitRecoversParkedPowerAndMarginalEnergy(t *testing.T) {
	m := served("Qwen3.5-397B", a100, sdsc, 8, 90, 3.5, ramp(500, 5, 400))
	c := EfficiencyCurve(&m, a100Floor, testOptions())

	require.True(t, c.Fit.OK, c.Fit.Reason)
	assert.InDelta(t, 3.5, c.Fit.KJPerToken, 1e-9)
	assert.InDelta(t, 720, c.Fit.P0W, 1e-6)
	assert.InDelta(t, 1, c.Fit.R2, 1e-12)
	// Doubling the traffic saves less than 10% only above 4 x 720 / 3.5 = 823 tok/s, beyond the (8 x 400 -
	// 720) / 3.5 = 709 tok/s at which the 8 GPUs reach their power limit: no such rate within capacity.
	assert.True(t, math.IsNaN(c.Fit.DiminishingReturnsTokensPerS))
	assert.Equal(t, 500, c.Fit.BusySteps)
	assert.Equal(t, 500, c.Fit.FitSteps)
	assert.Zero(t, c.Fit.CappedSteps)
	assert.True(t, math.IsNaN(c.Fit.CapStartsTokensPerS))
	assert.Equal(t, "Qwen3.5-397B", c.Model)
	assert.Equal(t, a100, c.GPUType)
}

// noisyLine is n steps of power 720 + 3.5 x rate + N(0, 15 W) at rates 5-400 tok/s, with outliers replacing
// every 20th step (5%): alternately a burst (3000 tok/s at ordinary power: prefill counted, GPUs lagging) and
// a restart (2000 W while reloading weights, 30 tok/s).
func noisyLine(n int, outliers bool) Model {
	rng := rand.New(rand.NewPCG(7, 8))
	m := served("Qwen3.5-397B", a100, sdsc, 8, 90, 3.5, ramp(n, 5, 400))
	pl := &m.Placements[0]
	for i := range pl.PowerW {
		pl.PowerW[i] += 15 * rng.NormFloat64()
		if !outliers || i%20 != 0 {
			continue
		}
		rate := 3000.0
		pl.PowerW[i] = 720 + 3.5*200
		if i%40 == 0 {
			rate, pl.PowerW[i] = 30, 2000
		}
		m.PromptTokensPerS[i], m.GenerationTokensPerS[i] = 0.25*rate, 0.75*rate
	}
	return m
}

func TestFitResistsBurstsAndRestartsWhereLeastSquaresDoesNot(t *testing.T) {
	m := noisyLine(2000, true)
	c := EfficiencyCurve(&m, a100Floor, testOptions())
	require.True(t, c.Fit.OK, c.Fit.Reason)
	assert.InEpsilon(t, 3.5, c.Fit.KJPerToken, 0.05)
	assert.InEpsilon(t, 720, c.Fit.P0W, 0.05)

	x, y := make([]float64, 0, 2000), make([]float64, 0, 2000)
	for i := range c.Points.Len() {
		p := c.Points.At(i)
		x, y = append(x, p.TokensPerS), append(y, p.PowerW)
	}
	p0, k := leastSquares(x, y)
	t.Logf("Theil-Sen p0 %.1f W, k %.3f J/token; least squares p0 %.1f W, k %.3f J/token", c.Fit.P0W, c.Fit.KJPerToken, p0, k)
	assert.Greater(t, math.Abs(k-3.5)/3.5, 0.05, "least squares k = %.3f", k)
	assert.Greater(t, math.Abs(p0-720)/720, 0.05, "least squares p0 = %.1f", p0)
}

func leastSquares(x, y []float64) (p0, k float64) {
	var sx, sy, sxx, sxy float64
	for i := range x {
		sx, sy, sxx, sxy = sx+x[i], sy+y[i], sxx+x[i]*x[i], sxy+x[i]*y[i]
	}
	n := float64(len(x))
	k = (n*sxy - sx*sy) / (n*sxx - sx*sx)
	return (sy - k*sx) / n, k
}

func TestSampledTheilSenStaysCloseToTheExactMedianSlope(t *testing.T) {
	m := noisyLine(1500, true)
	c := EfficiencyCurve(&m, a100Floor, testOptions())
	require.Greater(t, 1500*1499/2, TheilSenMaxPairs, "this test must exercise the sampled path")

	var slopes []float64
	for i := range 1500 {
		for j := i + 1; j < 1500; j++ {
			pi, pj := c.Points.At(i), c.Points.At(j)
			if pj.TokensPerS != pi.TokensPerS {
				slopes = append(slopes, (pj.PowerW-pi.PowerW)/(pj.TokensPerS-pi.TokensPerS))
			}
		}
	}
	assert.InEpsilon(t, Quantile(slopes, 0.5), c.Fit.KJPerToken, 0.01)
}

func TestCappedStepsAreMarkedAndKeptOutOfTheFit(t *testing.T) {
	rates := ramp(600, 5, 900)
	cases := []struct {
		name   string
		limitW float64 // exported power limit of the 8 GPUs; 0 = not exported, catalog TDP (8 x 400 W)
		capW   float64 // where the simulated GPUs plateau
	}{
		{"catalog TDP", 0, 3100},
		{"exported power limit", 2000, 1980},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := served("gpt-oss-120b", a100, sdsc, 8, 90, 3.5, rates)
			pl := &m.Placements[0]
			limit := 3200.0
			if tc.limitW > 0 {
				pl.PowerLimitW, limit = constant(600, tc.limitW), tc.limitW
			}
			var capped []float64
			for i, r := range rates {
				pl.PowerW[i] = math.Min(pl.PowerW[i], tc.capW)
				if pl.PowerW[i] >= PowerCapFraction*limit {
					capped = append(capped, r)
				}
			}
			require.NotEmpty(t, capped)

			c := EfficiencyCurve(&m, a100Floor, testOptions())

			require.True(t, c.Fit.OK, c.Fit.Reason)
			assert.InDelta(t, 3.5, c.Fit.KJPerToken, 1e-9, "capped steps would bend the line")
			assert.InDelta(t, 720, c.Fit.P0W, 1e-6)
			assert.Equal(t, len(capped), c.Fit.CappedSteps)
			assert.Equal(t, 600-len(capped), c.Fit.FitSteps)
			assert.InDelta(t, Quantile(capped, 0.1), c.Fit.CapStartsTokensPerS, 1e-9)
			startW := PowerCapFraction*limit - 720
			assert.GreaterOrEqual(t, c.Fit.CapStartsTokensPerS, startW/3.5, "no step below the cap is called capped")
			marked := 0
			for i := range c.Points.Len() {
				if c.Points.At(i).Capped {
					marked++
				}
			}
			assert.Equal(t, len(capped), marked)
		})
	}
}

func TestCurveWithoutEnoughTrafficHasPointsButNoFit(t *testing.T) {
	cases := []struct {
		name, reason string
		rates        []float64
	}{
		{"idle model", "served no tokens above the idle threshold", make([]float64, 100)},
		{"a few busy steps", "only 10 busy steps below the power cap; a fit needs 20", append(make([]float64, 90), ramp(10, 5, 50)...)},
		{"one steady rate", "traffic too steady", constant(100, 18)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := served("Kimi-K2.5", a100, sdsc, 8, 90, 3.5, tc.rates)
			c := EfficiencyCurve(&m, a100Floor, testOptions())
			assert.False(t, c.Fit.OK)
			assert.Contains(t, c.Fit.Reason, tc.reason)
			assert.True(t, math.IsNaN(c.Fit.KJPerToken))
			require.Equal(t, 100, c.Points.Len())
			for i := range c.Points.Len() {
				p := c.Points.At(i)
				assert.Equal(t, tc.rates[i], p.TokensPerS)
				assert.Equal(t, 720+3.5*tc.rates[i], p.PowerW)
				if tc.rates[i] == 0 {
					assert.True(t, math.IsNaN(p.JPerToken), "J/token is null at idle steps")
				} else {
					assert.InDelta(t, (720+3.5*tc.rates[i])/tc.rates[i], p.JPerToken, 1e-12)
				}
			}
		})
	}
}

func TestBinsHoldTheQuantilesOfTheirPoints(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	rates := make([]float64, 3000)
	for i := range rates {
		rates[i] = math.Exp(rng.Float64() * math.Log(2000)) // 1-2000 tok/s, log-uniform
		if i%10 == 0 {
			rates[i] = 0
		}
	}
	m := served("gemma-4-31B", a6000, sdsc, 2, 105, 1.2, rates)
	for i := range m.Placements[0].PowerW {
		m.Placements[0].PowerW[i] += 10 * rng.NormFloat64()
	}
	c := EfficiencyCurve(&m, IdleFloors{}, testOptions())

	require.NotEmpty(t, c.Bins)
	assert.LessOrEqual(t, len(c.Bins), CurveBinCount)
	total := 0
	for b, bin := range c.Bins {
		var j []float64
		for i := range c.Points.Len() {
			p := c.Points.At(i)
			last := b == len(c.Bins)-1
			if p.TokensPerS >= bin.LowTokensPerS*(1-1e-12) && (p.TokensPerS < bin.HighTokensPerS || last) && !math.IsNaN(p.JPerToken) {
				j = append(j, p.JPerToken)
			}
		}
		require.Equal(t, len(j), bin.Count, "bin %d", b)
		assert.InDelta(t, Quantile(j, 0.5), bin.JPerTokenMedian, 1e-12)
		assert.InDelta(t, Quantile(j, 0.1), bin.JPerTokenP10, 1e-12)
		assert.InDelta(t, Quantile(j, 0.9), bin.JPerTokenP90, 1e-12)
		assert.InDelta(t, math.Sqrt(bin.LowTokensPerS*bin.HighTokensPerS), bin.TokensPerS, 1e-9)
		if b > 0 {
			assert.Greater(t, bin.LowTokensPerS, c.Bins[b-1].LowTokensPerS)
		}
		total += bin.Count
	}
	assert.Equal(t, c.Fit.BusySteps, total)
	assert.Equal(t, 2700, total)
}

func TestQuantileInPlaceMatchesQuantile(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{1, 2, 3, 7, 100, 1001} {
		for _, dupes := range []bool{false, true} {
			vals := make([]float64, n)
			for i := range vals {
				vals[i] = rng.Float64() * 100
				if dupes {
					vals[i] = math.Round(vals[i] / 20)
				}
			}
			qs := []float64{0, 0.1, 0.25, 0.5, 0.9, 1}
			for _, q := range qs {
				buf := append([]float64(nil), vals...)
				assert.InDelta(t, Quantile(vals, q), quantileInPlace(buf, q), 1e-12, "n=%d dupes=%v q=%v", n, dupes, q)
			}
			buf, all := append([]float64(nil), vals...), make([]float64, len(qs))
			quantilesInPlace(buf, qs, all)
			for j, q := range qs {
				assert.InDelta(t, Quantile(vals, q), all[j], 1e-12, "together: n=%d dupes=%v q=%v", n, dupes, q)
			}
		}
	}
	assert.True(t, math.IsNaN(quantileInPlace(nil, 0.5)))
}

func TestNoDiminishingReturnsRateWithoutPowerAtZeroTraffic(t *testing.T) {
	m := served("odd-model", a100, sdsc, 8, 0, 3.5, ramp(100, 100, 400))
	for i := range m.Placements[0].PowerW {
		m.Placements[0].PowerW[i] -= 50 // the line crosses zero power above zero traffic
	}
	c := EfficiencyCurve(&m, a100Floor, testOptions())
	require.True(t, c.Fit.OK, c.Fit.Reason)
	assert.InDelta(t, -50, c.Fit.P0W, 1e-9)
	assert.True(t, math.IsNaN(c.Fit.DiminishingReturnsTokensPerS))
}

// With little power at zero traffic (8 x 10 W), returns diminish early: above 4 x 80 / 3.5 = 91 tok/s doubling
// the traffic saves less than 10% of J/token (J(2r) / J(r) = 0.9 exactly there), well within capacity.
func TestDiminishingReturnsWithinCapacity(t *testing.T) {
	m := served("acme/small", a100, sdsc, 8, 10, 3.5, ramp(500, 5, 400))
	c := EfficiencyCurve(&m, IdleFloors{a100: {GPUType: a100, W: 10, Source: IdleSetting, Known: true}}, testOptions())
	require.True(t, c.Fit.OK, c.Fit.Reason)
	r := c.Fit.DiminishingReturnsTokensPerS
	assert.InDelta(t, 4*80/3.5, r, 1e-6)
	j := func(rate float64) float64 { return 80/rate + 3.5 }
	assert.InDelta(t, 0.9, j(2*r)/j(r), 1e-9)
}
