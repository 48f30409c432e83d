package fleet_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

func rightSizeAll(t *testing.T, f *fleet.Fleet, so fleet.SizingOptions) map[string]fleet.RightSizing {
	t.Helper()
	o := sizingOptions()
	floors := fleet.MeasureIdleFloors(f, o)
	out := map[string]fleet.RightSizing{}
	for _, r := range fleet.RightSizeFleet(f, nil, floors, o, so) {
		out[r.Model] = r
	}
	require.Len(t, out, len(f.Models))
	return out
}

// On the NRP fleet, memory alone decides: every model needs the GPUs it has (or more), so none is oversized.
func TestRightSizingOnTheNRPFleet(t *testing.T) {
	got := rightSizeAll(t, nrpFleet(), fleet.DefaultSizingOptions())
	cases := []struct {
		model           string
		memoryNeedGB    float64
		minGPUsByMemory int
		recommended     int
		reason          string
	}{
		// 61 GB on disk (MXFP4) x 1.2 = 73.2 GB > 48 x 0.9 = 43.2 GB usable on one A6000: it needs its 2.
		{"gpt-oss-120b", 73.2, 2, 2, "fits no fewer than 2x RTX A6000"},
		// 31B x 2 bytes (bf16) x 1.2 = 74.4 GB > 43.2 GB: it needs its 2.
		{"gemma-4-31B", 74.4, 2, 2, "fits no fewer than 2x RTX A6000"},
		// At fp8, 397 GB x 1.2 = 476.4 GB > 4 x 72 GB = 288 GB (and <= 8 x 72 = 576 GB): it needs its 8 A100s,
		// so it is not oversized however low its traffic.
		{"Qwen3.5-397B", 476.4, 8, 8, "needs ~476 GB at fp8 (397B from the catalog): fits no fewer than 8x A100-SXM4-80GB"},
		// At int4, 1000B x 0.5 x 1.2 = 600 GB > 576 GB: no tensor-parallel size holds it with 20% KV headroom.
		{"Kimi-K2.5", 600, 0, 0, "more than 8x A100-SXM4-80GB hold (576 GB usable); no smaller allocation"},
		// At fp8, 230 GB x 1.2 = 276 GB <= 4 x 72 = 288 GB and > 2 x 72 = 144 GB: it needs its 4.
		{"MiniMax-M2.5", 276, 4, 4, "fits no fewer than 4x A100-SXM4-80GB"},
		// 32B x 2 bytes x 1.2 = 76.8 GB > 72 GB: it needs its 2.
		{"allenai/OLMo-2-0325-32B-Instruct", 76.8, 2, 2, "fits no fewer than 2x A100-SXM4-80GB"},
	}
	for _, c := range cases {
		t.Run(c.model, func(t *testing.T) {
			r := got[c.model]
			assert.True(t, r.Verdict, r.Reason)
			assert.False(t, r.Oversized, r.Reason)
			assert.Equal(t, fleet.SizeCatalog, r.Size.Source)
			assert.InDelta(t, c.memoryNeedGB, r.MemoryNeedGB, 1e-6)
			assert.Equal(t, c.minGPUsByMemory, r.MinGPUsByMemory)
			assert.Equal(t, c.recommended, r.RecommendedGPUs)
			assert.Zero(t, r.SavingW)
			assert.Contains(t, r.Reason, c.reason)
		})
	}
}

