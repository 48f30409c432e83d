package fleet

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStepSeriesPerMetric(t *testing.T) {
	// 8 A100 parked at 90 W/GPU, 3.5 J/token: steps at 0, 0.05 (below the 0.1 tok/s threshold), 20 and
	// 200 tok/s, then a step without data.
	rates := []float64{0, 0.05, 20, 200, 0}
	m := served("Qwen3.5-397B", a100, unl, 8, 90, 3.5, rates)
	m.Placements[0].PowerW[4], m.PromptTokensPerS[4], m.GenerationTokensPerS[4] = math.NaN(), math.NaN(), math.NaN()
	nan := math.NaN()
	w := func(r float64) float64 { return 720 + 3.5*r }
	cases := map[StepMetric][]float64{
		MetricPowerW:       {720, w(0.05), w(20), w(200), nan},
		MetricTokensPerS:   {0, 0.05, 20, 200, nan},
		MetricJPerToken:    {nan, nan, w(20) / 20, w(200) / 200, nan},
		MetricIdleFraction: {1, 1, 720 / w(20), 720 / w(200), nan},
		MetricCO2GPerH:     {720 * 0.531, w(0.05) * 0.531, w(20) * 0.531, w(200) * 0.531, nan},
		// UNL's electricity at 0.07 per kWh and 8 GPUs at 2 per hour.
		MetricCostPerH: {720*0.07/1000 + 16, w(0.05)*0.07/1000 + 16, w(20)*0.07/1000 + 16, w(200)*0.07/1000 + 16, nan},
	}
	o := testOptions()
	o.Prices = Prices{Currency: "USD", PerKWh: map[string]float64{"UNL": 0.07}, GPUPerH: map[string]float64{a100: 2}}
	require.Len(t, cases, len(StepMetrics))
	for metric, want := range cases {
		t.Run(string(metric), func(t *testing.T) {
			got, err := StepSeries(&m, testGrid(5), a100Floor, o, metric)
			require.NoError(t, err)
			require.Len(t, got, 5)
			for i := range want {
				if math.IsNaN(want[i]) {
					assert.True(t, math.IsNaN(got[i]), "step %d: want null, got %v", i, got[i])
				} else {
					assert.InDelta(t, want[i], got[i], 1e-9, "step %d", i)
				}
			}
		})
	}
	_, err := StepSeries(&m, testGrid(5), a100Floor, testOptions(), "watts")
	assert.ErrorContains(t, err, `metric "watts" is not one of`)
}

func TestUnallocatedGPUsAreAllIdleAndServeNoTokens(t *testing.T) {
	m := unallocated(a100, sdsc, 4, 60, 3)
	for metric, want := range map[StepMetric]float64{MetricIdleFraction: 1, MetricPowerW: 240} {
		got, err := StepSeries(&m, testGrid(3), a100Floor, testOptions(), metric)
		require.NoError(t, err)
		assert.Equal(t, Series{want, want, want}, got, metric)
	}
	for _, metric := range []StepMetric{MetricTokensPerS, MetricJPerToken} {
		got, err := StepSeries(&m, testGrid(3), a100Floor, testOptions(), metric)
		require.NoError(t, err)
		for _, v := range got {
			assert.True(t, math.IsNaN(v), metric)
		}
	}
}

func TestSummaryIsRatiosOfSumsOverTheWindow(t *testing.T) {
	const n = 120
	f := attributionFleet(n)
	// A model deployed for the second half of the window only: 2 A6000, 105 W parked, 1.2 J/token at 300 tok/s.
	late := served("gemma-4-31B", a6000, sdsc, 2, 105, 1.2, constant(n, 300))
	for i := range n / 2 {
		late.Placements[0].PowerW[i], late.Placements[0].GPUs[i] = math.NaN(), math.NaN()
		late.PromptTokensPerS[i], late.GenerationTokensPerS[i] = math.NaN(), math.NaN()
	}
	f.Models = append(f.Models, late)
	o := testOptions()
	floors := MeasureIdleFloors(f, o)

	s := Summarize(AttributeFleet(f, floors, o), f.Grid, o)

	gemmaW := 210 + 1.2*300
	powerW := (720 + 70) + 720 + 240 + gemmaW/2
	tokensPerS := 20 + 300.0/2
	assert.Equal(t, 4, s.Models)
	assert.InDelta(t, powerW, s.PowerW, 1e-9)
	assert.InDelta(t, 720+720+240+gemmaW/2-1.2*300/2, s.IdleW, 1e-9)
	assert.InDelta(t, tokensPerS, s.TokensPerS, 1e-9)
	assert.InDelta(t, powerW/tokensPerS, s.JPerToken, 1e-9)
	assert.InDelta(t, powerW*24/1000*198/1000, s.CO2KgPerDay, 1e-9)
	assert.InDelta(t, 8+8+4+2.0, s.GPUs, 1e-9, "whole GPUs: the late model holds its 2 for all of its time")
	assert.InDelta(t, 8+4.0, s.IdleGPUs, 1e-9, "Kimi's 8 GPUs served nothing; 4 GPUs are unallocated")

	idle := Summarize(AttributeFleet(f, floors, o)[1:3], f.Grid, o)
	assert.True(t, math.IsNaN(idle.JPerToken), "no tokens: no fleet J/token")
	assert.InDelta(t, idle.PowerW, idle.IdleW, 1e-9)
}

func TestCarbonIntensityBySite(t *testing.T) {
	c := testOptions().Carbon
	for host, want := range map[string]float64{
		unl: 531, nyu: 174, sdsc: 198, "": 198,
	} {
		assert.Equal(t, want, c.GPerKWh(host), host)
	}
}
