// Package demo is the demo source: the fleet of the simulator (pkg/sim) answered in-process, with no Prometheus.
// It is the only package of the plugin that imports the simulator.
package demo

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/source"
)

// Notice is on every fleet the demo source returns.
const Notice = "Demo data: simulated fleet, not a real cluster"

// demoCacheSize bounds the windows kept: a dashboard asks for a handful of (range, step) pairs.
const demoCacheSize = 16

// Source answers from the built-in simulated fleet, in-process, with what the Prometheus path reads: per step t
// (standing for (t-step, t]), power averaged over the step and GPUs held at t per placement, token rates over
// the rate window ending at t; window totals of energy per placement and tokens over the span the grid
// covers; models sorted by name, the unallocated GPUs last.
type Source struct {
	cfg *models.Settings
	sim *sim.Sim
	err error

	mu    sync.Mutex
	cache map[source.Request]*fleet.Fleet
}

// New is the demo source: the demo fleet of today (sim.DemoFleet), or of the settings' demoNow when set.
func New(cfg *models.Settings) *Source {
	now, ok := cfg.DemoTime()
	if !ok {
		now = time.Now()
	}
	return NewAt(cfg, now)
}

// NewAt is New as if it were now.
func NewAt(cfg *models.Settings, now time.Time) *Source {
	spec := sim.DemoFleet(now)
	seed := cfg.DemoSeed
	if seed == 0 {
		seed = sim.DefaultSeed
	}
	s, err := sim.New(spec, seed)
	return &Source{cfg: cfg, sim: s, err: err, cache: map[source.Request]*fleet.Fleet{}}
}

// Sim is the simulated fleet behind the demo, for tests that compare with its truth.
func (d *Source) Sim() *sim.Sim { return d.sim }

func (d *Source) Fleet(_ context.Context, req source.Request) (*fleet.Fleet, error) {
	if d.err != nil {
		return nil, d.err
	}
	if req.Step <= 0 || req.End.Before(req.Start) {
		return nil, fmt.Errorf("the demo fleet needs a positive step and an end after the start (got step %s)", req.Step)
	}
	key := source.Request{Start: req.Start, End: req.End, Step: req.Step}
	d.mu.Lock()
	f, ok := d.cache[key]
	d.mu.Unlock()
	if ok {
		return f, nil
	}
	f = d.read(key)
	d.mu.Lock()
	if len(d.cache) >= demoCacheSize {
		clear(d.cache)
	}
	d.cache[key] = f
	d.mu.Unlock()
	return f, nil
}

// read builds the fleet of one window.
func (d *Source) read(req source.Request) *fleet.Fleet {
	s := d.sim
	grid := source.GridOf(req)
	f := &fleet.Fleet{
		Grid:         grid,
		EnergySource: fleet.EnergyFromCounter,
		RateWindow:   source.RateWindow(req.Step, d.cfg.Scrape()),
		Notices:      []string{Notice},
	}
	from := grid.End().Add(-grid.Span()) // the window the grid covers
	names := s.Models()
	slices.Sort(names)
	for _, name := range names {
		m := fleet.Model{
			Name: name, Namespace: s.Namespace(name),
			Placements:           d.placements(name, grid, from),
			PromptTokensPerS:     fleet.NewSeries(grid.N),
			GenerationTokensPerS: fleet.NewSeries(grid.N),
			PromptTokens:         s.Tokens(name, sim.TokensTotal, from, grid.End()) - s.Tokens(name, sim.TokensGeneration, from, grid.End()),
			GenerationTokens:     s.Tokens(name, sim.TokensGeneration, from, grid.End()),
		}
		for i := range grid.N {
			t := grid.At(i)
			since := t.Add(-f.RateWindow)
			if s.InGap(t) || !s.Serving(name, since, t) {
				continue
			}
			gen := s.MeanTokensPerS(name, sim.TokensGeneration, since, t)
			m.GenerationTokensPerS[i] = gen
			m.PromptTokensPerS[i] = s.MeanTokensPerS(name, sim.TokensTotal, since, t) - gen
		}
		f.Models = append(f.Models, m)
	}
	if ps := d.placements(sim.Unallocated, grid, from); len(ps) > 0 {
		f.Models = append(f.Models, fleet.Model{
			Name: source.UnallocatedModel, Unallocated: true, Placements: ps,
			PromptTokensPerS: fleet.NewSeries(grid.N), GenerationTokensPerS: fleet.NewSeries(grid.N),
			PromptTokens: math.NaN(), GenerationTokens: math.NaN(),
		})
	}
	return f
}

// placements are the model's GPUs per (host, GPU type), sorted: held at each step, power averaged over the
// step, energy over (from, end of the grid].
func (d *Source) placements(model string, grid fleet.Grid, from time.Time) []fleet.Placement {
	s := d.sim
	var out []fleet.Placement
	for _, p := range s.Placements(model) {
		capW := gpuCapW(s.Spec(), p.GPUType)
		fp := fleet.Placement{
			Host: p.Host, GPUType: p.GPUType,
			GPUs: fleet.NewSeries(grid.N), PowerW: fleet.NewSeries(grid.N), PowerLimitW: fleet.NewSeries(grid.N),
			EnergyJ: s.PlacementEnergyJ(model, p, from, grid.End()),
		}
		held := false
		for i := range grid.N {
			t := grid.At(i)
			n := s.PlacementGPUs(model, p, t)
			if n == 0 || s.InGap(t) {
				continue
			}
			held = true
			fp.GPUs[i] = float64(n)
			fp.PowerLimitW[i] = float64(n) * capW
			fp.PowerW[i] = s.PlacementEnergyJ(model, p, t.Add(-grid.Step), t) / grid.Step.Seconds()
		}
		if held || fp.EnergyJ > 0 {
			out = append(out, fp)
		}
	}
	slices.SortFunc(out, func(a, b fleet.Placement) int {
		return cmp.Or(cmp.Compare(a.Host, b.Host), cmp.Compare(a.GPUType, b.GPUType))
	})
	return out
}

func gpuCapW(spec sim.Spec, gpuType string) float64 {
	i := slices.IndexFunc(spec.GPUTypes, func(g sim.GPUType) bool { return g.Name == gpuType })
	return spec.GPUTypes[i].PowerCapW
}

func (d *Source) Values(_ context.Context, kind source.ValueKind) ([]string, error) {
	if d.err != nil {
		return nil, d.err
	}
	spec := d.sim.Spec()
	var out []string
	switch kind {
	case source.ValueModels:
		for _, m := range spec.Models {
			out = append(out, m.Name)
		}
	case source.ValueNamespaces:
		for _, m := range spec.Models {
			out = append(out, m.Namespace)
		}
	case source.ValueGPUTypes:
		for _, n := range spec.Nodes {
			out = append(out, n.GPUType)
		}
	default:
		return nil, fmt.Errorf("unknown list %q: ask for %q, %q or %q", kind, source.ValueModels, source.ValueGPUTypes, source.ValueNamespaces)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (d *Source) Health(context.Context) source.Health {
	if d.err != nil {
		return source.Health{Message: "The demo fleet could not be built: " + d.err.Error()}
	}
	spec := d.sim.Spec()
	gpus := 0
	for _, n := range spec.Nodes {
		gpus += n.GPUs
	}
	return source.Health{
		OK: true,
		Message: fmt.Sprintf("Demo mode: answering from a built-in simulated fleet (%d models on %d GPUs), not a real cluster; no Prometheus is queried.",
			len(spec.Models), gpus),
		Details: map[string]any{"mode": string(models.ModeDemo), "models": len(spec.Models), "gpus": gpus},
	}
}
