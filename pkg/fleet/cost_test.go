package fleet

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pricedOptions() Options {
	o := testOptions()
	o.Carbon.PUE = 1.5
	o.Prices = Prices{Currency: "USD", PerKWh: map[string]float64{"": 0.10, "UNL": 0.07}, GPUPerH: map[string]float64{"A100-SXM4-80GB": 2}}
	return o
}

func TestCostOfBusyIdleAndUnallocatedGPUs(t *testing.T) {
	const n = 120
	f := attributionFleet(n)
	o := pricedOptions()
	atts := AttributeFleet(f, MeasureIdleFloors(f, o), o)
	require.Len(t, atts, 3)

	// sdsc matches no site: the "" price. Energy cost = W x PUE x price per kWh / 1000 per hour.
	const perWh = 1.5 * 0.10 / 1000
	qwenW := 720 + 3.5*20.0
	qwen := atts[0]
	assert.InDelta(t, qwenW*perWh, qwen.EnergyCostPerH(), 1e-12)
	assert.InDelta(t, 8*2.0, qwen.GPUCostPerH(), 1e-12, "the A100 price found under the catalog's spelling")
	assert.InDelta(t, qwenW*perWh+16, qwen.CostPerH(), 1e-12)
	assert.InDelta(t, 720*perWh, qwen.IdleCostPerH(), 1e-12, "busy at every step: the floor's energy only")
	assert.InDelta(t, (qwenW*perWh+16)/(20*3600)*1e6, qwen.CostPerMillionTokens(), 1e-9)

	kimi := atts[1]
	assert.InDelta(t, 720*perWh+16, kimi.IdleCostPerH(), 1e-12, "parked: all of its energy and GPU-hours")
	assert.True(t, math.IsNaN(kimi.CostPerMillionTokens()), "no tokens, no cost per token")
	assert.InDelta(t, 240*perWh+4*2, atts[2].IdleCostPerH(), 1e-12, "unallocated GPUs cost as idle")

	s := Summarize(atts, f.Grid, o)
	assert.InDelta(t, qwen.CostPerH()+kimi.CostPerH()+atts[2].CostPerH(), s.CostPerH(), 1e-9)
	assert.InDelta(t, (qwenW+720+240)*perWh+20*2, s.CostPerH(), 1e-9)
	assert.Empty(t, o.Prices.Gaps(o.Carbon, models(f)).Sites)
	assert.Empty(t, o.Prices.Gaps(o.Carbon, models(f)).GPUTypes)
}

func TestCostWithoutAPriceIsUnknownAndSaysWhich(t *testing.T) {
	const n = 60
	f := &Fleet{Grid: testGrid(n), Models: []Model{
		served("a", a100, unl, 2, 90, 2, constant(n, 10)),
		served("b", a6000, nyu, 2, 30, 2, constant(n, 10)),
	}}
	o := testOptions()
	o.Prices = Prices{Currency: "EUR", PerKWh: map[string]float64{"UNL": 0.2}, GPUPerH: map[string]float64{a100: 1}}
	atts := AttributeFleet(f, MeasureIdleFloors(f, o), o)
	assert.InDelta(t, (180+20)*0.2/1000, atts[0].EnergyCostPerH(), 1e-12)
	assert.True(t, math.IsNaN(atts[1].EnergyCostPerH()), "NYU has no price and there is no default")
	assert.True(t, math.IsNaN(atts[1].GPUCostPerH()))
	assert.True(t, math.IsNaN(atts[1].CostPerH()))
	assert.True(t, math.IsNaN(Summarize(atts, f.Grid, o).CostPerH()), "a sum with an unknown part is unknown")
	assert.Equal(t, CostGaps{Sites: []string{"NYU"}, GPUTypes: []string{a6000}}, o.Prices.Gaps(o.Carbon, models(f)))

	o.Prices = Prices{}
	atts = AttributeFleet(f, MeasureIdleFloors(f, o), o)
	assert.True(t, math.IsNaN(atts[0].CostPerH()), "no prices: no cost, not zero")
	assert.Equal(t, CostGaps{Sites: []string{"NYU", "UNL"}, GPUTypes: []string{a100, a6000}}, o.Prices.Gaps(o.Carbon, models(f)))
}

