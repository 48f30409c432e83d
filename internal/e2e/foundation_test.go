package e2e

import (
	"time"

	"encoding/json"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/testhost"
	"net"
	"net/http"
	"sort"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/promtest"
)

func TestHealthIsOKAgainstALivePrometheusWithTheFleet(t *testing.T) {
	prom := recent.Server(t)
	p := startPlugin(t)
	h, err := p.CheckHealth(ctx(t), settingsFor(prom.URL, nil))
	require.NoError(t, err)
	assert.Equal(t, backend.HealthStatusOk, h.Status, h.Message)
	assert.NotEmpty(t, h.Message)
}

func TestHealthNamesTheMissingMetricFamilies(t *testing.T) {
	empty := promtest.Start(t, promtest.Options{})
	p := startPlugin(t)
	h, err := p.CheckHealth(ctx(t), settingsFor(empty.URL, nil))
	require.NoError(t, err)
	assert.Equal(t, backend.HealthStatusError, h.Status)
	for _, family := range []string{"DCGM_FI_DEV_POWER_USAGE", "vllm:prompt_tokens_total", "vllm:generation_tokens_total"} {
		assert.Contains(t, h.Message, family)
	}

	// A mapping naming a metric the fleet does not export is caught the same way, by name.
	prom := recent.Server(t)
	h, err = p.CheckHealth(ctx(t), settingsFor(prom.URL, map[string]any{"mapping": map[string]any{"powerMetric": "gpu_power_watts"}}))
	require.NoError(t, err)
	assert.Equal(t, backend.HealthStatusError, h.Status)
	assert.Contains(t, h.Message, "gpu_power_watts")
	assert.NotContains(t, h.Message, "vllm:prompt_tokens_total", "the token counters exist")
}

func TestHealthOnAClosedPortIsAReadableError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + l.Addr().String()
	require.NoError(t, l.Close())

	p := startPlugin(t)
	h, err := p.CheckHealth(ctx(t), settingsFor(url, nil))
	require.NoError(t, err)
	assert.Equal(t, backend.HealthStatusError, h.Status)
	assert.Contains(t, h.Message, url)
	assert.Contains(t, h.Message, "connection refused")
}

func TestABadQueryFailsAloneWhileTheValidOneAnswers(t *testing.T) {
	prom := week.Server(t)
	p := startPlugin(t)
	from, to := weekEnd.Add(-24*time.Hour), weekEnd
	resp, err := p.QueryData(ctx(t), settingsFor(prom.URL, nil), nil,
		query("A", "idle-attribution", "", from, to),
		query("B", "carbon-forecast", "", from, to),
		testhost.Query{RefID: "C", QueryType: "idle-attribution", JSON: `{"queryType":"idle-attribution","models":[`, From: from, To: to},
	)
	require.NoError(t, err)
	require.Len(t, resp.Responses, 3)

	a := resp.Responses["A"]
	require.NoError(t, a.Error)
	require.NotEmpty(t, a.Frames)
	assert.Positive(t, a.Frames[0].Rows(), "the valid query answers with the fleet's models")

	b := resp.Responses["B"]
	require.Error(t, b.Error)
	assert.Contains(t, b.Error.Error(), `unknown query type "carbon-forecast"`)
	assert.Equal(t, backend.ErrorSourcePlugin, b.ErrorSource)

	c := resp.Responses["C"]
	require.Error(t, c.Error)
	assert.Contains(t, c.Error.Error(), "not valid JSON")
	assert.Equal(t, backend.ErrorSourcePlugin, c.ErrorSource)
}

func TestModelsResourceListsTheServedModels(t *testing.T) {
	prom := recent.Server(t)
	p := startPlugin(t)
	status, body, err := p.CallResource(ctx(t), settingsFor(prom.URL, nil), "models")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, string(body))
	var models []string
	require.NoError(t, json.Unmarshal(body, &models))
	var want []string
	for _, m := range recentSim.Truth(recentStart, recentEnd, scrapeStep).Models {
		want = append(want, m.Model)
	}
	sort.Strings(want)
	assert.Equal(t, want, models)
}
