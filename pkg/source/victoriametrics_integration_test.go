package source

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/vmtest"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

// One VictoriaMetrics serves the package's tests against a second engine: the same history as the shared
// Prometheus (every variant), imported through its import API.
var simVM = vmtest.NewFixture(func(dir string) (vmtest.Options, error) {
	o, err := writeSimHistory(dir)
	return vmtest.Options{Import: o.Backfill}, err
})

func vmSource(t *testing.T, name string, mutate func(*models.Settings)) (*Prometheus, *sim.Sim) {
	t.Helper()
	return simSourceAt(t, simVM.Server(t).URL, name, mutate)
}

func TestVictoriaMetricsReadsTheSimulatedFleet(t *testing.T) {
	for _, name := range []string{"plain", "exported", "renamed"} {
		t.Run(name, func(t *testing.T) {
			p, s := vmSource(t, name, nil)
			f := readSim(t, p, name)
			assert.NotContains(t, strings.Join(f.ExecutedQueries, "\n"), "1ms]", "VictoriaMetrics' counter windows are the window")
			checkAgainstTruth(t, f, s)
			assertZeroRateAtGapStart(t, f, s)
			checkMess(t, f, s)
		})
	}
}

// assertZeroRateAtGapStart checks the one difference of VictoriaMetrics on the simulated fleet, and then
// blanks it: in range queries its rate() carries a series' last sample into a window with no sample, so the
// first step whose rate window lies in a scrape gap has 0 tok/s where Prometheus has none. Power has none in
// both, so the analyses, which count steps with power, skip that step alike.
func assertZeroRateAtGapStart(t *testing.T, f *fleet.Fleet, s *sim.Sim) {
	t.Helper()
	for _, gap := range gapsIn(s, f) {
		first, ok := f.Grid.Index(gap.Start.Add(f.RateWindow).Truncate(f.Grid.Step))
		require.True(t, ok)
		if f.Grid.At(first).Add(-f.RateWindow).Before(gap.Start) {
			first++
		}
		for i := range f.Models {
			m := &f.Models[i]
			if m.Unallocated {
				continue
			}
			assert.True(t, math.IsNaN(m.PowerW()[first]), "%s power at %s", m.Name, f.Grid.At(first))
			for _, rates := range []fleet.Series{m.PromptTokensPerS, m.GenerationTokensPerS} {
				assert.Equal(t, 0.0, rates[first], "%s tok/s at %s, the gap's first empty window", m.Name, f.Grid.At(first))
				assert.True(t, math.IsNaN(rates[first+1]), "%s tok/s at %s", m.Name, f.Grid.At(first+1))
				rates[first] = math.NaN()
			}
		}
	}
}

func TestVictoriaMetricsHealth(t *testing.T) {
	p, s := vmSource(t, "plain", nil)
	h := p.Health(context.Background())
	assert.True(t, h.OK, h.Message)
	assert.Equal(t, string(models.EngineVictoriaMetrics), h.Details["engine"])
	assert.Contains(t, h.Message, "Connected to VictoriaMetrics (detected from its build info and headers).")
	models, err := p.Values(context.Background(), ValueModels)
	require.NoError(t, err)
	assert.Len(t, models, len(s.Models()))
}

func TestVictoriaMetricsAndPrometheusAnswerAlike(t *testing.T) {
	// The analyses (idle attribution, J/token, right-sizing verdicts) over the week agree within 1% between
	// the engines: their reads differ only at the gap's first step (above), which has no power.
	vm, _ := vmSource(t, "plain", nil)
	prom, _ := simSource(t, "plain", nil)
	got, want := readSim(t, vm, "plain"), readSim(t, prom, "plain")
	assertSameAnswers(t, want, got, 0.01)
}
