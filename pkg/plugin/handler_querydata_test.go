package plugin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/source"
)

// countingSource answers every read with an empty fleet on the planned grid and counts the reads.
type countingSource struct {
	reads atomic.Int32
	err   error
}

func (s *countingSource) Fleet(_ context.Context, r source.Request) (*fleet.Fleet, error) {
	s.reads.Add(1)
	if s.err != nil {
		return nil, s.err
	}
	return &fleet.Fleet{Grid: fleet.Grid{Start: r.Start, Step: r.Step, N: int(r.End.Sub(r.Start)/r.Step) + 1}}, nil
}

func (s *countingSource) Values(context.Context, source.ValueKind) ([]string, error) { return nil, nil }
func (s *countingSource) Health(context.Context) source.Health                       { return source.Health{OK: true} }

func newTestDatasource(t testing.TB, src source.Source) *Datasource {
	t.Helper()
	inst, err := NewDatasource(context.Background(), backend.DataSourceInstanceSettings{JSONData: []byte(`{"mode":"demo"}`)})
	require.NoError(t, err)
	d := inst.(*Datasource)
	d.source = src
	return d
}

func dataQuery(refID, queryType, json string) backend.DataQuery {
	to := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	return backend.DataQuery{
		RefID: refID, QueryType: queryType, JSON: []byte(json), MaxDataPoints: 1000, Interval: time.Minute,
		TimeRange: backend.TimeRange{From: to.Add(-24 * time.Hour), To: to},
	}
}

func TestEveryBadQueryFailsAloneWithAReadableError(t *testing.T) {
	d := newTestDatasource(t, &countingSource{})
	d.analyses["test-ok"] = func(models.Query, *fleet.Fleet, bool) (data.Frames, error) {
		return data.Frames{data.NewFrame("ok")}, nil
	}

	resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{
		dataQuery("A", "test-ok", `{}`),
		dataQuery("B", "no-such-type", `{}`),
		dataQuery("C", "test-ok", `{"idleThreshold": `),
		dataQuery("D", "", `{}`),
	}})
	require.NoError(t, err)
	require.Len(t, resp.Responses, 4)

	assert.NoError(t, resp.Responses["A"].Error)
	assert.Len(t, resp.Responses["A"].Frames, 1)

	for refID, want := range map[string]string{
		"B": `unknown query type "no-such-type"`,
		"C": "not valid JSON",
		"D": "the query has no queryType",
	} {
		r := resp.Responses[refID]
		require.Error(t, r.Error, refID)
		assert.Contains(t, r.Error.Error(), want, refID)
		assert.Equal(t, backend.ErrorSourceDownstream, r.ErrorSource, "%s: the user's to correct", refID)
		assert.Equal(t, backend.StatusBadRequest, r.Status, refID)
	}
}

func TestPanicInAnAnalysisBecomesThatQuerysError(t *testing.T) {
	d := newTestDatasource(t, &countingSource{})
	d.analyses["test-panic"] = func(models.Query, *fleet.Fleet, bool) (data.Frames, error) {
		var m map[string]int
		m["boom"]++ //nolint:staticcheck // the nil map write is the runtime panic under test
		return nil, nil
	}
	d.analyses["test-ok"] = func(models.Query, *fleet.Fleet, bool) (data.Frames, error) {
		return data.Frames{data.NewFrame("ok")}, nil
	}
	resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{
		dataQuery("A", "test-panic", `{}`), dataQuery("B", "test-ok", `{}`),
	}})
	require.NoError(t, err)
	require.Error(t, resp.Responses["A"].Error)
	assert.Contains(t, resp.Responses["A"].Error.Error(), "internal error")
	assert.Equal(t, backend.ErrorSourcePlugin, resp.Responses["A"].ErrorSource)
	assert.Equal(t, backend.StatusInternal, resp.Responses["A"].Status)
	assert.NoError(t, resp.Responses["B"].Error)
}

func TestQueriesOfOneRequestShareOneFleetRead(t *testing.T) {
	src := &countingSource{}
	d := newTestDatasource(t, src)
	var seen atomic.Int32
	d.analyses["test-a"] = func(models.Query, *fleet.Fleet, bool) (data.Frames, error) {
		seen.Add(1)
		return nil, nil
	}
	d.analyses["test-b"] = func(models.Query, *fleet.Fleet, bool) (data.Frames, error) {
		seen.Add(1)
		return nil, nil
	}
	_, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{
		dataQuery("A", "test-a", `{}`), dataQuery("B", "test-b", `{}`), dataQuery("C", "test-a", `{"tokens":"generation"}`),
	}})
	require.NoError(t, err)
	assert.Equal(t, int32(3), seen.Load())
	assert.Equal(t, int32(1), src.reads.Load(), "three queries over one window read the fleet once")
}

func TestDownstreamFaultsKeepTheirSource(t *testing.T) {
	src := &countingSource{err: backend.DownstreamError(errors.New("Prometheus at http://prom:9090 answered 503 for the power query"))}
	d := newTestDatasource(t, src)
	d.analyses["test-a"] = func(models.Query, *fleet.Fleet, bool) (data.Frames, error) {
		return nil, nil
	}
	resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{dataQuery("A", "test-a", `{}`)}})
	require.NoError(t, err)
	r := resp.Responses["A"]
	require.Error(t, r.Error)
	assert.Contains(t, r.Error.Error(), "answered 503 for the power query")
	assert.Equal(t, backend.ErrorSourceDownstream, r.ErrorSource)
	assert.Equal(t, backend.StatusBadGateway, r.Status)
}