// sizingFleet is the second test fleet: models built so that the arithmetic of each verdict is simple. A100s
// are parked at 90 W, so the measured idle floor is 90 W; every window is 2000 steps of 5 minutes (6.9 days).
func sizingFleet() *fleet.Fleet {
	n := sizingSteps
	a100 := func(name, host string, gpus, overheadW, k float64, rates []float64) fleet.Model {
		return servingModel{name: name, gpuType: gpuA100, host: host, gpus: gpus, parkedW: 90, overheadW: overheadW, kJPerToken: k, tdpW: 400, rates: rates}.model()
	}
	// 90% of steps between 2 and 6 tok/s, 8% at 8, 2% bursts at 200: p95 = 8, p99 = 200.
	bursty := blockRates(n, block{0.90, 2, 6}, block{0.08, 8, 8}, block{0.02, 200, 200})
	// 97% of steps between 1 and 10 tok/s, 3% bursts at 100: p95 in the first block (< 10), p99 = 100.
	lowWithBursts := blockRates(n, block{0.97, 1, 10}, block{0.03, 100, 100})
	young := blockRates(n, block{1, 50, 150})
	for i := range young[:n-288] { // data for the last 288 steps (24 h) only
		young[i] = math.NaN()
	}
	return &fleet.Fleet{
		Grid: sizingGrid(),
		Models: []fleet.Model{
			a100("acme/tiny-chat-7B", hostUNL, 8, 80, 0.5, bursty),
			servingModel{
				name: "meta-llama/Llama-3.1-405B-Instruct-FP8", gpuType: gpuH100, host: hostSDSC, gpus: 8,
				parkedW: 125, overheadW: 100, kJPerToken: 2, tdpW: 700, rates: lowWithBursts,
			}.model(),
			a100("house-assistant", hostSDSC, 4, 40, 1, lowWithBursts),
			a100("acme/Mixer-110B-A12B-FP8", hostSDSC, 4, 60, 1, lowWithBursts),
			a100("acme/Sparse-40b-a4b", hostSDSC, 2, 20, 1, lowWithBursts),
			a100("acme/busy-8B", hostSDSC, 4, 40, 1, blockRates(n, block{1, 600, 1000})),
			// 3% of steps at 1500 tok/s would draw 400 + 1500 W: capped at 4 x 400 = 1600 W.
			a100("acme/capped-8B", hostSDSC, 4, 40, 1, blockRates(n, block{0.97, 10, 100}, block{0.03, 1500, 1500})),
			a100("acme/young-7B", hostSDSC, 2, 20, 0.5, young),
			parkedModel("acme/parked-13B", gpuA100, hostNYU, 1, 90),
			// Low-traffic helpers idle 70% of the time, one A100 each.
			a100("acme/helper-3B", hostNYU, 1, 10, 1, blockRates(n, block{0.7, 0, 0}, block{0.3, 1, 5})),
			a100("acme/helper-8B", hostNYU, 1, 10, 1, blockRates(n, block{0.7, 0, 0}, block{0.3, 1, 5})),
			a100("acme/helper-14B", hostNYU, 1, 10, 1, blockRates(n, block{0.7, 0, 0}, block{0.3, 1, 5})),
		},
	}
}

// The sizing fleet has no unallocated GPU: a freed A100 returns to the pool at the catalog's bare idle power
// (64 W), so it saves its 90 W parked floor less 64 W.
const (
	floorW      = 90
	poolW       = 64
	freedGPUW   = floorW - poolW
	a100HBM     = 2039 // GB/s, NVIDIA's A100-SXM4-80GB datasheet
	a100UsableG = 72   // 80 GB x 0.9
)

// estimatedPhysics is the physics bound of a model of unknown architecture of paramsB on tp A100s, worked
// out as docs/right-sizing.md states it: KV per token d^2/32 bytes with d = cbrt(128 x params / 12), KV room
// tp x 72 GB - weights - tp x 2 GB, batch = room / (KV x 2048 tokens), step = (weights + room) / (tp x
// bandwidth).
func estimatedPhysics(paramsB, weightsGB float64, tp int) float64 {
	d := math.Cbrt(128 * paramsB * 1e9 / 12)
	kv := d * d / 32
	room := float64(tp)*a100UsableG - weightsGB - float64(tp)*2
	batch := room * 1e9 / (kv * 2048)
	step := (weightsGB + room) / (float64(tp) * a100HBM)
	return batch / step
}