func TestGroupsSumToTheFleet(t *testing.T) {
	const n = 120
	two := served("split", a100, unl, 4, 90, 2, constant(n, 30))
	other := served("split", a100, nyu, 2, 90, 0, constant(n, 0)).Placements[0]
	two.Placements = append(two.Placements, other) // 4 GPUs at UNL, 2 at NYU
	f := &Fleet{Grid: testGrid(n), Models: []Model{
		two,
		served("qwen", a100, sdsc, 8, 90, 3.5, constant(n, 20)),
		parked("kimi", a6000, sdsc, 2, 30, n),
		unallocated(a100, unl, 4, 60, n),
	}}
	for i, ns := range []string{"team-a", "team-b", "team-a", ""} {
		f.Models[i].Namespace = ns
	}
	o := pricedOptions()
	o.Prices.GPUPerH[a6000] = 0.5
	atts := AttributeFleet(f, MeasureIdleFloors(f, o), o)
	sum := Summarize(atts, f.Grid, o)

	for _, by := range []GroupKey{GroupModel, GroupNamespace, GroupGPUType, GroupSite, GroupNode} {
		groups := GroupAttributions(atts, by, f.Grid, o)
		var powerW, idleW, tokensPerS, co2GPerH, costPerH, idleCostPerH, gpus float64
		for _, g := range groups {
			powerW += g.PowerW
			idleW += g.IdleW
			tokensPerS += g.TokensPerS
			co2GPerH += g.CO2GPerH
			costPerH += g.CostPerH()
			idleCostPerH += g.IdleCostPerH()
			gpus += g.GPUs
		}
		assert.InDelta(t, sum.PowerW, powerW, 1e-9, by)
		assert.InDelta(t, sum.IdleW, idleW, 1e-9, by)
		assert.InDelta(t, sum.TokensPerS, tokensPerS, 1e-9, by)
		assert.InDelta(t, sum.CO2KgPerDay*1000/24, co2GPerH, 1e-9, by)
		assert.InDelta(t, sum.CostPerH(), costPerH, 1e-9, by)
		assert.InDelta(t, sum.IdleCostPerH(), idleCostPerH, 1e-9, by)
		assert.InDelta(t, sum.GPUs, gpus, 1e-9, by)
	}

	byNS := GroupAttributions(atts, GroupNamespace, f.Grid, o)
	require.Equal(t, []string{"", "team-a", "team-b"}, []string{byNS[0].Key, byNS[1].Key, byNS[2].Key})
	teamA := byNS[1]
	assert.Equal(t, 2, teamA.Models)
	assert.InDelta(t, atts[0].CostPerH()+atts[2].CostPerH(), teamA.CostPerH(), 1e-9)
	assert.InDelta(t, atts[2].IdleCostPerH()+atts[0].IdleCostPerH(), teamA.IdleCostPerH(), 1e-9)

	byNode := GroupAttributions(atts, GroupNode, f.Grid, o)
	require.Len(t, byNode, 3)
	nyuGroup := byNode[1] // gpu-01.unl.edu, gpu-02.nyu.edu, node-3.sdsc...
	require.Equal(t, nyu, nyuGroup.Key)
	assert.InDelta(t, 2.0, nyuGroup.GPUs, 1e-9, "a third of split's GPU-seconds")
	assert.InDelta(t, 30.0/3, nyuGroup.TokensPerS, 1e-9, "and a third of its tokens")
	assert.InDelta(t, 180.0, nyuGroup.PowerW, 1e-9, "its own power")
}

func models(f *Fleet) []*Model {
	out := make([]*Model, len(f.Models))
	for i := range f.Models {
		out[i] = &f.Models[i]
	}
	return out
}

