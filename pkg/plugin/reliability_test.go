package plugin

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/source"
)

// panickingSource panics on every call, except for fleet reads starting at spare, which answer empty.
type panickingSource struct{ spare time.Time }

func (s panickingSource) Fleet(_ context.Context, r source.Request) (*fleet.Fleet, error) {
	if r.Start.Equal(s.spare) {
		return &fleet.Fleet{Grid: source.GridOf(r)}, nil
	}
	var m map[string]int
	m["fleet"]++ //nolint:staticcheck // the nil map write is the runtime panic under test
	return nil, nil
}

func (panickingSource) Values(context.Context, source.ValueKind) ([]string, error) {
	panic("values exploded")
}

func (panickingSource) Health(context.Context) source.Health { panic("health exploded") }

func TestAPanicAnywhereIsAPluginErrorOfThatRequest(t *testing.T) {
	spared := dataQuery("B", models.QueryIdleAttribution, `{}`)
	spared.TimeRange.From, spared.TimeRange.To = spared.TimeRange.From.Add(-48*time.Hour), spared.TimeRange.To.Add(-48*time.Hour)
	plan, err := source.Plan(spared.TimeRange.From, spared.TimeRange.To, spared.Interval, spared.MaxDataPoints, 30*time.Second)
	require.NoError(t, err)
	d := newTestDatasource(t, panickingSource{spare: plan.Start})

	t.Run("a query whose fleet read panics fails alone", func(t *testing.T) {
		resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{
			dataQuery("A", models.QueryIdleAttribution, `{}`), spared,
		}})
		require.NoError(t, err)
		a := resp.Responses["A"]
		require.Error(t, a.Error)
		assert.Equal(t, "internal error while reading the fleet: assignment to entry in nil map (please report it)", a.Error.Error())
		assert.Equal(t, backend.ErrorSourcePlugin, a.ErrorSource)
		assert.Equal(t, backend.StatusInternal, a.Status)
		b := resp.Responses["B"]
		require.NoError(t, b.Error)
		require.NotEmpty(t, b.Frames)
	})
	t.Run("the health check", func(t *testing.T) {
		h, err := d.CheckHealth(context.Background(), &backend.CheckHealthRequest{})
		require.NoError(t, err)
		assert.Equal(t, backend.HealthStatusError, h.Status)
		assert.Equal(t, "internal error while checking the data source: health exploded (please report it)", h.Message)
		assert.Equal(t, backend.ErrorSourcePlugin, h.ErrorSource)
	})
	t.Run("a resource", func(t *testing.T) {
		status, body, source := callResource(t, d, "models")
		assert.Equal(t, http.StatusInternalServerError, status)
		assert.Equal(t, backend.ErrorSourcePlugin, source)
		assert.JSONEq(t, `{"error":"internal error while listing models: values exploded (please report it)"}`, body)
	})
}

func callResource(t *testing.T, d *Datasource, path string) (int, string, backend.ErrorSource) {
	t.Helper()
	var status int
	var body strings.Builder
	var source backend.ErrorSource
	err := d.CallResource(context.Background(), &backend.CallResourceRequest{Path: path, Method: http.MethodGet, URL: path},
		backend.CallResourceResponseSenderFunc(func(r *backend.CallResourceResponse) error {
			if r.Status != 0 {
				status, source = r.Status, r.ErrorSource
			}
			body.Write(r.Body)
			return nil
		}))
	require.NoError(t, err)
	return status, body.String(), source
}

func TestHTTPSettingsOfTheWrongTypeAreASettingsError(t *testing.T) {
	// The SDK panics reading these; the data source must say what to correct instead.
	for _, jsonData := range []string{
		`{"tlsAuth": true, "serverName": 5}`,
		`{"httpHeaderName1": 7}`,
		`{"access": ["proxy"]}`,
	} {
		t.Run(jsonData, func(t *testing.T) {
			inst, err := NewDatasource(context.Background(), backend.DataSourceInstanceSettings{
				URL: "http://prometheus:9090", JSONData: []byte(jsonData), DecryptedSecureJSONData: map[string]string{"httpHeaderValue1": "Bearer t0k3n-abcdef"},
			})
			require.NoError(t, err)
			d := inst.(*Datasource)
			h, err := d.CheckHealth(context.Background(), &backend.CheckHealthRequest{})
			require.NoError(t, err)
			assert.Equal(t, backend.HealthStatusError, h.Status)
			assert.Contains(t, h.Message, "the data source settings could not be read (interface conversion:")
			assert.Contains(t, h.Message, "check that each field of jsonData has the type the editor writes")

			resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{dataQuery("A", models.QueryFleetSummary, `{}`)}})
			require.NoError(t, err)
			require.Error(t, resp.Responses["A"].Error)
			assert.Equal(t, h.Message, resp.Responses["A"].Error.Error())
			assert.Equal(t, backend.ErrorSourceDownstream, resp.Responses["A"].ErrorSource, "settings to correct")
		})
	}
}

