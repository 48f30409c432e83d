package fleet

import (
	"math"
	"regexp"
	"time"
)

// Synthetic fleets with known ground truth: every model's power is exactly gpus x parkedW + k x tokens/s.

const (
	a100  = "NVIDIA A100-SXM4-80GB"
	a6000 = "NVIDIA RTX A6000"
	unl   = "gpu-01.unl.edu"
	nyu   = "gpu-02.nyu.edu"
	sdsc  = "node-3.sdsc.optiputer.net"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func testGrid(n int) Grid { return Grid{Start: t0, Step: time.Minute, N: n} }

func constant(n int, v float64) Series {
	s := make(Series, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// ramp is n rates spread linearly over [lo, hi], shuffled deterministically so neighbours differ.
func ramp(n int, lo, hi float64) []float64 {
	r := make([]float64, n)
	for i := range r {
		j := (i * 7919) % n
		r[i] = lo + (hi-lo)*float64(j)/float64(max(n-1, 1))
	}
	return r
}

// served is a model on one placement of gpus GPUs drawing gpus x parkedW + k x rate at every step; a quarter of
// its tokens are prompt tokens. Window token totals are unknown (NaN), so they are summed from the steps.
func served(name, gpuType, host string, gpus, parkedW, k float64, rates []float64) Model {
	n := len(rates)
	p := Placement{Host: host, GPUType: gpuType, GPUs: constant(n, gpus), PowerW: make(Series, n), EnergyJ: math.NaN()}
	prompt, gen := make(Series, n), make(Series, n)
	for i, r := range rates {
		p.PowerW[i] = gpus*parkedW + k*r
		prompt[i], gen[i] = 0.25*r, 0.75*r
	}
	return Model{
		Name: name, Placements: []Placement{p},
		PromptTokensPerS: prompt, GenerationTokensPerS: gen,
		PromptTokens: math.NaN(), GenerationTokens: math.NaN(),
	}
}

// parked is a model with weights loaded and no traffic: all its steps are idle at parkedW per GPU.
func parked(name, gpuType, host string, gpus, parkedW float64, n int) Model {
	return served(name, gpuType, host, gpus, parkedW, 0, make([]float64, n))
}

// unallocated is a group of GPUs no pod holds, drawing w each.
func unallocated(gpuType, host string, gpus, w float64, n int) Model {
	return Model{
		Name: "unallocated", Unallocated: true,
		Placements:   []Placement{{Host: host, GPUType: gpuType, GPUs: constant(n, gpus), PowerW: constant(n, gpus*w), EnergyJ: math.NaN()}},
		PromptTokens: math.NaN(), GenerationTokens: math.NaN(),
	}
}

func testOptions() Options {
	o := DefaultOptions()
	o.Carbon = Carbon{PUE: 1, DefaultGPerKWh: 198, Sites: []CarbonSite{
		{Name: "UNL", Host: regexp.MustCompile(`unl\.edu`), GPerKWh: 531},
		{Name: "NYU", Host: regexp.MustCompile(`nyu\.edu`), GPerKWh: 174},
	}}
	return o
}
