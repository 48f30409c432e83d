package source

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

const (
	power  = "DCGM_FI_DEV_POWER_USAGE"
	energy = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
	limit  = "DCGM_FI_DEV_POWER_MGMT_LIMIT"
	prompt = "vllm:prompt_tokens_total"
	gen    = "vllm:generation_tokens_total"
	a100   = "NVIDIA A100-SXM4-80GB"
	a6000  = "NVIDIA RTX A6000"
)

var testNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// plainFleet is a cluster whose Prometheus keeps dcgm-exporter's pod mapping as namespace/pod: one GPU held by
// qwen's pod, one free, every family of the default mapping present.
func plainFleet() []labels {
	var out []labels
	for _, m := range []string{power, energy, limit} {
		out = append(out,
			dcgm(m, "node-a", "GPU-1", a100, "namespace", "llm", "pod", "qwen-0"),
			dcgm(m, "node-a", "GPU-2", a100))
	}
	return append(out, vllm(gen, "qwen", "llm", "qwen-0"), vllm(prompt, "qwen", "llm", "qwen-0"))
}

// exportedFleet is the same cluster scraped with honor_labels: false: namespace/pod on the DCGM series name
// the exporter's pod, the workload's arrive as exported_*.
func exportedFleet() []labels {
	var out []labels
	for _, m := range []string{power, energy, limit} {
		out = append(out,
			dcgm(m, "node-a", "GPU-1", a100, "namespace", "gpu-operator", "pod", "dcgm-exporter-x", "exported_namespace", "llm", "exported_pod", "qwen-0"),
			dcgm(m, "node-a", "GPU-2", a100, "namespace", "gpu-operator", "pod", "dcgm-exporter-x"))
	}
	return append(out, vllm(gen, "qwen", "llm", "qwen-0"), vllm(prompt, "qwen", "llm", "qwen-0"))
}

func without(series []labels, metrics ...string) []labels {
	var out []labels
	for _, s := range series {
		if !contains(metrics, s["__name__"]) {
			out = append(out, s)
		}
	}
	return out
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func TestHealth(t *testing.T) {
	tests := []struct {
		name        string
		version     string
		series      []labels
		mutate      func(*models.Settings)
		wantOK      bool
		wantMessage []string
		wantDetails map[string]any
	}{
		{
			name: "every family present, plain labels: joins on namespace and pod", version: "2.42.0", series: plainFleet(), wantOK: true,
			wantMessage: []string{"Connected to Prometheus 2.42.0 (detected from its build info). Found GPU power, prompt tokens, generation tokens, energy counter, power limit. GPUs join models on namespace, pod."},
			wantDetails: map[string]any{"joinMode": "direct", "joinLabels": []string{"namespace", "pod"}, "energySource": fleet.EnergyFromCounter, "hostLabel": "Hostname",
				"missing": []string{}, "found": []string{power, prompt, gen, energy, limit}},
		},
		{
			name: "exported_* labels are detected and joined on", version: "2.42.0", series: exportedFleet(), wantOK: true,
			wantMessage: []string{"GPUs join models on exported_namespace, exported_pod of the GPU series = namespace, pod of the token series (detected: dcgm-exporter is scraped with honor_labels: false, so namespace, pod name the exporter)."},
			wantDetails: map[string]any{"joinMode": "exported (detected)", "joinLabels": []string{"exported_namespace", "exported_pod"}},
		},
		{
			name: "join mode direct keeps the exporter's own labels when told to", version: "2.42.0", series: exportedFleet(), wantOK: true,
			mutate:      func(s *models.Settings) { s.Mapping.JoinMode = "direct" },
			wantDetails: map[string]any{"joinMode": "direct", "joinLabels": []string{"namespace", "pod"}},
		},
		{
			name: "optional families missing are noted, not errors", version: "2.42.0", series: without(plainFleet(), energy, limit), wantOK: true,
			wantMessage: []string{
				"No energy counter (" + energy + "): energy comes from the power gauge.",
				"No power limit (" + limit + "): the catalog TDP stands in.",
			},
			wantDetails: map[string]any{"energySource": fleet.EnergyFromGauge, "missing": []string{energy, limit}},
		},
		{
			name: "missing token counters are named and an error", version: "2.42.0", series: without(plainFleet(), prompt), wantOK: false,
			wantMessage: []string{"Found no series of prompt tokens (vllm:prompt_tokens_total) in the last 24h"},
		},
		{
			name: "missing power is an error", version: "2.42.0", series: without(plainFleet(), power, energy, limit), wantOK: false,
			wantMessage: []string{"Found no series of GPU power (" + power + ") in the last 24h", "No energy counter"},
		},
		{
			name: "the label filter applies to the lookup and is named", version: "2.42.0", series: plainFleet(), wantOK: false,
			mutate:      func(s *models.Settings) { s.Mapping.LabelFilter = `{cluster="other"}` },
			wantMessage: []string{`GPU power (` + power + `), prompt tokens (` + prompt + `), generation tokens (` + gen + `) in the last 24h matching the label filter {cluster="other"}`},
		},
		{
			name: "an engine without build info is fine", series: plainFleet(), wantOK: true,
			wantMessage: []string{"Connected to http://127.0.0.1"},
			wantDetails: map[string]any{"version": "unknown (the engine serves no build info)"},
		},
		{
			name: "a model label on the GPU series replaces the join", version: "2.42.0", wantOK: true,
			series:      []labels{dcgm(power, "node-a", "GPU-1", a100, "served_model", "qwen"), vllm(gen, "qwen", "llm", "qwen-0"), vllm(prompt, "qwen", "llm", "qwen-0")},
			mutate:      func(s *models.Settings) { s.Mapping.GPUModelLabel = "served_model" },
			wantMessage: []string{"GPUs join models on the GPU series' own served_model label."},
			wantDetails: map[string]any{"joinMode": "model label on the GPU series", "joinLabels": []string{"served_model"}},
		},
		{
			name: "GPU series without pod mapping cannot be joined: an error saying what to do", version: "2.42.0", wantOK: false,
			series:      []labels{dcgm(power, "node-a", "GPU-1", a100), vllm(gen, "qwen", "llm", "qwen-0"), vllm(prompt, "qwen", "llm", "qwen-0")},
			wantMessage: []string{"has no namespace, pod labels, so no GPU can be joined to a model: enable dcgm-exporter's Kubernetes pod mapping"},
		},
		{
			name: "token series without the model label: an error naming the setting", version: "2.42.0", wantOK: false,
			series:      append(without(plainFleet(), gen), labels{"__name__": gen, "namespace": "llm", "pod": "qwen-0", "served": "qwen"}),
			wantMessage: []string{"The token counter vllm:generation_tokens_total has no model_name label: set the model label"},
		},
		{
			name: "hostname (2026 exporters) is accepted as the host label", version: "2.42.0", wantOK: true,
			series: []labels{
				{"__name__": power, "hostname": "node-b", "UUID": "GPU-9", "modelName": a6000, "namespace": "llm", "pod": "g-0"},
				vllm(gen, "gemma", "llm", "g-0"), vllm(prompt, "gemma", "llm", "g-0"),
			},
			wantDetails: map[string]any{"hostLabel": "hostname"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeProm{t: t, version: tt.version, series: tt.series}
			srv := f.start()
			p, _ := newTestSource(t, testSettings(t, srv.URL, tt.mutate), testNow)

			h := p.Health(context.Background())

			assert.Equal(t, tt.wantOK, h.OK, h.Message)
			for _, want := range tt.wantMessage {
				assert.Contains(t, h.Message, want)
			}
			for k, want := range tt.wantDetails {
				assert.Equal(t, want, h.Details[k], "details[%s]", k)
			}
		})
	}
}

func TestHealthFailures(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	unavailable := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream connect error", http.StatusServiceUnavailable)
	}))
	defer unavailable.Close()
	unauthorized := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusUnauthorized)
	}))
	defer unauthorized.Close()

	tests := []struct {
		name, url string
		want      []string
	}{
		{"closed port", closedURL, []string{"could not reach Prometheus at " + closedURL + " for the build info request", "connection refused"}},
		{"503", unavailable.URL, []string{"Prometheus at " + unavailable.URL + " answered 503 Service Unavailable for the build info request: upstream connect error"}},
		{"401 says to check credentials", unauthorized.URL, []string{"answered 401 Unauthorized", "check the credentials"}},
		{"credentials in the URL are not shown", strings.Replace(closedURL, "http://", "http://admin:s3cret@", 1), []string{"could not reach Prometheus at " + closedURL}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := newTestSource(t, testSettings(t, tt.url, nil), testNow)
			h := p.Health(context.Background())
			assert.False(t, h.OK)
			for _, want := range tt.want {
				assert.Contains(t, h.Message, want)
			}
			assert.NotContains(t, h.Message, "s3cret")
		})
	}
}