// deadlineSource notes the deadline of the read it is asked for and waits until its context ends.
type deadlineSource struct {
	countingSource
	deadline time.Time
	ended    error
}

func (s *deadlineSource) Fleet(ctx context.Context, _ source.Request) (*fleet.Fleet, error) {
	s.deadline, _ = ctx.Deadline()
	<-ctx.Done()
	s.ended = ctx.Err()
	return nil, backend.DownstreamError(ctx.Err())
}

func TestARequestEndsAtTheDataSourceTimeoutOrWhenItsCallerGoesAway(t *testing.T) {
	inst, err := NewDatasource(context.Background(), backend.DataSourceInstanceSettings{JSONData: []byte(`{"mode":"demo","timeoutSeconds":0.3}`)})
	require.NoError(t, err)
	d := inst.(*Datasource)
	q := &backend.QueryDataRequest{Queries: []backend.DataQuery{dataQuery("A", models.QueryFleetSummary, `{}`)}}

	t.Run("the data source timeout", func(t *testing.T) {
		src := &deadlineSource{}
		d.source = src
		sent := time.Now()
		resp, err := d.QueryData(context.Background(), q)
		require.NoError(t, err)
		assert.WithinDuration(t, sent.Add(300*time.Millisecond), src.deadline, 50*time.Millisecond)
		assert.ErrorIs(t, src.ended, context.DeadlineExceeded)
		assert.Error(t, resp.Responses["A"].Error)
	})
	t.Run("the caller's earlier deadline", func(t *testing.T) {
		src := &deadlineSource{}
		d.source = src
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		sent := time.Now()
		_, err := d.QueryData(ctx, q)
		require.NoError(t, err)
		assert.WithinDuration(t, sent.Add(100*time.Millisecond), src.deadline, 50*time.Millisecond)
	})
	t.Run("the caller cancelling", func(t *testing.T) {
		src := &deadlineSource{}
		d.source = src
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		sent := time.Now()
		_, err := d.QueryData(ctx, q)
		require.NoError(t, err)
		assert.ErrorIs(t, src.ended, context.Canceled)
		assert.Less(t, time.Since(sent), 250*time.Millisecond)
	})
}

func TestSecretsAreKnownInEveryFormTheyTravel(t *testing.T) {
	s := sanitizerOf(backend.DataSourceInstanceSettings{
		URL:              "https://bob:p%40ss-w0rd@prom.example:9090",
		BasicAuthEnabled: true, BasicAuthUser: "alice",
		DecryptedSecureJSONData: map[string]string{
			"basicAuthPassword": "s3cret-pa$$",
			"httpHeaderValue1":  "Bearer eyJhbGciOi.token",
			"tlsClientKey":      "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkeyMaterialLine1xxxxxxxx\n-----END EC PRIVATE KEY-----\n",
			"short":             "ab",
		},
	})
	for _, leak := range []string{
		"s3cret-pa$$",
		base64.StdEncoding.EncodeToString([]byte("alice:s3cret-pa$$")),
		"Bearer eyJhbGciOi.token", "eyJhbGciOi.token",
		"MHcCAQEEIBkeyMaterialLine1xxxxxxxx",
		"p@ss-w0rd", "p%40ss-w0rd", base64.StdEncoding.EncodeToString([]byte("bob:p@ss-w0rd")),
	} {
		got := s.text("the server said: " + leak + ".")
		assert.Equal(t, "the server said: [redacted].", got, leak)
	}
	assert.Equal(t, "ab stays: too short to be a secret", s.text("ab stays: too short to be a secret"))
	assert.Equal(t, "nothing to hide", sanitizerOf(backend.DataSourceInstanceSettings{}).text("nothing to hide"))

	r := s.response(backend.DataResponse{
		Error:       backend.DownstreamErrorf("401: Authorization: Bearer eyJhbGciOi.token"),
		ErrorSource: backend.ErrorSourceDownstream,
		Frames:      data.Frames{data.NewFrame("x").SetMeta(&data.FrameMeta{Notices: []data.Notice{{Text: "echo s3cret-pa$$"}}})},
	})
	assert.Equal(t, "401: Authorization: [redacted]", r.Error.Error())
	assert.Equal(t, backend.ErrorSourceDownstream, r.ErrorSource, "the source stays as decided")
	assert.Equal(t, "echo [redacted]", r.Frames[0].Meta.Notices[0].Text)
}