func TestRightSizingOnTheSizingFleet(t *testing.T) {
	got := rightSizeAll(t, sizingFleet(), fleet.DefaultSizingOptions())
	cases := []struct {
		model       string
		verdict     bool
		oversized   bool
		minGPUs     int
		recommended int
		sizeSource  fleet.SizeSource
		capacity    float64 // tokens/s of the recommended GPUs, when oversized
		capSource   fleet.CapacitySource
		savingW     float64
		reason      string
	}{
		{
			// 7B x 2 bytes x 1.2 = 16.8 GB: one A100. Its fit, 800 W + 0.5 J x rate on 8 GPUs (noise-free, so the
			// slope's upper bound is 0.5), reaches an A100's 400 W limit at (400 - 90 - (800/8 - 90)) / 0.5 = 600
			// tok/s per GPU, below physics (~1437); p95 8 <= 0.7 x 600. Saves 7 x 26 W + the fit's 80 W serving
			// overhead x 7/8.
			model: "acme/tiny-chat-7B", verdict: true, oversized: true, minGPUs: 1, recommended: 1,
			sizeSource: fleet.SizeName, capacity: 600, capSource: fleet.CapacityPower, savingW: 7*freedGPUW + 80*7.0/8,
			reason: "8x A100-SXM4-80GB serving 8 tok/s p95; needs ~17 GB at bf16 (7B from the name, bf16 assumed): fits 1x A100-SXM4-80GB; 1x would serve ~600 tok/s (power-headroom decided; physics ~1437, power ~600)",
		},
		{
			// 405B x 1 byte (FP8 in the name) x 1.2 = 486 GB > 4 x 72: it needs all 8 H100s, whatever its traffic.
			model: "meta-llama/Llama-3.1-405B-Instruct-FP8", verdict: true, minGPUs: 8, recommended: 8,
			sizeSource: fleet.SizeCatalog, reason: "needs ~486 GB at fp8 (405B from the catalog): fits no fewer than 8x H100 80GB HBM3",
		},
		{
			model: "house-assistant", reason: `the size of "house-assistant" is unknown: it is not in the model catalog and its name has no size; add it under Model sizes`,
		},
		{
			// 110B total, not the 12B active: 110 GB (FP8) x 1.2 = 132 GB: two A100s (one would do for 12B).
			// Fit 420 W + 1 J x rate on 4 GPUs: (400 - 105) / 1 = 295 tok/s per GPU, 590 on 2; physics is lower
			// (30 GB of KV room for the KV of a 110B model of unknown architecture) and decides; p95 < 10 is
			// still well within it.
			model: "acme/Mixer-110B-A12B-FP8", verdict: true, oversized: true, minGPUs: 2, recommended: 2,
			sizeSource: fleet.SizeName, capacity: estimatedPhysics(110, 110, 2), capSource: fleet.CapacityPhysics, savingW: 2*freedGPUW + 60*2.0/4,
		},
		{
			// 40B total (not the 4B active) x 2 bytes x 1.2 = 96 GB: needs its 2 A100s.
			model: "acme/Sparse-40b-a4b", verdict: true, minGPUs: 2, recommended: 2, sizeSource: fleet.SizeName,
			reason: "fits no fewer than 2x A100-SXM4-80GB",
		},
		{
			// 19.2 GB fits one A100, but its fit, 400 W + 1 J x rate on 4 GPUs, reaches 400 W per GPU at
			// (400 - 100) / 1 = 300 tok/s per GPU (its observed peak is 249): even 3 replicas of 1 GPU serve
			// 900, below p95 (980) / 0.7.
			model: "acme/busy-8B", verdict: true, minGPUs: 1, recommended: 4, sizeSource: fleet.SizeName,
			reason: "fits 1x A100-SXM4-80GB, but 3 replicas x 1 would serve ~900 tok/s (power-headroom decided; physics ~3804, power ~900), too little for the p95 with a 30% margin",
		},
		{
			// Bursts at 1500 tok/s hit the 1600 W power limit: capacity 1500 / 4 = 375 per GPU, p95 < 100.
			// Saves 3 x 26 W + the fit's 40 W overhead x 3/4.
			model: "acme/capped-8B", verdict: true, oversized: true, minGPUs: 1, recommended: 1,
			sizeSource: fleet.SizeName, capacity: 375, capSource: fleet.CapacityPowerCap, savingW: 3*freedGPUW + 40*3.0/4,
		},
		{
			model: "acme/young-7B", minGPUs: 1, sizeSource: fleet.SizeName,
			reason: "only 24 h of traffic history, a verdict needs 48 h",
		},
		{
			// Idle throughout: 13B x 2 x 1.2 = 31.2 GB fits the one GPU it has.
			model: "acme/parked-13B", verdict: true, minGPUs: 1, recommended: 1, sizeSource: fleet.SizeName,
		},
	}
	for _, c := range cases {
		t.Run(c.model, func(t *testing.T) {
			r := got[c.model]
			assert.Equal(t, c.verdict, r.Verdict, r.Reason)
			assert.Equal(t, c.oversized, r.Oversized, r.Reason)
			assert.Equal(t, c.minGPUs, r.MinGPUsByMemory)
			assert.Equal(t, c.recommended, r.RecommendedGPUs)
			if c.sizeSource != "" {
				assert.Equal(t, c.sizeSource, r.Size.Source)
			}
			if c.reason != "" {
				assert.Contains(t, r.Reason, c.reason)
			}
			assert.InDelta(t, c.savingW, r.SavingW, 1e-6*math.Max(1, c.savingW))
			assert.InDelta(t, c.savingW*24/1000, r.SavingKWhPerDay, 1e-6)
			if c.oversized {
				assert.InDelta(t, c.capacity, r.CapacityTokensPerS, 1e-6*c.capacity)
				assert.Equal(t, c.capSource, r.CapacitySource)
				assert.Equal(t, float64(r.GPUs-r.RecommendedGPUs)*freedGPUW, r.SavingIdleW)
				assert.Equal(t, r.GPUs-r.RecommendedGPUs, r.GPUsFreed)
				assert.Equal(t, fleet.FreedToPool, r.SavingBaseline)
				assert.Equal(t, fleet.IdleCatalog, r.PoolIdleSource)
			}
		})
	}
}

