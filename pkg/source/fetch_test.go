package source

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/promclient"
)

// answerSeries is one series of a canned answer: labels and values at step offsets (strings as Prometheus
// writes them, "NaN" included).
type answerSeries struct {
	labels labels
	values []string // one per step; "" = no sample
}

func matrixJSON(grid fleet.Grid, series ...answerSeries) string {
	type ms struct {
		Metric labels   `json:"metric"`
		Values [][2]any `json:"values"`
	}
	out := []ms{}
	for _, s := range series {
		m := ms{Metric: s.labels, Values: [][2]any{}}
		for i, v := range s.values {
			if v != "" {
				m.Values = append(m.Values, [2]any{float64(grid.At(i).Unix()), v})
			}
		}
		out = append(out, m)
	}
	b, _ := json.Marshal(out)
	return fmt.Sprintf(`{"resultType":"matrix","result":%s}`, b)
}

func vectorJSON(at time.Time, series ...answerSeries) string {
	type vs struct {
		Metric labels `json:"metric"`
		Value  [2]any `json:"value"`
	}
	out := []vs{}
	for _, s := range series {
		out = append(out, vs{Metric: s.labels, Value: [2]any{float64(at.Unix()), s.values[0]}})
	}
	b, _ := json.Marshal(out)
	return fmt.Sprintf(`{"resultType":"vector","result":%s}`, b)
}

// queriesOf is the PromQL of each quantity a fleet read over grid sends with the default mapping and what
// plainFleet lets discovery find.
func queriesOf(t *testing.T, cfg *models.Settings, powerLabels []string, hasEnergy, hasLimit bool, grid fleet.Grid) map[string]string {
	present := map[string]bool{}
	for _, l := range powerLabels {
		present[l] = true
	}
	s := newSchema(cfg, resolveJoin(cfg.Mapping, present), hasEnergy, hasLimit)
	out := map[string]string{}
	for _, q := range s.plan(s, grid, RateWindow(grid.Step, cfg.Scrape()), grid.Span(), NeedAll) {
		out[q.quantity] = q.promql
	}
	return out
}

