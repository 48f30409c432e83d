package demo_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/demo"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/source"
)

var demoNow = time.Date(2026, 11, 20, 15, 4, 0, 0, time.UTC)

func demoSettings(t testing.TB) *models.Settings {
	t.Helper()
	cfg, err := models.LoadSettings(backend.DataSourceInstanceSettings{JSONData: []byte(`{"mode":"demo"}`)})
	require.NoError(t, err)
	return cfg
}

func TestDemoFleetIsTheSimulatorsTruth(t *testing.T) {
	d := demo.NewAt(demoSettings(t), demoNow)
	req, err := source.Plan(demoNow.Add(-7*24*time.Hour), demoNow, time.Minute, 2000, 30*time.Second)
	require.NoError(t, err)
	began := time.Now()
	f, err := d.Fleet(context.Background(), req)
	require.NoError(t, err)
	t.Logf("7 days at %s: %d steps in %s", req.Step, f.Grid.N, time.Since(began))

	assert.Contains(t, f.Notices, demo.Notice)
	assert.Equal(t, max(req.Step, 2*time.Minute), f.RateWindow, "rate window: max(step, 4 x 30 s scrape)")
	assert.Equal(t, fleet.EnergyFromCounter, f.EnergySource)
	assert.Equal(t, req.Start, f.Grid.Start)
	assert.Equal(t, req.End, f.Grid.End())

	s := d.Sim()
	// The grid's steps stand for (t-step, t]: the window starts a step before the first.
	truth := s.Truth(req.Start.Add(-req.Step), req.End, req.Step)
	require.Len(t, f.Models, len(truth.Models)+1, "every model and the unallocated GPUs")
	for _, want := range truth.Models {
		i := index(f, want.Model)
		require.GreaterOrEqual(t, i, 0, want.Model)
		m := f.Models[i]
		t.Run(want.Model, func(t *testing.T) {
			assert.Equal(t, want.Namespace, m.Namespace)
			assert.Equal(t, want.GPUType, m.GPUType())
			assert.InEpsilon(t, want.EnergyJ, m.EnergyJ(), 1e-9, "window energy")
			assert.InEpsilon(t, want.MeanPowerW, fleet.Mean(m.PowerW()), 0.02, "mean power over the steps")
			assert.Equal(t, float64(want.GPUs), fleet.Quantile(m.GPUs(), 0.5), "GPUs held")
			tokens := m.Tokens(fleet.TokensTotal)
			if want.PromptTokens+want.GenerationTokens == 0 {
				assert.Zero(t, tokens)
				return
			}
			assert.InEpsilon(t, want.JPerToken, m.EnergyJ()/tokens, 0.02, "J/token")
			assert.InEpsilon(t, want.GenerationTokens, m.Tokens(fleet.TokensGeneration), 1e-9)
			rates := m.TokensPerS(fleet.TokensTotal)
			for j := range f.Grid.N {
				at := f.Grid.At(j)
				if !s.Defined(at.Add(-f.RateWindow), at) {
					continue
				}
				require.InDelta(t, s.MeanTokensPerS(want.Model, sim.TokensTotal, at.Add(-f.RateWindow), at), rates[j], 1e-6, "at %s", at)
			}
		})
	}
	names := make([]string, len(f.Models))
	for i, m := range f.Models {
		names[i] = m.Name
	}
	assert.IsIncreasing(t, names[:len(names)-1], "models sorted by name")
	unallocated := f.Models[len(f.Models)-1]
	assert.True(t, unallocated.Unallocated)
	assert.Equal(t, source.UnallocatedModel, unallocated.Name, "the unallocated GPUs last")
	assert.InEpsilon(t, truth.Unallocated.EnergyJ, unallocated.EnergyJ(), 1e-9)

	again, err := d.Fleet(context.Background(), req)
	require.NoError(t, err)
	assert.Same(t, f, again, "a repeated window comes from the cache")
}

