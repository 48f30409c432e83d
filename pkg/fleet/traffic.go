package fleet

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Traffic is how a model's requests were spread over the window: what right-sizing and consolidation judge.
// It counts only steps with both power and token data ("steps with data"): a model whose token series is
// missing (a broken join) must not look idle.
type Traffic struct {
	// GPUs is the allocation the model held for most of its steps with power data.
	GPUs int
	// DataSteps are the steps with power and token data; History is their duration.
	DataSteps int
	History   time.Duration
	// P95TokensPerS is the 95th percentile of the token rate over the steps with data.
	P95TokensPerS float64
	// PeakTokensPerSPerGPU is the 99th percentile of token rate / GPUs held: the observed peak per GPU,
	// robust to a single glitched step.
	PeakTokensPerSPerGPU float64
	// IdleShare is the share of steps with data below the idle threshold.
	IdleShare float64
	// Idle runs: consecutive steps with data below the idle threshold (steps without data neither break nor
	// extend a run). TypicalIdleGap is their median length; IdleFor the run that ends the model's data
	// (how long it has gone without a request); BusyRuns the runs of busy steps (each one a wake-up after
	// a spin-down to zero).
	IdleRuns       int
	TypicalIdleGap time.Duration
	LongestIdleGap time.Duration
	IdleFor        time.Duration
	BusyRuns       int
	// Current is true when the model had data in the last RecentSteps steps of the grid: it still runs.
	Current bool
}

// RecentSteps is how close to the end of the window a model's last data must be for it to count as running:
// the newest step is often still being scraped.
const RecentSteps = 5

// MeasureTraffic is the traffic of one model over the grid g.
func MeasureTraffic(m *Model, g Grid, o Options) Traffic {
	var t Traffic
	if m.Unallocated || len(m.Placements) == 0 {
		return t
	}
	steps := modelSteps{m: m, o: &o}
	power, gpus := m.PowerW(), m.GPUs()
	step := g.Step

	sc := trafficPool.Get().(*trafficScratch)
	defer trafficPool.Put(sc)
	rates, perGPU := sc.rates[:0], sc.perGPU[:0]
	defer func() { sc.rates, sc.perGPU = rates, perGPU }()
	t.GPUs = m.Allocation().GPUs
	var idleRuns []int
	run, idle, lastData := 0, false, -1
	endRun := func() {
		if idle && run > 0 {
			idleRuns = append(idleRuns, run)
		}
		run = 0
	}
	for i := 0; i < g.N; i++ {
		w, n := at(power, i), at(gpus, i)
		if math.IsNaN(w) || math.IsNaN(n) || n <= 0 {
			continue
		}
		r := steps.tokensPerS(i)
		if math.IsNaN(r) {
			continue
		}
		lastData = i
		rates = append(rates, r)
		perGPU = append(perGPU, r/n)
		isIdle := o.isIdle(r)
		if isIdle != idle || run == 0 {
			endRun()
			idle = isIdle
			if !idle {
				t.BusyRuns++
			}
		}
		run++
	}
	t.Current = lastData >= 0 && lastData >= g.N-RecentSteps
	if idle {
		t.IdleFor = time.Duration(run) * step
	}
	endRun()

	t.DataSteps = len(rates)
	t.History = time.Duration(t.DataSteps) * step
	t.P95TokensPerS, t.PeakTokensPerSPerGPU, t.IdleShare = math.NaN(), math.NaN(), math.NaN()
	if t.DataSteps == 0 {
		return t
	}
	// By selection, in place: rates and perGPU are this function's own buffers.
	t.P95TokensPerS = quantileInPlace(rates, 0.95)
	t.PeakTokensPerSPerGPU = quantileInPlace(perGPU, 0.99)
	idleSteps := 0
	for _, r := range idleRuns {
		idleSteps += r
	}
	t.IdleShare = float64(idleSteps) / float64(t.DataSteps)
	t.IdleRuns = len(idleRuns)
	if len(idleRuns) > 0 {
		slices.Sort(idleRuns)
		t.TypicalIdleGap = time.Duration(QuantileSorted(intsToFloats(idleRuns), 0.5) * float64(step))
		t.LongestIdleGap = time.Duration(idleRuns[len(idleRuns)-1]) * step
	}
	return t
}

// trafficScratch holds MeasureTraffic's per-step buffers, reused across models and calls: at 30 days of 60 s
// steps they are 700 kB per model.
type trafficScratch struct{ rates, perGPU []float64 }

var trafficPool = sync.Pool{New: func() any { return new(trafficScratch) }}

// WakeupsPerDay is how often a model spun down to zero between requests would have started again.
func (t Traffic) WakeupsPerDay() float64 {
	if t.History <= 0 {
		return math.NaN()
	}
	return float64(t.BusyRuns) / t.History.Hours() * 24
}

func intsToFloats(v []int) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
