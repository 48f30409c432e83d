package fleet

import (
	"fmt"
	"math"
)

// StepMetric is a per-step quantity of a model, named as in the query contract.
type StepMetric string

const (
	MetricPowerW       StepMetric = "power_w"
	MetricTokensPerS   StepMetric = "tokens_per_s"
	MetricJPerToken    StepMetric = "j_per_token"
	MetricIdleFraction StepMetric = "idle_fraction"
	MetricCO2GPerH     StepMetric = "co2_g_per_h"
	// MetricCostPerH is what the GPUs cost per hour at each step: their power at the site's price (PUE
	// included) and the GPUs held at their hourly cost; NaN where a price is missing.
	MetricCostPerH StepMetric = "cost_per_h"
)

// StepMetrics lists every StepMetric.
var StepMetrics = []StepMetric{MetricPowerW, MetricTokensPerS, MetricJPerToken, MetricIdleFraction, MetricCO2GPerH, MetricCostPerH}

// StepSeries is one metric of a model at every step of the grid (n steps): power_w; tokens_per_s;
// j_per_token = power / tokens per step, NaN where the model is idle (below the idle threshold); idle_fraction
// = idle power / power, 1 at idle steps; co2_g_per_h from each placement's power and its site's PUE and grid
// intensity at the step; cost_per_h from each placement's power and GPUs at their prices (MetricCostPerH).
// A step without data is NaN.
func StepSeries(m *Model, g Grid, floors IdleFloors, o Options, metric StepMetric) (Series, error) {
	s := newModelSteps(m, floors, &o)
	tokens, power, buf := s.load(g.N)
	defer buf.release()
	out := make(Series, g.N)
	switch metric {
	case MetricPowerW:
		copy(out, power)
	case MetricTokensPerS:
		copy(out, tokens)
		if m.Unallocated {
			for i := range out {
				out[i] = math.NaN()
			}
		}
	case MetricJPerToken:
		for i, r := range tokens {
			out[i] = math.NaN()
			if s.busy(r) {
				out[i] = power[i] / r
			}
		}
	case MetricIdleFraction:
		s.eachPlacementStep(g.N, out, func(p, _ int, w, gpus, r float64) float64 {
			return placementIdleW(w, gpus, s.floorW[p], s.idle(r))
		}, tokens)
		for i, w := range power {
			switch {
			case w > 0:
				out[i] /= w
			case w == 0:
				out[i] = 1
			}
		}
	case MetricCO2GPerH:
		s.eachPlacementStep(g.N, out, s.co2GPerH, tokens)
	case MetricCostPerH:
		perJ, perGPUS := make([]float64, len(m.Placements)), make([]float64, len(m.Placements))
		for p, pl := range m.Placements {
			perJ[p], perGPUS[p] = o.Prices.rates(o.Carbon.SiteName(pl.Host), pl.GPUType, s.carbon[p].pue)
		}
		s.eachPlacementStep(g.N, out, func(p, _ int, w, gpus, _ float64) float64 { return (w*perJ[p] + gpus*perGPUS[p]) * 3600 }, tokens)
	default:
		return nil, fmt.Errorf("metric %q is not one of %v", metric, StepMetrics)
	}
	return out, nil
}

// eachPlacementStep sets out[i] to the sum over placements reporting power at step i of part(placement, step,
// power, GPUs, model token rate); NaN where none reported.
func (s *modelSteps) eachPlacementStep(n int, out Series, part func(p, i int, w, gpus, tokensPerS float64) float64, tokens Series) {
	for i := range out {
		out[i] = math.NaN()
	}
	for p := range s.m.Placements {
		gpus := fitLen(s.m.Placements[p].GPUs, n)
		for i, w := range fitLen(s.m.Placements[p].PowerW, n) {
			if w == w {
				out[i] = nanSum(out[i], part(p, i, w, gpus[i], tokens[i]))
			}
		}
	}
}