func TestFleetAssemblesModels(t *testing.T) {
	grid := fleet.Grid{Start: testNow.Add(-2 * time.Minute), Step: time.Minute, N: 3}
	req := Request{Start: grid.Start, End: grid.End(), Step: grid.Step}
	f := &fakeProm{t: t, version: "2.42.0", series: plainFleet(), warnings: []string{"PromQL info: metric might not be a counter"}}
	srv := f.start()
	cfg := testSettings(t, srv.URL, nil)
	q := queriesOf(t, cfg, plainPowerLabels, true, true, grid)
	qwenA := labels{"model_name": "qwen", "Hostname": "node-a", "modelName": a100}
	// The same node under the 2026 exporters' label name: it must land on node-a, not a new host.
	qwenARenamed := labels{"model_name": "qwen", "hostname": "node-a", "modelName": a100}
	qwenB := labels{"model_name": "qwen", "Hostname": "node-b", "modelName": a6000}
	free := labels{"Hostname": "node-a", "modelName": a100}
	f.answers = map[string]string{
		q["power_w"]: matrixJSON(grid,
			answerSeries{qwenA, []string{"300", "310", "320"}},
			answerSeries{qwenARenamed, []string{"", "", "5"}},
			answerSeries{qwenB, []string{"100", "NaN", ""}},
			answerSeries{free, []string{"60", "61", "62"}}),
		q["gpus"]: matrixJSON(grid,
			answerSeries{qwenA, []string{"1", "1", "1"}},
			answerSeries{qwenARenamed, []string{"", "", "1"}},
			answerSeries{qwenB, []string{"1", "", ""}},
			answerSeries{free, []string{"1", "1", "1"}}),
		q["power_limit_w"]: matrixJSON(grid, answerSeries{qwenA, []string{"400", "400", "400"}}),
		q["prompt_tokens_per_s"]: matrixJSON(grid,
			answerSeries{labels{"model_name": "qwen", "namespace": "llm"}, []string{"1", "2", "3"}},
			answerSeries{labels{"model_name": "qwen", "namespace": "llm-b"}, []string{"1", "1", "+Inf"}},
			answerSeries{labels{"namespace": "llm"}, []string{"9", "9", "9"}}),
		q["generation_tokens_per_s"]: matrixJSON(grid,
			answerSeries{labels{"model_name": "qwen", "namespace": "llm"}, []string{"10", "20", "30"}},
			answerSeries{labels{"model_name": "olmo", "namespace": "idle"}, []string{"0", "0", "0"}}),
		q["energy_j"]: vectorJSON(grid.End(),
			answerSeries{qwenA, []string{"54000"}},
			answerSeries{free, []string{"10980"}}),
		q["prompt_tokens"]:     vectorJSON(grid.End(), answerSeries{labels{"model_name": "qwen"}, []string{"360"}}),
		q["generation_tokens"]: vectorJSON(grid.End(), answerSeries{labels{"model_name": "qwen"}, []string{"3600"}}, answerSeries{labels{"model_name": "olmo"}, []string{"0"}}),
	}
	p, _ := newTestSource(t, cfg, testNow)

	got, err := p.Fleet(context.Background(), req)
	require.NoError(t, err)

	nan := math.NaN()
	assert.Equal(t, grid, got.Grid)
	assert.Equal(t, fleet.EnergyFromCounter, got.EnergySource)
	assert.Equal(t, 2*time.Minute, got.RateWindow, "four scrapes of 30 s: more than the 1 min step")
	require.Len(t, got.Models, 3)

	olmo, qwen, free2 := got.Models[0], got.Models[1], got.Models[2]
	assert.Equal(t, "olmo", olmo.Name, "an idle model with tokens but no GPU series is still a model")
	assert.Empty(t, olmo.Placements)
	assertSeries(t, fleet.Series{0, 0, 0}, olmo.GenerationTokensPerS)
	assertSeries(t, fleet.Series{nan, nan, nan}, olmo.PromptTokensPerS)
	assert.Equal(t, 0.0, olmo.GenerationTokens)
	assert.True(t, math.IsNaN(olmo.PromptTokens))

	assert.Equal(t, "qwen", qwen.Name)
	assert.Equal(t, "llm,llm-b", qwen.Namespace)
	require.Len(t, qwen.Placements, 2)
	a, b := qwen.Placements[0], qwen.Placements[1]
	assert.Equal(t, "node-a", a.Host)
	assert.Equal(t, a100, a.GPUType)
	assertSeries(t, fleet.Series{300, 310, 325}, a.PowerW)
	assertSeries(t, fleet.Series{1, 1, 2}, a.GPUs)
	assertSeries(t, fleet.Series{400, 400, 400}, a.PowerLimitW)
	assert.Equal(t, 54000.0, a.EnergyJ)
	assert.Equal(t, "node-b", b.Host)
	assert.Equal(t, a6000, b.GPUType)
	assertSeries(t, fleet.Series{100, nan, nan}, b.PowerW)
	assertSeries(t, fleet.Series{1, nan, nan}, b.GPUs)
	assert.Nil(t, b.PowerLimitW, "no limit series for this placement")
	assert.Equal(t, 100*grid.Step.Seconds(), b.EnergyJ, "no counter on node-b: the energy of its steps' power")
	assertSeries(t, fleet.Series{2, 3, 3}, qwen.PromptTokensPerS)
	assertSeries(t, fleet.Series{10, 20, 30}, qwen.GenerationTokensPerS)
	assert.Equal(t, 360.0, qwen.PromptTokens)
	assert.Equal(t, 3600.0, qwen.GenerationTokens)

	assert.Equal(t, UnallocatedModel, free2.Name)
	assert.True(t, free2.Unallocated)
	require.Len(t, free2.Placements, 1)
	assertSeries(t, fleet.Series{60, 61, 62}, free2.Placements[0].PowerW)
	assert.Equal(t, 10980.0, free2.Placements[0].EnergyJ)

	assert.Len(t, got.ExecutedQueries, 9)
	assert.True(t, strings.HasPrefix(got.ExecutedQueries[0], "# power_w: range query from 2026-11-20T11:58:00Z to 2026-11-20T12:00:00Z, step 60s\nsum by (model_name,"), got.ExecutedQueries[0])
	assert.Contains(t, got.Notices, "Prometheus warned about the power_w query: PromQL info: metric might not be a counter")
	assert.Contains(t, got.Notices, "1 token series without a model_name label were left out.")
}

