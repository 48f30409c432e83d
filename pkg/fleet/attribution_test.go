package fleet

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// attributionFleet: Qwen on 8 A100 parked at 90 W/GPU with 3.5 J/token marginal at a steady 20 tok/s; Kimi
// parked (idle) on 8 A100 at 90 W/GPU; 4 unallocated A100 at 60 W.
func attributionFleet(n int) *Fleet {
	return &Fleet{Grid: testGrid(n), Models: []Model{
		served("Qwen3.5-397B", a100, sdsc, 8, 90, 3.5, constant(n, 20)),
		parked("Kimi-K2.5", a100, sdsc, 8, 90, n),
		unallocated(a100, sdsc, 4, 60, n),
	}}
}

func TestAttributionOfBusyIdleAndUnallocatedGPUs(t *testing.T) {
	const n = 120
	f := attributionFleet(n)
	o := testOptions()
	floors := MeasureIdleFloors(f, o)
	require.Equal(t, 90.0, floors.For(a100).W, "measured on Kimi's parked steps")
	atts := AttributeFleet(f, floors, o)
	require.Len(t, atts, 3)

	const r = 20.0
	qwenW := 720 + 3.5*r
	windowS := float64(n) * 60
	nan := math.NaN()
	want := []Attribution{{
		Model: "Qwen3.5-397B", GPUType: a100, GPUs: 8, IdleSource: IdleMeasured, IdleFloorW: 90,
		PowerW: qwenW, IdleW: 720, ProductiveW: 3.5 * r, IdleFraction: 720 / qwenW,
		TokensPerS: r, JPerToken: (720 + 3.5*r) / r, MarginalJPerToken: 3.5,
		CO2GPerH: qwenW * 198 / 1000.0, CO2IdleGPerH: 720 * 198 / 1000.0, CO2MgPerToken: qwenW / r * 198 / 3.6e6 * 1000,
		EnergyJ: qwenW * windowS, IdleEnergyJ: 720 * windowS, Tokens: r * windowS,
		CO2G: qwenW * windowS * 198 / 3.6e6, CO2IdleG: 720 * windowS * 198 / 3.6e6, CoveredS: windowS,
	}, {
		Model: "Kimi-K2.5", GPUType: a100, GPUs: 8, IdleSource: IdleModel, IdleFloorW: 90,
		PowerW: 720, IdleW: 720, ProductiveW: 0, IdleFraction: 1,
		TokensPerS: 0, JPerToken: nan, MarginalJPerToken: nan,
		CO2GPerH: 720 * 198 / 1000.0, CO2IdleGPerH: 720 * 198 / 1000.0, CO2MgPerToken: nan,
		EnergyJ: 720 * windowS, IdleEnergyJ: 720 * windowS, Tokens: 0,
		CO2G: 720 * windowS * 198 / 3.6e6, CO2IdleG: 720 * windowS * 198 / 3.6e6, CoveredS: windowS, IdleStepShare: 1,
	}, {
		Model: "unallocated", GPUType: a100, Unallocated: true, GPUs: 4, IdleSource: IdleMeasured, IdleFloorW: 90,
		PowerW: 240, IdleW: 240, ProductiveW: 0, IdleFraction: 1,
		TokensPerS: 0, JPerToken: nan, MarginalJPerToken: nan,
		CO2GPerH: 240 * 198 / 1000.0, CO2IdleGPerH: 240 * 198 / 1000.0, CO2MgPerToken: nan,
		EnergyJ: 240 * windowS, IdleEnergyJ: 240 * windowS, Tokens: 0,
		CO2G: 240 * windowS * 198 / 3.6e6, CO2IdleG: 240 * windowS * 198 / 3.6e6, CoveredS: windowS, IdleStepShare: 1,
	}}
	for i, w := range want {
		assertAttribution(t, w, atts[i])
	}
}

