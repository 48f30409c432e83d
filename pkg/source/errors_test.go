package source

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/promclient"
)

// isPowerQuery picks the power_w query out of a fleet read (the GPU count query starts with count).
func isPowerQuery(r *http.Request) bool {
	q := r.Form.Get("query")
	return strings.HasPrefix(q, "sum by") && strings.Contains(q, "avg_over_time(DCGM_FI_DEV_POWER_USAGE")
}

func isLimitQuery(r *http.Request) bool {
	return strings.Contains(r.Form.Get("query"), "avg_over_time(DCGM_FI_DEV_POWER_MGMT_LIMIT")
}

// faultyProm is fakeProm except for the requests fault picks, which fail answers.
func faultyProm(t *testing.T, picks func(*http.Request) bool, fails http.HandlerFunc) *httptest.Server {
	f := &fakeProm{t: t, version: "2.42.0", series: plainFleet()}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.NoError(t, r.ParseForm())
		if picks(r) {
			fails(w, r)
			return
		}
		f.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func answer(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

var errorGrid = fleet.Grid{Start: testNow.Add(-2 * time.Minute), Step: time.Minute, N: 3}
var errorReq = Request{Start: errorGrid.Start, End: errorGrid.End(), Step: errorGrid.Step}

func TestFleetErrors(t *testing.T) {
	tests := []struct {
		name  string
		fails http.HandlerFunc
		// every request fails, not just the power query
		all        bool
		filter     string
		downstream bool
		want       string
	}{
		{
			name: "503 from a proxy", fails: answer(503, "upstream connect error\n"), downstream: true,
			want: "Prometheus at URL answered 503 Service Unavailable for the power_w query: upstream connect error",
		},
		{
			name: "Prometheus' own query timeout", downstream: true,
			fails: answer(503, `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`, "Content-Type", "application/json"),
			want:  "Prometheus at URL answered 503 Service Unavailable for the power_w query: timeout: query timed out in expression evaluation: shorten the time range, or raise the engine's query timeout (--query.timeout)",
		},
		{
			name: "429 with Retry-After", fails: answer(429, "slow down", "Retry-After", "7"), downstream: true,
			want: "Prometheus at URL answered 429 Too Many Requests for the power_w query: slow down (retry after 7 s)",
		},
		{
			name: "500", fails: answer(500, ""), downstream: true,
			want: "Prometheus at URL answered 500 Internal Server Error for the power_w query",
		},
		{
			name: "execution error of a join that is not one-to-one", downstream: true,
			fails: answer(422, `{"status":"error","errorType":"execution","error":"found duplicate series for the match group {namespace=\"llm\", pod=\"p\"} on the right hand-side of the operation; many-to-many matching not allowed: matching labels must be unique on one side"}`),
			want:  "Prometheus at URL could not execute the power_w query: found duplicate series for the match group",
		},
		{
			name: "too many samples", downstream: true,
			fails: answer(422, `{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory in query execution"}`),
			want:  "(shorten the time range, narrow the label filter, or raise the engine's --query.max-samples)",
		},
		{
			name: "a label filter Prometheus cannot parse is the user's to fix", filter: `cluster="nrp`, all: true, downstream: true,
			fails: answer(400, `{"status":"error","errorType":"bad_data","error":"invalid parameter \"match[]\": 1:33: parse error: unterminated quoted string"}`),
			want:  `as invalid PromQL (invalid parameter "match[]": 1:33: parse error: unterminated quoted string): check the label filter "cluster=\"nrp" in the data source settings`,
		},
		{
			name: "bad_data without a filter is our bug", downstream: false,
			fails: answer(400, `{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries"}`),
			want:  "this is a bug in the plugin, please report it",
		},
		{
			name: "malformed JSON", fails: answer(200, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"}]}]}}`), downstream: true,
			want: "Prometheus at URL answered the power_w query with a response that is not valid Prometheus API JSON",
		},
		{
			name: "HTML from a misconfigured URL", fails: answer(200, `<html>Grafana</html>`), downstream: true,
			want: "with a response that is not valid Prometheus API JSON (ReadObjectCB: expect { or n, but found <",
		},
		{
			name: "a vector where a matrix belongs", downstream: true,
			fails: answer(200, `{"status":"success","data":{"resultType":"vector","result":[]}}`),
			want:  "Prometheus at URL answered the power_w query with an unexpected result: expected a range result (matrix), got a vector",
		},
		{
			name: "a truncated body", downstream: true,
			fails: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "1000")
				_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[`))
			},
			want: "the answer of Prometheus at URL to the power_w query was cut short",
		},
		{
			name: "a body that ends cleanly before its JSON does is no partial answer", downstream: true,
			fails: func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]`))
				w.(http.Flusher).Flush()
			},
			want: "Prometheus at URL answered the power_w query with a response that is not valid Prometheus API JSON",
		},
		{
			name: "an error status inside a 200", downstream: true,
			fails: answer(200, `{"status":"error","errorType":"execution","error":"expanding series: context deadline exceeded"}`),
			want:  "Prometheus at URL could not execute the power_w query: expanding series: context deadline exceeded",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			picks := isPowerQuery
			if tt.all {
				picks = func(*http.Request) bool { return true }
			}
			srv := faultyProm(t, picks, tt.fails)
			cfg := testSettings(t, srv.URL, func(s *models.Settings) { s.Mapping.LabelFilter = tt.filter })
			p, _ := newTestSource(t, cfg, testNow)

			got, err := p.Fleet(context.Background(), errorReq)

			require.Error(t, err)
			assert.Nil(t, got)
			assert.Contains(t, err.Error(), strings.ReplaceAll(tt.want, "URL", srv.URL))
			assert.Equal(t, tt.downstream, backend.IsDownstreamError(err), "downstream")
			assert.Equal(t, !tt.downstream, backend.IsPluginError(err), "plugin")
		})
	}
}

