package sim_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/promtest"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

// loadFleet has one 2 x A100 model per load, each with flat traffic at that share of its capacity.
func loadFleet(epoch time.Time, loads []float64) sim.Spec {
	const jPerToken, noiseW = 0.3, 0.5
	capacity := 2 * (sim.A100SXM80.PowerCapW - sim.A100SXM80.ParkedW - noiseW) / jPerToken
	s := sim.Spec{Epoch: epoch, Tick: sim.DefaultTick, PowerNoiseW: noiseW, DriverVersion: "570.133.20", GPUTypes: []sim.GPUType{sim.A100SXM80}}
	for i, load := range loads {
		host := fmt.Sprintf("load-%d.sdsc.optiputer.net", i)
		s.Nodes = append(s.Nodes, sim.Node{Host: host, GPUType: sim.A100SXM80.Name, GPUs: 2})
		s.Models = append(s.Models, sim.ModelSpec{Name: fmt.Sprintf("load-%g", load), Namespace: "load", GPUType: sim.A100SXM80.Name,
			GPUs: 2, Hosts: []string{host}, ParamsB: 8, BytesPerParam: 2, PromptPerGeneration: 2, MarginalJPerToken: jPerToken,
			Traffic: sim.Traffic{BaseTokensPerS: load * capacity}})
	}
	return s
}

// Under flat traffic every tick is alike, so the truth's percentiles are the documented model's values at
// that load, computed here from the formulas of the serving model's doc comment.
func TestQueueGrowsWithLoad(t *testing.T) {
	loads := []float64{0.3, 0.8, 0.95, 1.2}
	s, err := sim.New(loadFleet(repEpoch, loads), sim.DefaultSeed)
	require.NoError(t, err)
	from, to := repEpoch, repEpoch.Add(6*time.Hour)
	tr := s.Truth(from, to, time.Minute)
	capacity := 2 * (sim.A100SXM80.PowerCapW - sim.A100SXM80.ParkedW - 0.5) / 0.3
	const gen, prompt = 200.0, 400.0
	var last sim.ServingTruth
	var lastKV float64
	for i, c := range []struct{ queued bool }{{false}, {false}, {true}, {true}} {
		load := loads[i]
		mt := tr.Models[i]
		t.Run(mt.Model, func(t *testing.T) {
			rho := math.Min(load, sim.MaxUtilization)
			reqPerS := math.Min(load, 1) * capacity / (prompt + gen)
			waiting := math.Pow(rho, math.Sqrt(2*(sim.MaxNumSeqs+1))) / (1 - rho)
			sv := mt.Serving
			assert.InEpsilon(t, prompt/capacity+waiting/reqPerS, sv.P95TTFTS, 1e-9, "p95 TTFT")
			assert.InEpsilon(t, sim.DecodeBatch/capacity*(1+rho), sv.P95ITLS, 1e-9, "p95 ITL")
			assert.Equal(t, c.queued, sv.Queued)
			assert.InEpsilon(t, load, sv.PeakUtilization, 1e-3, "demand over capacity (rates rounded to milli-tokens)")
			// Requests are the served tokens over the tokens of a request: the request rate is rounded to
			// milli-requests/s (0.5e-3 apart at most) and the token rates to milli-tokens/s per kind.
			assert.InDelta(t, (mt.PromptTokens+mt.GenerationTokens)/(prompt+gen), sv.Requests, (0.5e-3+1e-3/(prompt+gen))*to.Sub(from).Seconds())
			assert.InEpsilon(t, mt.EnergyJ/sv.Requests, mt.JPerRequest, 1e-12)

			got := map[string]float64{}
			for _, smp := range scrape(t, s, sim.Naming{Serving: true}, from.Add(time.Hour)) {
				if smp.labels["model_name"] == mt.Model && smp.labels["le"] == "" {
					got[smp.name] = smp.value
				}
			}
			assert.Equal(t, math.Round(waiting), got[sim.MetricRequestsWaiting], "waiting gauge")
			if i > 0 {
				assert.Greater(t, sv.P95TTFTS, last.P95TTFTS, "TTFT grows with load")
				assert.Greater(t, sv.P95ITLS, last.P95ITLS, "ITL grows with load")
				assert.GreaterOrEqual(t, got[sim.MetricKVCacheUsage], lastKV, "KV usage grows with load")
			}
			last, lastKV = sv, got[sim.MetricKVCacheUsage]
		})
	}

	// On its own GPUs the projection is the truth; on one GPU the 0.8 model is at 1.6 of its capacity.
	own, ok := s.ProjectServing("load-0.8", 0, from, to)
	require.True(t, ok)
	assert.Equal(t, tr.Models[1].Serving, own)
	half, _ := s.ProjectServing("load-0.8", 1, from, to)
	assert.True(t, half.Fits)
	assert.True(t, half.Queued)
	assert.InEpsilon(t, 1.6, half.PeakUtilization, 1e-3)
	assert.Greater(t, half.P95TTFTS, 2.0, "queues far past a 2 s TTFT")
}

