package models

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

type optionsFixture struct {
	QueryTypes map[string][]string `json:"queryTypes"`
	Defaults   map[string]any      `json:"defaults"`
	Choices    map[string][]string `json:"choices"`
}

func readFixture(t *testing.T) optionsFixture {
	t.Helper()
	b, err := os.ReadFile("testdata/query_options.json")
	require.NoError(t, err)
	var f optionsFixture
	require.NoError(t, json.Unmarshal(b, &f))
	return f
}

// The editor writes the option names in the fixture; the backend must read exactly those.
func TestQueryOptionsMatchTheSharedFixture(t *testing.T) {
	f := readFixture(t)
	tags := map[string]bool{}
	typ := reflect.TypeFor[Query]()
	for i := range typ.NumField() {
		if tag := strings.Split(typ.Field(i).Tag.Get("json"), ",")[0]; tag != "" && tag != "-" && tag != "queryType" {
			tags[tag] = true
		}
	}
	used := map[string]bool{}
	for qt, opts := range f.QueryTypes {
		assert.Contains(t, QueryTypes, qt)
		for _, o := range opts {
			assert.True(t, tags[o], "fixture option %q of %s is not a field of models.Query", o, qt)
			used[o] = true
		}
	}
	for tag := range tags {
		assert.True(t, used[tag], "models.Query field %q is missing from the fixture", tag)
	}
	assert.Len(t, f.QueryTypes, len(QueryTypes))

	// Defaults: a query with only a queryType parses to the fixture's defaults.
	q, err := ParseQuery(backend.DataQuery{RefID: "A", JSON: []byte(`{"queryType":"right-sizing"}`)})
	require.NoError(t, err)
	got, err := json.Marshal(q)
	require.NoError(t, err)
	var gotMap map[string]any
	require.NoError(t, json.Unmarshal(got, &gotMap))
	for k, v := range f.Defaults {
		assert.Equal(t, v, gotMap[k], "default of %s", k)
	}
	assert.Equal(t, TimeseriesMetrics, f.Choices["metric"])
	assert.True(t, slices.Equal([]string{"total", "generation"}, f.Choices["tokens"]))
	assert.Equal(t, FreedGPUChoices, f.Choices["freedGPUs"])
	assert.Equal(t, GroupByChoices, f.Choices["groupBy"])
	for i, k := range fleet.EventKinds {
		assert.Equal(t, string(k), f.Choices["events"][i])
	}
	assert.Len(t, f.Choices["events"], len(fleet.EventKinds))
}

func TestEventsOption(t *testing.T) {
	q, err := ParseQuery(backend.DataQuery{RefID: "A", JSON: []byte(`{"queryType":"annotations","events":["restart"]}`)})
	require.NoError(t, err)
	assert.Equal(t, []fleet.EventKind{fleet.EventRestart}, q.Events)
	assert.Equal(t, []fleet.EventKind{fleet.EventIdle, fleet.EventRestart, fleet.EventVerdict}, fleet.EventKinds, "decoding leaves the kinds alone")
	_, err = ParseQuery(backend.DataQuery{RefID: "A", JSON: []byte(`{"queryType":"annotations","events":["oom"]}`)})
	require.ErrorContains(t, err, `events: "oom" is not one of [idle restart right-sizing]`)
}