func TestRightSizingSavingsInEnergyCarbonAndJoulesPerToken(t *testing.T) {
	f := sizingFleet()
	r := rightSizeAll(t, f, fleet.DefaultSizingOptions())["acme/tiny-chat-7B"]
	require.True(t, r.Oversized)
	// 7 x 26 + 70 = 252 W for a day is 6.048 kWh; at UNL (531 g/kWh, PUE 1) 3.21 kg CO2.
	assert.InDelta(t, 6.048, r.SavingKWhPerDay, 1e-9)
	assert.InDelta(t, 6.048*531/1000, r.SavingKgCO2PerDay, 1e-9)
	// Busy at every step: power = 800 W + 0.5 J x rate, so J/token = 800 / mean rate + 0.5, and on one GPU
	// (252 W less) 548 / mean rate + 0.5.
	meanRate := fleet.Mean(f.Models[0].GenerationTokensPerS)
	assert.InDelta(t, 800/meanRate+0.5, r.JPerToken, 1e-9)
	assert.InDelta(t, 548/meanRate+0.5, r.ProjectedJPerToken, 1e-9)
}

func TestRightSizingSettingsAndOptions(t *testing.T) {
	t.Run("a model size setting gives the unnamed model a verdict", func(t *testing.T) {
		so := fleet.DefaultSizingOptions()
		so.Sizes = fleet.NewModelSizes(fleet.DefaultModelSizes, []fleet.SizeOverride{{Model: "house-assistant", ParamsB: 13, Dtype: "bf16"}})
		r := rightSizeAll(t, sizingFleet(), so)["house-assistant"]
		// 13B x 2 x 1.2 = 31.2 GB: one A100, which serves 25 tok/s against a p95 under 10.
		assert.Equal(t, fleet.SizeSetting, r.Size.Source)
		assert.True(t, r.Oversized, r.Reason)
		assert.Equal(t, 1, r.RecommendedGPUs)
		assert.InDelta(t, 3*freedGPUW+40*3.0/4, r.SavingW, 1e-6)
	})
	t.Run("a larger KV headroom needs more GPUs", func(t *testing.T) {
		so := fleet.DefaultSizingOptions()
		so.KVHeadroom = 0.5
		r := rightSizeAll(t, sizingFleet(), so)["acme/Mixer-110B-A12B-FP8"]
		// 110 GB x 1.5 = 165 GB > 2 x 72: four A100s, the ones it has.
		assert.InDelta(t, 165, r.MemoryNeedGB, 1e-9)
		assert.Equal(t, 4, r.RecommendedGPUs)
		assert.False(t, r.Oversized)
	})
	t.Run("a wider traffic margin keeps the GPUs a thin margin would free", func(t *testing.T) {
		so := fleet.DefaultSizingOptions()
		so.TrafficMargin = 0.75
		r := rightSizeAll(t, sizingFleet(), so)["acme/capped-8B"]
		// Capacity 375 tok/s per GPU (its power cap); p95 ~98 > 0.25 x 375 (1 GPU), <= 0.25 x 750 (2 GPUs).
		assert.Equal(t, 2, r.RecommendedGPUs)
		assert.InDelta(t, 2*freedGPUW+40*2.0/4, r.SavingW, 1e-6)
	})
	t.Run("an unknown GPU type gives no verdict and says what to configure", func(t *testing.T) {
		f := sizingFleet()
		f.Models[0].Placements[0].GPUType = "Acme Tensor Card 9000"
		r := rightSizeAll(t, f, fleet.DefaultSizingOptions())["acme/tiny-chat-7B"]
		assert.False(t, r.Verdict)
		assert.Contains(t, r.Reason, `GPU type "Acme Tensor Card 9000" is not in the GPU catalog; add its memory under GPUs`)
	})
}