func TestBadSettingsAreReportedOnEveryQueryAndTheHealthCheck(t *testing.T) {
	inst, err := NewDatasource(context.Background(), backend.DataSourceInstanceSettings{URL: "", JSONData: []byte(`{"carbon": {"pue": 0.5}}`)})
	require.NoError(t, err)
	d := inst.(*Datasource)
	resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{dataQuery("A", models.QueryIdleAttribution, `{}`)}})
	require.NoError(t, err)
	require.Error(t, resp.Responses["A"].Error)
	assert.Contains(t, resp.Responses["A"].Error.Error(), "Prometheus URL is empty")
	assert.Contains(t, resp.Responses["A"].Error.Error(), "carbon.pue 0.5")
	assert.Equal(t, backend.ErrorSourceDownstream, resp.Responses["A"].ErrorSource)
	assert.Equal(t, backend.StatusBadRequest, resp.Responses["A"].Status)

	h, err := d.CheckHealth(context.Background(), &backend.CheckHealthRequest{})
	require.NoError(t, err)
	assert.Equal(t, backend.HealthStatusError, h.Status)
	assert.Equal(t, backend.ErrorSourceDownstream, h.ErrorSource)
	assert.Contains(t, h.Message, "Prometheus URL is empty")

	status, body, source := callResource(t, d, "models")
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, backend.ErrorSourceDownstream, source)
	assert.Contains(t, body, "Prometheus URL is empty")
}

// slowWindowSource never answers the read of one window (it waits for the request to end); the reads of other
// windows answer once that read has begun, so they answer only when both run at once.
type slowWindowSource struct {
	countingSource
	slowEnd      time.Time
	slowStarted  chan struct{}
	slowReleased sync.Once
}

func (s *slowWindowSource) Fleet(ctx context.Context, r source.Request) (*fleet.Fleet, error) {
	if r.End.Equal(s.slowEnd) {
		s.slowReleased.Do(func() { close(s.slowStarted) })
		<-ctx.Done()
		return nil, ctx.Err()
	}
	select {
	case <-s.slowStarted:
		// As a Prometheus read would, fail once the request's time is up.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return s.countingSource.Fleet(ctx, r)
	case <-time.After(5 * time.Second):
		return nil, errors.New("read alone: the slow window's read never began beside this one")
	}
}

func TestAWindowThatTimesOutDoesNotHoldTheOtherQueryTypes(t *testing.T) {
	inst, err := NewDatasource(context.Background(), backend.DataSourceInstanceSettings{JSONData: []byte(`{"mode":"demo","timeoutSeconds":1}`)})
	require.NoError(t, err)
	d := inst.(*Datasource)
	slow := dataQuery("A", models.QueryIdleAttribution, `{}`)
	other := dataQuery("B", models.QueryFleetTimeseries, `{"metric":"power_w"}`)
	other.TimeRange.To = other.TimeRange.To.Add(-6 * time.Hour)
	r, err := source.Plan(slow.TimeRange.From, slow.TimeRange.To, slow.Interval, slow.MaxDataPoints, 30*time.Second)
	require.NoError(t, err)
	d.source = &slowWindowSource{slowEnd: r.End, slowStarted: make(chan struct{})}

	began := time.Now()
	resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{slow, other}})
	require.NoError(t, err)
	assert.Less(t, time.Since(began), 4*time.Second, "bounded by the data source timeout")
	require.ErrorIs(t, resp.Responses["A"].Error, context.DeadlineExceeded)
	assert.NoError(t, resp.Responses["B"].Error, "the other window answers within the same timeout")
}

// concurrencySource notes how many reads run at once; each read waits until that many run, or briefly.
type concurrencySource struct {
	countingSource
	mu           sync.Mutex
	now, most    int
	full         chan struct{}
	fullOnce     sync.Once
	waitForCount int
}

func (s *concurrencySource) Fleet(ctx context.Context, r source.Request) (*fleet.Fleet, error) {
	s.mu.Lock()
	s.now++
	s.most = max(s.most, s.now)
	if s.now >= s.waitForCount {
		s.fullOnce.Do(func() { close(s.full) })
	}
	s.mu.Unlock()
	select {
	case <-s.full:
	case <-time.After(500 * time.Millisecond): // the last reads of the request never fill the bound
	}
	s.mu.Lock()
	s.now--
	s.mu.Unlock()
	return s.countingSource.Fleet(ctx, r)
}

// A request of many windows answers them all, never more at once than its bound: one fan-out, not one per
// query type and query.
func TestTheQueriesOfARequestRunAtOnceWithinOneBound(t *testing.T) {
	src := &concurrencySource{full: make(chan struct{}), waitForCount: maxConcurrentQueries + 1}
	d := newTestDatasource(t, src)
	var queries []backend.DataQuery
	for i := range 2*maxConcurrentQueries + 1 {
		q := dataQuery(fmt.Sprint("Q", i), models.QueryFleetTimeseries, `{"metric":"power_w"}`)
		q.TimeRange.To = q.TimeRange.To.Add(-time.Duration(i) * time.Hour) // a window each
		queries = append(queries, q)
	}
	resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: queries})
	require.NoError(t, err)
	require.Len(t, resp.Responses, len(queries))
	for refID, r := range resp.Responses {
		assert.NoError(t, r.Error, refID)
	}
	assert.Equal(t, int32(len(queries)), src.reads.Load(), "a read per window")
	assert.Equal(t, maxConcurrentQueries, src.most, "as many at once as the bound allows, no more")
}
