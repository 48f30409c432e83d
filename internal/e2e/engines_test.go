package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/testhost"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/vmtest"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/source"
)

// vmWeek is VictoriaMetrics holding the week of week, imported through its import API.
var vmWeek = vmtest.NewFixture(func(dir string) (vmtest.Options, error) {
	o, err := historyOf(fleetSim, weekStart, weekEnd)(dir)
	return vmtest.Options{Import: o.Backfill}, err
})

// vmRecent is VictoriaMetrics holding the recent hours of recent, for the health check.
var vmRecent = vmtest.NewFixture(func(dir string) (vmtest.Options, error) {
	o, err := historyOf(recentSim, recentStart, recentEnd)(dir)
	return vmtest.Options{Import: o.Backfill}, err
})

// engineUnderTest is a Prometheus-compatible engine holding the week, and the recent hours.
type engineUnderTest struct {
	name   models.Engine
	url    func(t *testing.T) string
	recent func(t *testing.T) string
}

var engines = []engineUnderTest{
	{models.EnginePrometheus, func(t *testing.T) string { return week.Server(t).URL }, func(t *testing.T) string { return recent.Server(t).URL }},
	{models.EngineVictoriaMetrics, func(t *testing.T) string { return vmWeek.Server(t).URL }, func(t *testing.T) string { return vmRecent.Server(t).URL }},
}

func TestHealthNamesTheEngine(t *testing.T) {
	p := startPlugin(t)
	for _, e := range engines {
		t.Run(string(e.name), func(t *testing.T) {
			h, err := p.CheckHealth(ctx(t), settingsFor(e.recent(t), nil))
			require.NoError(t, err)
			assert.Equal(t, backend.HealthStatusOk, h.Status, h.Message)
			assert.Contains(t, string(h.JSONDetails), fmt.Sprintf(`"engine":%q`, e.name))
		})
	}
}

// TestEnginesAgreeWithTheTruth runs a dashboard's queries over the week on each engine through the plugin
// binary: per-model power and token rates step by step, idle attribution and J/token over the window, and the
// right-sizing verdicts, within the tolerances of the Prometheus source's integration tests (2% a step, 1% a
// window), and the same verdicts from both engines.
func TestEnginesAgreeWithTheTruth(t *testing.T) {
	p := startPlugin(t)
	// A panel 2100 points wide: 5-minute steps over the week.
	const step, width = 5 * time.Minute, 2100
	from := weekStart
	req, err := source.Plan(from, weekEnd, step, width, scrapeStep)
	require.NoError(t, err)
	require.Equal(t, step, req.Step)
	truth := truthOver(fleetSim, source.GridOf(req))
	verdicts := map[models.Engine]map[string]any{}
	for _, e := range engines {
		t.Run(string(e.name), func(t *testing.T) {
			var queries []testhost.Query
			for _, q := range []struct{ refID, queryType, options string }{
				{"power", models.QueryFleetTimeseries, `,"metric":"power_w"`},
				{"tokens", models.QueryFleetTimeseries, `,"metric":"tokens_per_s"`},
				{"idle", models.QueryIdleAttribution, ""},
				{"sizing", models.QueryRightSizing, ""},
			} {
				dq := query(q.refID, q.queryType, q.options, from, weekEnd)
				dq.Interval, dq.MaxDataPoints = step, width
				queries = append(queries, dq)
			}
			got := answer(t, p, settingsFor(e.url(t), nil), nil, queries...)

			checked := 0
			for _, f := range got["power"] {
				model, times, values := modelSeries(f)
				if _, ok := truth.Model(model); !ok {
					continue // the unallocated GPUs: checked by the source's tests
				}
				for i, at := range times {
					if values[i] != nil && fleetSim.Defined(at.Add(-step), at) {
						checked++
						require.InEpsilon(t, fleetSim.MeanPowerW(model, at.Add(-step), at), *values[i], 0.02, "%s power at %s", model, at)
					}
				}
			}
			assert.Greater(t, checked, len(truth.Models)*source.GridOf(req).N*9/10, "power steps checked")
			checked = 0
			for _, f := range got["tokens"] {
				model, times, values := modelSeries(f)
				if _, ok := truth.Model(model); !ok {
					continue
				}
				for i, at := range times {
					want := fleetSim.MeanTokensPerS(model, sim.TokensTotal, at.Add(-step), at)
					if values[i] != nil && fleetSim.Defined(at.Add(-step), at) && want >= 1 {
						checked++
						require.InEpsilon(t, want, *values[i], 0.02, "%s tok/s at %s", model, at)
					}
				}
			}
			assert.Positive(t, checked, "token steps checked")

			idle := rows(t, got["idle"][0])
			for _, m := range truth.Models {
				row := idle[m.Model]
				require.NotNil(t, row, m.Model)
				assert.InEpsilon(t, m.MeanPowerW, row["power_w"], 0.01, "%s power", m.Model)
				if m.PromptTokens+m.GenerationTokens > 0 && !m.Idle {
					assert.InEpsilon(t, m.JPerToken, row["j_per_token"], 0.02, "%s J/token", m.Model)
				}
				if m.Idle {
					assert.Greater(t, row["idle_fraction"], 0.99, "%s is parked: all of its power is idle", m.Model)
				}
			}

			verdicts[e.name] = map[string]any{}
			for model, row := range rows(t, got["sizing"][0]) {
				verdicts[e.name][model] = row["oversized"]
			}
			assert.Equal(t, true, verdicts[e.name]["Llama-3.1-8B-Instruct"], "8B at bf16 fits one of its two L40s, and its traffic too")
		})
	}
	assert.Equal(t, verdicts[models.EnginePrometheus], verdicts[models.EngineVictoriaMetrics], "the same right-sizing verdicts on both engines")
}

// modelSeries reads a TimeSeriesMulti frame: its model label, times and values.
func modelSeries(f *data.Frame) (string, []time.Time, []*float64) {
	times := make([]time.Time, f.Rows())
	values := make([]*float64, f.Rows())
	for i := range times {
		times[i] = f.Fields[0].At(i).(time.Time)
		values[i] = f.Fields[1].At(i).(*float64)
	}
	return f.Fields[1].Labels["model"], times, values
}
