package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/promtest"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/testhost"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

// scrapeDay is the last day of the week: no restart or gap, so every model is judged on the whole day.
var scrapeDay = [2]time.Time{weekEnd.Add(-24 * time.Hour), weekEnd}

// gaugeOnly are the families of a cluster that does not export the energy counter: window energy must then
// come from the power gauge, which is where a configured scrape interval used to creep in.
var gaugeOnly = []string{sim.MetricPower, sim.MetricPowerLimit, sim.MetricPromptTokens, sim.MetricGenerationTokens}

// scrapedEvery is the window of s backfilled as if Prometheus scraped every interval.
func scrapedEvery(s *sim.Sim, window [2]time.Time, interval time.Duration, metrics []string) *promtest.Fixture {
	return promtest.NewFixture(func(dir string) (promtest.Options, error) {
		path := filepath.Join(dir, "history.om")
		f, err := os.Create(path)
		if err != nil {
			return promtest.Options{}, err
		}
		defer f.Close()
		o := sim.HistoryOptions{Start: window[0].Add(-historyMargin), End: window[1], Step: interval, Metrics: metrics}
		if _, err := s.WriteHistory(f, o); err != nil {
			return promtest.Options{}, err
		}
		return promtest.Options{Backfill: path}, f.Close()
	})
}

// TestAnswersDoNotDependOnTheScrapeIntervalSetting reads the same day scraped every 10 s to 60 s with the
// settings at their defaults (which say 30 s): power, idle power, J/token and CO2 must be the truth's, and the
// health check must name the interval it found. The tolerance is the existing per-window one (see
// demo_test.go): step means and counter increases differ from the truth's exact integrals by the sampling of
// a day of ~300 steps, well under 1%, so 2% catches a factor of any scrape-interval ratio.
func TestAnswersDoNotDependOnTheScrapeIntervalSetting(t *testing.T) {
	t.Parallel()
	cases := []struct {
		interval time.Duration
		metrics  []string
	}{
		{10 * time.Second, gaugeOnly},
		{15 * time.Second, gaugeOnly},
		{30 * time.Second, gaugeOnly},
		{60 * time.Second, gaugeOnly},
		{15 * time.Second, historyMetrics},
	}
	p := startPlugin(t)
	for _, c := range cases {
		name := fmt.Sprintf("scraped every %s, energy counter %t", c.interval, len(c.metrics) == len(historyMetrics))
		t.Run(name, func(t *testing.T) {
			// The health check looks at the hour before the wall clock: it gets the recent hours at the same interval.
			now := scrapedEvery(recentSim, [2]time.Time{recentStart, recentEnd}, c.interval, c.metrics)
			t.Cleanup(now.Close)
			h, err := p.CheckHealth(ctx(t), testhost.Settings{URL: now.Server(t).URL, JSONData: []byte(`{}`)})
			require.NoError(t, err)
			var details map[string]any
			require.NoError(t, json.Unmarshal(h.JSONDetails, &details))
			assert.Equal(t, c.interval.String(), details["gpuScrapeInterval"], h.Message)
			assert.Equal(t, c.interval.String(), details["tokenScrapeInterval"], h.Message)
			if c.interval != 30*time.Second {
				assert.Contains(t, h.Message, "differs from the setting", "the health check says the setting is off")
			}

			day := scrapedEvery(fleetSim, scrapeDay, c.interval, c.metrics)
			t.Cleanup(day.Close)
			defaults := testhost.Settings{URL: day.Server(t).URL, JSONData: []byte(`{"carbon":{"pue":1.2}}`)}
			got := answer(t, p, defaults, nil, query("A", models.QueryIdleAttribution, "", scrapeDay[0], scrapeDay[1]))
			table := rows(t, got["A"][0])
			truth := truthOver(fleetSim, gridOf(t, scrapeDay[0], scrapeDay[1]))
			for _, m := range truth.Models {
				row := table[m.Model]
				require.NotNil(t, row, m.Model)
				assert.InEpsilon(t, m.MeanPowerW, row["power_w"], 0.02, "%s power W", m.Model)
				if row["idle_source"] == string(fleet.IdleMeasured) {
					windowS := truth.End.Sub(truth.Start).Seconds()
					assert.InEpsilon(t, math.Min(m.ParkedEnergyJ, m.EnergyJ)/windowS, row["idle_w"], 0.02, "%s idle W", m.Model)
				}
				assert.InEpsilon(t, co2G(t, m.EnergyJByHost)/(truth.End.Sub(truth.Start).Hours()), row["co2_g_per_h"], 0.02, "%s CO2 g/h", m.Model)
				if m.PromptTokens+m.GenerationTokens > 0 && !m.Idle {
					assert.InEpsilon(t, m.JPerToken, row["j_per_token"], 0.02, "%s J/token", m.Model)
				}
			}
		})
	}
}