func TestFleetWithoutPowerLimitWhenItsQueryFails(t *testing.T) {
	srv := faultyProm(t, isLimitQuery, answer(503, "busy"))
	p, _ := newTestSource(t, testSettings(t, srv.URL, nil), testNow)

	got, err := p.Fleet(context.Background(), errorReq)

	require.NoError(t, err, "the power limit is optional: the analyses fall back to the catalog TDP")
	assert.Contains(t, strings.Join(got.Notices, "\n"), "Left out power_limit_w: Prometheus at "+srv.URL+" answered 503 Service Unavailable for the power_limit_w query: busy")
}

func TestFleetTimeoutAndCancel(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}

	t.Run("a deadline that passes is Prometheus not answering in time", func(t *testing.T) {
		srv := faultyProm(t, isPowerQuery, slow)
		p, _ := newTestSource(t, testSettings(t, srv.URL, nil), testNow)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := p.Fleet(ctx, errorReq)
		require.Error(t, err)
		assert.True(t, backend.IsDownstreamError(err))
		assert.Contains(t, err.Error(), "Prometheus at "+srv.URL+" did not answer the power_w query in time")
	})

	t.Run("cancelling the request stops the queries", func(t *testing.T) {
		// The server holds every query until the test ends and notes each request that ends before: only the
		// cancellation can end them, so their ending is the proof that Prometheus is no longer asked, not only
		// that Fleet returned. No bound on how fast: that is the machine's load, not the code.
		var (
			mu      sync.Mutex
			ended   int
			started = make(chan struct{}, 16)
		)
		held := func(w http.ResponseWriter, r *http.Request) {
			started <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
				mu.Lock()
				ended++
				mu.Unlock()
			}
		}
		srv := faultyProm(t, func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/query_range") }, held)
		p, _ := newTestSource(t, testSettings(t, srv.URL, nil), testNow)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() {
			_, err := p.Fleet(ctx, errorReq)
			done <- err
		}()
		for range maxConcurrentQueries {
			<-started
		}
		cancel()
		select {
		case err := <-done:
			require.Error(t, err)
			assert.True(t, errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "cancelled"), err.Error())
		case <-time.After(30 * time.Second):
			t.Fatal("Fleet did not return after its context was cancelled")
		}
		require.Eventually(t, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return ended == maxConcurrentQueries
		}, 30*time.Second, 5*time.Millisecond, "every held request ends")
	})
}

