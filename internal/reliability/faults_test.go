package reliability

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/testhost"
)

// cut answers the real answer with its full length announced and only its first half sent: a connection
// that drops mid-answer.
func cut(c call) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		_, _, body := c.upstream()
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body[:len(body)/2])
	}
}

// huge is a range answer with more series than a query may return.
func huge() string {
	var b strings.Builder
	b.WriteString(`{"status":"success","data":{"resultType":"matrix","result":[`)
	for i := range 50001 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"metric":{"model_name":"m","Hostname":"node-%d"},"values":[]}`, i)
	}
	b.WriteString(`]}}`)
	return b.String()
}

// TestFaultsOfPrometheusAreReadableErrorsOfTheirWindowAlone sends, through the plugin binary, a request with
// queries over two windows while a proxy in front of the real Prometheus breaks one quantity of window A. The
// queries of window A fail with an error naming the fault and the quantity (never a partial answer); the
// query of window B answers the same numbers as without the fault.
func TestFaultsOfPrometheusAreReadableErrorsOfTheirWindowAlone(t *testing.T) {
	p := startPlugin(t)
	wantB := baseline(t, p, windowB)
	endA := planned(t, windowA).End
	hugeAnswer := huge()
	tests := []struct {
		name     string
		quantity string
		fails    func(call) http.HandlerFunc
		jsonData map[string]any
		// want is in the error of window A's queries; URL stands for the proxy's.
		want       string
		downstream bool
	}{
		{name: "502 from a proxy without a backend", quantity: "prompt_tokens_per_s", downstream: true,
			fails: func(call) http.HandlerFunc { return answer(502, "<html><body>502 Bad Gateway</body></html>") },
			want:  "Prometheus at URL answered 502 Bad Gateway for the prompt_tokens_per_s query: <html><body>502 Bad Gateway</body></html>"},
		{name: "503 from a proxy", quantity: "generation_tokens_per_s", downstream: true,
			fails: func(call) http.HandlerFunc {
				return answer(503, "upstream connect error or disconnect/reset before headers")
			},
			want: "Prometheus at URL answered 503 Service Unavailable for the generation_tokens_per_s query: upstream connect error or disconnect/reset before headers"},
		{name: "500", quantity: "power_w", downstream: true,
			fails: func(call) http.HandlerFunc { return answer(500, "") },
			want:  "Prometheus at URL answered 500 Internal Server Error for the power_w query"},
		{name: "429 with a Retry-After beyond the cap", quantity: "energy_j", downstream: true,
			fails: func(call) http.HandlerFunc { return answer(429, "rate limited", "Retry-After", "120") },
			want:  "Prometheus at URL answered 429 Too Many Requests for the energy_j query: rate limited (retry after 120 s)"},
		{name: "malformed JSON", quantity: "prompt_tokens", downstream: true,
			fails: func(call) http.HandlerFunc {
				return answer(200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{}"value":[1,"2"]}]}}`)
			},
			want: "Prometheus at URL answered the prompt_tokens query with a response that is not valid Prometheus API JSON"},
		{name: "a binary body (gzip a proxy does not declare)", quantity: "generation_tokens", downstream: true,
			fails: func(call) http.HandlerFunc {
				return answer(200, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\xaa\xae\x05\x04\x00\x00\xff\xff")
			},
			want: "Prometheus at URL answered the generation_tokens query with a response that is not valid Prometheus API JSON"},
		{name: "a body cut short every time", quantity: "power_w", downstream: true, fails: cut,
			want: "the answer of Prometheus at URL to the power_w query was cut short (decoding the answer: unexpected EOF): the server or a proxy closed the connection"},
		// The timeout leaves the other queries, and window B, ample time on a busy machine.
		{name: "an answer slower than the data source timeout", quantity: "power_w", downstream: true, jsonData: map[string]any{"timeoutSeconds": 3},
			fails: func(call) http.HandlerFunc {
				return func(_ http.ResponseWriter, r *http.Request) {
					select {
					case <-r.Context().Done():
					case <-time.After(10 * time.Second):
					}
				}
			},
			want: "Prometheus at URL did not answer the power_w query in time (the data source timeout is 3s): shorten the time range or raise the timeout"},
		{name: "a huge answer is refused, not decoded", quantity: "power_w", downstream: true,
			fails: func(call) http.HandlerFunc { return answer(200, hugeAnswer) },
			want:  "the power_w query returned more than 50000 series: check that the model, host and GPU type labels of the metric mapping do not vary per request or per process"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy := proxyTo(t, healthy.Server(t).URL, func(c call) http.HandlerFunc {
				if c.quantity() == tt.quantity && c.endsAt(endA) {
					return tt.fails(c)
				}
				return nil
			})
			sent := time.Now()
			resp, err := p.QueryData(ctx(t), settingsFor(proxy.URL, tt.jsonData), nil,
				powerQuery("A", windowA), query("A2", "idle-attribution", "", windowA), powerQuery("B", windowB))
			require.NoError(t, err)
			assert.Less(t, time.Since(sent), 10*time.Second, "bounded by the retries and the timeout")

			want := strings.ReplaceAll(tt.want, "URL", proxy.URL)
			source := backend.ErrorSourcePlugin
			if tt.downstream {
				source = backend.ErrorSourceDownstream
			}
			for _, refID := range []string{"A", "A2"} {
				r := resp.Responses[refID]
				require.Error(t, r.Error, refID)
				assert.Contains(t, r.Error.Error(), want, refID)
				assert.Equal(t, source, r.ErrorSource, refID)
				assert.Empty(t, r.Frames, "no partial answer for %s", refID)
			}
			assertSamePower(t, wantB, powerByModel(t, resp.Responses["B"]), "window B answers as without the fault")
		})
	}
}

