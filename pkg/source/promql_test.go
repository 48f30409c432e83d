package source

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/promclient"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// goldenMapping is one metric mapping and what discovery found with it.
type goldenMapping struct {
	name string
	// mutate changes the default settings.
	mutate func(*models.Settings)
	// powerLabels are the label names found on the power metric.
	powerLabels         []string
	hasEnergy, hasLimit bool
	engine              models.Engine
	// recorded reads the recording rules' series.
	recorded bool
}

var plainPowerLabels = []string{"__name__", "Hostname", "UUID", "gpu", "modelName", "namespace", "pod", "container"}

var goldenMappings = []goldenMapping{
	{name: "default", powerLabels: plainPowerLabels, hasEnergy: true, hasLimit: true},
	{name: "energy-counter-absent", powerLabels: plainPowerLabels},
	{name: "exported", powerLabels: append(plainPowerLabels, "exported_namespace", "exported_pod", "exported_container"), hasEnergy: true},
	{name: "gpu-model-label", powerLabels: append(plainPowerLabels, "served_model"), hasEnergy: true,
		mutate: func(s *models.Settings) { s.Mapping.GPUModelLabel = "served_model" }},
	{name: "sglang", powerLabels: plainPowerLabels,
		mutate: func(s *models.Settings) { s.Mapping = withDefaults(models.SGLangMapping()) }},
	{name: "label-filter", powerLabels: plainPowerLabels, hasEnergy: true,
		mutate: func(s *models.Settings) { s.Mapping.LabelFilter = ` {cluster="nrp", region=~"us-.*",} ` }},
	{name: "recorded", powerLabels: plainPowerLabels, hasEnergy: true, hasLimit: true, recorded: true},
	{name: "recorded-label-filter", powerLabels: plainPowerLabels, hasEnergy: true, recorded: true,
		mutate: func(s *models.Settings) { s.Mapping.LabelFilter = `cluster="nrp"`; s.RecordedPrefix = "nrp:fleet" }},
	{name: "victoriametrics", powerLabels: plainPowerLabels, hasEnergy: true, hasLimit: true, engine: models.EngineVictoriaMetrics},
	{name: "renamed", powerLabels: []string{"__name__", "node", "card", "gpu_product", "kube_namespace", "kube_pod"},
		mutate: func(s *models.Settings) {
			s.Mapping.PowerMetric = "gpu_power_watts"
			s.Mapping.HostLabels = []string{"node"}
			s.Mapping.GPUTypeLabel = "gpu_product"
			s.Mapping.GPULabels = []string{"card"}
			s.Mapping.JoinLabels = []string{"kube_namespace", "kube_pod"}
			s.Mapping.ModelLabel = "served"
			s.ScrapeInterval = "15s"
		}},
}

func withDefaults(m models.Mapping) models.Mapping {
	d := models.DefaultMapping()
	m.GPULabels = d.GPULabels
	return m
}

func (g goldenMapping) schema(t *testing.T) schema {
	cfg := testSettings(t, "http://prometheus:9090", g.mutate)
	present := map[string]bool{}
	for _, l := range g.powerLabels {
		present[l] = true
	}
	s := newSchema(cfg, resolveJoin(cfg.Mapping, present), g.hasEnergy, g.hasLimit)
	s.engine = promclient.Engine{Kind: g.engine}
	return s
}

// goldenGrid is a week at 5-minute steps.
var goldenGrid = fleet.Grid{Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Step: 5 * time.Minute, N: 7*288 + 1}

func TestPromQLGolden(t *testing.T) {
	for _, g := range goldenMappings {
		t.Run(g.name, func(t *testing.T) {
			s := g.schema(t)
			var q quantities = s
			if g.recorded {
				q = recorded{s: s, names: recordedNamesOf(testSettings(t, "http://prometheus:9090", g.mutate).RecordedPrefix)}
			}
			var b strings.Builder
			for _, q := range s.plan(q, goldenGrid, RateWindow(goldenGrid.Step, s.scrape), goldenGrid.Span(), NeedAll) {
				b.WriteString(q.executed(goldenGrid))
				b.WriteString("\n\n")
			}
			path := filepath.Join("testdata", "promql", g.name+".promql")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./pkg/source -run TestPromQLGolden -update to write the golden files")
			assert.Equal(t, string(want), b.String())
		})
	}
}

