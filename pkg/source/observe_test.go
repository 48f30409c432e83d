package source

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// testLogger keeps what is logged, as key-value maps.
type testLogger struct {
	mu    *sync.Mutex
	lines *[]logLine
}

type logLine struct {
	msg  string
	args map[string]any
}

func newTestLogger() testLogger { return testLogger{mu: &sync.Mutex{}, lines: &[]logLine{}} }

func (l testLogger) add(msg string, args []any) {
	kv := map[string]any{}
	for i := 0; i+1 < len(args); i += 2 {
		kv[fmt.Sprint(args[i])] = args[i+1]
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	*l.lines = append(*l.lines, logLine{msg, kv})
}

func (l testLogger) Debug(msg string, args ...any)          { l.add(msg, args) }
func (l testLogger) Info(msg string, args ...any)           { l.add(msg, args) }
func (l testLogger) Warn(msg string, args ...any)           { l.add(msg, args) }
func (l testLogger) Error(msg string, args ...any)          { l.add(msg, args) }
func (l testLogger) With(...any) log.Logger                 { return l }
func (l testLogger) Level() log.Level                       { return log.Debug }
func (l testLogger) FromContext(context.Context) log.Logger { return l }
func (l testLogger) messages(msg string) (out []map[string]any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range *l.lines {
		if line.msg == msg {
			out = append(out, line.args)
		}
	}
	return out
}

// observe has p log to a test logger and trace to a span recorder.
func observe(p *Prometheus) (*tracetest.SpanRecorder, testLogger) {
	spans, logger := tracetest.NewSpanRecorder(), newTestLogger()
	p.obs = observer{logger: logger, tracer: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)).Tracer("test")}
	return spans, logger
}

// Each query of a read leaves a span and a debug line with its PromQL, attempts, series and samples; each
// request for a fleet says whether it read, joined or was answered from the cache. No credential of the URL
// appears in either.
func TestReadsAreLoggedAndTraced(t *testing.T) {
	f := &fakeProm{t: t, version: "2.42.0", series: plainFleet()}
	var powerAttempts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.NoError(t, r.ParseForm())
		if isPowerQuery(r) && powerAttempts.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // a gateway without a backend for a moment: retried
			_, _ = w.Write([]byte(`{"status":"error","errorType":"unavailable","error":"no backend"}`))
			return
		}
		f.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	const secret = "s3cret-password"
	cfg := testSettings(t, strings.Replace(srv.URL, "http://", "http://alice:"+secret+"@", 1), nil)
	const models = 3
	f.answers = fleetAnswers(errorGrid, queriesOf(t, cfg, plainPowerLabels, true, true, errorGrid), models)
	p, _ := newTestSource(t, cfg, testNow)
	spans, logger := observe(p)

	_, err := p.Fleet(context.Background(), errorReq)
	require.NoError(t, err)
	_, err = p.Fleet(context.Background(), errorReq)
	require.NoError(t, err)

	queries := map[string]map[attribute.Key]attribute.Value{}
	var reads []map[attribute.Key]attribute.Value
	parents, first := map[trace.SpanID]bool{}, trace.SpanID{}
	for _, s := range spans.Ended() {
		attrs := map[attribute.Key]attribute.Value{}
		for _, a := range s.Attributes() {
			attrs[a.Key] = a.Value
			assert.NotContains(t, a.Value.String(), secret)
		}
		switch s.Name() {
		case "source.query":
			queries[attrs["query.quantity"].AsString()] = attrs
			parents[s.Parent().SpanID()] = true
		case "source.Fleet":
			reads = append(reads, attrs)
			if len(reads) == 1 {
				first = s.SpanContext().SpanID()
			}
		}
	}
	assert.Equal(t, map[trace.SpanID]bool{first: true}, parents, "the queries are children of the request that read")
	require.Len(t, reads, 2)
	assert.Equal(t, "read", reads[0]["fleet.read"].AsString())
	assert.Equal(t, "cached", reads[1]["fleet.read"].AsString(), "the second request is answered by the first read")
	assert.Equal(t, int64(models), reads[1]["fleet.models"].AsInt64())

	require.Len(t, queries, 8, "the queries of one read: the cached request asks none")
	power := queries["power_w"]
	require.NotNil(t, power)
	assert.Contains(t, power["query.promql"].AsString(), "DCGM_FI_DEV_POWER_USAGE")
	assert.Equal(t, int64(2), power["query.attempts"].AsInt64())
	assert.Equal(t, int64(models), power["query.series"].AsInt64())
	assert.Equal(t, int64(models*errorGrid.N), power["query.samples"].AsInt64(), "one sample per model and step")
	assert.False(t, power["query.recorded"].AsBool())
	assert.Equal(t, int64(1), queries["energy_j"]["query.attempts"].AsInt64())
	assert.Equal(t, int64(models), queries["energy_j"]["query.samples"].AsInt64(), "an instant query: one sample a series")
	assert.True(t, queries["energy_j"]["query.instant"].AsBool())

	lines := logger.messages("Fleet query")
	require.Len(t, lines, 8)
	for _, l := range lines {
		for _, key := range []string{"quantity", "promql", "duration", "series", "samples", "attempts", "recorded"} {
			assert.Contains(t, l, key)
		}
		if l["quantity"] == "power_w" {
			assert.Equal(t, 2, l["attempts"])
			assert.Equal(t, models*errorGrid.N, l["samples"])
		}
	}
	var how []any
	for _, l := range logger.messages("Fleet read") {
		how = append(how, l["read"])
	}
	assert.Equal(t, []any{"read", "cached"}, how)
	for _, l := range *logger.lines {
		assert.NotContains(t, fmt.Sprint(l.args), secret)
		assert.NotContains(t, fmt.Sprint(l.args), "alice:")
	}
}

// A failed read is logged and traced as failed, with its error source but not its text: servers quote requests
// in their errors, credentials included.
func TestFailedReadsLogNoServerText(t *testing.T) {
	const echoed = "Authorization: Bearer s3cret-token"
	srv := faultyProm(t, isPowerQuery, answer(http.StatusInternalServerError, `{"status":"error","errorType":"internal","error":"`+echoed+`"}`))
	p, _ := newTestSource(t, testSettings(t, srv.URL, nil), testNow)
	spans, logger := observe(p)

	_, err := p.Fleet(context.Background(), errorReq)
	require.Error(t, err)
	require.Contains(t, err.Error(), "s3cret-token", "the error itself quotes the server; the plugin's sanitizer cleans it")

	var failedQueries []any
	for _, l := range logger.messages("Fleet query") {
		if l["failed"] == true {
			failedQueries = append(failedQueries, l["quantity"])
			assert.Equal(t, "downstream", l["errorSource"])
		}
	}
	assert.Contains(t, failedQueries, "power_w", "and the queries its failure stopped")
	reads := logger.messages("Fleet read")
	require.Len(t, reads, 1)
	assert.Equal(t, true, reads[0]["failed"])
	for _, l := range *logger.lines {
		assert.NotContains(t, fmt.Sprint(l.args), "s3cret")
	}
	for _, s := range spans.Ended() {
		assert.NotContains(t, s.Status().Description, "s3cret")
		for _, e := range s.Events() {
			assert.NotContains(t, fmt.Sprint(e.Attributes), "s3cret")
		}
	}
}