func TestARetriedAnswerIsReadAfresh(t *testing.T) {
	// The power answer is cut after two of its three series were decoded; the retry must not add to them.
	f := &fakeProm{t: t, version: "2.42.0", series: plainFleet()}
	var attempts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.NoError(t, r.ParseForm())
		if isPowerQuery(r) && attempts.Add(1) == 1 {
			rec := httptest.NewRecorder()
			f.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = w.Write(body[:len(body)*5/6])
			return
		}
		f.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := testSettings(t, srv.URL, nil)
	f.answers = fleetAnswers(errorGrid, queriesOf(t, cfg, plainPowerLabels, true, true, errorGrid), 3)
	p, _ := newTestSource(t, cfg, testNow)

	got, err := p.Fleet(context.Background(), errorReq)

	require.NoError(t, err)
	assert.Equal(t, int32(2), attempts.Load(), "the cut answer was asked again")
	require.Len(t, got.Models, 3)
	for _, m := range got.Models {
		require.Len(t, m.Placements, 1, m.Name)
		assertSeries(t, fleet.Series{250, 250, 250}, m.Placements[0].PowerW)
	}
}

func TestAPanicInAReadIsThatReadsError(t *testing.T) {
	var cancelled atomic.Bool
	// The panic waits for the other task to run: a task not yet started when the read fails is never started.
	started := make(chan struct{})
	err := runAll(context.Background(), 2, []func(context.Context) error{
		func(context.Context) error {
			<-started
			panic("decoder bug")
		},
		func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			cancelled.Store(true)
			return ctx.Err()
		},
	})
	require.Error(t, err)
	assert.True(t, backend.IsPluginError(err))
	assert.Equal(t, "internal error while reading from Prometheus: decoder bug (please report it)", err.Error())
	assert.True(t, cancelled.Load(), "the other task is stopped")
}

func TestFleetRejectsAnEmptyGrid(t *testing.T) {
	p, ct := newTestSource(t, testSettings(t, "http://127.0.0.1:1", nil), testNow)
	_, err := p.Fleet(context.Background(), Request{Start: testNow, End: testNow.Add(-time.Minute), Step: time.Minute})
	require.Error(t, err)
	assert.True(t, backend.IsPluginError(err))
	assert.Zero(t, ct.total.Load(), "nothing is asked of Prometheus")
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name string
		// failures is how many times the power query fails before it answers.
		failures     int
		fails        http.HandlerFunc
		wantAttempts int
		wantOK       bool
	}{
		{"a gateway without a backend for a moment", 2, answer(503, "no healthy upstream"), 3, true},
		{"a gateway that stays down", 9, answer(502, "bad gateway"), promclient.MaxAttempts, false},
		{"the engine's own query timeout is not repeated", 9, answer(503, `{"status":"error","errorType":"timeout","error":"query timed out"}`), 1, false},
		{"a server error is not repeated", 9, answer(500, "panic"), 1, false},
		{"a rate limit with a short Retry-After", 1, answer(429, "", "Retry-After", "0"), 2, true},
		{"a rate limit with a long Retry-After fails at once", 9, answer(429, "", "Retry-After", "60"), 1, false},
		{"bad_data is never repeated", 9, answer(400, `{"status":"error","errorType":"bad_data","error":"parse error"}`), 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var attempts atomic.Int64
			srv := faultyProm(t, func(r *http.Request) bool {
				return isPowerQuery(r) && attempts.Add(1) <= int64(tt.failures)
			}, tt.fails)
			p, _ := newTestSource(t, testSettings(t, srv.URL, nil), testNow)

			_, err := p.Fleet(context.Background(), errorReq)

			assert.Equal(t, tt.wantOK, err == nil, "%v", err)
			assert.Equal(t, int64(tt.wantAttempts), attempts.Load())
		})
	}

	t.Run("a Retry-After of 1 s is waited for", func(t *testing.T) {
		var mu sync.Mutex
		var at []time.Time
		srv := faultyProm(t, func(r *http.Request) bool {
			if !isPowerQuery(r) {
				return false
			}
			mu.Lock()
			defer mu.Unlock()
			at = append(at, time.Now())
			return len(at) == 1
		}, answer(429, "", "Retry-After", "1"))
		p, _ := newTestSource(t, testSettings(t, srv.URL, nil), testNow)

		_, err := p.Fleet(context.Background(), errorReq)

		require.NoError(t, err)
		require.Len(t, at, 2)
		assert.GreaterOrEqual(t, at[1].Sub(at[0]), time.Second)
	})

	t.Run("a refused connection is tried three times", func(t *testing.T) {
		closed := httptest.NewServer(http.NotFoundHandler())
		closed.Close()
		p, ct := newTestSource(t, testSettings(t, closed.URL, nil), testNow)
		_, err := p.Values(context.Background(), ValueModels)
		require.Error(t, err)
		assert.Equal(t, int64(promclient.MaxAttempts), ct.total.Load())
	})
}