// TestPromQLProperties states what the golden files must show, so a regenerated golden cannot quietly lose it.
func TestPromQLProperties(t *testing.T) {
	byName := map[string]schema{}
	for _, g := range goldenMappings {
		byName[g.name] = g.schema(t)
	}
	step, rate, window := 5*time.Minute, 5*time.Minute, goldenGrid.Span()

	t.Run("the exported mapping joins on the workload's labels, never the exporter's", func(t *testing.T) {
		q := byName["exported"].PowerW(step, rate)
		assert.Contains(t, q, "on (exported_namespace, exported_pod) group_left (model_name)")
		assert.NotContains(t, q, "on (namespace, pod)")
		assert.Contains(t, q, `label_replace(label_replace(group by (namespace, pod, model_name)`, "the token side is renamed to the GPU side's labels")
		assert.Contains(t, q, `{exported_namespace="", exported_pod=""}`, "unallocated GPUs are those without workload labels")
	})
	t.Run("the default mapping joins on namespace, pod and keeps unallocated GPUs", func(t *testing.T) {
		q := byName["default"].PowerW(step, rate)
		assert.Contains(t, q, "* on (namespace, pod) group_left (model_name) group by (namespace, pod, model_name) (last_over_time(vllm:generation_tokens_total[300s]))")
		assert.Contains(t, q, `or avg_over_time(DCGM_FI_DEV_POWER_USAGE{namespace="", pod=""}[299999ms])`)
	})
	t.Run("aggregation is by model, host and GPU type, never by pod", func(t *testing.T) {
		for name, s := range byName {
			for _, q := range []string{s.PowerW(step, rate), s.GPUs(step, rate), s.EnergyJ(window)} {
				outer := q[:strings.Index(q, ")")+1]
				assert.NotContains(t, outer, "pod", name)
				assert.Contains(t, outer, s.modelLabel(), name)
			}
		}
	})
	t.Run("a model label on the GPU series needs no join", func(t *testing.T) {
		s := byName["gpu-model-label"]
		assert.Equal(t, "sum by (served_model, Hostname, hostname, modelName) (sum by (served_model, Hostname, hostname, modelName, UUID, gpu) ((rate(DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION[300001ms]) / 1000 > 0)) or avg by (served_model, Hostname, hostname, modelName, UUID, gpu) (avg_over_time(DCGM_FI_DEV_POWER_USAGE[299999ms])))", s.PowerW(step, rate))
	})
	t.Run("step power from the energy counter where a GPU exports it, else the gauge's mean", func(t *testing.T) {
		assert.Contains(t, byName["default"].PowerW(step, rate), "(rate(DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION[300001ms]) / 1000 > 0)")
		assert.NotContains(t, byName["energy-counter-absent"].PowerW(step, rate), "TOTAL_ENERGY")
	})
	t.Run("the label filter is on every selector", func(t *testing.T) {
		s := byName["label-filter"]
		for _, q := range s.plan(s, goldenGrid, rate, window, NeedAll) {
			selectors := strings.Count(q.promql, "[")
			assert.Equal(t, selectors, strings.Count(q.promql, `cluster="nrp", region=~"us-.*"}[`), q.quantity)
		}
	})
	t.Run("window energy from the counter in mJ, never from the gauge times a scrape interval", func(t *testing.T) {
		assert.Contains(t, byName["default"].EnergyJ(window), "(increase(DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION[605100001ms]) / 1000)")
		assert.NotContains(t, byName["default"].EnergyJ(window), "sum_over_time")
		for _, q := range byName["energy-counter-absent"].plan(byName["energy-counter-absent"], goldenGrid, rate, window, NeedAll) {
			assert.NotEqual(t, "energy_j", q.quantity, "without the counter, energy comes from the steps' power")
		}
	})
	t.Run("gauge ranges are a millisecond short of their window, counter ranges a millisecond long", func(t *testing.T) {
		// So samples exactly on step boundaries count once, whether ranges are closed on the left
		// (Prometheus 2) or open (Prometheus 3). VictoriaMetrics' counter ranges are the window: it starts them
		// from the sample before.
		for name, s := range byName {
			for _, q := range s.plan(s, goldenGrid, rate, window, NeedAll) {
				for _, fn := range []string{"avg_over_time", "sum_over_time"} {
					assert.NotRegexp(t, fn+`\([^\[]*\[\d+s\]`, q.promql, name)
				}
				for _, fn := range []string{"rate", "increase"} {
					if s.engine.Kind == models.EngineVictoriaMetrics {
						assert.NotRegexp(t, fn+`\([^\[]*\[\d+ms\]`, q.promql, name)
					} else {
						assert.NotRegexp(t, fn+`\([^\[]*\[\d+s\]`, q.promql, name)
					}
				}
			}
		}
		assert.Equal(t, "299999ms", promDuration(gaugeRange(5*time.Minute)))
		assert.Equal(t, "300001ms", promDuration(promclient.Engine{Kind: models.EnginePrometheus}.CounterRange(5*time.Minute)))
		assert.Equal(t, "300s", promDuration(promclient.Engine{Kind: models.EngineVictoriaMetrics}.CounterRange(5*time.Minute)), "VictoriaMetrics starts from the sample before the range")
	})
	t.Run("the window totals join against every pod of the window, not only those alive at its end", func(t *testing.T) {
		assert.Contains(t, byName["default"].EnergyJ(window), "last_over_time(vllm:generation_tokens_total[605100s])")
	})
	t.Run("token counters through rate per serving pod, and increase per model", func(t *testing.T) {
		s := byName["sglang"]
		assert.Equal(t, "sum by (model_name, namespace, pod) (rate(sglang:prompt_tokens_total[300001ms]))", s.TokensPerS(s.m.PromptTokensMetric, rate))
		assert.Equal(t, "sum by (model_name) (increase(sglang:generation_tokens_total[605100001ms]))", s.Tokens(s.m.GenerationTokensMetric, window))
	})
}

func TestResolveJoin(t *testing.T) {
	exported := map[string]bool{"namespace": true, "pod": true, "exported_namespace": true, "exported_pod": true}
	plain := map[string]bool{"namespace": true, "pod": true}
	tests := []struct {
		name   string
		mode   string
		labels map[string]bool
		want   []string
	}{
		{"auto with exported labels", "auto", exported, []string{"exported_namespace", "exported_pod"}},
		{"auto without", "auto", plain, []string{"namespace", "pod"}},
		{"auto with only some exported labels stays direct", "auto", map[string]bool{"namespace": true, "pod": true, "exported_pod": true}, []string{"namespace", "pod"}},
		{"direct ignores exported labels", "direct", exported, []string{"namespace", "pod"}},
		{"exported is forced", "exported", plain, []string{"exported_namespace", "exported_pod"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := models.DefaultMapping()
			m.JoinMode = tt.mode
			j := resolveJoin(m, tt.labels)
			assert.Equal(t, tt.want, j.GPULabels)
			assert.Equal(t, []string{"namespace", "pod"}, j.TokenLabels)
		})
	}
}
