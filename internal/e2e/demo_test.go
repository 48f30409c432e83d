package e2e

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/testhost"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// The demo source pinned to weekEnd simulates the very fleet whose history the week's Prometheus holds, so the
// two paths must agree up to what scraping and rate() change:
//   - a step's power is the mean of the 10 or 11 gauge samples in it (the demo: the exact mean over the step);
//   - a step's token rate runs between the counter samples in its window (the demo: over the whole window);
//   - a window's energy and tokens come from counter increases extrapolated to the window's edges by less than
//     a scrape interval (the demo: exact);
//   - the scrape gap and gemma's pod move leave each path a step or two with other data (Prometheus counts
//     both of gemma's placements for the step of its move).
//
// Over a week of ~1000 steps these stay under 1% of any total or ratio of totals (measured: 0.1%), and
// marginal J/token, a difference of two totals, within 2% (0.7%). The fits see every step through that
// sampling: their per-token slope within 3% (1.4%), and their intercept, moved by the slope's difference times
// rates up to twice the intercept, within 5% (2.1%).
const (
	demoTolerance          = 0.01
	demoMarginalTolerance  = 0.02
	demoSlopeTolerance     = 0.03
	demoInterceptTolerance = 0.05
)

func TestDemoAndPrometheusGiveTheSameAnalyses(t *testing.T) {
	t.Parallel()
	prom := week.Server(t)
	p := startPlugin(t)
	demoJSON, err := json.Marshal(map[string]any{"mode": "demo", "demoNow": weekEnd.Format(time.RFC3339), "scrapeInterval": scrapeStep.String()})
	require.NoError(t, err)
	demo := testhost.Settings{UID: "demo", JSONData: demoJSON}
	queries := []testhost.Query{
		query("attribution", models.QueryIdleAttribution, "", weekStart, weekEnd),
		query("sizing", models.QueryRightSizing, "", weekStart, weekEnd),
		query("curve", models.QueryEfficiencyCurve, "", weekStart, weekEnd),
		query("consolidation", models.QueryConsolidation, "", weekStart, weekEnd),
	}
	fromDemo := answer(t, p, demo, nil, queries...)
	fromProm := answer(t, p, settingsFor(prom.URL, nil), nil, queries...)
	require.Contains(t, fromDemo["attribution"][0].Meta.Notices[0].Text, "Demo data", "the demo says so")

	compare := func(t *testing.T, table string, demoRows, promRows map[string]map[string]any, fields map[string]float64) {
		t.Helper()
		require.Len(t, demoRows, len(promRows), "%s: the same models", table)
		worst := map[string]float64{}
		for model, want := range promRows {
			got := demoRows[model]
			require.NotNil(t, got, "%s: %s", table, model)
			for field, tolerance := range fields {
				if want[field] == nil || want[field] == 0.0 {
					assert.Equal(t, want[field], got[field], "%s: %s of %s", table, field, model)
					continue
				}
				if assert.InEpsilon(t, want[field], got[field], tolerance, "%s: %s of %s", table, field, model) {
					worst[field] = max(worst[field], math.Abs(got[field].(float64)/want[field].(float64)-1))
				}
			}
		}
		t.Logf("%s: worst relative difference per field: %v", table, worst)
	}

	t.Run("idle attribution", func(t *testing.T) {
		compare(t, "idle-attribution", rows(t, fromDemo["attribution"][0]), rows(t, fromProm["attribution"][0]), map[string]float64{
			"gpus": demoTolerance, "power_w": demoTolerance, "idle_w": demoTolerance, "idle_fraction": demoTolerance,
			"tokens_per_s": demoTolerance, "j_per_token": demoTolerance, "marginal_j_per_token": demoMarginalTolerance,
			"co2_g_per_h": demoTolerance, "co2_mg_per_token": demoTolerance,
		})
	})
	t.Run("right-sizing", func(t *testing.T) {
		demoRows, promRows := rows(t, fromDemo["sizing"][0]), rows(t, fromProm["sizing"][0])
		for model, want := range promRows {
			assert.Equal(t, want["oversized"], demoRows[model]["oversized"], model)
			assert.Equal(t, want["recommended_gpus"], demoRows[model]["recommended_gpus"], model)
			assert.Equal(t, want["capacity_source"], demoRows[model]["capacity_source"], model)
		}
		compare(t, "right-sizing", demoRows, promRows, map[string]float64{
			"saving_w": demoTolerance, "saving_kgco2_per_day": demoTolerance, "idle_floor_w": demoTolerance,
			"p95_tokens_per_s": demoTolerance, "j_per_token": demoTolerance,
		})
	})
	t.Run("efficiency fits", func(t *testing.T) {
		compare(t, "efficiency-fit", rows(t, fromDemo["curve"][0]), rows(t, fromProm["curve"][0]), map[string]float64{
			"k_j_per_token": demoSlopeTolerance, "p0_w": demoInterceptTolerance,
		})
	})
	t.Run("consolidation", func(t *testing.T) {
		demoRows := rowsBy(t, fromDemo["consolidation"][0], "models")
		promRows := rowsBy(t, fromProm["consolidation"][0], "models")
		for model, want := range promRows {
			assert.Equal(t, want["action"], demoRows[model]["action"], model)
		}
		compare(t, "consolidation", demoRows, promRows, map[string]float64{"saving_w": demoTolerance, "gpus_now": 0})
	})
}
