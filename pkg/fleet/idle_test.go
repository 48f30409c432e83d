package fleet

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIdleFloorIsALowPercentileOfParkedPowerPooledPerGPUType(t *testing.T) {
	const n = 600
	rng := rand.New(rand.NewPCG(1, 2))
	// Two parked A100 models with noisy per-GPU power (85-100 W), one busy A100 model, and unallocated A100s
	// at bare idle (60 W) that must not drag the floor down.
	kimi := parked("Kimi-K2.5", a100, sdsc, 8, 0, n)
	minimax := parked("MiniMax-M2.5", a100, sdsc, 4, 0, n)
	var pooled []float64
	for _, m := range []*Model{&kimi, &minimax} {
		pl := &m.Placements[0]
		for i := range pl.PowerW {
			w := 85 + 15*rng.Float64()
			pl.PowerW[i] = w * pl.GPUs[i]
			pooled = append(pooled, w)
		}
	}
	f := &Fleet{Grid: testGrid(n), Models: []Model{
		kimi, minimax,
		served("Qwen3.5-397B", a100, sdsc, 8, 90, 3.5, ramp(n, 5, 40)),
		unallocated(a100, sdsc, 4, 60, n),
	}}

	floors := MeasureIdleFloors(f, testOptions())

	got := floors.For(a100)
	assert.Equal(t, IdleMeasured, got.Source)
	assert.Equal(t, 2*n, got.ParkedSteps, "every step of both parked models, none of the busy or unallocated GPUs")
	assert.InDelta(t, Quantile(pooled, 0.25), got.W, 1e-9, "exact p25 of the pooled per-GPU samples")
}

func TestShortLullsAreNotParked(t *testing.T) {
	// A busy model with lulls of 3 idle steps at 200 W/GPU (GPUs still hot), and one 6-step lull at 95 W/GPU.
	rates := constant(40, 100)
	m := served("gemma-4-31B", a6000, sdsc, 2, 95, 1, rates)
	pl := &m.Placements[0]
	for _, i := range []int{5, 6, 7, 20, 21, 22} {
		m.PromptTokensPerS[i], m.GenerationTokensPerS[i], pl.PowerW[i] = 0, 0, 400
	}
	for i := 30; i < 36; i++ {
		m.PromptTokensPerS[i], m.GenerationTokensPerS[i], pl.PowerW[i] = 0, 0, 190
	}
	f := &Fleet{Grid: testGrid(40), Models: []Model{m}}

	floors := MeasureIdleFloors(f, testOptions())
	assert.Equal(t, 6, floors.For(a6000).ParkedSteps)
	assert.Equal(t, 95.0, floors.For(a6000).W)
}

func TestIdleFloorFallbacksAndOverrides(t *testing.T) {
	const n = 10
	f := &Fleet{Grid: testGrid(n), Models: []Model{
		parked("parked-a100", a100, sdsc, 8, 88, n),
		served("busy-a6000", a6000, sdsc, 2, 105, 0.1, constant(n, 2000)),
		served("busy-mystery", "Acme Tensor 9000", sdsc, 1, 50, 0.1, constant(n, 2000)),
	}}
	cases := []struct {
		name      string
		overrides map[string]float64
		gpuType   string
		want      IdleFloor
	}{
		{"measured", nil, a100, IdleFloor{GPUType: a100, W: 88, Source: IdleMeasured, ParkedSteps: n, Known: true, SpreadW: histBinW}},
		{"setting wins over measured, spelled loosely", map[string]float64{"A100-SXM4-80GB": 75}, a100,
			IdleFloor{GPUType: a100, W: 75, Source: IdleSetting, ParkedSteps: n, Known: true, SpreadW: histBinW}},
		{"catalog where nothing is parked", nil, a6000, IdleFloor{GPUType: a6000, W: 105, Source: IdleCatalog, Known: true}},
		{"setting where nothing is parked", map[string]float64{a6000: 60}, a6000, IdleFloor{GPUType: a6000, W: 60, Source: IdleSetting, Known: true}},
		{"GPU in no catalog", nil, "Acme Tensor 9000", IdleFloor{GPUType: "Acme Tensor 9000", W: UnknownGPUIdleFloorW, Source: IdleCatalog}},
		{"GPU type not in the fleet: built-in catalog", nil, "NVIDIA L40S", IdleFloor{GPUType: "NVIDIA L40S", W: 82, Source: IdleCatalog, Known: true}},
		{"fleet entry found by a looser spelling", nil, "A100-SXM4-80GB", IdleFloor{GPUType: a100, W: 88, Source: IdleMeasured, ParkedSteps: n, Known: true, SpreadW: histBinW}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := testOptions()
			o.IdleFloorOverridesW = c.overrides
			assert.Equal(t, c.want, MeasureIdleFloors(f, o).For(c.gpuType))
		})
	}
}

