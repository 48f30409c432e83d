package sim_test

import (
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/promtest"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

// backfilled is a Prometheus holding the default fleet's week (restart and gap included) sampled every 5
// minutes: counters give exact increases at any spacing and the gauge's samples estimate a week's energy
// within a fraction of a percent, from a fifth of the file 60 s samples make (~105 MB instead of ~530 MB).
var (
	backfilled     = promtest.NewFixture(writeDefaultWeek)
	backfillStats  sim.HistoryStats
	backfilledStep = 5 * time.Minute
)

func writeDefaultWeek(dir string) (promtest.Options, error) {
	s, err := sharedSims[true]()
	if err != nil {
		return promtest.Options{}, err
	}
	path := filepath.Join(dir, "history.om")
	f, err := os.Create(path)
	if err != nil {
		return promtest.Options{}, err
	}
	defer f.Close()
	if backfillStats, err = s.WriteHistory(f, sim.HistoryOptions{Start: testEpoch, End: testEnd, Step: backfilledStep}); err != nil {
		return promtest.Options{}, err
	}
	return promtest.Options{Backfill: path}, f.Close()
}

func TestMain(m *testing.M) {
	code := m.Run()
	backfilled.Close()
	os.Exit(code)
}

func TestBackfillKeepsEverySample(t *testing.T) {
	t.Parallel()
	prom := backfilled.Server(t)
	require.NotEmpty(t, backfillStats.Samples)
	for name, written := range backfillStats.Samples {
		got := prom.QueryVector(t, `sum(count_over_time({__name__="`+name+`"}[8d]))`, testEnd, "")
		assert.Equal(t, float64(written), got[""], "%s: samples in Prometheus = samples written", name)
		series := prom.QueryVector(t, `count(last_over_time({__name__="`+name+`"}[8d]))`, testEnd, "")
		assert.Equal(t, float64(backfillStats.Series[name]), series[""], "%s: series", name)
	}
}

// podModels maps each vLLM pod to its model, as the GPU-to-model join does.
func podModels(t *testing.T, prom *promtest.Server, at time.Time, window string) map[string]string {
	t.Helper()
	vec := prom.Query(t, `group by (pod, model_name) (last_over_time(vllm:generation_tokens_total[`+window+`]))`, at).(model.Vector)
	out := map[string]string{}
	for _, smp := range vec {
		out[string(smp.Metric["pod"])] = string(smp.Metric["model_name"])
	}
	return out
}

func TestBackfilledWeekMatchesTruth(t *testing.T) {
	t.Parallel()
	prom := backfilled.Server(t)
	truth := weekTruth(t)
	pods := podModels(t, prom, testEnd, "7d")
	perModel := func(q string, scale float64) map[string]float64 {
		out := map[string]float64{}
		for pod, v := range prom.QueryVector(t, q, testEnd, "pod") {
			require.Contains(t, pods, pod)
			out[pods[pod]] += v * scale
		}
		return out
	}
	span := testEnd.Sub(testEpoch).Seconds()
	// Each gauge sample is the mean power over the minute before it, one minute in five: samples x 5 min estimates
	// the energy.
	gaugeJ := perModel(`sum by (pod) (sum_over_time(DCGM_FI_DEV_POWER_USAGE{pod!=""}[7d]))`, backfilledStep.Seconds())
	counterJ := perModel(`sum by (pod) (increase(DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{pod!=""}[7d]))`, 1e-3)
	tokens := map[string]float64{}
	for _, metric := range []string{sim.MetricPromptTokens, sim.MetricGenerationTokens} {
		for m, v := range prom.QueryVector(t, `sum by (model_name) (increase(`+metric+`[7d]))`, testEnd, "model_name") {
			tokens[m] += v
		}
	}
	for _, m := range truth.Models {
		t.Run(m.Model, func(t *testing.T) {
			assert.InEpsilon(t, m.MeanPowerW, gaugeJ[m.Model]/span, 0.02, "mean power from the gauge")
			assert.InEpsilon(t, m.EnergyJ, counterJ[m.Model], 0.02, "energy from the counter")
			want := m.PromptTokens + m.GenerationTokens
			if want == 0 {
				assert.Zero(t, tokens[m.Model])
				return
			}
			assert.InEpsilon(t, want/span, tokens[m.Model]/span, 0.02, "mean tok/s")
		})
	}
}

func TestBackfilledStepsMatchTruth(t *testing.T) {
	t.Parallel()
	prom := backfilled.Server(t)
	s := defaultSim(t, true)
	const window = 10 * time.Minute
	r := v1.Range{Start: testEpoch.Add(time.Hour), End: testEnd, Step: window}
	rng := func(q string) model.Matrix {
		m, _, _, err := prom.API().QueryRange(t.Context(), q, r)
		require.NoError(t, err, q)
		return m.(model.Matrix)
	}
	pods := podModels(t, prom, testEnd, "7d")
	checked, worst := 0, 0.0
	for _, series := range rng(`sum by (model_name) (rate(vllm:generation_tokens_total[10m]))`) {
		name := string(series.Metric["model_name"])
		for _, p := range series.Values {
			at := p.Timestamp.Time()
			if !s.Defined(at.Add(-window), at) {
				continue
			}
			want := s.MeanTokensPerS(name, sim.TokensGeneration, at.Add(-window), at)
			got := float64(p.Value)
			if want < 1 {
				require.InDelta(t, want, got, 0.02, "%s at %s", name, at)
				continue
			}
			require.InEpsilon(t, want, got, 0.02, "%s tok/s at %s", name, at)
			worst = math.Max(worst, math.Abs(got/want-1))
			checked++
		}
	}
	t.Logf("rate() over %s matched the true mean at %d steps; worst relative error %.2g", window, checked, worst)
	power := map[string]map[time.Time]float64{}
	for _, series := range rng(`sum by (pod) (DCGM_FI_DEV_POWER_USAGE{pod!=""})`) {
		name := pods[string(series.Metric["pod"])]
		if power[name] == nil {
			power[name] = map[time.Time]float64{}
		}
		for _, p := range series.Values {
			power[name][p.Timestamp.Time()] += float64(p.Value)
		}
	}
	require.Len(t, power, len(s.Spec().Models))
	for name, steps := range power {
		for at, got := range steps {
			if s.Defined(at.Add(-window), at) {
				require.InDelta(t, s.ModelPowerW(name, at), got, 1e-6, "%s W at %s", name, at)
			}
		}
	}
}

func TestPrometheusScrapesLiveFleet(t *testing.T) {
	t.Parallel()
	epoch := time.Now().Add(-time.Hour).Truncate(time.Hour)
	s, err := sim.New(sim.DefaultFleet(epoch, false), sim.DefaultSeed)
	require.NoError(t, err)
	exporters := httptest.NewServer(s.Handler(sim.Naming{}, time.Now))
	defer exporters.Close()

	// The demo stack's own config, pointed at this server and scraping every second.
	raw, err := os.ReadFile("../../provisioning/prometheus/prometheus.yml")
	require.NoError(t, err)
	cfg := string(raw)
	require.Contains(t, cfg, "fleetsim:9400")
	require.Contains(t, cfg, "scrape_interval: 30s")
	cfg = strings.ReplaceAll(cfg, "fleetsim:9400", strings.TrimPrefix(exporters.URL, "http://"))
	cfg = strings.ReplaceAll(cfg, "scrape_interval: 30s", "scrape_interval: 1s")
	prom := promtest.Start(t, promtest.Options{Config: cfg})
	jobs := strings.Count(cfg, "job_name:") // dcgm-exporter, vLLM and the grid intensity exporter

	require.Eventually(t, func() bool {
		up := prom.QueryVector(t, `up == 1`, time.Now(), "job")
		return len(up) == jobs && len(prom.QueryVector(t, `vllm:generation_tokens_total`, time.Now(), "model_name")) == len(s.Spec().Models)
	}, 20*time.Second, 200*time.Millisecond, "every job scraped")

	now := time.Now()
	vllm := prom.Query(t, `vllm:generation_tokens_total`, now).(model.Vector)
	stamps := prom.QueryVector(t, `timestamp(vllm:generation_tokens_total)`, now, "model_name")
	gpus := prom.QueryVector(t, `count by (pod) (DCGM_FI_DEV_POWER_USAGE{job="dcgm-exporter"})`, now, "pod")
	types := prom.Query(t, `group by (pod, modelName, Hostname, namespace, container) (DCGM_FI_DEV_POWER_USAGE)`, now).(model.Vector)
	for _, ms := range s.Spec().Models {
		t.Run(ms.Name, func(t *testing.T) {
			i := index(vllm, func(m model.Metric) bool { return string(m["model_name"]) == ms.Name })
			require.GreaterOrEqual(t, i, 0, "vLLM series of %s", ms.Name)
			labels := vllm[i].Metric
			assert.Equal(t, sim.JobVLLM, string(labels["job"]))
			assert.Equal(t, ms.Namespace, string(labels["namespace"]))
			pod := string(labels["pod"])
			require.NotEmpty(t, pod)
			// The counter is the exact integral of the true rate up to the scrape.
			at := time.UnixMilli(int64(stamps[ms.Name] * 1000))
			want := s.Tokens(ms.Name, sim.TokensGeneration, epoch, at)
			assert.InDelta(t, want, float64(vllm[i].Value), math.Max(1e-4*want, 1e-3), "tokens at the scrape")

			assert.Equal(t, float64(ms.GPUs), gpus[pod], "GPU series carrying the pod")
			for _, smp := range types {
				if string(smp.Metric["pod"]) == pod {
					assert.Equal(t, ms.GPUType, string(smp.Metric["modelName"]))
					assert.Contains(t, ms.Hosts, string(smp.Metric["Hostname"]))
					assert.Equal(t, ms.Namespace, string(smp.Metric["namespace"]))
					assert.Equal(t, ms.ContainerName(), string(smp.Metric["container"]))
				}
			}
		})
	}
	unallocated := prom.QueryVector(t, `count by (modelName) (DCGM_FI_DEV_POWER_USAGE{pod=""})`, now, "modelName")
	want := map[string]float64{}
	for typ, n := range s.Truth(epoch, now.Truncate(time.Minute), time.Minute).Unallocated.GPUs {
		want[typ] = float64(n)
	}
	assert.Equal(t, want, unallocated, "GPUs no pod holds have no pod label")
}

func index(vec model.Vector, match func(model.Metric) bool) int {
	for i, smp := range vec {
		if match(smp.Metric) {
			return i
		}
	}
	return -1
}