// TestADegradedPrometheusGivesExactNumbersOrSaysWhatIsMissing: faults the plugin can recover from or work
// around leave the numbers exactly as without them, and what a user should know is a notice on the frames.
func TestADegradedPrometheusGivesExactNumbersOrSaysWhatIsMissing(t *testing.T) {
	p := startPlugin(t)
	wantA := baseline(t, p, windowA)
	tests := []struct {
		name        string
		fails       func(c call, attempt int64) http.HandlerFunc
		wantNotices []string
	}{
		{name: "the optional power limit fails: left out, with a notice",
			fails: func(c call, _ int64) http.HandlerFunc {
				if c.quantity() == "power_limit_w" {
					return answer(503, "busy")
				}
				return nil
			},
			wantNotices: []string{"Left out power_limit_w: Prometheus at URL answered 503 Service Unavailable for the power_limit_w query: busy"}},
		{name: "an answer cut short once is asked again and read afresh",
			fails: func(c call, attempt int64) http.HandlerFunc {
				if c.quantity() == "power_w" && attempt == 1 {
					return cut(c)
				}
				return nil
			}},
		{name: "a proxy failing once without a backend is asked again",
			fails: func(c call, attempt int64) http.HandlerFunc {
				if c.quantity() == "prompt_tokens_per_s" && attempt == 1 {
					return answer(503, "no healthy upstream")
				}
				return nil
			}},
		{name: "Prometheus' warnings and infos become notices",
			fails: func(c call, _ int64) http.HandlerFunc {
				if c.quantity() == "" {
					return nil
				}
				return func(w http.ResponseWriter, _ *http.Request) {
					status, _, body := c.upstream()
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(status)
					_, _ = w.Write([]byte(strings.Replace(string(body), `{"status":"success",`,
						`{"status":"success","warnings":["remote read of store eu-1 failed"],"infos":["PromQL info: metric might not be a counter"],`, 1)))
				}
			},
			wantNotices: []string{
				"Prometheus warned about the power_w query: remote read of store eu-1 failed",
				"Prometheus noted about the generation_tokens_per_s query: PromQL info: metric might not be a counter",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attempts := map[string]*atomic.Int64{}
			for _, q := range []string{"", "power_w", "gpus", "power_limit_w", "prompt_tokens_per_s", "generation_tokens_per_s", "energy_j", "prompt_tokens", "generation_tokens", "scrape_intervals", "unknown"} {
				attempts[q] = &atomic.Int64{}
			}
			proxy := proxyTo(t, healthy.Server(t).URL, func(c call) http.HandlerFunc {
				return tt.fails(c, attempts[c.quantity()].Add(1))
			})
			resp, err := p.QueryData(ctx(t), settingsFor(proxy.URL, nil), nil, powerQuery("A", windowA), query("A2", "idle-attribution", "", windowA))
			require.NoError(t, err)
			assertSamePower(t, wantA, powerByModel(t, resp.Responses["A"]), "window A")
			for _, refID := range []string{"A", "A2"} {
				r := resp.Responses[refID]
				require.NoError(t, r.Error, refID)
				require.NotEmpty(t, r.Frames, refID)
				var notices []string
				for _, n := range r.Frames[0].Meta.Notices {
					notices = append(notices, n.Text)
				}
				for _, want := range tt.wantNotices {
					assert.Contains(t, notices, strings.ReplaceAll(want, "URL", proxy.URL), refID)
				}
			}
		})
	}
}