func TestValues(t *testing.T) {
	series := append(plainFleet(),
		dcgm(power, "node-b", "GPU-3", a6000, "namespace", "chat", "pod", "gemma-0"),
		vllm(gen, "gemma", "chat", "gemma-0"),
		vllm(gen, "olmo", "chat", "olmo-0", "cluster", "other"),
		dcgm(power, "node-c", "GPU-4", "NVIDIA L40", "cluster", "other"),
	)
	tests := []struct {
		name   string
		kind   ValueKind
		filter string
		want   []string
	}{
		{"models, sorted", ValueModels, "", []string{"gemma", "olmo", "qwen"}},
		{"GPU types", ValueGPUTypes, "", []string{"NVIDIA A100-SXM4-80GB", "NVIDIA L40", "NVIDIA RTX A6000"}},
		{"namespaces", ValueNamespaces, "", []string{"chat", "llm"}},
		{"the label filter narrows models", ValueModels, `cluster!="other"`, []string{"gemma", "qwen"}},
		{"the label filter narrows GPU types", ValueGPUTypes, `cluster="other"`, []string{"NVIDIA L40"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeProm{t: t, series: series}
			srv := f.start()
			p, _ := newTestSource(t, testSettings(t, srv.URL, func(s *models.Settings) { s.Mapping.LabelFilter = tt.filter }), testNow)
			got, err := p.Values(context.Background(), tt.kind)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}

	t.Run("an unknown list is the caller's error", func(t *testing.T) {
		p, _ := newTestSource(t, testSettings(t, "http://127.0.0.1:1", nil), testNow)
		_, err := p.Values(context.Background(), "pods")
		require.Error(t, err)
		assert.True(t, backend.IsDownstreamError(err))
		assert.Contains(t, err.Error(), `unknown list "pods"`)
	})
	t.Run("an unreachable Prometheus is downstream's fault", func(t *testing.T) {
		p, _ := newTestSource(t, testSettings(t, "http://127.0.0.1:1", nil), testNow)
		_, err := p.Values(context.Background(), ValueModels)
		require.Error(t, err)
		assert.True(t, backend.IsDownstreamError(err))
		assert.Contains(t, err.Error(), "could not reach Prometheus at http://127.0.0.1:1 for the list of models")
	})
}
