// Package fleet holds the domain of the plugin: what a served model draws and produces over time, the catalogs
// of GPUs and model sizes, and the analyses. Everything here is pure: no I/O, no PromQL, no Grafana SDK.
package fleet

import (
	"math"
	"time"
)

// Grid is the time axis shared by every series of one Fleet: Start, Start+Step, ..., N steps.
type Grid struct {
	Start time.Time
	Step  time.Duration
	N     int
}

// At is the time of step i.
func (g Grid) At(i int) time.Time { return g.Start.Add(time.Duration(i) * g.Step) }

// End is the time of the last step.
func (g Grid) End() time.Time { return g.At(g.N - 1) }

// Span is the length of time the grid covers: N steps of Step each.
func (g Grid) Span() time.Duration { return time.Duration(g.N) * g.Step }

// Index is the step at time t, false when t is not on the grid.
func (g Grid) Index(t time.Time) (int, bool) {
	if g.Step <= 0 || t.Before(g.Start) {
		return 0, false
	}
	d := t.Sub(g.Start)
	if d%g.Step != 0 {
		return 0, false
	}
	i := int(d / g.Step)
	return i, i < g.N
}

// Series holds one value per grid step. NaN marks a step without data (a scrape gap, a model not yet deployed).
type Series []float64

// NewSeries is a series of n steps, all missing.
func NewSeries(n int) Series {
	s := make(Series, n)
	for i := range s {
		s[i] = math.NaN()
	}
	return s
}

// TokenKind says which tokens count as "tokens": prompt + generation (what NRP's table reports) or generation
// only (the ML.ENERGY convention).
type TokenKind string

const (
	TokensTotal      TokenKind = "total"
	TokensGeneration TokenKind = "generation"
)

// EnergySource says where window energy came from.
type EnergySource string

const (
	// EnergyFromCounter is increase() of DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION: exact between scrapes.
	EnergyFromCounter EnergySource = "energy-counter"
	// EnergyFromGauge integrates the power gauge sample by sample.
	EnergyFromGauge EnergySource = "power-gauge"
)

// Placement is the part of a model's GPUs that are of one type on one node. Carbon intensity is per node and
// memory per GPU type, so the analyses need power and GPU counts at this grain.
type Placement struct {
	Host    string
	GPUType string // DCGM modelName as exported, e.g. "NVIDIA A100-SXM4-80GB"
	GPUs    Series // GPUs held at each step
	PowerW  Series // summed power of those GPUs at each step
	// PowerLimitW is the summed power limit of those GPUs at each step; nil when the exporter does not export it
	// (the analyses then use the catalog's TDP).
	PowerLimitW Series
	// EnergyJ is the energy of these GPUs over the whole window (not summed from the sampled steps); NaN when unknown.
	EnergyJ float64
}

// Model is one served model (the vLLM model_name), everything its GPUs and its servers reported.
type Model struct {
	Name      string
	Namespace string
	// Unallocated marks the group of GPUs that no pod holds: they draw power but serve no model.
	Unallocated bool
	Placements  []Placement

	PromptTokensPerS     Series
	GenerationTokensPerS Series
	// Replicas is the number of the model's serving pods with token data at each step; nil where the source
	// cannot tell pods apart.
	Replicas Series
	// Window totals from increase() over the whole window; NaN when unknown.
	PromptTokens     float64
	GenerationTokens float64

	// Serving is what the serving engine reports about its load; nil when it exports nothing of it.
	Serving *Serving
}

// Fleet is every model over one window on one grid.
type Fleet struct {
	Grid         Grid
	Models       []Model
	EnergySource EnergySource
	// RateWindow is the window of rate() behind the per-step token rates.
	RateWindow time.Duration
	// ExecutedQueries are the engine queries that produced this fleet, shown in Explore's query inspector.
	ExecutedQueries []string
	// Notices are facts about the data a user should see next to the numbers (gaps, fallbacks, partial answers).
	Notices []string
	// Intensity is the grid's live carbon intensity (gCO2/kWh) per site name on the grid, NaN where the source
	// had none; nil without the live intensity setting (Carbon.WithLive).
	Intensity map[string]Series
}