func assertAttribution(t *testing.T, want, got Attribution) {
	t.Helper()
	assert.Equal(t, want.Model, got.Model)
	assert.Equal(t, want.GPUType, got.GPUType, want.Model)
	assert.Equal(t, want.Unallocated, got.Unallocated, want.Model)
	assert.Equal(t, want.IdleSource, got.IdleSource, want.Model)
	assert.Equal(t, want.GapSteps, got.GapSteps, want.Model)
	for _, c := range []struct {
		name      string
		want, got float64
	}{
		{"gpus", want.GPUs, got.GPUs}, {"idle_floor_w", want.IdleFloorW, got.IdleFloorW},
		{"power_w", want.PowerW, got.PowerW}, {"idle_w", want.IdleW, got.IdleW},
		{"productive_w", want.ProductiveW, got.ProductiveW}, {"idle_fraction", want.IdleFraction, got.IdleFraction},
		{"tokens_per_s", want.TokensPerS, got.TokensPerS}, {"j_per_token", want.JPerToken, got.JPerToken},
		{"marginal_j_per_token", want.MarginalJPerToken, got.MarginalJPerToken},
		{"co2_g_per_h", want.CO2GPerH, got.CO2GPerH}, {"co2_idle_g_per_h", want.CO2IdleGPerH, got.CO2IdleGPerH},
		{"co2_mg_per_token", want.CO2MgPerToken, got.CO2MgPerToken},
		{"energy_j", want.EnergyJ, got.EnergyJ}, {"idle_energy_j", want.IdleEnergyJ, got.IdleEnergyJ},
		{"tokens", want.Tokens, got.Tokens}, {"co2_g", want.CO2G, got.CO2G}, {"co2_idle_g", want.CO2IdleG, got.CO2IdleG},
		{"covered_s", want.CoveredS, got.CoveredS}, {"idle_step_share", want.IdleStepShare, got.IdleStepShare},
	} {
		if math.IsNaN(c.want) {
			assert.True(t, math.IsNaN(c.got), "%s %s: want NaN, got %v", want.Model, c.name, c.got)
			continue
		}
		assert.InDelta(t, c.want, c.got, 1e-9*math.Max(1, math.Abs(c.want)), "%s %s", want.Model, c.name)
	}
}

func TestJPerTokenIsARatioOfSumsNotAMeanOfRatios(t *testing.T) {
	// Half the steps at 10 tok/s, half at 1000 tok/s: 8 x 90 W parked, 3.5 J/token.
	rates := make([]float64, 100)
	for i := range rates {
		rates[i] = 10
		if i%2 == 1 {
			rates[i] = 1000
		}
	}
	m := served("Qwen3.5-397B", a100, sdsc, 8, 90, 3.5, rates)
	floors := IdleFloors{a100: {GPUType: a100, W: 90, Source: IdleSetting}}
	a := Attribute(&m, testGrid(100), floors, testOptions())

	energy := 50*(720+35.0) + 50*(720+3500.0)
	tokens := 50*10.0 + 50*1000.0
	assert.InDelta(t, energy/tokens, a.JPerToken, 1e-12)
	meanOfRatios := ((720+35.0)/10 + (720+3500.0)/1000) / 2
	assert.Greater(t, math.Abs(meanOfRatios-a.JPerToken), 10.0, "the mean of per-step ratios is far off")
	assert.InDelta(t, 3.5, a.MarginalJPerToken, 1e-12)
}

func TestCO2WeighsEachPlacementByItsSiteAndPUE(t *testing.T) {
	const n = 60
	m := served("split-model", a100, unl, 4, 90, 2, constant(n, 100))
	nyuPart := served("", a100, nyu, 4, 90, 2, constant(n, 100)).Placements[0]
	nyuPart.PowerW = constant(n, 500)
	m.Placements = append(m.Placements, nyuPart)
	m.Placements[0].PowerW = constant(n, 700)
	o := testOptions()
	o.Carbon.PUE = 1.3
	floors := IdleFloors{a100: {GPUType: a100, W: 90, Source: IdleSetting}}

	a := Attribute(&m, testGrid(n), floors, o)

	wantGPerH := (700*531 + 500*174) / 1000.0 * 1.3
	wantIdleGPerH := (360*531 + 360*174) / 1000.0 * 1.3
	assert.InDelta(t, wantGPerH, a.CO2GPerH, 1e-9)
	assert.InDelta(t, wantIdleGPerH, a.CO2IdleGPerH, 1e-9)
	assert.InDelta(t, wantGPerH*1000/(100*3600), a.CO2MgPerToken, 1e-12, "mg per token = g/h x 1000 / tokens per hour")
	assert.InDelta(t, 1200.0, a.PowerW, 1e-9)
	assert.InDelta(t, 8.0, a.GPUs, 1e-12)

	series, err := StepSeries(&m, testGrid(n), floors, o, MetricCO2GPerH)
	require.NoError(t, err)
	assert.InDelta(t, wantGPerH, series[17], 1e-9)
}