func TestParkedHistogramMatchesQuantileOnAwkwardSamples(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	samples := map[string][]float64{
		"one value":           {91.3},
		"all equal":           {90, 90, 90, 90, 90},
		"beyond the top bin":  {2500, 3000, 90, 91, 5000, 4000},
		"negative and zero":   {-3, 0, 0.2, 0.7, 1},
		"one bin, many ranks": {90.01, 90.02, 90.03, 90.04, 90.05, 90.06, 90.07},
	}
	wide := make([]float64, 5000)
	for i := range wide {
		wide[i] = 50 + 100*rng.Float64()
	}
	samples["5000 uniform"] = wide
	for name, vals := range samples {
		for _, q := range []float64{0, 0.1, 0.25, 0.5, 0.9, 1} {
			var h parkedHistogram
			for _, v := range vals {
				h.count(v)
			}
			h.target(q)
			for _, v := range vals {
				h.collect(v)
			}
			if len(vals) > 1000 {
				require.Less(t, len(h.kept), 100, "the second pass keeps only one or two bins")
			}
			assert.InDelta(t, Quantile(vals, q), h.quantile(), 1e-9, "%s q=%v", name, q)
			assert.False(t, math.IsNaN(h.quantile()), name)
		}
	}
}

func TestAModelThatParkedLongEnoughHasItsOwnFloor(t *testing.T) {
	const n = 120 // two hours of minutes
	moeW, denseW := 110.0, 85.0
	short := parked("Olmo-2-7B", a100, sdsc, 1, 95, n)
	for i := 30; i < n; i++ { // parked for its first half hour only, then busy
		short.GenerationTokensPerS[i] = 50
	}
	f := &Fleet{Grid: testGrid(n), Models: []Model{
		parked("Kimi-K2.5", a100, sdsc, 8, moeW, n),
		parked("MiniMax-M2.5", a100, sdsc, 4, denseW, n),
		short,
	}}
	o := testOptions()
	floors := MeasureIdleFloors(f, o)

	kimi, minimax := floors.ForModel("Kimi-K2.5", a100), floors.ForModel("MiniMax-M2.5", a100)
	assert.Equal(t, IdleModel, kimi.Source)
	assert.Equal(t, moeW, kimi.W, "a tensor-parallel MoE parks higher")
	assert.Equal(t, IdleModel, minimax.Source)
	assert.Equal(t, denseW, minimax.W)
	pooled := floors.ForModel("Olmo-2-7B", a100)
	assert.Equal(t, IdleMeasured, pooled.Source, "half an hour parked is too short for a floor of its own")
	assert.Equal(t, floors.For(a100), pooled)
	assert.Equal(t, denseW, pooled.W, "the pooled floor: the 25th percentile of every parked GPU-step of the type")

	o.IdleFloorOverridesW = map[string]float64{a100: 70}
	assert.Equal(t, IdleSetting, MeasureIdleFloors(f, o).ForModel("Kimi-K2.5", a100).Source, "a setting wins")
}
