package fleet

import "math"

// modelSteps reads one model's per-step quantities straight from its placements, so the analyses never
// materialize intermediate series (a 30-day window at 60 s is 43,200 steps per model).
type modelSteps struct {
	m *Model
	o *Options
	// floorW is the idle floor per GPU of each placement's GPU type.
	floorW []float64
	// gPerJ is grams of CO2 per joule at each placement's host, PUE included.
	gPerJ []float64
	// tdpW is the catalog TDP per GPU of each placement's GPU type; 0 when unknown.
	tdpW []float64
}

func newModelSteps(m *Model, floors IdleFloors, o *Options) modelSteps {
	s := modelSteps{
		m:      m,
		o:      o,
		floorW: make([]float64, len(m.Placements)),
		gPerJ:  make([]float64, len(m.Placements)),
		tdpW:   make([]float64, len(m.Placements)),
	}
	for i := range m.Placements {
		p := &m.Placements[i]
		s.floorW[i] = floors.For(p.GPUType).W
		s.gPerJ[i] = o.Carbon.gPerJ(p.Host)
		if spec, ok := o.GPUs.Lookup(p.GPUType); ok {
			s.tdpW[i] = spec.TDPW
		}
	}
	return s
}

// at is s[i], NaN past its end: sources may leave a series short or nil.
func at(s Series, i int) float64 {
	if i < len(s) {
		return s[i]
	}
	return math.NaN()
}

// tokensPerS is the rate of the counted tokens at step i; NaN when unknown.
func (s *modelSteps) tokensPerS(i int) float64 {
	g := at(s.m.GenerationTokensPerS, i)
	if s.o.Tokens == TokensGeneration {
		return g
	}
	return nanSum(g, at(s.m.PromptTokensPerS, i))
}

// busy reports whether step i served tokens above the idle threshold (unknown rates are not busy).
func (s *modelSteps) busy(tokensPerS float64) bool {
	return !s.m.Unallocated && !math.IsNaN(tokensPerS) && !s.o.isIdle(tokensPerS)
}

// powerW is the model's power at step i; NaN when no placement reported.
func (s *modelSteps) powerW(i int) float64 {
	total := math.NaN()
	for p := range s.m.Placements {
		total = nanSum(total, at(s.m.Placements[p].PowerW, i))
	}
	return total
}

// placementIdleW is the idle part of placement p's power w at step i: all of it when the model is not busy,
// else its GPUs times their idle floor, capped at w.
func (s *modelSteps) placementIdleW(p, i int, w float64, busy bool) float64 {
	if !busy {
		return w
	}
	gpus := at(s.m.Placements[p].GPUs, i)
	if math.IsNaN(gpus) {
		return w
	}
	return math.Min(gpus*s.floorW[p], w)
}

// limitW is the summed power limit of the model's GPUs at step i: the exported limit where there is one,
// else GPUs x catalog TDP; NaN when any placement's limit is unknown.
func (s *modelSteps) limitW(i int) float64 {
	total := 0.0
	for p := range s.m.Placements {
		pl := &s.m.Placements[p]
		if math.IsNaN(at(pl.PowerW, i)) {
			continue
		}
		l := at(pl.PowerLimitW, i)
		if math.IsNaN(l) {
			l = at(pl.GPUs, i) * s.tdpW[p]
		}
		if math.IsNaN(l) || l <= 0 {
			return math.NaN()
		}
		total += l
	}
	return total
}
