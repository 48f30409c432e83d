package source

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// heldProm is the fake Prometheus whose power_w answers (one query per read) wait until released, so that
// requests are sure to overlap; it counts them and notes which of them the client gave up.
type heldProm struct {
	fake    *fakeProm
	power   string
	release chan struct{}

	mu        sync.Mutex
	reads     int
	abandoned int
}

func newHeldProm(t *testing.T) (*heldProm, *models.Settings, Request) {
	grid := fleet.Grid{Start: testNow.Add(-2 * time.Minute), Step: time.Minute, N: 3}
	f := &fakeProm{t: t, version: "2.42.0", series: plainFleet()}
	h := &heldProm{fake: f, release: make(chan struct{})}
	srv := httpServer(t, h)
	cfg := testSettings(t, srv, nil)
	q := queriesOf(t, cfg, plainPowerLabels, true, true, grid)
	h.power = q["power_w"]
	qwen := labels{"model_name": "qwen", "Hostname": "node-a", "modelName": a100}
	f.answers = map[string]string{h.power: matrixJSON(grid, answerSeries{qwen, []string{"300", "310", "320"}})}
	return h, cfg, Request{Start: grid.Start, End: grid.End(), Step: grid.Step}
}

func httpServer(t *testing.T, h http.Handler) string {
	f := &fakeProm{t: t}
	srv := f.start()
	srv.Config.Handler = h
	return srv.URL
}

func (h *heldProm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if (r.URL.Path == "/api/v1/query" || r.URL.Path == "/api/v1/query_range") && r.FormValue("query") == h.power {
		h.mu.Lock()
		h.reads++
		h.mu.Unlock()
		select {
		case <-h.release:
		case <-r.Context().Done():
			h.mu.Lock()
			h.abandoned++
			h.mu.Unlock()
			return
		}
	}
	h.fake.ServeHTTP(w, r)
}

func (h *heldProm) counts() (reads, abandoned int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reads, h.abandoned
}

// waiters is how many requests wait for the reads in flight for req's window.
func waiters(p *Prometheus, req Request) int {
	key, _ := keyOf(req)
	p.fleets.mu.Lock()
	defer p.fleets.mu.Unlock()
	n := 0
	for _, fl := range p.fleets.inflight[key] {
		n += fl.waiters
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, time.Millisecond, what)
}

type answered struct {
	fleet *fleet.Fleet
	err   error
}

// ask starts a request for the fleet and returns where its answer arrives.
func ask(ctx context.Context, p *Prometheus, req Request) <-chan answered {
	out := make(chan answered, 1)
	go func() {
		f, err := p.Fleet(ctx, req)
		out <- answered{f, err}
	}()
	return out
}

func TestConcurrentRequestsShareOneRead(t *testing.T) {
	const n = 8
	h, cfg, req := newHeldProm(t)
	p, _ := newTestSource(t, cfg, testNow)
	var answers []<-chan answered
	for i := range n {
		r := req
		if i%2 == 1 {
			r.Needs = NeedPowerW | NeedTokenRates // a subset of what the first request reads
		}
		answers = append(answers, ask(context.Background(), p, r))
		if i == 0 {
			waitFor(t, "the first read starts", func() bool { return waiters(p, req) == 1 })
		}
	}
	waitFor(t, "every request waits", func() bool { return waiters(p, req) == n })
	close(h.release)
	var first *fleet.Fleet
	for _, a := range answers {
		got := <-a
		require.NoError(t, got.err)
		if first == nil {
			first = got.fleet
		}
		assert.Same(t, first, got.fleet)
	}
	require.Len(t, first.Models, 1)
	assertSeries(t, fleet.Series{300, 310, 320}, first.Models[0].Placements[0].PowerW)
	reads, _ := h.counts()
	assert.Equal(t, 1, reads, "one read for %d requests", n)

	// Within the TTL a finished read answers without asking Prometheus.
	got, err := p.Fleet(context.Background(), req)
	require.NoError(t, err)
	assert.Same(t, first, got)
	reads, _ = h.counts()
	assert.Equal(t, 1, reads)
}

