package fleet

import "math"

// PowerW is the model's total power at each step: the sum over its placements. A step is missing only when
// every placement is missing there.
func (m *Model) PowerW() Series {
	return m.sumPlacements(func(p *Placement) Series { return p.PowerW })
}

// GPUs is the number of GPUs the model holds at each step.
func (m *Model) GPUs() Series { return m.sumPlacements(func(p *Placement) Series { return p.GPUs }) }

func (m *Model) sumPlacements(pick func(*Placement) Series) Series {
	if len(m.Placements) == 1 {
		return pick(&m.Placements[0])
	}
	var out Series
	for i := range m.Placements {
		s := pick(&m.Placements[i])
		if out == nil {
			out = NewSeries(len(s))
		}
		for j, v := range s {
			if math.IsNaN(v) {
				continue
			}
			if math.IsNaN(out[j]) {
				out[j] = v
			} else {
				out[j] += v
			}
		}
	}
	return out
}

// GPUType is the type of most of the model's GPUs (by GPU-steps); "" when it holds none.
func (m *Model) GPUType() string {
	best, bestSteps := "", -1.0
	steps := map[string]float64{}
	for i := range m.Placements {
		p := &m.Placements[i]
		gpuSteps := 0.0
		for _, v := range p.GPUs {
			if !math.IsNaN(v) {
				gpuSteps += v
			}
		}
		steps[p.GPUType] += gpuSteps
		if s := steps[p.GPUType]; s > bestSteps || (s == bestSteps && p.GPUType < best) {
			best, bestSteps = p.GPUType, s
		}
	}
	return best
}

// TokensPerS is the model's token rate at each step, counting the tokens of kind.
func (m *Model) TokensPerS(kind TokenKind) Series {
	if kind == TokensGeneration {
		return m.GenerationTokensPerS
	}
	out := make(Series, len(m.GenerationTokensPerS))
	for i, g := range m.GenerationTokensPerS {
		p := math.NaN()
		if i < len(m.PromptTokensPerS) {
			p = m.PromptTokensPerS[i]
		}
		switch {
		case math.IsNaN(g):
			out[i] = p
		case math.IsNaN(p):
			out[i] = g
		default:
			out[i] = g + p
		}
	}
	return out
}

// Tokens is the model's token total over the window, counting the tokens of kind; NaN when unknown.
func (m *Model) Tokens(kind TokenKind) float64 {
	if kind == TokensGeneration {
		return m.GenerationTokens
	}
	return nanSum(m.GenerationTokens, m.PromptTokens)
}

// EnergyJ is the model's energy over the window, summed over its placements; NaN when unknown.
func (m *Model) EnergyJ() float64 {
	total := math.NaN()
	for i := range m.Placements {
		total = nanSum(total, m.Placements[i].EnergyJ)
	}
	return total
}

// nanSum adds a and b treating NaN as "no data": NaN only when both are.
func nanSum(a, b float64) float64 {
	switch {
	case math.IsNaN(a):
		return b
	case math.IsNaN(b):
		return a
	}
	return a + b
}
