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
	// Slopes splits the per-token energy between prompt and generation tokens where both vary.
	Slopes TwoSlopes
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
	tokens, power, buf := s.load(n)
	defer buf.release()
	limits := s.loadLimits(n, buf)
	lo, hi := math.Inf(1), math.Inf(-1) // busy rates' range, for the bins
	for i, r := range tokens {
		if !s.busy(r) {
			continue
		}
		w := power[i]
		if w != w {
			continue
		}
		sc.busyX = append(sc.busyX, r)
		sc.busyJ = append(sc.busyJ, w/r)
		lo, hi = min(lo, r), max(hi, r)
		if w >= PowerCapFraction*limits[i] { // false where the limit is unknown (NaN)
			sc.cappedX = append(sc.cappedX, r)
			continue
		}
		sc.fitX = append(sc.fitX, r)
		sc.fitY = append(sc.fitY, w)
		sc.fitI = append(sc.fitI, i)
	}
	c.Bins = binCurve(sc.busyX, sc.busyJ, lo, hi, sc)
	c.Fit = fitPowerLine(sc.fitX, sc.fitY, sc)
	c.Slopes = fitTwoSlopes(m, sc.fitI, sc.fitY, sc)
	c.Fit.BusySteps = len(sc.busyX)
	c.Fit.CappedSteps = len(sc.cappedX)
	c.Fit.CapStartsTokensPerS = math.NaN()
	if len(sc.cappedX) > 0 {
		// A low quantile, not the minimum: one throttled step in a prefill burst does not make a cap rate.
		c.Fit.CapStartsTokensPerS = quantileInPlace(sc.cappedX, 0.1)
	}
	if servesUpTo := c.Fit.servesUpTo(limits); c.Fit.DiminishingReturnsTokensPerS > servesUpTo {
		c.Fit.DiminishingReturnsTokensPerS = math.NaN()
	}
	if len(sc.busyX) == 0 {
		c.Fit.Reason = "the model served no tokens above the idle threshold in this window"
	} else if !c.Fit.OK && len(sc.cappedX) > 0 && len(sc.fitX) < MinFitSteps {
		c.Fit.Reason += fmt.Sprintf(" (%d of its %d busy steps were at the power cap)", len(sc.cappedX), len(sc.busyX))
	}
	return c
}

