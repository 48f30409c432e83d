package source

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// A read asks Prometheus only for the quantities it needs; what it did not read is missing, and the cache
// keeps reads of different needs apart.
func TestFleetReadsOnlyWhatItNeeds(t *testing.T) {
	grid := fleet.Grid{Start: testNow.Add(-2 * time.Minute), Step: time.Minute, N: 3}
	f := &fakeProm{t: t, version: "2.42.0", series: plainFleet()}
	srv := f.start()
	cfg := testSettings(t, srv.URL, func(s *models.Settings) { s.CacheTTLSeconds = 60 })
	q := queriesOf(t, cfg, plainPowerLabels, true, true, grid)
	qwen := labels{"model_name": "qwen", "Hostname": "node-a", "modelName": a100}
	f.answers = map[string]string{
		q["power_w"]:                 matrixJSON(grid, answerSeries{qwen, []string{"300", "310", "320"}}),
		q["generation_tokens_per_s"]: matrixJSON(grid, answerSeries{labels{"model_name": "qwen", "namespace": "llm"}, []string{"10", "20", "30"}}),
		q["energy_j"]:                vectorJSON(grid.End(), answerSeries{qwen, []string{"54000"}}),
	}
	tests := []struct {
		needs       Quantities
		wantQueries []string
	}{
		{NeedPowerW | NeedTokenRates, []string{"power_w", "prompt_tokens_per_s", "generation_tokens_per_s"}},
		{NeedGPUs | NeedTokenRates | NeedPowerLimits, []string{"power_w", "prompt_tokens_per_s", "generation_tokens_per_s", "power_limit_w", "pod_gpu_types"}},
		{0, []string{"power_w", "prompt_tokens_per_s", "generation_tokens_per_s", "energy_j", "prompt_tokens", "generation_tokens", "power_limit_w", "pod_gpu_types"}},
	}
	p, _ := newTestSource(t, cfg, testNow)
	for _, tt := range tests {
		f.queries = nil
		got, err := p.Fleet(context.Background(), Request{Start: grid.Start, End: grid.End(), Step: grid.Step, Needs: tt.needs})
		require.NoError(t, err)
		var asked []string
		for _, rq := range f.queries {
			for name, promql := range q {
				if promql == rq.query {
					asked = append(asked, name)
				}
			}
		}
		assert.ElementsMatch(t, tt.wantQueries, asked, "needs %b", tt.needs)
		assert.Len(t, got.ExecutedQueries, len(tt.wantQueries))

		require.Len(t, got.Models, 1)
		qwenRead := got.Models[0].Placements[0]
		assertSeries(t, fleet.Series{300, 310, 320}, qwenRead.PowerW)
		assertSeries(t, fleet.Series{10, 20, 30}, got.Models[0].GenerationTokensPerS)
		// The GPUs are counted in the power's answer: a read of either reads both.
		assertSeries(t, fleet.Series{1, 1, 1}, qwenRead.GPUs)
		if tt.needs.Has(NeedWindowTotals) {
			assert.Equal(t, 54000.0, qwenRead.EnergyJ)
		} else {
			assert.True(t, math.IsNaN(qwenRead.EnergyJ), "energy not read")
		}
	}
}
