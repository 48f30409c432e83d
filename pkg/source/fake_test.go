package source

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// fakeProm answers the label APIs from a set of series (evaluating the selectors the source sends) and the
// query APIs from canned answers keyed by PromQL. It records every query it is asked.
type fakeProm struct {
	t       *testing.T
	version string // "" = no build info endpoint
	series  []labels
	// answers maps PromQL to the JSON of a successful response's data; missing queries answer an empty result.
	answers map[string]string
	// warnings are attached to every query answer.
	warnings []string
	// buildInfo, when set, is the data of the build info answer instead of a Prometheus one of version.
	buildInfo string
	// header is added to every answer.
	header http.Header

	mu      sync.Mutex
	queries []recordedQuery
}

type labels map[string]string

type recordedQuery struct {
	path, query, start, end, step, time string
	form                                url.Values
}

func (f *fakeProm) start() *httptest.Server {
	srv := httptest.NewServer(f)
	f.t.Cleanup(srv.Close)
	return srv
}

func (f *fakeProm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	assert.NoError(f.t, r.ParseForm())
	for k, v := range f.header {
		w.Header()[k] = v
	}
	switch {
	case r.URL.Path == "/api/v1/status/buildinfo" && f.buildInfo != "":
		writeSuccess(w, f.buildInfo, nil)
	case r.URL.Path == "/api/v1/status/buildinfo":
		if f.version == "" {
			http.NotFound(w, r)
			return
		}
		writeSuccess(w, fmt.Sprintf(`{"version":%q,"revision":"x","branch":"x","buildUser":"x","buildDate":"x","goVersion":"x"}`, f.version), nil)
	case r.URL.Path == "/api/v1/labels":
		names := map[string]bool{}
		for _, s := range f.matching(r.Form["match[]"]) {
			for n := range s {
				names[n] = true
			}
		}
		writeSuccess(w, sortedJSON(names), nil)
	case strings.HasPrefix(r.URL.Path, "/api/v1/label/") && strings.HasSuffix(r.URL.Path, "/values"):
		name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/v1/label/"), "/values")
		values := map[string]bool{}
		for _, s := range f.matching(r.Form["match[]"]) {
			if v := s[name]; v != "" {
				values[v] = true
			}
		}
		writeSuccess(w, sortedJSON(values), nil)
	case r.URL.Path == "/api/v1/query" || r.URL.Path == "/api/v1/query_range":
		q := r.Form.Get("query")
		f.mu.Lock()
		f.queries = append(f.queries, recordedQuery{path: r.URL.Path, query: q, start: r.Form.Get("start"), end: r.Form.Get("end"), step: r.Form.Get("step"), time: r.Form.Get("time"), form: r.Form})
		f.mu.Unlock()
		data, ok := f.answers[q]
		if !ok {
			kind := "vector"
			if r.URL.Path == "/api/v1/query_range" {
				kind = "matrix"
			}
			data = fmt.Sprintf(`{"resultType":%q,"result":[]}`, kind)
		}
		writeSuccess(w, data, f.warnings)
	default:
		http.NotFound(w, r)
	}
}

func writeSuccess(w http.ResponseWriter, data string, warnings []string) {
	w.Header().Set("Content-Type", "application/json")
	warn, _ := json.Marshal(warnings)
	fmt.Fprintf(w, `{"status":"success","data":%s,"warnings":%s}`, data, warn)
}

func sortedJSON(set map[string]bool) string {
	out := make([]string, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	slices.Sort(out)
	b, _ := json.Marshal(out)
	return string(b)
}

// matching is the series any of the selectors selects.
func (f *fakeProm) matching(selectors []string) []labels {
	var out []labels
	for _, s := range f.series {
		for _, sel := range selectors {
			if selects(f.t, sel, s) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

var matcherRE = regexp.MustCompile(`^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*")\s*$`)

// selects evaluates a series selector such as metric{a="b", c=~"d|e"} on one label set.
func selects(t *testing.T, sel string, s labels) bool {
	name, inner, _ := strings.Cut(sel, "{")
	if name = strings.TrimSpace(name); name != "" && s["__name__"] != name {
		return false
	}
	inner = strings.TrimSuffix(strings.TrimSpace(inner), "}")
	for _, m := range splitMatchers(inner) {
		parts := matcherRE.FindStringSubmatch(m)
		require.NotNil(t, parts, "matcher %q of selector %q", m, sel)
		value, err := strconv.Unquote(parts[3])
		require.NoError(t, err)
		got := s[parts[1]]
		var ok bool
		switch parts[2] {
		case "=":
			ok = got == value
		case "!=":
			ok = got != value
		case "=~", "!~":
			re := regexp.MustCompile("^(?:" + value + ")$")
			ok = re.MatchString(got) == (parts[2] == "=~")
		}
		if !ok {
			return false
		}
	}
	return true
}

// splitMatchers splits a matcher list on the commas outside quotes.
func splitMatchers(s string) []string {
	var out []string
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && inQuote:
			i++
		case s[i] == '"':
			inQuote = !inQuote
		case s[i] == ',' && !inQuote:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		out = append(out, s[start:])
	}
	return out
}

// countingTransport counts the requests that reach Prometheus, by API path.
type countingTransport struct {
	next  http.RoundTripper
	total atomic.Int64
	mu    sync.Mutex
	paths map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.total.Add(1)
	c.mu.Lock()
	if c.paths == nil {
		c.paths = map[string]int{}
	}
	c.paths[r.URL.Path]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

// testSettings are the defaults with the given URL, after mutate.
func testSettings(t testing.TB, url string, mutate func(*models.Settings)) *models.Settings {
	cfg, err := models.LoadSettings(backend.DataSourceInstanceSettings{URL: url, JSONData: []byte("{}")})
	require.NoError(t, err)
	if mutate != nil {
		mutate(cfg)
	}
	return cfg
}

// newTestSource is a Prometheus source against url with a counting client and a fixed clock.
func newTestSource(t *testing.T, cfg *models.Settings, now time.Time) (*Prometheus, *countingTransport) {
	ct := &countingTransport{next: http.DefaultTransport}
	p, err := NewPrometheus(cfg, &http.Client{Transport: ct})
	require.NoError(t, err)
	p.now = func() time.Time { return now }
	p.client.Backoff = time.Millisecond
	return p, ct
}

// dcgm is a label set of a DCGM series.
func dcgm(metric, host, uuid, gpuType string, extra ...string) labels {
	l := labels{"__name__": metric, "Hostname": host, "UUID": uuid, "gpu": "0", "modelName": gpuType}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}
	return l
}

// vllm is a label set of a vLLM token counter.
func vllm(metric, model, namespace, pod string, extra ...string) labels {
	l := labels{"__name__": metric, "model_name": model, "namespace": namespace, "pod": pod}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}
	return l
}
