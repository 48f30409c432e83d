package models

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fuzzers run over their seeds (below and in testdata/fuzz) with every `go test`, and for a bounded time
// in scripts/test.sh. Properties: no input panics; an error says something; what parses is valid by the
// package's own rules and reads back the same.

func FuzzParseQuery(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"queryType":"fleet-timeseries","metric":"power_w"}`,
		`{"queryType":"right-sizing","kvHeadroom":0.5,"trafficMargin":0.2,"minHistoryHours":24}`,
		`{"queryType":"consolidation","spinDownIdleShare":0.9,"models":["gpt-oss-120b","Kimi-K2.5"]}`,
		`{"modelRegex":"gpt-.*|gemma.*","tokens":"generation","idleThreshold":0}`,
		`{"modelRegex":"(","models":["$model"]}`, `{"idleThreshold":"high"}`, `{"queryType":`, `null`, `[]`,
		`{"refId":"A","datasource":{"uid":"x"},"intervalMs":1000}`, `{"models":[null,1]}`, `{"idleThreshold":1e400}`,
	} {
		f.Add(seed, "idle-attribution")
	}
	f.Fuzz(func(t *testing.T, body, queryType string) {
		q, err := ParseQuery(backend.DataQuery{RefID: "A", QueryType: queryType, JSON: []byte(body)})
		if err != nil {
			require.NotEmpty(t, err.Error())
			return
		}
		require.NoError(t, q.validate(), "what parses is valid")
		q.Selects("gpt-oss-120b")
		again, err := ParseQuery(backend.DataQuery{RefID: "A", JSON: mustJSON(t, q)})
		require.NoError(t, err, "a parsed query reads back")
		assert.JSONEq(t, string(mustJSON(t, q)), string(mustJSON(t, again)))
	})
}

func FuzzLoadSettings(f *testing.F) {
	for _, seed := range []struct{ url, json string }{
		{"http://prometheus:9090", `{}`},
		{"https://alice:s3cret@prom.example/api/prom", `{"timeoutSeconds":10,"scrapeInterval":"15s","cacheTTLSeconds":30}`},
		{"http://p:9090", `{"mapping":{"powerMetric":"gpu_power","joinLabels":["ns","pod"],"joinMode":"direct","labelFilter":"cluster=\"a\""}}`},
		{"", `{"mode":"demo","demoSeed":7}`},
		{"http://p", `{"carbon":{"pue":1.2,"defaultIntensity":300,"sites":[{"name":"X","hostPattern":"^gpu-.*\\.x$","intensity":100}]}}`},
		{"http://p", `{"idleFloors":[{"gpuType":"NVIDIA L40","watts":35}],"gpus":[{"gpuType":"X","memoryGB":48}],"modelSizes":[{"model":"m","paramsB":7,"dtype":"fp8"}]}`},
		{"ftp://p", `{"mode":`}, {"http://[::1", `{"timeoutSeconds":"30"}`}, {"http://p", `null`}, {"http://p", `{"carbon":{"sites":[{"hostPattern":"("}]}}`},
	} {
		f.Add(seed.url, []byte(seed.json))
	}
	f.Fuzz(func(t *testing.T, rawURL string, jsonData []byte) {
		cfg, err := LoadSettings(backend.DataSourceInstanceSettings{URL: rawURL, JSONData: jsonData})
		if err != nil {
			require.NotEmpty(t, err.Error())
			if u, perr := url.Parse(strings.TrimSpace(rawURL)); perr == nil && u.User != nil {
				if password, ok := u.User.Password(); ok && len(password) >= 4 && !strings.Contains(string(jsonData), password) {
					assert.NotContains(t, err.Error(), password, "the URL's password stays out of errors")
				}
			}
			return
		}
		assert.Greater(t, cfg.Timeout(), time.Duration(0))
		assert.LessOrEqual(t, cfg.Timeout(), 600*time.Second)
		assert.GreaterOrEqual(t, cfg.Scrape(), time.Second)
		assert.LessOrEqual(t, cfg.Scrape(), time.Hour)
		if cfg.Mode == ModePrometheus {
			u, err := url.Parse(cfg.URL)
			require.NoError(t, err)
			assert.Contains(t, []string{"http", "https"}, u.Scheme)
			assert.NotEmpty(t, u.Host)
		}
		assert.NotContains(t, RedactURL(cfg.URL), "@", "no user info in what errors show")
		again, err := LoadSettings(backend.DataSourceInstanceSettings{URL: cfg.URL, JSONData: mustJSON(t, cfg)})
		require.NoError(t, err, "loaded settings read back")
		assert.JSONEq(t, string(mustJSON(t, cfg)), string(mustJSON(t, again)))
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