func assertSeries(t *testing.T, want, got fleet.Series) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		if math.IsNaN(want[i]) {
			assert.True(t, math.IsNaN(got[i]), "step %d: want missing, got %v", i, got[i])
		} else {
			assert.InDelta(t, want[i], got[i], 1e-9, "step %d", i)
		}
	}
}

// fleetAnswers are canned answers for a fleet of n models, one placement each.
func fleetAnswers(grid fleet.Grid, q map[string]string, n int) map[string]string {
	var placements, tokens, totals []answerSeries
	for i := range n {
		name := fmt.Sprintf("model-%03d", i)
		values := make([]string, grid.N)
		for j := range values {
			values[j] = "250"
		}
		placements = append(placements, answerSeries{labels{"model_name": name, "Hostname": fmt.Sprintf("node-%d", i/8), "modelName": a100}, values})
		tokens = append(tokens, answerSeries{labels{"model_name": name, "namespace": "llm"}, values})
		totals = append(totals, answerSeries{labels{"model_name": name}, []string{"1000"}})
	}
	return map[string]string{
		q["power_w"]: matrixJSON(grid, placements...), q["gpus"]: matrixJSON(grid, placements...),
		q["prompt_tokens_per_s"]: matrixJSON(grid, tokens...), q["generation_tokens_per_s"]: matrixJSON(grid, tokens...),
		q["energy_j"]: vectorJSON(grid.End(), placements...), q["prompt_tokens"]: vectorJSON(grid.End(), totals...),
		q["generation_tokens"]: vectorJSON(grid.End(), totals...),
	}
}

func TestFleetQueryCountIsConstant(t *testing.T) {
	from := testNow.Add(-30 * 24 * time.Hour)
	req, err := Plan(from, testNow, 15*time.Second, 1000, 30*time.Second)
	require.NoError(t, err)
	grid := GridOf(req)
	counts := map[int]int64{}
	for _, n := range []int{10, 100} {
		f := &fakeProm{t: t, version: "2.42.0", series: without(plainFleet(), limit)}
		srv := f.start()
		cfg := testSettings(t, srv.URL, nil)
		f.answers = fleetAnswers(grid, queriesOf(t, cfg, plainPowerLabels, true, false, grid), n)
		p, ct := newTestSource(t, cfg, testNow)

		got, err := p.Fleet(context.Background(), req)
		require.NoError(t, err)
		require.Len(t, got.Models, n)
		assert.Equal(t, 250.0, got.Models[n-1].Placements[0].PowerW[grid.N-1])
		counts[n] = ct.total.Load()

		// Within the discovery TTL a second read of another window skips discovery.
		req2 := req
		req2.End = req.End.Add(-req.Step)
		_, err = p.Fleet(context.Background(), req2)
		require.NoError(t, err)
		assert.Equal(t, int64(8), ct.total.Load()-counts[n], "a read without discovery is the eight queries")
	}
	assert.Equal(t, int64(4+8), counts[100], "four discovery lookups (metric families, power labels, build info, newest samples: the fake holds none, so no interval count) and eight queries, whatever the number of models")
	assert.Equal(t, counts[10], counts[100])
}

