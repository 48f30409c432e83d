package fleet_test

import (
	"math"
	"regexp"
	"time"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

// Synthetic fleets for right-sizing and consolidation. Every model draws exactly
//   busy step: GPUs x parkedW + overheadW + k x tokens/s (capped at GPUs x TDP)
//   idle step: GPUs x parkedW
// so the measured idle floor is parkedW and the efficiency fit is p0 = GPUs x parkedW + overheadW, k.

const (
	gpuA100  = "NVIDIA A100-SXM4-80GB"
	gpuA6000 = "NVIDIA RTX A6000"
	gpuH100  = "NVIDIA H100 80GB HBM3"
	hostUNL  = "gpu-07.unl.edu"
	hostSDSC = "gpu-12.sdsc.optiputer.net"
	hostNYU  = "gpu-03.nyu.edu"

	// sizingSteps at 5-minute steps is 6.9 days: more than the 48 h of history a verdict needs.
	sizingSteps = 2000
	sizingStep  = 5 * time.Minute
)

var sizingStart = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func sizingGrid() fleet.Grid { return fleet.Grid{Start: sizingStart, Step: sizingStep, N: sizingSteps} }

// block is a share of a model's steps with token rates spread evenly over [lo, hi].
type block struct{ share, lo, hi float64 }

// blockRates lays out the blocks' rates over n steps, then shuffles them with a fixed stride so that idle and
// busy steps interleave. Quantiles of the result are those of the blocks: a block holding ranks around q x n
// gives the q-quantile.
func blockRates(n int, blocks ...block) []float64 {
	sorted := make([]float64, 0, n)
	for bi, b := range blocks {
		k := int(math.Round(b.share * float64(n)))
		if bi == len(blocks)-1 {
			k = n - len(sorted)
		}
		for i := range k {
			v := b.lo
			if k > 1 {
				v += (b.hi - b.lo) * float64(i) / float64(k-1)
			}
			sorted = append(sorted, v)
		}
	}
	out := make([]float64, n)
	for i, v := range sorted {
		out[(i*7919)%n] = v
	}
	return out
}

// servingModel is one model on one placement drawing the power of the comment above; tokens are all
// generation tokens, window totals unknown (summed from the steps).
type servingModel struct {
	name, gpuType, host string
	gpus                float64
	parkedW, overheadW  float64
	kJPerToken          float64
	tdpW                float64
	rates               []float64
}

func (s servingModel) model() fleet.Model {
	n := len(s.rates)
	p := fleet.Placement{Host: s.host, GPUType: s.gpuType, GPUs: fleet.NewSeries(n), PowerW: fleet.NewSeries(n), EnergyJ: math.NaN()}
	gen, prompt := fleet.NewSeries(n), fleet.NewSeries(n)
	for i, r := range s.rates {
		if math.IsNaN(r) {
			continue
		}
		prompt[i] = 0
		w := s.gpus * s.parkedW
		if r >= fleet.DefaultIdleThresholdTokensPerS {
			w += s.overheadW + s.kJPerToken*r
		}
		if s.tdpW > 0 {
			w = math.Min(w, s.gpus*s.tdpW)
		}
		p.GPUs[i], p.PowerW[i], gen[i] = s.gpus, w, r
	}
	return fleet.Model{
		Name: s.name, Placements: []fleet.Placement{p},
		GenerationTokensPerS: gen, PromptTokensPerS: prompt,
		PromptTokens: math.NaN(), GenerationTokens: math.NaN(),
	}
}

// parkedModel has its weights loaded and serves nothing: gpus x parkedW at every step.
func parkedModel(name, gpuType, host string, gpus, parkedW float64) fleet.Model {
	return servingModel{name: name, gpuType: gpuType, host: host, gpus: gpus, parkedW: parkedW, rates: make([]float64, sizingSteps)}.model()
}

func sizingOptions() fleet.Options {
	o := fleet.DefaultOptions()
	o.Carbon = fleet.Carbon{PUE: 1, DefaultGPerKWh: 198, Sites: []fleet.CarbonSite{
		{Name: "UNL", Host: regexp.MustCompile(`unl\.edu`), GPerKWh: 531},
		{Name: "NYU", Host: regexp.MustCompile(`nyu\.edu`), GPerKWh: 174},
	}}
	return o
}

// nrpFleet is the fleet of NRP's measured table over a week: the busy models at their table
// rates, the idle ones parked at their table power.
func nrpFleet() *fleet.Fleet {
	n := sizingSteps
	a6000 := func(name string, tokensPerS, powerW float64) fleet.Model {
		// 2x A6000 parked at 105 W each; k puts the table's power at the table's rate.
		return servingModel{
			name: name, gpuType: gpuA6000, host: hostSDSC, gpus: 2, parkedW: 105,
			kJPerToken: (powerW - 210) / tokensPerS, rates: blockRates(n, block{1, 0.5 * tokensPerS, 1.5 * tokensPerS}),
		}.model()
	}
	return &fleet.Fleet{
		Grid: sizingGrid(),
		Models: []fleet.Model{
			a6000("gpt-oss-120b", 2341, 597),
			a6000("gemma-4-31B", 360, 577),
			servingModel{
				name: "Qwen3.5-397B", gpuType: gpuA100, host: hostSDSC, gpus: 8, parkedW: 90,
				kJPerToken: (783 - 720) / 18.0, rates: blockRates(n, block{1, 6, 30}),
			}.model(),
			parkedModel("Kimi-K2.5", gpuA100, hostSDSC, 8, 670.0/8),
			parkedModel("MiniMax-M2.5", gpuA100, hostUNL, 4, 447.0/4),
			parkedModel("allenai/OLMo-2-0325-32B-Instruct", gpuA100, hostNYU, 2, 105),
		},
	}
}