func TestParseQueryErrorsNameTheOption(t *testing.T) {
	cases := []struct {
		name, json, want string
	}{
		{"malformed JSON", `{"queryType": "idle-attribution",`, "not valid JSON"},
		{"wrong type", `{"idleThreshold": "high"}`, `"idleThreshold" as JSON string where a number is expected`},
		{"models not a list", `{"models": "gpt-oss-120b"}`, `"models" as JSON string where a list is expected`},
		{"negative threshold", `{"idleThreshold": -1}`, "idleThreshold -1 tok/s is outside"},
		{"absurd headroom", `{"kvHeadroom": 50}`, "kvHeadroom 50 is outside"},
		{"unknown tokens", `{"tokens": "prompt"}`, `tokens "prompt" is not`},
		{"unknown metric", `{"metric": "watts"}`, `metric "watts" is not one of`},
		{"unknown groupBy", `{"groupBy": "team"}`, `groupBy "team" is not one of model, namespace, gpu_type, site, node`},
		{"bad regex", `{"modelRegex": "gpt-(oss"}`, `modelRegex "gpt-(oss" does not compile`},
		{"unexpanded variable", `{"models": ["$model"]}`, "dashboard variable that was not expanded"},
		{"unexpanded variable in braces", `{"models": ["gpt-oss-120b", "${model}"]}`, `"${model}" looks like a dashboard variable`},
		{"unexpanded variable with a format", `{"modelRegex": "${model:regex}"}`, `"${model:regex}" looks like a dashboard variable`},
		{"unexpanded variable, old syntax", `{"models": ["[[model]]"]}`, `"[[model]]" looks like a dashboard variable`},
		{"unexpanded variable inside a regex", `{"modelRegex": "gpt-oss-$size"}`, `"gpt-oss-$size" looks like a dashboard variable`},
		{"absurd threshold", `{"idleThreshold": 1e9}`, "idleThreshold 1e+09 tok/s is outside 0..1e6"},
		{"absurd history", `{"minHistoryHours": 87600}`, "minHistoryHours 87600 is outside 0..8784"},
		{"negative margin", `{"trafficMargin": -0.1}`, "trafficMargin -0.1 is outside 0..0.95"},
		{"unknown savings baseline", `{"freedGPUs": "sold"}`, `freedGPUs "sold" is not one of pool, powered-off`},
		{"negative latency SLO", `{"itlP95Seconds": -0.1}`, "itlP95Seconds -0.1 is outside 0..60"},
		{"no context", `{"contextTokens": 0}`, "contextTokens 0 is outside 1..1e7"},
		{"a number beyond float64", `{"kvHeadroom": 1e999}`, `the query has "kvHeadroom" = 1e999, a number out of range`},
		{"queryType of the wrong type", `{"queryType": 7}`, `"queryType" as JSON number where a string is expected`},
		{"not an object", `["idle-attribution"]`, "the query is a JSON array where an object is expected"},
		{"every fault at once is named", `{"idleThreshold": -1, "tokens": "prompt", "modelRegex": "("}`, `tokens "prompt" is not "total" or "generation"` + "\nidleThreshold -1 tok/s is outside 0..1e6"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseQuery(backend.DataQuery{RefID: "A", JSON: []byte(c.json)})
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestParseQueryKeepsExplicitZeroAndFilters(t *testing.T) {
	q, err := ParseQuery(backend.DataQuery{QueryType: "idle-attribution", JSON: []byte(`{"idleThreshold": 0, "modelRegex": "gpt.*|gemma.*", "models": ["gpt-oss-120b", "Kimi-K2.5"]}`)})
	require.NoError(t, err)
	assert.Equal(t, "idle-attribution", q.QueryType, "queryType comes from the request when the JSON lacks it")
	assert.Equal(t, 0.0, q.IdleThreshold)
	assert.True(t, q.Selects("gpt-oss-120b"))
	assert.False(t, q.Selects("Kimi-K2.5"), "in the list but not matched by the regex")
	assert.False(t, q.Selects("gemma-4-31B"), "matched by the regex but not in the list")
}

func TestParseQueryAcceptsWhatGrafanaAdds(t *testing.T) {
	// Grafana adds its own fields to every query (and newer versions more): they are not options, and not errors.
	q, err := ParseQuery(backend.DataQuery{RefID: "A", JSON: []byte(`{"refId":"A","queryType":"fleet-timeseries","datasource":{"type":"nrp-fleetefficiency-datasource","uid":"fleet"},"intervalMs":60000,"maxDataPoints":1000,"hide":false,"key":"Q-1","aFutureGrafanaField":{"x":[1,2]},"metric":"power_w"}`)})
	require.NoError(t, err)
	assert.Equal(t, "fleet-timeseries", q.QueryType)
	assert.Equal(t, "power_w", q.Metric)
	assert.Equal(t, DefaultIdleThreshold, q.IdleThreshold)
}

func TestParseQueryBoundsTheModelList(t *testing.T) {
	names := make([]string, 10000)
	for i := range names {
		names[i] = fmt.Sprintf("model-%05d", i)
	}
	b, err := json.Marshal(map[string]any{"models": names})
	require.NoError(t, err)
	_, err = ParseQuery(backend.DataQuery{RefID: "A", JSON: b})
	require.Error(t, err)
	assert.Equal(t, "models lists 10000 names; at most 5000 are accepted (use modelRegex)", err.Error())

	q, err := ParseQuery(backend.DataQuery{RefID: "A", JSON: []byte(`{"models": ["gpt-oss-120b"], "modelRegex": "gpt-.*$"}`)})
	require.NoError(t, err, "a regex ending in its $ anchor is no variable")
	assert.True(t, q.Selects("gpt-oss-120b"))
}
