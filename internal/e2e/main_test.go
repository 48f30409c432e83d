// Package e2e drives the built plugin binary through the go-plugin handshake, as Grafana does, against a real
// Prometheus holding a week of the simulated NRP fleet, and checks what comes back against the simulator's
// ground truth.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/promtest"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/testhost"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/source"
)

// The week the analyses are checked on: the default fleet's seven days up to a fixed instant, with its pod
// restart and scrape gap. It is pinned so that every run reads the same samples: the simulator's noise is a
// function of the absolute time, so a week that moved with the wall clock passed or failed by the hour. The
// fleet is the demo source's fleet of that day (sim.DemoFleet), so the demo pinned to weekEnd answers from the
// same history the Prometheus holds.
var (
	weekEnd    = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	weekStart  = weekEnd.Add(-7 * 24 * time.Hour)
	scrapeStep = time.Minute
	fleetSim   = mustSim(sim.DemoFleet(weekEnd), sim.DefaultSeed)
	week       = promtest.NewFixture(historyOf(fleetSim, weekStart, weekEnd))
)

// The health check and the editors' lists look at the last day before the wall clock, as in a cluster: they
// get the same kind of fleet over the two hours up to now. Nothing they assert depends on its values.
var (
	recentEnd   = time.Now().UTC().Truncate(time.Minute)
	recentStart = recentEnd.Add(-2 * time.Hour)
	recentSim   = mustSim(sim.DemoFleet(recentEnd), sim.DefaultSeed)
	recent      = promtest.NewFixture(historyOf(recentSim, recentStart, recentEnd))
)

// historyMargin is history written before the first step a test asks for: a grid aligned to its step starts up
// to a step earlier, and each step stands for the step before it.
const historyMargin = time.Hour

// historyMetrics are the families the plugin reads (its GPU utilization and running requests never are).
var historyMetrics = []string{sim.MetricPower, sim.MetricEnergy, sim.MetricPowerLimit, sim.MetricPromptTokens, sim.MetricGenerationTokens}

func mustSim(spec sim.Spec, seed int64) *sim.Sim {
	s, err := sim.New(spec, seed)
	if err != nil {
		panic(err)
	}
	return s
}

// historyOf backfills the fleet's samples every scrapeStep over [from - historyMargin, to].
func historyOf(s *sim.Sim, from, to time.Time) func(dir string) (promtest.Options, error) {
	return func(dir string) (promtest.Options, error) {
		path := filepath.Join(dir, "history.om")
		f, err := os.Create(path)
		if err != nil {
			return promtest.Options{}, err
		}
		defer f.Close()
		o := sim.HistoryOptions{Start: from.Add(-historyMargin), End: to, Step: scrapeStep, Metrics: historyMetrics}
		if _, err := s.WriteHistory(f, o); err != nil {
			return promtest.Options{}, err
		}
		return promtest.Options{Backfill: path}, f.Close()
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	week.Close()
	recent.Close()
	mixedDays.Close()
	vmWeek.Close()
	vmRecent.Close()
	sizingWeek.Close()
	os.Exit(code)
}

// settingsFor is the data source as a user would configure it for this Prometheus: the URL and the scrape
// interval the history was written with; everything else default.
func settingsFor(url string, jsonData map[string]any) testhost.Settings {
	if jsonData == nil {
		jsonData = map[string]any{}
	}
	if _, ok := jsonData["scrapeInterval"]; !ok {
		jsonData["scrapeInterval"] = scrapeStep.String()
	}
	b, err := json.Marshal(jsonData)
	if err != nil {
		panic(err)
	}
	return testhost.Settings{URL: url, JSONData: b}
}

// query is a panel query over [from, to] with the given type and options JSON.
func query(refID, queryType, options string, from, to time.Time) testhost.Query {
	return testhost.Query{RefID: refID, QueryType: queryType, JSON: fmt.Sprintf(`{"queryType":%q%s}`, queryType, options), From: from, To: to}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func startPlugin(t *testing.T) *testhost.Plugin {
	t.Helper()
	p := testhost.Start(t, testhost.Binary(t))
	t.Cleanup(func() { require.False(t, p.Exited(), "the plugin process died:\n%s", p.Logs()) })
	return p
}

// answer sends the queries in one request (one fleet read, as a dashboard refresh) and returns each query's
// frames by refID, failing on any query error.
func answer(t *testing.T, p *testhost.Plugin, s testhost.Settings, headers map[string]string, queries ...testhost.Query) map[string]data.Frames {
	t.Helper()
	resp, err := p.QueryData(ctx(t), s, headers, queries...)
	require.NoError(t, err)
	out := map[string]data.Frames{}
	for _, q := range queries {
		r, ok := resp.Responses[q.RefID]
		require.True(t, ok, "no response for %s", q.RefID)
		require.NoError(t, r.Error, "%s (%s)", q.RefID, q.QueryType)
		out[q.RefID] = r.Frames
	}
	return out
}

// fromAlert is the header Grafana sets on alert rule evaluations.
var fromAlert = map[string]string{backend.FromAlertHeaderName: "true"}

// gridOf is the grid the plugin reads for a panel query over [from, to] (default max data points).
func gridOf(t *testing.T, from, to time.Time) fleet.Grid {
	t.Helper()
	req, err := source.Plan(from, to, 0, 1000, scrapeStep)
	require.NoError(t, err)
	return source.GridOf(req)
}

// truthOver is the simulator's truth over the window a grid covers: each step t stands for (t-step, t].
func truthOver(s *sim.Sim, g fleet.Grid) sim.Truth {
	return s.Truth(g.End().Add(-g.Span()), g.End(), g.Step)
}

// rows are a table frame's rows keyed by their model, nulls as nil and numbers as float64.
func rows(t *testing.T, f *data.Frame) map[string]map[string]any { return rowsBy(t, f, "model") }

// rowsBy are a table frame's rows keyed by the values of field key.
func rowsBy(t *testing.T, f *data.Frame, key string) map[string]map[string]any {
	t.Helper()
	keys, _ := f.FieldByName(key)
	require.NotNil(t, keys, "frame %s has a %s field", f.Name, key)
	return rowsWith(f, func(row map[string]any) string { return fmt.Sprint(row[key]) })
}

// rowsWith are a table frame's rows keyed by key of each row, nulls as nil and numbers as float64.
func rowsWith(f *data.Frame, key func(row map[string]any) string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for i := range f.Rows() {
		row := map[string]any{}
		for _, field := range f.Fields {
			v := field.At(i)
			switch p := v.(type) {
			case *float64:
				v = nil
				if p != nil {
					v = *p
				}
			case *bool:
				v = nil
				if p != nil {
					v = *p
				}
			}
			row[field.Name] = v
		}
		out[key(row)] = row
	}
	return out
}

// analyses starts the plugin, asks it for the given query types over [from, to] in one request against the
// fixture's Prometheus (settings jsonData), and returns the frames by query type and the truth of s over the
// window the plugin read.
func analyses(t *testing.T, fixture *promtest.Fixture, s *sim.Sim, from, to time.Time, jsonData map[string]any, queryTypes ...string) (map[string]data.Frames, sim.Truth) {
	t.Helper()
	prom := fixture.Server(t)
	p := startPlugin(t)
	queries := make([]testhost.Query, len(queryTypes))
	for i, qt := range queryTypes {
		queries[i] = query(qt, qt, "", from, to)
	}
	got := answer(t, p, settingsFor(prom.URL, jsonData), nil, queries...)
	return got, truthOver(s, gridOf(t, from, to))
}