func TestReadsAreNotSharedAcrossIdentitiesInstancesOrAlerts(t *testing.T) {
	h, cfg, req := newHeldProm(t)
	close(h.release)
	p, _ := newTestSource(t, cfg, testNow)
	other, _ := newTestSource(t, cfg, testNow) // another data source instance with the same settings
	alice, bob, alert := req, req, req
	alice.Identity, bob.Identity, alert.FromAlert = "alice", "bob", true
	for _, r := range []struct {
		p   *Prometheus
		req Request
	}{{p, alice}, {p, bob}, {other, alice}, {p, alert}, {p, alert}, {p, alice}, {other, alice}} {
		_, err := r.p.Fleet(context.Background(), r.req)
		require.NoError(t, err)
	}
	reads, _ := h.counts()
	assert.Equal(t, 5, reads, "alice, bob, alice on the other instance, and each alert evaluation (never cached); the repeats of alice are cached")
}

func TestOneWaiterCancellingDoesNotCancelTheSharedRead(t *testing.T) {
	h, cfg, req := newHeldProm(t)
	p, _ := newTestSource(t, cfg, testNow)
	// Cancelled before its deadline (the handler bounds every request by the data source timeout).
	leader, cancel := context.WithTimeout(context.Background(), time.Minute)
	first := ask(leader, p, req)
	waitFor(t, "the read starts", func() bool { return waiters(p, req) == 1 })
	second := ask(context.Background(), p, req)
	waitFor(t, "the second request joins", func() bool { return waiters(p, req) == 2 })
	waitFor(t, "the read reaches Prometheus", func() bool { r, _ := h.counts(); return r == 1 })

	cancel()
	got := <-first
	require.Error(t, got.err)
	assert.Contains(t, got.err.Error(), "the request was cancelled before Prometheus at")
	close(h.release)
	got = <-second
	require.NoError(t, got.err)
	require.Len(t, got.fleet.Models, 1)
	reads, abandoned := h.counts()
	assert.Equal(t, 1, reads)
	assert.Zero(t, abandoned, "Prometheus was never told to stop")
}

func TestTheLastWaiterCancellingStopsTheRead(t *testing.T) {
	h, cfg, req := newHeldProm(t)
	p, _ := newTestSource(t, cfg, testNow)
	ctx1, cancel1 := context.WithTimeout(context.Background(), time.Minute)
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Minute)
	first := ask(ctx1, p, req)
	waitFor(t, "the read starts", func() bool { return waiters(p, req) == 1 })
	second := ask(ctx2, p, req)
	waitFor(t, "the second request joins", func() bool { return waiters(p, req) == 2 })
	waitFor(t, "the read reaches Prometheus", func() bool { r, _ := h.counts(); return r == 1 })
	cancel1()
	require.Error(t, (<-first).err)
	cancel2()
	require.Error(t, (<-second).err)
	waitFor(t, "Prometheus sees the read's power query end", func() bool { _, a := h.counts(); return a > 0 })

	// A later request does not join the cancelled read.
	close(h.release)
	got, err := p.Fleet(context.Background(), req)
	require.NoError(t, err)
	require.Len(t, got.Models, 1)
	reads, _ := h.counts()
	assert.Equal(t, 2, reads)
}

