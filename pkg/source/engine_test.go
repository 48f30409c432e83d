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
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/promclient"
)

// Build info answers as the engines give them.
const (
	prometheusBuildInfo = `{"version":"2.42.0","revision":"225c61122d88b01d1f0eaaee0e05b6f3e0567ac0","branch":"HEAD","buildUser":"x","buildDate":"x","goVersion":"go1.19.5"}`
	thanosBuildInfo     = `{"version":"0.34.1","revision":"4cf1559998bf6d8db3f9ca0fde2a00d217d4e23e","branch":"HEAD","buildUser":"x","buildDate":"x","goVersion":"go1.21.7"}`
	mimirBuildInfo      = `{"application":"Grafana Mimir","version":"2.11.0","revision":"c8939ea","branch":"release-2.11","goVersion":"go1.21.4","features":{"ruler_config_api":"true","alertmanager_config_api":"true","query_sharding":"false","federated_rules":"false"}}`
	// VictoriaMetrics 1.79 answers an empty build info; later versions Prometheus' 2.24.0, for Grafana.
	vm179BuildInfo    = `{}`
	vmRecentBuildInfo = `{"version":"2.24.0"}`
)

var vmHeader = http.Header{"X-Server-Hostname": {"vmselect-0"}}

func TestIdentifyTheEngine(t *testing.T) {
	tests := []struct {
		name      string
		setting   models.Engine
		buildInfo string // "" = no build info endpoint
		header    http.Header
		want      models.Engine
		version   string
	}{
		{"Prometheus", models.EngineAuto, prometheusBuildInfo, nil, models.EnginePrometheus, "2.42.0"},
		{"Thanos: versions 0.x", models.EngineAuto, thanosBuildInfo, nil, models.EngineThanos, "0.34.1"},
		{"Mimir: its application and features", models.EngineAuto, mimirBuildInfo, nil, models.EngineMimir, "2.11.0"},
		{"VictoriaMetrics 1.79: empty build info", models.EngineAuto, vm179BuildInfo, vmHeader, models.EngineVictoriaMetrics, ""},
		{"VictoriaMetrics later: Prometheus' version, but its header", models.EngineAuto, vmRecentBuildInfo, vmHeader, models.EngineVictoriaMetrics, ""},
		{"no build info (Cortex): Prometheus semantics", models.EngineAuto, "", nil, models.EnginePrometheus, ""},
		{"the setting wins", models.EngineThanos, prometheusBuildInfo, nil, models.EngineThanos, "2.42.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeProm{t: t, buildInfo: tt.buildInfo, header: tt.header}
			p, _ := newTestSource(t, testSettings(t, f.start().URL, func(s *models.Settings) { s.Engine = tt.setting }), testNow)
			bi, err := p.client.BuildInfo(context.Background())
			require.NoError(t, err)
			e := promclient.Identify(tt.setting, bi)
			assert.Equal(t, tt.want, e.Kind)
			assert.Equal(t, tt.version, e.Version)
		})
	}
}

func TestHealthSaysWhichEngine(t *testing.T) {
	tests := []struct {
		name      string
		setting   models.Engine
		tenant    string
		buildInfo string
		header    http.Header
		want      []string
	}{
		{"Thanos", models.EngineAuto, "", thanosBuildInfo, nil, []string{"Connected to Thanos 0.34.1 (detected from its build info (Thanos versions are 0.x)).", "dedup", "partial_response", "max_source_resolution=auto"}},
		{"Mimir without a tenant is told to set one", models.EngineAuto, "", mimirBuildInfo, nil, []string{"Connected to Mimir 2.11.0 (detected from its build info).", "set the tenant ID (sent as X-Scope-OrgID)"}},
		{"Mimir with a tenant names it", models.EngineAuto, "nrp", mimirBuildInfo, nil, []string{`Queries are sent for tenant "nrp" (X-Scope-OrgID).`}},
		{"VictoriaMetrics", models.EngineAuto, "", vm179BuildInfo, vmHeader, []string{"Connected to VictoriaMetrics (detected from its build info and headers).", "do not extrapolate"}},
		{"a setting the build info contradicts is named", models.EngineThanos, "", prometheusBuildInfo, nil, []string{"Connected to Thanos 2.42.0 (set in the settings).", "Its build info looks like Prometheus, not Thanos as set in the settings."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeProm{t: t, buildInfo: tt.buildInfo, header: tt.header, series: plainFleet()}
			p, _ := newTestSource(t, testSettings(t, f.start().URL, func(s *models.Settings) { s.Engine, s.TenantID = tt.setting, tt.tenant }), testNow)
			h := p.Health(context.Background())
			assert.True(t, h.OK, h.Message)
			for _, want := range tt.want {
				assert.Contains(t, h.Message, want)
			}
			assert.NotEmpty(t, h.Details["engine"])
		})
	}
}