func TestGroupStepSeriesSumTheModelsSteps(t *testing.T) {
	const n = 10
	split := served("split", a100, unl, 4, 90, 2, ramp(n, 0, 40))
	split.Placements = append(split.Placements, served("split", a100, nyu, 4, 90, 2, ramp(n, 0, 40)).Placements[0])
	f := &Fleet{Grid: testGrid(n), Models: []Model{
		split,
		served("qwen", a100, unl, 8, 90, 3.5, ramp(n, 0, 20)),
		parked("kimi", a6000, sdsc, 2, 30, n),
	}}
	f.Models[0].Namespace, f.Models[1].Namespace, f.Models[2].Namespace = "a", "a", "b"
	o := pricedOptions()
	o.Prices.GPUPerH[a6000] = 0.5
	floors := MeasureIdleFloors(f, o)
	ms := models(f)
	for _, metric := range []StepMetric{MetricPowerW, MetricTokensPerS, MetricCO2GPerH, MetricCostPerH} {
		perModel := make([]Series, len(ms))
		for i, m := range ms {
			perModel[i], _ = StepSeries(m, f.Grid, floors, o, metric)
		}
		byNS, err := GroupStepSeries(ms, GroupNamespace, f.Grid, floors, o, metric)
		require.NoError(t, err)
		require.Len(t, byNS, 2)
		byNode, err := GroupStepSeries(ms, GroupNode, f.Grid, floors, o, metric)
		require.NoError(t, err)
		require.Len(t, byNode, 3, "UNL, NYU and SDSC")
		for i := range n {
			a := perModel[0][i] + perModel[1][i]
			if metric == MetricTokensPerS {
				assert.True(t, math.IsNaN(perModel[2][i]) || perModel[2][i] == 0, "kimi serves nothing")
			} else {
				assert.InDelta(t, perModel[2][i], byNS[1].Values[i], 1e-9, "%s b step %d", metric, i)
			}
			assert.InDelta(t, a, byNS[0].Values[i], 1e-9, "%s a step %d", metric, i)
			nodes := 0.0
			for _, g := range byNode {
				if v := g.Values[i]; !math.IsNaN(v) {
					nodes += v
				}
			}
			total := a
			if metric != MetricTokensPerS {
				total += perModel[2][i]
			}
			assert.InDelta(t, total, nodes, 1e-9, "%s: the nodes add up at step %d", metric, i)
		}
	}
	jPerToken, err := GroupStepSeries(ms, GroupNamespace, f.Grid, floors, o, MetricJPerToken)
	require.NoError(t, err)
	power, _ := GroupStepSeries(ms, GroupNamespace, f.Grid, floors, o, MetricPowerW)
	tokens, _ := GroupStepSeries(ms, GroupNamespace, f.Grid, floors, o, MetricTokensPerS)
	for i := range n {
		if tokens[0].Values[i] >= o.IdleThresholdTokensPerS {
			assert.InDelta(t, power[0].Values[i]/tokens[0].Values[i], jPerToken[0].Values[i], 1e-9, "a ratio of sums")
		}
	}
}

func TestSavingsPerMonth(t *testing.T) {
	p := Prices{Currency: "USD", PerKWh: map[string]float64{"": 0.2}, GPUPerH: map[string]float64{a100: 2}}
	// 100 W at 0.2 per kWh x PUE 1.5 (what the models' energy cost: 0.3 per 3.6 MJ) and 2 A100 at 2 per hour.
	assert.InDelta(t, (0.1*0.3+2*2)*730.5, p.SavingsPerMonth(100, 0.3, 3.6e6, 2, a100), 1e-9)
	assert.Zero(t, p.SavingsPerMonth(0, 0.3, 3.6e6, 0, a100), "nothing saved")
	assert.True(t, math.IsNaN(p.SavingsPerMonth(100, 0.3, 3.6e6, 2, a6000)), "no price for the freed GPUs")
	assert.True(t, math.IsNaN(p.SavingsPerMonth(100, math.NaN(), 3.6e6, 0, a100)), "no price for the energy")
}
