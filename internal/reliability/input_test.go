package reliability

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/testhost"
)

// TestBadQueriesFailAloneAndPathologicalOnesDoNotHurt sends one request holding every kind of bad query, a
// few pathological ones, and a valid one, to the plugin binary: each bad query gets its own error saying what
// to correct (downstream with status 400: the user's to correct, not a bug of the plugin), the pathological
// ones an answer or an error, the valid one its numbers, and the process lives on.
func TestBadQueriesFailAloneAndPathologicalOnesDoNotHurt(t *testing.T) {
	p := startPlugin(t)
	wantA := baseline(t, p, windowA)
	names := make([]string, 10000)
	for i := range names {
		names[i] = fmt.Sprintf("model-%05d", i)
	}
	tenThousand, err := json.Marshal(map[string]any{"queryType": "idle-attribution", "models": names})
	require.NoError(t, err)
	raw := func(refID, queryType, body string) testhost.Query {
		return testhost.Query{RefID: refID, QueryType: queryType, JSON: body, From: windowA[0], To: windowA[1]}
	}
	within := func(q testhost.Query, from, to time.Time) testhost.Query {
		q.From, q.To = from, to
		return q
	}
	bad := map[string]struct {
		q    testhost.Query
		want string
	}{
		"malformed JSON":          {raw("malformed", "idle-attribution", `{"queryType":"idle-attribution","models":[`), "the query is not valid JSON"},
		"wrong type":              {query("type", "idle-attribution", `,"idleThreshold":"high"`, windowA), `the query has "idleThreshold" as JSON string where a number is expected`},
		"negative threshold":      {query("negative", "idle-attribution", `,"idleThreshold":-1`, windowA), "idleThreshold -1 tok/s is outside 0..1e6"},
		"absurd headroom":         {query("absurd", "right-sizing", `,"kvHeadroom":50`, windowA), "kvHeadroom 50 is outside 0..10 (a fraction of the weights)"},
		"empty time range":        {within(query("empty", "fleet-summary", "", windowA), windowA[1], windowA[1]), "the time range is empty or inverted"},
		"inverted time range":     {within(query("inverted", "fleet-summary", "", windowA), windowA[1], windowA[0]), "the time range is empty or inverted"},
		"ten years":               {within(query("decade", "fleet-summary", "", windowA), windowA[1].AddDate(-10, 0, 0), windowA[1]), "days; at most 732 days are supported"},
		"a regex that fails":      {query("regex", "idle-attribution", `,"modelRegex":"gpt-(oss"`, windowA), `modelRegex "gpt-(oss" does not compile: error parsing regexp: missing closing )`},
		"10,000 model names":      {raw("names", "idle-attribution", string(tenThousand)), "models lists 10000 names; at most 5000 are accepted (use modelRegex)"},
		"unexpanded variable":     {query("variable", "idle-attribution", `,"models":["${model}"]`, windowA), `"${model}" looks like a dashboard variable that was not expanded`},
		"unknown query type":      {query("unknown", "carbon-forecast", "", windowA), `unknown query type "carbon-forecast"`},
		"JSON nested too deeply":  {raw("deep", "idle-attribution", `{"models":`+strings.Repeat("[", 100000)+strings.Repeat("]", 100000)+`}`), "the query is not valid JSON"},
		"a number beyond float64": {query("huge-number", "idle-attribution", `,"idleThreshold":1e999`, windowA), `the query has "idleThreshold" = 1e999, a number out of range`},
	}
	// Pathological but valid: each answers or fails on its own.
	odd := []testhost.Query{
		query("unknown-fields", "idle-attribution", `,"refId":"x","datasource":{"uid":"fleet"},"aFutureGrafanaField":[1,{"b":null}]`, windowA),
		query("invalid-utf8", "idle-attribution", `,"models":["gpt-\xff\xfe"]`, windowA),
		query("long-name", "idle-attribution", `,"models":["`+strings.Repeat("m", 1<<20)+`"]`, windowA),
		query("catastrophic-regex", "idle-attribution", `,"modelRegex":"(a+)+$"`, windowA),
		within(query("year-one", "fleet-summary", "", windowA), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1, 1, 1, 1, 0, 0, 0, time.UTC)),
		within(query("year-9999", "fleet-summary", "", windowA), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 1, 1, 1, 0, 0, 0, time.UTC)),
		func() testhost.Query { q := powerQuery("points", windowA); q.MaxDataPoints = 1 << 40; return q }(),
		func() testhost.Query { q := powerQuery("interval", windowA); q.Interval = -time.Hour; return q }(),
	}
	queries := []testhost.Query{powerQuery("A", windowA)}
	for _, b := range bad {
		queries = append(queries, b.q)
	}
	queries = append(queries, odd...)

	resp, err := p.QueryData(ctx(t), settingsFor(healthy.Server(t).URL, nil), nil, queries...)
	require.NoError(t, err)
	require.Len(t, resp.Responses, len(queries))
	assertSamePower(t, wantA, powerByModel(t, resp.Responses["A"]), "the valid query")
	for name, b := range bad {
		r := resp.Responses[b.q.RefID]
		require.Error(t, r.Error, name)
		assert.Contains(t, r.Error.Error(), b.want, name)
		assert.Equal(t, backend.ErrorSourceDownstream, r.ErrorSource, name)
		assert.Equal(t, backend.StatusBadRequest, r.Status, name)
		assert.Empty(t, r.Frames, name)
	}
	for _, q := range odd {
		r := resp.Responses[q.RefID]
		t.Logf("%s: error %v, %d frames", q.RefID, r.Error, len(r.Frames))
		if r.Error != nil {
			assert.Less(t, len(r.Error.Error()), 2000, "%s: an error a person can read", q.RefID)
		} else {
			assert.NotEmpty(t, r.Frames, q.RefID)
		}
	}
	assert.NoError(t, resp.Responses["unknown-fields"].Error, "Grafana's own fields are no error")
	assertSamePower(t, wantA, powerByModel(t, resp.Responses["interval"]), "a negative interval is the scrape interval")
}