// thanosFake answers as a Thanos querier whose store of the GPU metrics is down: with partial_response the
// answer of the stores that answered plus a warning, without it an error.
type thanosFake struct {
	*fakeProm
}

const thanosStoreDown = "receive series from Addr: 10.2.0.17:10901 LabelSets: {cluster=\"nrp\", replica=\"a\"} MinTime: 1732060800000 MaxTime: 1732147200000: rpc error: code = Unavailable desc = connection error"

func (f thanosFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	assert.NoError(f.t, r.ParseForm())
	if strings.HasPrefix(r.URL.Path, "/api/v1/query") && r.Form.Get("partial_response") == "false" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = w.Write([]byte(`{"status":"error","errorType":"execution","error":"` + strings.ReplaceAll(thanosStoreDown, `"`, `\"`) + `"}`))
		return
	}
	f.fakeProm.ServeHTTP(w, r)
}

func TestThanosPartialAnswersAreNoticesNeverCompleteData(t *testing.T) {
	grid := fleet.Grid{Start: testNow.Add(-2 * time.Hour), Step: time.Hour, N: 3}
	req := Request{Start: grid.Start, End: grid.End(), Step: grid.Step}
	fp := &fakeProm{t: t, buildInfo: thanosBuildInfo, series: plainFleet(), warnings: []string{thanosStoreDown}}
	cfg := testSettings(t, "http://unused", func(s *models.Settings) { s.CacheTTLSeconds = 60 })
	fp.answers = fleetAnswers(grid, queriesOf(t, cfg, plainPowerLabels, true, true, grid), 1)
	srv := httptest.NewServer(thanosFake{fp})
	t.Cleanup(srv.Close)
	cfg.URL = srv.URL
	p, ct := newTestSource(t, cfg, testNow)

	f, err := p.Fleet(context.Background(), req)
	require.NoError(t, err)
	require.NotEmpty(t, f.Models, "the answer of the stores that answered")
	assert.Contains(t, f.Notices, "Prometheus warned about the power_w query: "+thanosStoreDown, "the store that failed is named")
	assert.Contains(t, f.Notices, promclient.Engine{Kind: models.EngineThanos}.PartialNotice())
	for _, q := range fp.queries {
		assert.Equal(t, "true", q.form.Get("dedup"), q.query)
		assert.Equal(t, "true", q.form.Get("partial_response"), q.query)
		if q.path == "/api/v1/query_range" {
			assert.Equal(t, "auto", q.form.Get("max_source_resolution"), q.query)
		} else {
			assert.Equal(t, "720s", q.form.Get("max_source_resolution"), "a fifth of the hour step: %s", q.query)
		}
	}
	assert.Contains(t, f.ExecutedQueries[0], "(dedup=true&max_source_resolution=auto&partial_response=true)", "the executed query says how it was asked")

	// A partial answer is not kept: the next refresh asks again, although the cache is on.
	before := ct.total.Load()
	again, err := p.Fleet(context.Background(), req)
	require.NoError(t, err)
	assert.NotSame(t, f, again)
	assert.Greater(t, ct.total.Load(), before)

	// An alert rule asks for a complete answer and gets Thanos' error instead of partial data.
	alert := req
	alert.FromAlert = true
	_, err = p.Fleet(context.Background(), alert)
	require.Error(t, err)
	assert.True(t, backend.IsDownstreamError(err))
	assert.Contains(t, err.Error(), "rpc error: code = Unavailable")
}