// servesUpTo is the most the fitted GPUs serve: the rate where capping starts, else where the fit reaches the
// mean summed power limit of the steps; +Inf where neither is known.
func (f Fit) servesUpTo(limits Series) float64 {
	if !math.IsNaN(f.CapStartsTokensPerS) {
		return f.CapStartsTokensPerS
	}
	if limit := Mean(limits); f.OK && !math.IsNaN(limit) {
		return (limit - f.P0W) / f.KJPerToken
	}
	return math.Inf(1)
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
// quantiles of J/token per bin by selection: linear time, no sort. A bin of more than BinQuantileSample points
// takes its quantiles from that many of them, evenly spaced in time.
// lo and hi are the least and greatest of x.
func binCurve(x, j []float64, lo, hi float64, sc *curveScratch) []CurveBin {
	if len(x) == 0 {
		return nil
	}
	nb := CurveBinCount
	width := math.Log2(hi/lo) / float64(nb) // in log2 units
	if !(width > 0) {
		nb, width = 1, 1
	}
	var edges [CurveBinCount + 1]float64
	for b := range nb {
		edges[b] = lo * math.Exp2(float64(b)*width)
	}
	edges[nb] = hi

	var counts [CurveBinCount + 1]int
	if cap(sc.bin) < len(x) {
		sc.bin = make([]uint8, len(x))
	}
	bin := sc.bin[:len(x)]
	index := newBinIndex(edges[:nb+1], &sc.binTable)
	for i, v := range x {
		b := index.of(v)
		bin[i] = b
		counts[b+1]++
	}
	for b := 1; b <= nb; b++ {
		counts[b] += counts[b-1]
	}
	grouped := grow(sc.tmp, len(j))
	fill := counts
	for i, v := range j {
		b := bin[i]
		grouped[fill[b]] = v
		fill[b]++
	}
	bins := make([]CurveBin, 0, nb)
	for b := range nb {
		seg := grouped[counts[b]:counts[b+1]]
		if len(seg) == 0 {
			continue
		}
		count := len(seg)
		if count > BinQuantileSample {
			for i := range BinQuantileSample {
				seg[i] = seg[i*count/BinQuantileSample]
			}
			seg = seg[:BinQuantileSample]
		}
		var q [3]float64
		quantilesInPlace(seg, []float64{0.1, 0.5, 0.9}, q[:])
		bins = append(bins, CurveBin{
			LowTokensPerS: edges[b], HighTokensPerS: edges[b+1], TokensPerS: math.Sqrt(edges[b] * edges[b+1]),
			JPerTokenP10: q[0], JPerTokenMedian: q[1], JPerTokenP90: q[2],
			Count: count,
		})
	}
	sc.tmp = grouped
	return bins
}

// BinQuantileSample bounds the points a bin's J/token quantiles are taken from: 512 points place a quantile
// within about 2% of its rank, finer than the band is drawn.
const BinQuantileSample = 512

// binIndex finds the bin of a positive value among ascending edges (bin b holds [edges[b], edges[b+1]), the
// last bin also its upper edge) with a lookup table keyed by the value's exponent and top mantissa bits:
// a search per value would cost more than the rest of the binning. Table entries whose range of values
// straddles an edge say so, and those values are searched.
type binIndex struct {
	edges []float64
	table []uint8
	base  uint64
}

const (
	binKeyShift   = 52 - 6 // exponent and 6 mantissa bits: 64 keys per power of two
	binStraddles  = 0xff
	binTableLimit = 1 << 12
)

func newBinIndex(edges []float64, table *[]uint8) binIndex {
	ix := binIndex{edges: edges}
	lo, hi := math.Float64bits(edges[0])>>binKeyShift, math.Float64bits(edges[len(edges)-1])>>binKeyShift
	if hi-lo >= binTableLimit {
		return ix // a range of over 60 powers of two: search every value
	}
	ix.base = lo
	if uint64(cap(*table)) <= hi-lo {
		*table = make([]uint8, binTableLimit)
	}
	ix.table = (*table)[:hi-lo+1]
	for k := range ix.table {
		from := math.Float64frombits((lo + uint64(k)) << binKeyShift)
		to := math.Float64frombits((lo+uint64(k)+1)<<binKeyShift - 1) // largest value with this key
		ix.table[k] = binStraddles
		if b := ix.search(from); b == ix.search(to) {
			ix.table[k] = b
		}
	}
	return ix
}

func (ix binIndex) of(v float64) uint8 {
	if k := math.Float64bits(v)>>binKeyShift - ix.base; k < uint64(len(ix.table)) {
		if b := ix.table[k]; b != binStraddles {
			return b
		}
	}
	return ix.search(v)
}

func (ix binIndex) search(v float64) uint8 {
	b := 0
	for b < len(ix.edges)-2 && v >= ix.edges[b+1] {
		b++
	}
	return uint8(b)
}

// curveScratch holds the per-model working buffers of EfficiencyCurve, reused across models and calls.
type curveScratch struct {
	busyX, busyJ, cappedX, fitX, fitY []float64
	fitI                              []int // the grid steps of fitX
	planeBuf                          []float64
	keep                              []bool
	sampleX, sampleY, tmp, slopes     []float64
	bin, binTable                     []uint8
}

var scratchPool = sync.Pool{New: func() any { return new(curveScratch) }}

func (sc *curveScratch) reset() {
	sc.busyX, sc.busyJ, sc.cappedX = sc.busyX[:0], sc.busyJ[:0], sc.cappedX[:0]
	sc.fitX, sc.fitY, sc.fitI = sc.fitX[:0], sc.fitY[:0], sc.fitI[:0]
}

// grow is buf resized to n, reallocated only when too small.
func grow(buf []float64, n int) []float64 {
	if cap(buf) < n {
		return make([]float64, n)
	}
	return buf[:n]
}