func TestEnergyCounterAndWindowTotalsWinOverSamples(t *testing.T) {
	const n = 60
	m := served("Qwen3.5-397B", a100, sdsc, 8, 90, 3.5, constant(n, 20))
	sampledJ := (720 + 70.0) * n * 60
	m.Placements[0].EnergyJ = sampledJ * 1.02 // the counter saw a little more than the samples
	m.PromptTokens, m.GenerationTokens = 6000, 18000
	floors := IdleFloors{a100: {GPUType: a100, W: 90, Source: IdleSetting}}

	a := Attribute(&m, testGrid(n), floors, testOptions())

	assert.InDelta(t, sampledJ*1.02, a.EnergyJ, 1e-6)
	assert.InDelta(t, 790*1.02, a.PowerW, 1e-9)
	assert.InDelta(t, 720/790.0, a.IdleFraction, 1e-12, "the idle share of the samples applies to the counter's energy")
	assert.InDelta(t, 24000.0, a.Tokens, 0)
	assert.InDelta(t, sampledJ*1.02/24000, a.JPerToken, 1e-12)

	gen := testOptions()
	gen.Tokens = TokensGeneration
	assert.InDelta(t, sampledJ*1.02/18000, Attribute(&m, testGrid(n), floors, gen).JPerToken, 1e-12)
}

func TestGapsAndLateDeploymentUseTheCoveredTime(t *testing.T) {
	const n = 100
	m := served("gemma-4-31B", a6000, sdsc, 2, 105, 1.2, constant(n, 300))
	pl := &m.Placements[0]
	for i := range 40 { // deployed at step 40
		pl.PowerW[i], pl.GPUs[i], m.PromptTokensPerS[i], m.GenerationTokensPerS[i] = math.NaN(), math.NaN(), math.NaN(), math.NaN()
	}
	for _, i := range []int{50, 51, 70} { // scrape gaps
		pl.PowerW[i], m.PromptTokensPerS[i], m.GenerationTokensPerS[i] = math.NaN(), math.NaN(), math.NaN()
	}
	m.PromptTokensPerS[80], m.GenerationTokensPerS[80] = math.NaN(), math.NaN() // vLLM missed a scrape
	floors := IdleFloors{a6000: {GPUType: a6000, W: 105, Source: IdleSetting}}

	a := Attribute(&m, testGrid(n), floors, testOptions())

	assert.Equal(t, 4, a.GapSteps)
	assert.InDelta(t, 57*60.0, a.CoveredS, 0)
	assert.InDelta(t, 210+1.2*300, a.PowerW, 1e-9)
	assert.InDelta(t, 300*56/57.0, a.TokensPerS, 1e-9, "tokens of the step without a token rate are unknown")
}

func TestMarginalWithinTheFloorsSpreadIsLeftEmpty(t *testing.T) {
	const n = 120
	// Kimi parks at 86 or 94 W per GPU, alternately: the floor is known to within their spread, 8 W.
	kimi := parked("Kimi-K2.5", a100, sdsc, 8, 90, n)
	for i := range kimi.Placements[0].PowerW {
		kimi.Placements[0].PowerW[i] += 8 * 4 * float64(2*(i%2)-1)
	}
	f := &Fleet{Grid: testGrid(n), Models: []Model{
		served("Qwen3.5-397B", a100, sdsc, 8, 90, 3.5, constant(n, 20)), // 70 W of productive power
		served("Olmo-2-32B", a100, sdsc, 4, 90, 3.5, constant(n, 2)),    // 7 W: within 4 GPUs x 8 W of spread
		kimi,
	}}
	o := testOptions()
	floors := MeasureIdleFloors(f, o)
	require.InDelta(t, 8.5, floors.For(a100).SpreadW, histBinW, "the interquartile range of 86 and 94 W, to a bin")
	atts := AttributeFleet(f, floors, o)

	assert.False(t, atts[0].MarginalWithinNoise)
	assert.False(t, math.IsNaN(atts[0].MarginalJPerToken), "70 W of productive power is well outside the floor's spread")
	assert.True(t, atts[1].MarginalWithinNoise)
	assert.True(t, math.IsNaN(atts[1].MarginalJPerToken), "Olmo's productive power is within the spread: no marginal figure")
	assert.False(t, math.IsNaN(atts[1].JPerToken), "its J/token, a ratio of two totals, stands")
}