func TestFleetCache(t *testing.T) {
	grid := fleet.Grid{Start: testNow.Add(-2 * time.Minute), Step: time.Minute, N: 3}
	req := Request{Start: grid.Start, End: grid.End(), Step: grid.Step}
	f := &fakeProm{t: t, version: "2.42.0", series: plainFleet()}
	srv := f.start()

	tests := []struct {
		name      string
		ttl       float64
		fromAlert bool
		later     time.Duration
		wantReads int64 // queries of the second read
	}{
		{"off at 0", 0, false, time.Second, 9},
		{"a fresh entry answers", 60, false, 30 * time.Second, 0},
		{"an expired entry does not", 60, false, 61 * time.Second, 9},
		{"alert evaluations always read afresh", 60, true, time.Second, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testSettings(t, srv.URL, func(s *models.Settings) { s.CacheTTLSeconds = tt.ttl })
			p, ct := newTestSource(t, cfg, testNow)
			r := req
			r.FromAlert = tt.fromAlert
			first, err := p.Fleet(context.Background(), r)
			require.NoError(t, err)
			before := ct.paths["/api/v1/query"] + ct.paths["/api/v1/query_range"]
			p.now = func() time.Time { return testNow.Add(tt.later) }
			second, err := p.Fleet(context.Background(), r)
			require.NoError(t, err)
			assert.Equal(t, tt.wantReads, int64(ct.paths["/api/v1/query"]+ct.paths["/api/v1/query_range"]-before))
			if tt.wantReads == 0 {
				assert.Same(t, first, second)
			}
		})
	}
}

func TestFleetSaysWhyItIsEmpty(t *testing.T) {
	grid := fleet.Grid{Start: testNow.Add(-2 * time.Minute), Step: time.Minute, N: 3}
	req := Request{Start: grid.Start, End: grid.End(), Step: grid.Step}

	t.Run("no series at all", func(t *testing.T) {
		f := &fakeProm{t: t, version: "2.42.0"}
		srv := f.start()
		p, _ := newTestSource(t, testSettings(t, srv.URL, func(s *models.Settings) { s.Mapping.LabelFilter = `cluster="x"` }), testNow)
		got, err := p.Fleet(context.Background(), req)
		require.NoError(t, err)
		assert.Empty(t, got.Models)
		assert.Contains(t, got.Notices, `Prometheus holds no series of DCGM_FI_DEV_POWER_USAGE or vllm:generation_tokens_total matching the label filter {cluster="x"} in this time range.`)
	})
	t.Run("token series but no GPU joins a model", func(t *testing.T) {
		f := &fakeProm{t: t, version: "2.42.0", series: plainFleet()}
		srv := f.start()
		cfg := testSettings(t, srv.URL, nil)
		q := queriesOf(t, cfg, plainPowerLabels, true, true, grid)
		f.answers = map[string]string{
			q["power_w"]:                 matrixJSON(grid, answerSeries{labels{"Hostname": "node-a", "modelName": a100}, []string{"60", "60", "60"}}),
			q["generation_tokens_per_s"]: matrixJSON(grid, answerSeries{labels{"model_name": "qwen", "namespace": "llm"}, []string{"1", "1", "1"}}),
		}
		p, _ := newTestSource(t, cfg, testNow)
		got, err := p.Fleet(context.Background(), req)
		require.NoError(t, err)
		require.Len(t, got.Models, 2, "qwen without GPUs, and the unallocated GPU")
		assert.Contains(t, got.Notices, "No GPU series of DCGM_FI_DEV_POWER_USAGE joins a model in this time range: check the join labels (namespace, pod) of the metric mapping, or that dcgm-exporter maps GPUs to pods.")
	})
}

