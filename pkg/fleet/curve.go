package fleet

import (
	"fmt"
	"math"
	"sync"
)

// Curve is how a model's energy per token changes with its traffic.
type Curve struct {
	Model   string
	GPUType string
	// Points are the model's steps as (tokens/s, J/token) points.
	Points CurvePoints
	// Bins summarize the busy points over log-spaced throughput bins; empty bins are left out.
	Bins []CurveBin
	Fit  Fit
}

// CurvePoint is one step of a model. JPerToken is NaN below the idle threshold; TokensPerS or PowerW are NaN
// where the step has no data.
type CurvePoint struct {
	// Step is the grid step: its time is Fleet.Grid.At(Step).
	Step       int
	TokensPerS float64
	JPerToken  float64
	PowerW     float64
	// Capped marks a step at the GPUs' power limit (power stops growing with tokens): kept out of the fit.
	Capped bool
}

// CurvePoints reads the points from the model's series on demand: at 43,200 steps per model, a copy per model
// would cost more than every analysis together.
type CurvePoints struct {
	s modelSteps
	n int
}

// Len is the number of points: one per step of the model's series.
func (p CurvePoints) Len() int { return p.n }

// At is the point of step i.
func (p CurvePoints) At(i int) CurvePoint {
	r, w := p.s.tokensPerS(i), p.s.powerW(i)
	pt := CurvePoint{Step: i, TokensPerS: r, PowerW: w, JPerToken: math.NaN()}
	if p.s.busy(r) {
		pt.JPerToken = w / r
		pt.Capped = p.s.capped(i, w)
	}
	return pt
}

// PowerCapFraction is how close to the summed power limit a step's power must be to count as capped: power
// averaged over a step sits a little under the limit even when the GPUs are throttled.
const PowerCapFraction = 0.95

func (s *modelSteps) capped(i int, w float64) bool {
	return w >= PowerCapFraction*s.limitW(i) // false when the limit is NaN
}

// CurveBin is the spread of J/token among busy steps whose token rate falls in [LowTokensPerS, HighTokensPerS).
type CurveBin struct {
	LowTokensPerS, HighTokensPerS float64
	// TokensPerS is the bin's geometric center.
	TokensPerS      float64
	JPerTokenMedian float64
	JPerTokenP10    float64
	JPerTokenP90    float64
	Count           int
}

// CurveBinCount is the number of log-spaced throughput bins between a model's lowest and highest busy rate.
const CurveBinCount = 20

// EfficiencyCurve is the efficiency curve of one model: its points, binned medians of J/token over busy
// steps, and a robust fit of power_w = p0_w + k x tokens_per_s over its busy, un-capped steps (see fitPowerLine).
// A model with too few such steps gets points and bins but no fit, and Fit.Reason says why.
func EfficiencyCurve(m *Model, floors IdleFloors, o Options) Curve {
	s := newModelSteps(m, floors, &o)
	n := m.steps()
	c := Curve{Model: m.Name, GPUType: m.GPUType(), Points: CurvePoints{s: s, n: n}}

	sc := scratchPool.Get().(*curveScratch)
	defer scratchPool.Put(sc)
	sc.reset()
	for i := range n {
		r := s.tokensPerS(i)
		if !s.busy(r) {
			continue
		}
		w := s.powerW(i)
		if math.IsNaN(w) {
			continue
		}
		sc.busyX = append(sc.busyX, r)
		sc.busyJ = append(sc.busyJ, w/r)
		if s.capped(i, w) {
			sc.cappedX = append(sc.cappedX, r)
			continue
		}
		sc.fitX = append(sc.fitX, r)
		sc.fitY = append(sc.fitY, w)
	}
	c.Bins = binCurve(sc.busyX, sc.busyJ, sc)
	c.Fit = fitPowerLine(sc.fitX, sc.fitY, sc)
	c.Fit.BusySteps = len(sc.busyX)
	c.Fit.CappedSteps = len(sc.cappedX)
	c.Fit.CapStartsTokensPerS = math.NaN()
	if len(sc.cappedX) > 0 {
		// A low quantile, not the minimum: one throttled step in a prefill burst does not make a cap rate.
		c.Fit.CapStartsTokensPerS = quantileInPlace(sc.cappedX, 0.1)
	}
	if len(sc.busyX) == 0 {
		c.Fit.Reason = "the model served no tokens above the idle threshold in this window"
	} else if !c.Fit.OK && len(sc.cappedX) > 0 && len(sc.fitX) < MinFitSteps {
		c.Fit.Reason += fmt.Sprintf(" (%d of its %d busy steps were at the power cap)", len(sc.cappedX), len(sc.busyX))
	}
	return c
}

// steps is the length of the model's longest series.
func (m *Model) steps() int {
	n := max(len(m.GenerationTokensPerS), len(m.PromptTokensPerS))
	for _, p := range m.Placements {
		n = max(n, len(p.PowerW))
	}
	return n
}

// binCurve groups the busy points by log-spaced throughput bin (a counting sort into scratch) and takes the
// quantiles of J/token per bin by selection: linear time, no sort.
func binCurve(x, j []float64, sc *curveScratch) []CurveBin {
	if len(x) == 0 {
		return nil
	}
	lo, hi := x[0], x[0]
	for _, v := range x {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	nb := CurveBinCount
	logLo := math.Log(lo)
	width := (math.Log(hi) - logLo) / float64(nb)
	if !(width > 0) {
		nb, width = 1, 1
	}
	var counts [CurveBinCount + 1]int
	sc.bin = sc.bin[:0]
	for _, v := range x {
		b := min(int((math.Log(v)-logLo)/width), nb-1)
		sc.bin = append(sc.bin, uint8(b))
		counts[b+1]++
	}
	for b := 1; b <= nb; b++ {
		counts[b] += counts[b-1]
	}
	grouped := grow(sc.tmp, len(j))
	fill := counts
	for i, v := range j {
		b := sc.bin[i]
		grouped[fill[b]] = v
		fill[b]++
	}
	bins := make([]CurveBin, 0, nb)
	for b := range nb {
		seg := grouped[counts[b]:counts[b+1]]
		if len(seg) == 0 {
			continue
		}
		low, high := math.Exp(logLo+float64(b)*width), math.Exp(logLo+float64(b+1)*width)
		if nb == 1 {
			low, high = lo, hi
		}
		bins = append(bins, CurveBin{
			LowTokensPerS: low, HighTokensPerS: high, TokensPerS: math.Sqrt(low * high),
			JPerTokenMedian: quantileInPlace(seg, 0.5),
			JPerTokenP10:    quantileInPlace(seg, 0.1),
			JPerTokenP90:    quantileInPlace(seg, 0.9),
			Count:           len(seg),
		})
	}
	sc.tmp = grouped
	return bins
}

// curveScratch holds the per-model working buffers of EfficiencyCurve, reused across models and calls.
type curveScratch struct {
	busyX, busyJ, cappedX, fitX, fitY []float64
	tmp, slopes                       []float64
	bin                               []uint8
}

var scratchPool = sync.Pool{New: func() any { return new(curveScratch) }}

func (sc *curveScratch) reset() {
	sc.busyX, sc.busyJ, sc.cappedX = sc.busyX[:0], sc.busyJ[:0], sc.cappedX[:0]
	sc.fitX, sc.fitY = sc.fitX[:0], sc.fitY[:0]
}

// grow is buf resized to n, reallocated only when too small.
func grow(buf []float64, n int) []float64 {
	if cap(buf) < n {
		return make([]float64, n)
	}
	return buf[:n]
}