func TestAnswersAreValidUTF8(t *testing.T) {
	// gRPC refuses a whole response over one invalid byte in a string: a binary error page quoted in one
	// query's error must not fail the others.
	r := sanitizerOf(backend.DataSourceInstanceSettings{}).response(backend.DataResponse{
		Error:  backend.DownstreamErrorf("not valid Prometheus API JSON (found \x1f\x8b\x08 at 0)"),
		Frames: data.Frames{data.NewFrame("x").SetMeta(&data.FrameMeta{Notices: []data.Notice{{Text: "warned: \xff"}}})},
	})
	assert.Equal(t, "not valid Prometheus API JSON (found \x1f\uFFFD\x08 at 0)", r.Error.Error())
	assert.Equal(t, "warned: \uFFFD", r.Frames[0].Meta.Notices[0].Text)
}

// oneModelProm answers every query with one model on one GPU at powerW and tokens per second, at every step.
func oneModelProm(t *testing.T, powerW float64) (*httptest.Server, *atomic.Int64) {
	var queries atomic.Int64
	const series = `"metric":{"model_name":"m","Hostname":"h","modelName":"NVIDIA A100-SXM4-80GB","namespace":"llm"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries.Add(1)
		assert.NoError(t, r.ParseForm())
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/query_range"):
			start, _ := strconv.ParseFloat(r.Form.Get("start"), 64)
			end, _ := strconv.ParseFloat(r.Form.Get("end"), 64)
			step, _ := strconv.ParseFloat(r.Form.Get("step"), 64)
			var values []string
			for ts := start; ts <= end; ts += step {
				values = append(values, fmt.Sprintf(`[%v,"%v"]`, ts, powerW))
			}
			fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{%s,"values":[%s]}]}}`, series, strings.Join(values, ","))
		case strings.HasSuffix(r.URL.Path, "/query"):
			fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{%s,"value":[%s,"%v"]}]}}`, series, r.Form.Get("time"), powerW)
		case strings.HasSuffix(r.URL.Path, "/status/buildinfo"):
			fmt.Fprint(w, `{"status":"success","data":{"version":"2.42.0"}}`)
		default:
			fmt.Fprint(w, `{"status":"success","data":["model_name","namespace","pod"]}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &queries
}

// TestConcurrentQueriesWhileSettingsChange runs queries against one data source from several goroutines while
// its settings change, as Grafana's instance manager sees them: every change (a new Updated) builds a new
// instance, and the replaced one is disposed while queries on it may still run. Run with -race.
func TestConcurrentQueriesWhileSettingsChange(t *testing.T) {
	prom, promQueries := oneModelProm(t, 250)
	settings := []string{`{"timeoutSeconds":5}`, `{"timeoutSeconds":6,"cacheTTLSeconds":10}`, `{"mapping":{"labelFilter":"cluster=\"nrp\""}}`}
	im := datasource.NewInstanceManager(NewDatasource)
	var version atomic.Int64
	pluginContext := func() backend.PluginContext {
		v := version.Load()
		return backend.PluginContext{OrgID: 1, DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{ //nolint:staticcheck // Grafana still sends the org ID
			ID: 1, UID: "fleet", URL: prom.URL, JSONData: []byte(settings[v%int64(len(settings))]), Updated: time.Unix(1_700_000_000+v, 0),
		}}
	}

	stop := make(chan struct{})
	var updater sync.WaitGroup
	updater.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			old, err := im.Get(context.Background(), pluginContext())
			assert.NoError(t, err)
			version.Add(1)
			// Grafana's manager disposes the replaced instance after a delay; dispose at once instead, while
			// queries may still hold it.
			old.(instancemgmt.InstanceDisposer).Dispose()
		}
	})

	to := time.Now().UTC().Truncate(time.Minute)
	query := backend.DataQuery{RefID: "A", QueryType: models.QueryFleetTimeseries, JSON: []byte(`{"metric":"power_w"}`), MaxDataPoints: 100,
		TimeRange: backend.TimeRange{From: to.Add(-2 * time.Hour), To: to}}
	var (
		workers sync.WaitGroup
		answers atomic.Int64
	)
	for range 6 {
		workers.Go(func() {
			for range 20 {
				pc := pluginContext()
				inst, err := im.Get(context.Background(), pc)
				if !assert.NoError(t, err) {
					return
				}
				resp, err := inst.(*Datasource).QueryData(context.Background(), &backend.QueryDataRequest{PluginContext: pc, Queries: []backend.DataQuery{query}})
				if !assert.NoError(t, err) || !assert.NoError(t, resp.Responses["A"].Error) {
					return
				}
				frames := resp.Responses["A"].Frames
				if assert.Len(t, frames, 1) && assert.Len(t, frames[0].Fields, 2) {
					power := frames[0].Fields[1]
					assert.Equal(t, "m", power.Labels["model"])
					assert.Equal(t, 250.0, *power.At(power.Len() - 1).(*float64))
				}
				answers.Add(1)
			}
		})
	}
	workers.Wait()
	close(stop)
	updater.Wait()
	assert.Equal(t, int64(120), answers.Load())
	assert.Greater(t, version.Load(), int64(3), "the settings changed while the queries ran")
	assert.Positive(t, promQueries.Load())
}
