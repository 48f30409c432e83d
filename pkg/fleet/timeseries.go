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
)

// StepMetrics lists every StepMetric.
var StepMetrics = []StepMetric{MetricPowerW, MetricTokensPerS, MetricJPerToken, MetricIdleFraction, MetricCO2GPerH}

// StepSeries is one metric of a model at every step of the grid (n steps): power_w; tokens_per_s;
// j_per_token = power / tokens per step, NaN where the model is idle (below the idle threshold); idle_fraction
// = idle power / power, 1 at idle steps; co2_g_per_h from each placement's power and its host's intensity.
// A step without data is NaN.
func StepSeries(m *Model, g Grid, floors IdleFloors, o Options, metric StepMetric) (Series, error) {
	s := newModelSteps(m, floors, &o)
	out := make(Series, g.N)
	switch metric {
	case MetricPowerW:
		for i := range out {
			out[i] = s.powerW(i)
		}
	case MetricTokensPerS:
		for i := range out {
			out[i] = s.tokensPerS(i)
			if m.Unallocated {
				out[i] = math.NaN()
			}
		}
	case MetricJPerToken:
		for i := range out {
			r := s.tokensPerS(i)
			out[i] = math.NaN()
			if s.busy(r) {
				out[i] = s.powerW(i) / r
			}
		}
	case MetricIdleFraction:
		for i := range out {
			out[i] = s.idleFraction(i)
		}
	case MetricCO2GPerH:
		for i := range out {
			out[i] = s.co2GPerH(i)
		}
	default:
		return nil, fmt.Errorf("metric %q is not one of %v", metric, StepMetrics)
	}
	return out, nil
}

func (s *modelSteps) idleFraction(i int) float64 {
	busy := s.busy(s.tokensPerS(i))
	power, idle := math.NaN(), 0.0
	for p := range s.m.Placements {
		w := at(s.m.Placements[p].PowerW, i)
		if math.IsNaN(w) {
			continue
		}
		power = nanSum(power, w)
		idle += s.placementIdleW(p, i, w, busy)
	}
	if power > 0 {
		return idle / power
	}
	if power == 0 {
		return 1
	}
	return math.NaN()
}

func (s *modelSteps) co2GPerH(i int) float64 {
	total := math.NaN()
	for p := range s.m.Placements {
		w := at(s.m.Placements[p].PowerW, i)
		if !math.IsNaN(w) {
			total = nanSum(total, w*s.gPerJ[p]*3600)
		}
	}
	return total
}
