package reliability

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// call is one request of the plugin to Prometheus as a proxy in front of it sees it.
type call struct {
	path string
	form url.Values
	// upstream asks the real Prometheus the same and returns its answer.
	upstream func() (status int, header http.Header, body []byte)
}

// quantity names the fleet query of a call as the plugin's errors do ("power_w", "gpus", ...); "" for the
// label lookups.
func (c call) quantity() string {
	q, instant := c.form.Get("query"), c.path == "/api/v1/query"
	switch {
	case c.path != "/api/v1/query" && c.path != "/api/v1/query_range":
		return ""
	case strings.Contains(q, "DCGM_FI_DEV_POWER_MGMT_LIMIT"):
		return "power_limit_w"
	case strings.Contains(q, "timestamp(") || strings.Contains(q, "count_over_time("):
		return "scrape_intervals"
	case instant && strings.Contains(q, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"):
		return "energy_j"
	case strings.HasPrefix(q, "count by"):
		return "gpus"
	case strings.Contains(q, "avg_over_time(DCGM_FI_DEV_POWER_USAGE"):
		return "power_w"
	case strings.Contains(q, "rate(vllm:prompt_tokens_total"):
		return "prompt_tokens_per_s"
	case strings.Contains(q, "rate(vllm:generation_tokens_total"):
		return "generation_tokens_per_s"
	case strings.Contains(q, "increase(vllm:prompt_tokens_total"):
		return "prompt_tokens"
	case strings.Contains(q, "increase(vllm:generation_tokens_total"):
		return "generation_tokens"
	}
	return "unknown"
}

// endsAt reports whether the call evaluates up to t: the end of a range query, the time of an instant one.
func (c call) endsAt(t time.Time) bool {
	v := c.form.Get("end")
	if v == "" {
		v = c.form.Get("time")
	}
	f, err := strconv.ParseFloat(v, 64)
	return err == nil && int64(f) == t.Unix()
}

// fault decides what a proxy does with a call: nil passes it on to Prometheus.
type fault func(c call) http.HandlerFunc

// proxyTo is a server in front of the Prometheus at target that answers the calls fault picks itself.
func proxyTo(t *testing.T, target string, fault fault) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		assert.NoError(t, err)
		form := r.URL.Query()
		if r.Method == http.MethodPost {
			posted, err := url.ParseQuery(string(raw))
			assert.NoError(t, err)
			for k, v := range posted {
				form[k] = append(form[k], v...)
			}
		}
		upstream := func() (int, http.Header, []byte) {
			req, err := http.NewRequestWithContext(r.Context(), r.Method, target+r.URL.RequestURI(), bytes.NewReader(raw))
			if !assert.NoError(t, err) {
				return http.StatusInternalServerError, http.Header{}, nil
			}
			req.Header = r.Header.Clone()
			// Plain bodies, for the faults that cut or change them.
			req.Header.Del("Accept-Encoding")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return http.StatusBadGateway, http.Header{}, []byte(err.Error())
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, resp.Header, body
		}
		c := call{path: r.URL.Path, form: form, upstream: upstream}
		if h := fault(c); h != nil {
			h(w, r)
			return
		}
		status, header, body := upstream()
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// answer is a fixed answer.
func answer(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}