func TestDemoShowsRestartAndGap(t *testing.T) {
	d := demo.NewAt(demoSettings(t), demoNow)
	s := d.Sim()
	r := s.Spec().Mess.Restarts[0]
	g := s.Spec().Mess.Gaps[0]
	require.True(t, r.At.After(demoNow.Add(-7*24*time.Hour)), "the restart is in the last week")
	require.True(t, g.Start.After(demoNow.Add(-7*24*time.Hour)), "the gap is in the last week")

	f, err := d.Fleet(context.Background(), source.Request{Start: r.At.Add(-time.Hour), End: r.At.Add(time.Hour), Step: time.Minute})
	require.NoError(t, err)
	i := index(f, r.Model)
	require.GreaterOrEqual(t, i, 0)
	m := f.Models[i]
	assert.Len(t, m.Placements, 2, "the pod moved to another node")
	gpus := m.GPUs()
	for j := range f.Grid.N {
		at := f.Grid.At(j)
		if at.After(r.At) && !at.After(r.At.Add(r.Down)) {
			assert.True(t, math.IsNaN(gpus[j]), "no GPU while restarting, at %s", at)
		} else {
			assert.Equal(t, 2.0, gpus[j], "at %s", at)
		}
	}

	f, err = d.Fleet(context.Background(), source.Request{Start: g.Start.Add(-time.Hour), End: g.Start.Add(time.Hour), Step: time.Minute})
	require.NoError(t, err)
	power := f.Models[0].PowerW()
	for j := range f.Grid.N {
		at := f.Grid.At(j)
		inGap := !at.Before(g.Start) && at.Before(g.Start.Add(g.Duration))
		assert.Equal(t, inGap, math.IsNaN(power[j]), "missing exactly in the gap, at %s", at)
	}
}

func TestDemoNowPinsTheFleetToItsDay(t *testing.T) {
	cfg, err := models.LoadSettings(backend.DataSourceInstanceSettings{JSONData: []byte(`{"mode":"demo","demoNow":"2026-11-20T15:04:00Z"}`)})
	require.NoError(t, err)
	pinned := demo.New(cfg).Sim().Spec()
	assert.Equal(t, sim.DemoFleet(demoNow), pinned)
	assert.Equal(t, demoNow.Truncate(24*time.Hour).Add(-sim.DemoHistory), pinned.Epoch)
	assert.NotEqual(t, pinned.Epoch, demo.New(demoSettings(t)).Sim().Spec().Epoch, "unpinned, the demo follows the clock")
}

func TestDemoValuesAndHealth(t *testing.T) {
	d := demo.NewAt(demoSettings(t), demoNow)
	ctx := context.Background()
	names, err := d.Values(ctx, source.ValueModels)
	require.NoError(t, err)
	assert.ElementsMatch(t, d.Sim().Models(), names)
	types, err := d.Values(ctx, source.ValueGPUTypes)
	require.NoError(t, err)
	assert.Contains(t, types, "NVIDIA A100-SXM4-80GB")
	assert.Contains(t, types, "NVIDIA RTX A6000")
	ns, err := d.Values(ctx, source.ValueNamespaces)
	require.NoError(t, err)
	assert.Equal(t, []string{"nrp-llm", "sdsc-llm"}, ns)
	_, err = d.Values(ctx, "colors")
	assert.ErrorContains(t, err, "colors")

	h := d.Health(ctx)
	assert.True(t, h.OK)
	assert.Contains(t, h.Message, "Demo mode")
}

func index(f *fleet.Fleet, name string) int {
	for i, m := range f.Models {
		if m.Name == name {
			return i
		}
	}
	return -1
}

// BenchmarkDemoWeekAtOneMinute is a dashboard's week at 1-minute steps, each run a window the cache has not seen.
func BenchmarkDemoWeekAtOneMinute(b *testing.B) {
	d := demo.NewAt(demoSettings(b), demoNow)
	req := source.Request{Start: demoNow.Add(-7 * 24 * time.Hour), End: demoNow, Step: time.Minute}
	for i := 0; b.Loop(); i++ {
		req.End = demoNow.Add(time.Duration(i) * time.Minute)
		_, err := d.Fleet(context.Background(), req)
		require.NoError(b, err)
	}
}