// Node and model overrides mix exporter versions in one fleet: a node labels its host "hostname", a node
// exports no energy counter, a model's vLLM predates v0.9's names. Live scrapes and history agree on it all,
// serving signals included.
func TestMixedNamingAndServingSeriesAgree(t *testing.T) {
	spec := replicaFleet(repEpoch, true)
	spec.Nodes[1].HostLabel = "hostname"
	spec.Nodes[2].NoEnergyCounter = true
	spec.Models[1].LegacyVLLM = true
	s, err := sim.New(spec, sim.DefaultSeed)
	require.NoError(t, err)
	n := sim.Naming{Serving: true}
	at := repEpoch.Add(20 * time.Hour)
	samples, comments, _ := history(t, s, sim.HistoryOptions{Start: at.Add(-10 * time.Minute), End: at, Step: 15 * time.Second, Naming: n})
	assert.Contains(t, comments, "# TYPE vllm:time_to_first_token_seconds histogram")
	want := map[string]float64{}
	for _, smp := range samples {
		if smp.tMS == at.UnixMilli() {
			want[smp.key()] = smp.value
		}
	}
	got := map[string]float64{}
	names := map[string]map[string]bool{} // model or host -> metric names
	note := func(who, name string) {
		if names[who] == nil {
			names[who] = map[string]bool{}
		}
		names[who][name] = true
	}
	for _, smp := range scrape(t, s, n, at) {
		got[smp.key()] = smp.value
		note(smp.labels["model_name"], smp.name)
		for _, l := range []string{"Hostname", "hostname"} {
			if h := smp.labels[l]; h != "" {
				note(h, l)
				note(h, smp.name)
			}
		}
	}
	require.Len(t, got, len(want))
	for key, v := range want {
		require.Contains(t, got, key)
		require.InDelta(t, v, got[key], 1e-9*math.Max(1, math.Abs(v)), key)
	}
	for _, c := range []struct {
		who      string
		has, not []string
	}{
		{"pair-8B", []string{sim.MetricKVCacheUsage, sim.MetricITL + "_bucket", sim.MetricTTFT + "_count", sim.MetricRequestSuccess,
			sim.MetricPreemptions, sim.MetricRequestsWaiting, sim.MetricCacheConfig}, []string{sim.MetricGPUCacheUsage, sim.MetricTimePerOutputToken + "_bucket"}},
		{"mixed-32B", []string{sim.MetricGPUCacheUsage, sim.MetricTimePerOutputToken + "_bucket"}, []string{sim.MetricKVCacheUsage, sim.MetricITL + "_bucket"}},
		{hostRepA, []string{"Hostname", sim.MetricEnergy}, []string{"hostname"}},
		{hostRepB, []string{"hostname", sim.MetricEnergy}, []string{"Hostname"}},
		{hostRepH, []string{"Hostname", sim.MetricPower}, []string{sim.MetricEnergy}},
	} {
		for _, name := range c.has {
			assert.True(t, names[c.who][name], "%s has %s", c.who, name)
		}
		for _, name := range c.not {
			assert.False(t, names[c.who][name], "%s has no %s", c.who, name)
		}
	}
	// vllm:cache_config_info sizes the KV cache: 2 x 80 GB x 0.9 less 16 GB of weights, 16 tokens of 128 KiB a block.
	for _, smp := range scrape(t, s, n, at) {
		if smp.name == sim.MetricCacheConfig && smp.labels["model_name"] == "pair-8B" {
			assert.Equal(t, strconv.Itoa(int(math.Floor((2*80*0.9-16)*1e9/(16*128*1024)))), smp.labels["num_gpu_blocks"])
			assert.Equal(t, "16", smp.labels["block_size"])
		}
	}
}

// Through a real Prometheus (promtool backfill of the history): histogram_quantile over a day's TTFT and ITL
// buckets lands in the bucket that holds the truth's p95 (the histogram knows no finer), and the request
// counters' increase is the truth's requests, less at most one request per pod (the counter is floored).
func TestServingSignalsThroughPrometheus(t *testing.T) {
	s, err := sim.New(replicaFleet(repEpoch, false), sim.DefaultSeed)
	require.NoError(t, err)
	from, to := repEpoch.Add(time.Hour), repEpoch.Add(25*time.Hour)
	path := filepath.Join(t.TempDir(), "serving.om")
	f, err := os.Create(path)
	require.NoError(t, err)
	_, err = s.WriteHistory(f, sim.HistoryOptions{Start: from, End: to, Step: time.Minute, Naming: sim.Naming{Serving: true}})
	require.NoError(t, err)
	require.NoError(t, f.Close())
	prom := promtest.Start(t, promtest.Options{Backfill: path})
	tr := s.Truth(from, to, time.Minute)
	for _, mt := range tr.Models {
		sel := `{model_name="` + mt.Model + `"}`
		for _, c := range []struct {
			metric string
			bounds []float64
			truth  float64
		}{{sim.MetricTTFT, sim.TTFTBucketsS, mt.Serving.P95TTFTS}, {sim.MetricITL, sim.ITLBucketsS, mt.Serving.P95ITLS}} {
			q := `histogram_quantile(0.95, sum by (le) (increase(` + c.metric + `_bucket` + sel + `[1d])))`
			got := prom.QueryVector(t, q, to, "")[""]
			i := sort.SearchFloat64s(c.bounds, c.truth) // the bucket (bounds[i-1], bounds[i]] holding the truth
			lo := 0.0
			if i > 0 {
				lo = c.bounds[i-1]
			}
			assert.True(t, got >= lo && got <= c.bounds[i], "%s %s: p95 %g outside the truth's bucket (%g, %g], truth %g",
				mt.Model, c.metric, got, lo, c.bounds[i], c.truth)
		}
		q := `sum(` + sim.MetricRequestSuccess + sel + `)`
		got := prom.QueryVector(t, q, to, "")[""] - prom.QueryVector(t, q, from, "")[""]
		assert.InDelta(t, mt.Serving.Requests, got, float64(mt.Replicas), "%s requests", mt.Model)
	}
}
