package models

import (
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEmptySettingsGetTheStandardMapping(t *testing.T) {
	cfg, err := LoadSettings(backend.DataSourceInstanceSettings{URL: "http://prometheus:9090"})
	require.NoError(t, err)
	assert.Equal(t, ModePrometheus, cfg.Mode)
	assert.Equal(t, DefaultMapping(), cfg.Mapping)
	assert.Equal(t, 30*time.Second, cfg.Timeout())
	assert.Equal(t, 30*time.Second, cfg.Scrape())
	assert.Equal(t, 1.0, cfg.Carbon.PUE)
	assert.Equal(t, 198.0, cfg.Carbon.DefaultGPerKWh)
	assert.Equal(t, DefaultSites(), cfg.Carbon.Sites)
	assert.Equal(t, EngineAuto, cfg.Engine)
	assert.Equal(t, "auto", cfg.RecordingRules)
	assert.Equal(t, "fleet", cfg.RecordedPrefix)
	assert.Equal(t, 60.0, cfg.CacheTTLSeconds)
	assert.Equal(t, SLOSettings{TTFTP95Seconds: ptr(2.0), ITLP95Seconds: ptr(0.2)}, cfg.SLO)
}

func TestSLOSettingsCanLeaveALatencyUnchecked(t *testing.T) {
	cfg, err := LoadSettings(backend.DataSourceInstanceSettings{URL: "http://p:9090", JSONData: []byte(`{"slo":{"ttftP95Seconds":5,"itlP95Seconds":0}}`)})
	require.NoError(t, err)
	assert.Equal(t, SLOSettings{TTFTP95Seconds: ptr(5.0), ITLP95Seconds: ptr(0.0)}, cfg.SLO, "0: not checked")
	cfg, err = LoadSettings(backend.DataSourceInstanceSettings{URL: "http://p:9090", JSONData: []byte(`{"slo":{"ttftP95Seconds":5}}`)})
	require.NoError(t, err)
	assert.Equal(t, SLOSettings{TTFTP95Seconds: ptr(5.0), ITLP95Seconds: ptr(0.2)}, cfg.SLO, "absent: the default")
}

func TestACacheTTLOfZeroTurnsTheCacheOff(t *testing.T) {
	cfg, err := LoadSettings(backend.DataSourceInstanceSettings{URL: "http://prometheus:9090", JSONData: []byte(`{"cacheTTLSeconds":0}`)})
	require.NoError(t, err)
	assert.Zero(t, cfg.CacheTTLSeconds)
}

func TestDemoModeNeedsNoURL(t *testing.T) {
	cfg, err := LoadSettings(backend.DataSourceInstanceSettings{JSONData: []byte(`{"mode":"demo"}`)})
	require.NoError(t, err)
	assert.Equal(t, ModeDemo, cfg.Mode)
	_, pinned := cfg.DemoTime()
	assert.False(t, pinned, "the demo follows the clock")

	cfg, err = LoadSettings(backend.DataSourceInstanceSettings{JSONData: []byte(`{"mode":"demo","demoNow":"2026-11-20T15:00:00Z"}`)})
	require.NoError(t, err)
	at, pinned := cfg.DemoTime()
	assert.True(t, pinned)
	assert.Equal(t, time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC), at)
}

func TestBadSettingsNameTheField(t *testing.T) {
	cases := []struct {
		name, url, json, want string
	}{
		{"broken JSON", "http://p:9090", `{"mode":`, "not valid JSON"},
		{"no URL", "", `{}`, "Prometheus URL is empty"},
		{"not http", "ftp://p", `{}`, `"ftp://p" is not an http(s) URL`},
		{"unknown mode", "http://p:9090", `{"mode":"live"}`, `mode "live" is not one of`},
		{"bad scrape interval", "http://p:9090", `{"scrapeInterval":"often"}`, `scrapeInterval "often"`},
		{"bad metric", "http://p:9090", `{"mapping":{"powerMetric":"power usage"}}`, `mapping.powerMetric "power usage"`},
		{"bad label", "http://p:9090", `{"mapping":{"joinLabels":["namespace","pod-name"]}}`, `mapping.joinLabels[1] "pod-name"`},
		{"bad join mode", "http://p:9090", `{"mapping":{"joinMode":"magic"}}`, `mapping.joinMode "magic"`},
		{"bad site pattern", "http://p:9090", `{"carbon":{"sites":[{"name":"X","hostPattern":"(","intensity":100}]}}`, "carbon.sites[0] (X)"},
		{"negative idle floor", "http://p:9090", `{"idleFloors":[{"gpuType":"NVIDIA L40","watts":-5}]}`, "idleFloors[0]"},
		{"unknown engine", "http://p:9090", `{"engine":"cortex"}`, `engine "cortex" is not one of ["auto" "prometheus" "thanos" "mimir" "victoriametrics"]`},
		{"bad recording rules mode", "http://p:9090", `{"recordingRules":"on"}`, `recordingRules "on" is not one of auto, off`},
		{"bad recorded prefix", "http://p:9090", `{"recordedPrefix":"fleet-efficiency"}`, `recordedPrefix "fleet-efficiency" cannot start a Prometheus metric name`},
		{"wrong type", "http://p:9090", `{"timeoutSeconds":"30"}`, `"timeoutSeconds" as JSON string where a number is expected`},
		{"a space in the host", "http://prom etheus:9090", `{}`, `the Prometheus URL "(unparseable URL)" is not an http(s) URL with a host`},
		{"no scheme", "prometheus:9090", `{}`, `the Prometheus URL "prometheus:9090" is not an http(s) URL with a host`},
		{"no host", "http://", `{}`, `the Prometheus URL "http:" is not an http(s) URL with a host`},
		{"a broken IPv6 host", "http://[::1:9090", `{}`, `the Prometheus URL "(unparseable URL)" is not an http(s) URL with a host`},
		{"a broken URL keeps its password to itself", "http://alice:s3cret@[::1", `{}`, "not an http(s) URL with a host"},
		{"negative timeout", "http://p:9090", `{"timeoutSeconds":-5}`, "timeoutSeconds -5 is outside 1..600"},
		{"absurd timeout", "http://p:9090", `{"timeoutSeconds":86400}`, "timeoutSeconds 86400 is outside 1..600"},
		{"jsonData not an object", "http://p:9090", `"prometheus"`, "the data source settings (jsonData) is a JSON string where an object is expected"},
		{"a list where a text belongs", "http://p:9090", `{"mapping":{"powerMetric":["a","b"]}}`, `"mapping.powerMetric" as JSON array where a string is expected`},
		{"negative cache TTL", "http://p:9090", `{"cacheTTLSeconds":-1}`, "cacheTTLSeconds -1 is negative"},
		{"bad demo time", "", `{"mode":"demo","demoNow":"yesterday"}`, `demoNow "yesterday" is not an RFC 3339 time`},
		{"negative SLO", "http://p:9090", `{"slo":{"ttftP95Seconds":-1}}`, "slo.ttftP95Seconds -1 is outside 0..3600"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadSettings(backend.DataSourceInstanceSettings{URL: c.url, JSONData: []byte(c.json)})
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), "s3cret")
		})
	}
}

func TestRedactURLDropsCredentials(t *testing.T) {
	assert.Equal(t, "https://prom.example:9090/api", RedactURL("https://alice:s3cret@prom.example:9090/api?token=abc"))
	_, err := LoadSettings(backend.DataSourceInstanceSettings{URL: "gopher://alice:s3cret@x", JSONData: []byte(`{}`)})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cret")
}
