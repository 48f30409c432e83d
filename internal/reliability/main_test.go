// Package reliability drives the built plugin binary, as Grafana does, into the faults of a real Prometheus
// (stopped, killed, restarted, hung, its query timeout and sample limit), into faults only a fake server can
// produce on demand (malformed, cut or huge answers, error statuses, slow answers, echoed credentials), and
// into bad input, and checks that every query gets a readable answer, that no secret leaks, and that the
// plugin process survives. docs/reliability.md lists each case with its test.
package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/promtest"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/testhost"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/source"
)

// Six hours of the default simulated fleet (no restart or gap: faults here are Prometheus', not the fleet's),
// ending at a fixed instant so that every run reads the same samples (the simulator's noise follows the
// absolute time). The health checks here are about faults, which they report whatever the data's age.
var (
	histEnd   = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	histStart = histEnd.Add(-6 * time.Hour)
	scrape    = time.Minute
	fleetSim  = mustSim()

	history = &historyFile{}
	// healthy is never disturbed; the limited ones run with a query timeout or a sample limit no query of the
	// plugin fits in.
	healthy   = promtest.NewFixture(history.options())
	timingOut = promtest.NewFixture(history.options("--query.timeout=1ms"))
	sampling  = promtest.NewFixture(history.options("--query.max-samples=100"))
)

func mustSim() *sim.Sim {
	s, err := sim.New(sim.DefaultFleet(histStart, false), sim.DefaultSeed)
	if err != nil {
		panic(err)
	}
	return s
}

// historyFile is the OpenMetrics history every server of the package backfills, written once.
type historyFile struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func (h *historyFile) options(flags ...string) func(string) (promtest.Options, error) {
	return func(string) (promtest.Options, error) {
		h.once.Do(func() {
			if h.dir, h.err = os.MkdirTemp("", "reliability-history-"); h.err != nil {
				return
			}
			h.path = filepath.Join(h.dir, "fleet.om")
			f, err := os.Create(h.path)
			if err != nil {
				h.err = err
				return
			}
			defer f.Close()
			if _, h.err = fleetSim.WriteHistory(f, sim.HistoryOptions{Start: histStart, End: histEnd, Step: scrape}); h.err == nil {
				h.err = f.Close()
			}
		})
		return promtest.Options{Backfill: h.path, Flags: flags}, h.err
	}
}

// server is a Prometheus of its own for a test that stops or kills it.
func (h *historyFile) server(t *testing.T) *promtest.Server {
	o, err := h.options()("")
	require.NoError(t, err)
	return promtest.Start(t, o)
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, f := range []*promtest.Fixture{healthy, timingOut, sampling} {
		f.Close()
	}
	if history.dir != "" {
		_ = os.RemoveAll(history.dir)
	}
	os.Exit(code)
}

// settingsFor is the data source as a user would configure it for url: the history's scrape interval, the
// rest default, with jsonData on top.
func settingsFor(url string, jsonData map[string]any) testhost.Settings {
	j := map[string]any{"scrapeInterval": scrape.String()}
	for k, v := range jsonData {
		j[k] = v
	}
	b, err := json.Marshal(j)
	if err != nil {
		panic(err)
	}
	return testhost.Settings{URL: url, JSONData: b}
}

// The two windows of the tests: the last two hours of the history, and the two hours before.
var (
	windowA = [2]time.Time{histEnd.Add(-2 * time.Hour), histEnd}
	windowB = [2]time.Time{histEnd.Add(-4 * time.Hour), histEnd.Add(-2 * time.Hour)}
)

// query is a panel query over window w.
func query(refID, queryType, options string, w [2]time.Time) testhost.Query {
	return testhost.Query{RefID: refID, QueryType: queryType, JSON: fmt.Sprintf(`{"queryType":%q%s}`, queryType, options), From: w[0], To: w[1]}
}

// powerQuery is the per-model power of window w: the numbers the fault tests compare.
func powerQuery(refID string, w [2]time.Time) testhost.Query {
	return query(refID, "fleet-timeseries", `,"metric":"power_w"`, w)
}

// planned is the grid the plugin plans for window w (the end a fake server sees in the query).
func planned(t *testing.T, w [2]time.Time) source.Request {
	r, err := source.Plan(w[0], w[1], 0, 1000, scrape)
	require.NoError(t, err)
	return r
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// startPlugin runs the built binary for one test, which fails if the process died by its end.
func startPlugin(t *testing.T) *testhost.Plugin {
	t.Helper()
	p := testhost.Start(t, testhost.Binary(t))
	t.Cleanup(func() { assert.False(t, p.Exited(), "the plugin process died:\n%s", p.Logs()) })
	return p
}

// null stands for a missing step in powerByModel, so that answers compare with ==.
const null = -1.0

// powerByModel reads a fleet-timeseries power_w answer: each model's values by step.
func powerByModel(t *testing.T, r backend.DataResponse) map[string][]float64 {
	t.Helper()
	require.NoError(t, r.Error)
	out := map[string][]float64{}
	for _, f := range r.Frames {
		for _, field := range f.Fields {
			if field.Type() != data.FieldTypeNullableFloat64 {
				continue
			}
			values := make([]float64, field.Len())
			for i := range values {
				v, _ := field.ConcreteAt(i)
				values[i] = null
				if f, ok := v.(float64); ok {
					values[i] = f
				}
			}
			out[field.Labels["model"]] = values
		}
	}
	return out
}

// baseline is the power answer of window w from the healthy server, checked against the simulator: every
// model of the truth, with the power its GPUs draw.
func baseline(t *testing.T, p *testhost.Plugin, w [2]time.Time) map[string][]float64 {
	t.Helper()
	resp, err := p.QueryData(ctx(t), settingsFor(healthy.Server(t).URL, nil), nil, powerQuery("A", w))
	require.NoError(t, err)
	got := powerByModel(t, resp.Responses["A"])
	truth := fleetSim.Truth(w[0], w[1], scrape)
	for _, m := range truth.Models {
		require.Contains(t, got, m.Model)
		sum, n := 0.0, 0
		for _, v := range got[m.Model] {
			if v != null {
				sum, n = sum+v, n+1
			}
		}
		require.Positive(t, n, m.Model)
		assert.InEpsilon(t, m.MeanPowerW, sum/float64(n), 0.03, "mean power of %s", m.Model)
	}
	return got
}

// assertSamePower checks that got is want: the same models and steps, the same watts up to float rounding
// (Prometheus sums series in no fixed order).
func assertSamePower(t *testing.T, want, got map[string][]float64, msg string) {
	t.Helper()
	if err := samePower(want, got); err != nil {
		t.Fatalf("%s: %v", msg, err)
	}
}

func samePower(want, got map[string][]float64) error {
	if w, g := keys(want), keys(got); !slices.Equal(w, g) {
		return fmt.Errorf("models %v, want %v", g, w)
	}
	for model, w := range want {
		g := got[model]
		if len(g) != len(w) {
			return fmt.Errorf("%s has %d steps, want %d", model, len(g), len(w))
		}
		for i := range w {
			if math.Abs(w[i]-g[i]) > 1e-9*math.Abs(w[i]) {
				return fmt.Errorf("%s at step %d is %v W, want %v W", model, i, g[i], w[i])
			}
		}
	}
	return nil
}

func keys(m map[string][]float64) []string {
	return slices.Sorted(maps.Keys(m))
}
