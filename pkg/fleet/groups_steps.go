package fleet

import (
	"cmp"
	"fmt"
	"slices"
)

// GroupSeries is one group's values of a step metric.
type GroupSeries struct {
	Key    string
	Values Series
}

// groupSteps are the sums a group's step metrics are made of.
type groupSteps struct {
	powerW, idleW, tokensPerS, co2GPerH, costPerH Series
}

// GroupStepSeries is one metric per group of models at every step, sorted by key: power, CO2 and cost are
// sums over the groups' placements; tokens/s splits a model's rate over its placements by GPUs held (as
// GroupAttributions); J/token is the group's power over its tokens/s (NaN below the idle threshold) and
// idle_fraction its idle power over its power.
func GroupStepSeries(ms []*Model, by GroupKey, g Grid, floors IdleFloors, o Options, metric StepMetric) ([]GroupSeries, error) {
	if !slices.Contains(StepMetrics, metric) {
		return nil, fmt.Errorf("metric %q is not one of %v", metric, StepMetrics)
	}
	groups := map[string]*groupSteps{}
	group := func(k string) *groupSteps {
		if groups[k] == nil {
			groups[k] = &groupSteps{NewSeries(g.N), NewSeries(g.N), NewSeries(g.N), NewSeries(g.N), NewSeries(g.N)}
		}
		return groups[k]
	}
	for _, m := range ms {
		s := newModelSteps(m, floors, &o)
		tokens, _, buf := s.load(g.N)
		gpusHeld := fitLen(m.GPUs(), g.N)
		for p := range m.Placements {
			pl := &m.Placements[p]
			site := o.Carbon.SiteName(pl.Host)
			k := keyOf(by, &Attribution{Model: m.Name, Namespace: m.Namespace}, &AttributionPart{Host: pl.Host, Site: site, GPUType: pl.GPUType})
			gr := group(k)
			perJ, perGPUS := o.Prices.rates(site, pl.GPUType, s.carbon[p].pue)
			gpus := fitLen(pl.GPUs, g.N)
			for i, w := range fitLen(pl.PowerW, g.N) {
				if w != w {
					continue
				}
				r := tokens[i]
				gr.powerW[i] = nanSum(gr.powerW[i], w)
				gr.idleW[i] = nanSum(gr.idleW[i], placementIdleW(w, gpus[i], s.floorW[p], s.idle(r)))
				gr.co2GPerH[i] = nanSum(gr.co2GPerH[i], s.co2GPerH(p, i, w, 0, 0))
				gr.costPerH[i] = nanSum(gr.costPerH[i], (w*perJ+gpus[i]*perGPUS)*3600)
				if !m.Unallocated && r == r {
					share := 1.0
					if len(m.Placements) > 1 {
						share = gpus[i] / gpusHeld[i]
					}
					gr.tokensPerS[i] = nanSum(gr.tokensPerS[i], r*share)
				}
			}
		}
		buf.release()
	}
	out := make([]GroupSeries, 0, len(groups))
	for k, gr := range groups {
		out = append(out, GroupSeries{Key: k, Values: gr.metric(metric, &o)})
	}
	slices.SortFunc(out, func(a, b GroupSeries) int { return cmp.Compare(a.Key, b.Key) })
	return out, nil
}

// metric is the group's series of one metric.
func (gr *groupSteps) metric(metric StepMetric, o *Options) Series {
	switch metric {
	case MetricPowerW:
		return gr.powerW
	case MetricTokensPerS:
		return gr.tokensPerS
	case MetricCO2GPerH:
		return gr.co2GPerH
	case MetricCostPerH:
		return gr.costPerH
	}
	out := NewSeries(len(gr.powerW))
	for i, w := range gr.powerW {
		switch {
		case metric == MetricJPerToken && gr.tokensPerS[i] == gr.tokensPerS[i] && !o.isIdle(gr.tokensPerS[i]):
			out[i] = w / gr.tokensPerS[i]
		case metric == MetricIdleFraction && w > 0:
			out[i] = gr.idleW[i] / w
		case metric == MetricIdleFraction && w == 0:
			out[i] = 1
		}
	}
	return out
}