// TestBadSettingsAreNamedByTheHealthCheckAndEveryQuery configures the plugin binary with each kind of broken
// setting: the health check says what to correct, queries and the editor's lists fail with the same words,
// and the process lives on (the SDK's own reading of some fields panics on a wrong type).
func TestBadSettingsAreNamedByTheHealthCheckAndEveryQuery(t *testing.T) {
	p := startPlugin(t)
	tests := []struct {
		name, url, jsonData string
		secure              map[string]string
		want                string
	}{
		{"no URL", "", `{}`, nil, "the Prometheus URL is empty: set it under Connection, or switch on the demo fleet"},
		{"a space in the host", "http://prom etheus:9090", `{}`, nil, "is not an http(s) URL with a host"},
		{"no scheme", "prometheus:9090", `{}`, nil, `the Prometheus URL "prometheus:9090" is not an http(s) URL with a host`},
		{"a port that is not a number", "http://prometheus:ninety", `{}`, nil, "is not an http(s) URL with a host"},
		{"jsonData that is not JSON", "http://prometheus:9090", `{"mode":`, nil, "the data source settings (jsonData) is not valid JSON"},
		{"a number written as text", "http://prometheus:9090", `{"timeoutSeconds":"30"}`, nil, `"timeoutSeconds" as JSON string where a number is expected`},
		{"an absurd timeout", "http://prometheus:9090", `{"timeoutSeconds":86400}`, nil, "timeoutSeconds 86400 is outside 1..600"},
		{"a TLS server name that is a number", "https://prometheus:9090", `{"tlsAuthWithCACert":true,"serverName":5}`, nil, "the data source settings could not be read (interface conversion"},
		{"a header name that is a number", "http://prometheus:9090", `{"httpHeaderName1":7}`, map[string]string{"httpHeaderValue1": "Bearer t0ken-abcdef"}, "check that each field of jsonData has the type the editor writes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testhost.Settings{URL: tt.url, JSONData: []byte(tt.jsonData), SecureJSONData: tt.secure}
			h, err := p.CheckHealth(ctx(t), s)
			require.NoError(t, err)
			assert.Equal(t, backend.HealthStatusError, h.Status)
			assert.Equal(t, backend.ErrorSourceDownstream, h.ErrorSource, "settings to correct")
			assert.Contains(t, h.Message, tt.want)

			resp, err := p.QueryData(ctx(t), s, nil, powerQuery("A", windowA))
			require.NoError(t, err)
			r := resp.Responses["A"]
			require.Error(t, r.Error)
			assert.Equal(t, h.Message, r.Error.Error(), "the query says what the health check says")
			assert.Equal(t, backend.ErrorSourceDownstream, r.ErrorSource)
			assert.Equal(t, backend.StatusBadRequest, r.Status)

			res, err := p.Resource(ctx(t), s, "models")
			require.NoError(t, err)
			assert.Equal(t, http.StatusBadRequest, res.Status)
			assert.Equal(t, backend.ErrorSourceDownstream, res.ErrorSource)
			var answer struct{ Error string }
			require.NoError(t, json.Unmarshal(res.Body, &answer))
			assert.Equal(t, h.Message, answer.Error, "the editor's lists say what the health check says")
		})
	}
	t.Run("a label filter Prometheus cannot parse", func(t *testing.T) {
		s := settingsFor(healthy.Server(t).URL, map[string]any{"mapping": map[string]any{"labelFilter": `cluster="nrp`}})
		h, err := p.CheckHealth(ctx(t), s)
		require.NoError(t, err)
		assert.Equal(t, backend.HealthStatusError, h.Status)
		assert.Contains(t, h.Message, `check the label filter "cluster=\"nrp" in the data source settings`)
		resp, err := p.QueryData(ctx(t), s, nil, powerQuery("A", windowA))
		require.NoError(t, err)
		require.Error(t, resp.Responses["A"].Error)
		assert.Contains(t, resp.Responses["A"].Error.Error(), `check the label filter "cluster=\"nrp"`)
		assert.Equal(t, backend.ErrorSourceDownstream, resp.Responses["A"].ErrorSource) // the user's setting to fix
	})
}

// TestQueriesWhileTheSettingsChange is Grafana saving new settings while dashboards query: the plugin binary
// rebuilds its instance on every change of Updated, and every query answers the numbers of the settings it
// came with.
func TestQueriesWhileTheSettingsChange(t *testing.T) {
	p := startPlugin(t)
	url := healthy.Server(t).URL
	wantA := baseline(t, p, windowA)
	var wg sync.WaitGroup
	for worker := range 4 {
		wg.Go(func() {
			for i := range 6 {
				version := worker*6 + i
				s := settingsFor(url, map[string]any{"timeoutSeconds": 20 + version})
				s.Updated = time.Unix(1_800_000_000+int64(version), 0)
				resp, err := p.QueryData(ctx(t), s, nil, powerQuery("A", windowA))
				if assert.NoError(t, err) && assert.NoError(t, resp.Responses["A"].Error) {
					assert.NoError(t, samePower(wantA, powerByModel(t, resp.Responses["A"])), "settings version %d", version)
				}
			}
		})
	}
	wg.Wait()
}
