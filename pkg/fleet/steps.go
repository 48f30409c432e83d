package fleet

import (
	"math"
	"sync"
)

// modelSteps holds what the analyses need per placement of one model (idle floor, carbon, TDP) and reads its
// per-step quantities. The analyses load a model's token rate and power once into pooled buffers (load) and
// run tight loops over them: at 30 days of 60 s steps, reading the series from memory is most of their cost.
type modelSteps struct {
	m *Model
	o *Options
	// floorW is the idle floor per GPU of each placement's GPU type.
	floorW []float64
	// carbon is each placement's site: PUE, table and live grid intensity.
	carbon []placementCarbon
	// tdpW is the catalog TDP per GPU of each placement's GPU type; 0 when unknown.
	tdpW []float64
}

func newModelSteps(m *Model, floors IdleFloors, o *Options) modelSteps {
	s := modelSteps{
		m:      m,
		o:      o,
		floorW: make([]float64, len(m.Placements)),
		carbon: make([]placementCarbon, len(m.Placements)),
		tdpW:   make([]float64, len(m.Placements)),
	}
	for i := range m.Placements {
		p := &m.Placements[i]
		s.floorW[i] = floors.ForModel(m.Name, p.GPUType).W
		s.carbon[i] = o.Carbon.placement(p.Host)
		if spec, ok := o.GPUs.Lookup(p.GPUType); ok {
			s.tdpW[i] = spec.TDPW
		}
	}
	return s
}

// busy reports whether a step served tokens above the idle threshold (an unknown rate is not busy).
func (s *modelSteps) busy(tokensPerS float64) bool {
	return !s.m.Unallocated && tokensPerS == tokensPerS && !s.o.isIdle(tokensPerS)
}

// idle reports whether a step is known to have served nothing above the idle threshold: all of its power is
// idle overhead. A step with an unknown rate is neither busy nor idle.
func (s *modelSteps) idle(tokensPerS float64) bool {
	return s.m.Unallocated || (tokensPerS == tokensPerS && s.o.isIdle(tokensPerS))
}

// placementIdleW is the idle part of power w of a placement holding gpus GPUs of idle floor floorW: all of it
// at an idle step, else the GPUs' idle floor, capped at w.
func placementIdleW(w, gpus, floorW float64, idle bool) float64 {
	if f := gpus * floorW; f < w && !idle { // f is NaN when the GPU count is unknown: then all of w is idle
		return f
	}
	return w
}

// stepBuffers are a model's token rate and power over the grid, reused from model to model.
type stepBuffers struct {
	tokens, power, limits Series
}

var stepBufferPool = sync.Pool{New: func() any { return new(stepBuffers) }}

// load returns the model's counted token rate and total power at each of n steps (NaN where unknown), and the
// buffers to release when done. Series that already are the answer (generation tokens, the power of a
// single placement) are returned as they are, not copied.
func (s *modelSteps) load(n int) (tokens, power Series, buf *stepBuffers) {
	buf = stepBufferPool.Get().(*stepBuffers)
	return s.loadTokens(n, buf), s.loadPower(n, buf), buf
}

func (s *modelSteps) loadTokens(n int, buf *stepBuffers) Series {
	gen := fitLen(s.m.GenerationTokensPerS, n)
	if s.o.Tokens == TokensGeneration {
		return gen
	}
	prompt := fitLen(s.m.PromptTokensPerS, n)
	buf.tokens = growSeries(buf.tokens, n)
	for i, g := range gen {
		t := g + prompt[i]
		if t != t { // one of them unknown (rare): nanSum semantics
			t = nanSum(g, prompt[i])
		}
		buf.tokens[i] = t
	}
	return buf.tokens
}

func (s *modelSteps) loadPower(n int, buf *stepBuffers) Series {
	if len(s.m.Placements) == 1 {
		return fitLen(s.m.Placements[0].PowerW, n)
	}
	buf.power = growSeries(buf.power, n)
	for i := range buf.power {
		buf.power[i] = math.NaN()
	}
	for p := range s.m.Placements {
		for i, w := range fitLen(s.m.Placements[p].PowerW, n) {
			buf.power[i] = nanSum(buf.power[i], w)
		}
	}
	return buf.power
}

func (b *stepBuffers) release() { stepBufferPool.Put(b) }

// fitLen is s if it has n steps, else a copy cut or padded with NaN to n steps (sources may leave a series
// short or nil).
func fitLen(s Series, n int) Series {
	if len(s) == n {
		return s
	}
	out := NewSeries(n)
	copy(out, s)
	return out
}

func growSeries(s Series, n int) Series {
	if cap(s) < n {
		return make(Series, n)
	}
	return s[:n]
}

// at is s[i], NaN past its end.
func at(s Series, i int) float64 {
	if i < len(s) {
		return s[i]
	}
	return math.NaN()
}

// tokensPerS is the rate of the counted tokens at step i; NaN when unknown. For reading single steps; the
// analyses use load.
func (s *modelSteps) tokensPerS(i int) float64 {
	g := at(s.m.GenerationTokensPerS, i)
	if s.o.Tokens == TokensGeneration {
		return g
	}
	return nanSum(g, at(s.m.PromptTokensPerS, i))
}

// powerW is the model's power at step i; NaN when no placement reported.
func (s *modelSteps) powerW(i int) float64 {
	total := math.NaN()
	for p := range s.m.Placements {
		total = nanSum(total, at(s.m.Placements[p].PowerW, i))
	}
	return total
}

// limitW is the summed power limit of the model's GPUs at step i: see placementLimitW; NaN when a reporting
// placement's limit is unknown.
func (s *modelSteps) limitW(i int) float64 {
	total := 0.0
	for p := range s.m.Placements {
		pl := &s.m.Placements[p]
		total += s.placementLimitW(p, at(pl.PowerW, i), at(pl.PowerLimitW, i), at(pl.GPUs, i))
	}
	return total
}

// loadLimits is limitW at each of n steps, in buf.
func (s *modelSteps) loadLimits(n int, buf *stepBuffers) Series {
	buf.limits = growSeries(buf.limits, n)
	clear(buf.limits)
	for p := range s.m.Placements {
		pl := &s.m.Placements[p]
		power, gpus := fitLen(pl.PowerW, n), fitLen(pl.GPUs, n)
		limits := pl.PowerLimitW
		if limits != nil {
			limits = fitLen(limits, n)
		}
		for i, w := range power {
			l := math.NaN()
			if limits != nil {
				l = limits[i]
			}
			buf.limits[i] += s.placementLimitW(p, w, l, gpus[i])
		}
	}
	return buf.limits
}

// placementLimitW is the power limit of placement p at a step where it drew w with gpus GPUs and exported
// limitW (NaN when not exported): that limit, else gpus x the catalog TDP; 0 where the placement did not
// report power; NaN where its limit is unknown.
func (s *modelSteps) placementLimitW(p int, w, limitW, gpus float64) float64 {
	if w != w {
		return 0
	}
	if limitW != limitW {
		limitW = gpus * s.tdpW[p]
	}
	if !(limitW > 0) {
		return math.NaN()
	}
	return limitW
}

// capped reports whether power w at step i is at the GPUs' power limit.
func (s *modelSteps) capped(i int, w float64) bool {
	return w >= PowerCapFraction*s.limitW(i) // false when the limit is NaN
}