func TestKeptReadsAreBounded(t *testing.T) {
	s := newSharedReads(time.Minute, time.Second, nil)
	fleetOf := func(models, steps int) *fleet.Fleet {
		f := &fleet.Fleet{}
		for range models {
			f.Models = append(f.Models, fleet.Model{Placements: []fleet.Placement{{PowerW: fleet.NewSeries(steps)}}})
		}
		return f
	}
	at := func(i int) Request {
		start := testNow.Add(time.Duration(i) * time.Hour)
		return Request{Start: start, End: start.Add(time.Hour), Step: time.Minute}
	}
	for i := range maxCachedFleets + 2 {
		s.put(at(i), fleetOf(1, 61), testNow)
	}
	assert.Len(t, s.kept, maxCachedFleets, "the count bound drops the oldest")
	key, _ := keyOf(at(0))
	assert.Nil(t, s.keptLocked(key, NeedAll, testNow))

	// Each of these holds 1500 x 1000 steps x 8 bytes, more than a third of the bound.
	big := fleetOf(1500, 1000)
	require.Greater(t, fleetBytes(big), int64(maxCachedBytes/3))
	for i := range 3 {
		s.put(at(100+i), big, testNow)
	}
	assert.LessOrEqual(t, s.keptSize, int64(maxCachedBytes))
	assert.Len(t, s.kept, 2, "the byte bound drops the oldest")
	s.put(at(200), fleetOf(5000, 1000), testNow)
	assert.Len(t, s.kept, 2, "a read larger than the bound is not kept")

	// A read for more quantities replaces one for fewer, and answers for both; kept reads expire.
	sub := at(300)
	sub.Needs = NeedPowerW
	s.put(sub, fleetOf(1, 61), testNow)
	all := fleetOf(1, 61)
	s.put(at(300), all, testNow)
	key, _ = keyOf(sub)
	assert.Same(t, all, s.keptLocked(key, NeedPowerW, testNow))
	assert.Nil(t, s.keptLocked(key, NeedPowerW, testNow.Add(time.Minute)))
	assert.Empty(t, s.kept)
	assert.Zero(t, s.keptSize)
}

// The panels of a dashboard asking a real Prometheus for one window at once cost it what one read costs, and
// each gets what a read of its own gets.
func TestPanelsAskingARealPrometheusAtOnceCostOneRead(t *testing.T) {
	const panels = 16
	req := Request{Start: simEpoch.Add(3 * 24 * time.Hour), End: simEpoch.Add(3*24*time.Hour + 6*time.Hour), Step: simStep}
	// The counting transport serves the API client and the streamed queries alike.
	alone, _, aloneRequests := countedSimSource(t, simProm.Server(t).URL, "plain", func(s *models.Settings) { s.CacheTTLSeconds = 0 })
	want, err := alone.Fleet(context.Background(), req)
	require.NoError(t, err)
	require.NotEmpty(t, want.Models)

	shared, _, sharedRequests := countedSimSource(t, simProm.Server(t).URL, "plain", nil)
	start := make(chan struct{})
	answers := make([]answered, panels)
	var wg sync.WaitGroup
	for i := range panels {
		wg.Go(func() {
			<-start
			f, err := shared.Fleet(context.Background(), req)
			answers[i] = answered{f, err}
		})
	}
	close(start)
	wg.Wait()

	assert.Equal(t, aloneRequests.total.Load(), sharedRequests.total.Load(), "the requests of one read, discovery included")
	for _, a := range answers {
		require.NoError(t, a.err)
		assert.Same(t, answers[0].fleet, a.fleet)
	}
	got := answers[0].fleet
	require.Len(t, got.Models, len(want.Models))
	for i, m := range want.Models {
		require.Equal(t, m.Name, got.Models[i].Name)
		require.Len(t, got.Models[i].Placements, len(m.Placements))
		for j, pl := range m.Placements {
			assertSeries(t, pl.PowerW, got.Models[i].Placements[j].PowerW)
		}
		assertSeries(t, m.GenerationTokensPerS, got.Models[i].GenerationTokensPerS)
	}
}

// A read runs on a goroutine of its own: its panic is the error of the requests waiting for it, not the end of
// the plugin, and the next request reads again.
func TestAPanicInASharedReadIsItsWaitersError(t *testing.T) {
	s := newSharedReads(time.Minute, time.Minute, nil)
	req := Request{Start: testNow.Add(-time.Hour), End: testNow, Step: time.Minute}
	_, _, err := s.fleet(context.Background(), req, testNow, func(context.Context, Request) (*fleet.Fleet, error) { panic("decoder bug") })
	require.Error(t, err)
	assert.True(t, backend.IsPluginError(err))
	assert.Equal(t, "internal error while reading the fleet: decoder bug (please report it)", err.Error())

	want := &fleet.Fleet{}
	got, how, err := s.fleet(context.Background(), req, testNow, func(context.Context, Request) (*fleet.Fleet, error) { return want, nil })
	require.NoError(t, err)
	assert.Same(t, want, got)
	assert.Equal(t, howRead, how)
}