// TestPrometheusStoppedKilledRestartedOrHung does to a real Prometheus what happens to one in a cluster, while
// the plugin binary reads from it: each answer is either exactly the numbers of the healthy server or an
// error naming Prometheus' URL, from downstream; after a restart the same query answers the same numbers.
func TestPrometheusStoppedKilledRestartedOrHung(t *testing.T) {
	prom := history.server(t)
	p := startPlugin(t)
	// Without the cache: every request must reach the server as it is at that moment.
	settings := settingsFor(prom.URL, map[string]any{"cacheTTLSeconds": 0})
	ask := func(t *testing.T, s testhost.Settings) backend.DataResponse {
		resp, err := p.QueryData(ctx(t), s, nil, powerQuery("A", windowA))
		require.NoError(t, err)
		return resp.Responses["A"]
	}
	// inFlight sends the query while the server is paused, so that it is held mid-request when do acts.
	inFlight := func(t *testing.T, do func() error) backend.DataResponse {
		require.NoError(t, prom.Pause())
		answered := make(chan backend.DataResponse)
		go func() { answered <- ask(t, settings) }()
		time.Sleep(300 * time.Millisecond)
		require.NoError(t, do())
		return <-answered
	}
	isDownstreamAbout := func(t *testing.T, r backend.DataResponse, words ...string) {
		t.Helper()
		require.Error(t, r.Error)
		assert.Equal(t, backend.ErrorSourceDownstream, r.ErrorSource)
		assert.Equal(t, backend.StatusBadGateway, r.Status)
		assert.Contains(t, r.Error.Error(), "Prometheus at "+prom.URL)
		for _, w := range words {
			assert.Contains(t, r.Error.Error(), w)
		}
		assert.Empty(t, r.Frames)
	}
	want := powerByModel(t, ask(t, settings))
	assertSamePower(t, baseline(t, p, windowA), want, "this server holds the same history")

	t.Run("killed mid-request", func(t *testing.T) {
		r := inFlight(t, prom.Kill)
		isDownstreamAbout(t, r, "could not reach", "connection refused")
	})
	t.Run("while it is down, the health check and the editor's lists say so", func(t *testing.T) {
		h, err := p.CheckHealth(ctx(t), settings)
		require.NoError(t, err)
		assert.Equal(t, backend.HealthStatusError, h.Status)
		assert.Equal(t, backend.ErrorSourceDownstream, h.ErrorSource)
		assert.Contains(t, h.Message, "could not reach Prometheus at "+prom.URL)
		assert.Contains(t, h.Message, "connection refused")
		res, err := p.Resource(ctx(t), settings, "models")
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadGateway, res.Status)
		assert.Equal(t, backend.ErrorSourceDownstream, res.ErrorSource)
		assert.Contains(t, string(res.Body), "connection refused")
	})
	t.Run("restarted: the same numbers", func(t *testing.T) {
		prom.Restart(t)
		assertSamePower(t, want, powerByModel(t, ask(t, settings)), "after")
	})
	t.Run("stopped mid-request: the numbers or an error, never others", func(t *testing.T) {
		r := inFlight(t, prom.Stop)
		if r.Error != nil {
			isDownstreamAbout(t, r)
		} else {
			assertSamePower(t, want, powerByModel(t, r), "answered before it stopped")
		}
		prom.Restart(t)
		assertSamePower(t, want, powerByModel(t, ask(t, settings)), "after")
	})
	t.Run("hung past the data source timeout", func(t *testing.T) {
		short := settingsFor(prom.URL, map[string]any{"timeoutSeconds": 1})
		require.NoError(t, prom.Pause())
		defer func() { require.NoError(t, prom.Resume()) }()
		sent := time.Now()
		isDownstreamAbout(t, ask(t, short), "in time (the data source timeout is 1s)")
		assert.Less(t, time.Since(sent), 3*time.Second, "one timeout, not one per retry")
	})
	t.Run("resumed: the same numbers", func(t *testing.T) {
		assertSamePower(t, want, powerByModel(t, ask(t, settings)), "after")
	})
}

// TestPrometheusLimits runs the plugin binary against real servers whose query timeout and sample limit the
// plugin's queries exceed: the engine's own errors, with what to change.
func TestPrometheusLimits(t *testing.T) {
	p := startPlugin(t)
	tests := []struct {
		name string
		url  func(t *testing.T) string
		want []string
		// oneOf are the engine's own words, one of which the error holds: Prometheus reports its query timeout
		// as a 503 "query timed out" or, when it strikes while selecting series, as an execution error.
		oneOf []string
	}{
		{"--query.timeout", func(t *testing.T) string { return timingOut.Server(t).URL },
			[]string{"shorten the time range, or raise the engine's query timeout (--query.timeout)"},
			[]string{"query: timeout: query timed out in", "query: expanding series: context deadline exceeded"}},
		{"--query.max-samples", func(t *testing.T) string { return sampling.Server(t).URL },
			[]string{"could not execute the", "query processing would load too many samples into memory", "(shorten the time range, narrow the label filter, or raise the engine's --query.max-samples)"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := tt.url(t)
			resp, err := p.QueryData(ctx(t), settingsFor(url, nil), nil, powerQuery("A", windowA))
			require.NoError(t, err)
			r := resp.Responses["A"]
			require.Error(t, r.Error)
			assert.Equal(t, backend.ErrorSourceDownstream, r.ErrorSource)
			assert.Contains(t, r.Error.Error(), "Prometheus at "+url)
			for _, w := range tt.want {
				assert.Contains(t, r.Error.Error(), w)
			}
			if tt.oneOf != nil {
				assert.True(t, slices.ContainsFunc(tt.oneOf, func(w string) bool { return strings.Contains(r.Error.Error(), w) }), r.Error.Error())
			}
		})
	}
}