func TestFleetBounds(t *testing.T) {
	grid := fleet.Grid{Start: testNow.Add(-2 * time.Minute), Step: time.Minute, N: 3}
	req := Request{Start: grid.Start, End: grid.End(), Step: grid.Step}

	t.Run("at most four queries of a read, and sixteen of an instance, at a time", func(t *testing.T) {
		tests := []struct {
			name  string
			reads int
			want  int64
		}{
			{"one read: eight queries, four at a time", 1, maxConcurrentQueries},
			{"six reads of different windows at once: sixteen at a time", 6, promclient.MaxConcurrentRequests},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var inFlight, most atomic.Int64
				f := &fakeProm{t: t, version: "2.42.0", series: plainFleet()}
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if strings.HasPrefix(r.URL.Path, "/api/v1/query") {
						n := inFlight.Add(1)
						defer inFlight.Add(-1)
						for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
						}
						time.Sleep(50 * time.Millisecond)
					}
					f.ServeHTTP(w, r)
				}))
				defer srv.Close()
				p, _ := newTestSource(t, testSettings(t, srv.URL, nil), testNow)
				var wg sync.WaitGroup
				for i := range tt.reads {
					wg.Go(func() {
						r := req
						r.Start, r.End = r.Start.Add(-time.Duration(i)*time.Minute), r.End.Add(-time.Duration(i)*time.Minute)
						_, err := p.Fleet(context.Background(), r)
						assert.NoError(t, err)
					})
				}
				wg.Wait()
				assert.Equal(t, tt.want, most.Load())
			})
		}
	})

	t.Run("more series or points than a query may return is refused", func(t *testing.T) {
		long := fleet.Grid{Start: testNow.Add(-999 * time.Minute), Step: time.Minute, N: 1000}
		tests := []struct {
			name   string
			grid   fleet.Grid
			series int
			want   string
		}{
			{"series", grid, maxSeriesPerQuery + 1, "the power_w query returned more than 50000 series: check that the model, host and GPU type labels of the metric mapping do not vary per request or per process"},
			{"points: 1000 steps leave room for 10000 series", long, maxPointsPerQuery/long.N + 1,
				"the power_w query returned more than 10000 series of 1000 steps (at most 10000000 points per query): shorten the time range or lower the resolution"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := &fakeProm{t: t, version: "2.42.0", series: plainFleet()}
				srv := f.start()
				cfg := testSettings(t, srv.URL, nil)
				q := queriesOf(t, cfg, plainPowerLabels, true, true, tt.grid)
				var b strings.Builder
				b.WriteString(`{"resultType":"matrix","result":[`)
				for i := range tt.series {
					if i > 0 {
						b.WriteByte(',')
					}
					fmt.Fprintf(&b, `{"metric":{"model_name":"m","Hostname":"h%d"},"values":[[%d,"1"]]}`, i, tt.grid.Start.Unix())
				}
				b.WriteString(`]}`)
				f.answers = map[string]string{q["power_w"]: b.String()}
				p, _ := newTestSource(t, cfg, testNow)

				_, err := p.Fleet(context.Background(), Request{Start: tt.grid.Start, End: tt.grid.End(), Step: tt.grid.Step})

				require.Error(t, err)
				assert.True(t, backend.IsDownstreamError(err), "the mapping or the range is the user's to change")
				assert.Contains(t, err.Error(), tt.want)
			})
		}
	})
}

func TestDiscoveryCache(t *testing.T) {
	grid := fleet.Grid{Start: testNow.Add(-2 * time.Minute), Step: time.Minute, N: 3}
	req := Request{Start: grid.Start, End: grid.End(), Step: grid.Step}
	lookups := func(ct *countingTransport) int {
		ct.mu.Lock()
		defer ct.mu.Unlock()
		return ct.paths["/api/v1/labels"]
	}

	noReuse := func(s *models.Settings) { s.CacheTTLSeconds = 0 } // every read reaches discovery
	t.Run("reused for five minutes, then asked again", func(t *testing.T) {
		f := &fakeProm{t: t, version: "2.42.0", series: exportedFleet()}
		p, ct := newTestSource(t, testSettings(t, f.start().URL, noReuse), testNow)
		for _, later := range []time.Duration{0, 4 * time.Minute, 6 * time.Minute} {
			p.now = func() time.Time { return testNow.Add(later) }
			got, err := p.Fleet(context.Background(), req)
			require.NoError(t, err)
			assert.Contains(t, got.ExecutedQueries[0], "on (exported_namespace, exported_pod)")
		}
		assert.Equal(t, 2, lookups(ct), "at 0 and after the five minutes")
	})
	t.Run("a window without power series is not remembered", func(t *testing.T) {
		f := &fakeProm{t: t, version: "2.42.0"}
		p, ct := newTestSource(t, testSettings(t, f.start().URL, noReuse), testNow)
		_, err := p.Fleet(context.Background(), req)
		require.NoError(t, err)
		f.series = exportedFleet()
		got, err := p.Fleet(context.Background(), req)
		require.NoError(t, err)
		assert.Equal(t, 2, lookups(ct))
		assert.Contains(t, got.ExecutedQueries[0], "on (exported_namespace, exported_pod)", "the exported labels found on the second read")
	})
}
