package source

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

const (
	// gatherReads is how long a new read waits for concurrent requests of the same window before it starts:
	// a dashboard's panels arrive within milliseconds of each other with different needs, and a read that
	// started with the first panel's would leave the others a read of their own.
	gatherReads = 50 * time.Millisecond
	// maxCachedFleets bounds the kept reads: a dashboard asks for a handful of windows at a time.
	maxCachedFleets = 8
	// maxCachedBytes bounds the estimated size of the kept reads: a quarter of the plugin's soft memory limit
	// (128 MiB), so the cache never decides whether a large read fits. A read larger than this is not kept.
	maxCachedBytes = 32 << 20
)

// How a request got its fleet, for logs and spans.
const (
	howRead   = "read"   // it started the read
	howShared = "shared" // it joined a read already in flight
	howCached = "cached" // a finished read answered it
)

// sharedReads lets the requests of one data source instance share fleet reads: a request joins a read in
// flight for the same window, step and identity whose quantities include its own, and finished reads answer
// for ttl. It lives on the instance, which Grafana replaces when the settings change, so a read is never
// shared across settings or mappings.
type sharedReads struct {
	ttl time.Duration
	// gather waits, before a read starts, for the requests that arrive with it (gatherReads).
	gather func(context.Context)
	// timeout bounds a read that no request's cancellation can end while others wait for it.
	timeout time.Duration
	// left is the error of a request that stopped waiting (cancelled, or its own deadline passed first).
	left func(context.Context) error

	mu       sync.Mutex
	inflight map[readKey][]*flight
	kept     []keptRead
	keptSize int64
}

// readKey is what, besides the quantities, decides a read's answer: the grid, whether an alert asks (the
// engine's parameters differ: Thanos' partial_response), and whose credentials Prometheus sees.
type readKey struct {
	start, end time.Time
	step       time.Duration
	fromAlert  bool
	identity   string
}

// flight is a read in progress and the requests waiting for it.
type flight struct {
	key   readKey
	needs Quantities
	// started says the read has begun: until then a request of the same key widens needs and joins.
	started bool
	done    chan struct{}
	fleet   *fleet.Fleet
	err     error
	waiters int
	cancel  context.CancelFunc
	// deadline is the data source timeout from the read's start, or the first request's deadline if earlier.
	deadline time.Time
}

type keptRead struct {
	key   readKey
	needs Quantities
	fleet *fleet.Fleet
	at    time.Time
	size  int64
}

func newSharedReads(ttl, timeout time.Duration, left func(context.Context) error) *sharedReads {
	return &sharedReads{ttl: ttl, gather: sleep(gatherReads), timeout: timeout, left: left, inflight: map[readKey][]*flight{}}
}

// sleep waits for d or until ctx ends.
func sleep(d time.Duration) func(context.Context) {
	return func(ctx context.Context) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
}

func keyOf(req Request) (readKey, Quantities) {
	needs := req.Needs
	if needs == 0 {
		needs = NeedAll
	}
	return readKey{req.Start.UTC(), req.End.UTC(), req.Step, req.FromAlert, req.Identity}, needs
}

// fleet answers req from a kept read, from a read in flight, or by starting read in a context of its own:
// the request that started it may be cancelled while others wait. The read is cancelled only when every
// request waiting for it has gone; it keeps the data source timeout (or the deadline of the request that
// started it, if earlier).
func (s *sharedReads) fleet(ctx context.Context, req Request, now time.Time, read func(context.Context, Request) (*fleet.Fleet, error)) (*fleet.Fleet, string, error) {
	key, needs := keyOf(req)
	s.mu.Lock()
	if f := s.keptLocked(key, needs, now); f != nil {
		s.mu.Unlock()
		return f, howCached, nil
	}
	how := howShared
	fl := s.joinLocked(key, needs)
	if fl == nil {
		how = howRead
		deadline := time.Now().Add(s.timeout) // the wall clock: now is the cache's clock
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		readCtx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
		fl = &flight{key: key, needs: needs, done: make(chan struct{}), cancel: cancel, deadline: deadline}
		s.inflight[key] = append(s.inflight[key], fl)
		go s.run(readCtx, fl, req, read)
	}
	fl.waiters++
	s.mu.Unlock()

	select {
	case <-fl.done:
		return fl.fleet, how, fl.err
	case <-ctx.Done():
		if d, ok := ctx.Deadline(); ok && !d.Before(fl.deadline) && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// The read ends by now too, and says which query did not answer in time.
			<-fl.done
			return fl.fleet, how, fl.err
		}
		s.mu.Lock()
		if fl.waiters--; fl.waiters == 0 {
			// Nobody waits any more: Prometheus stops work nobody will read, and later requests start afresh.
			s.removeLocked(fl)
			fl.cancel()
		}
		s.mu.Unlock()
		return nil, how, s.left(ctx)
	}
}

// run reads for a flight and hands the answer to its waiters (the read itself keeps what it may: see put).
func (s *sharedReads) run(ctx context.Context, fl *flight, req Request, read func(context.Context, Request) (*fleet.Fleet, error)) {
	defer close(fl.done)
	defer fl.cancel()
	defer func() {
		// The read runs on a goroutine of its own: a panic here would end the plugin, not one query.
		if p := recover(); p != nil {
			fl.fleet, fl.err = nil, backend.PluginErrorf("internal error while reading the fleet: %v (please report it)", p)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.removeLocked(fl)
	}()
	s.gather(ctx)
	s.mu.Lock()
	fl.started, req.Needs = true, fl.needs
	s.mu.Unlock()
	fl.fleet, fl.err = read(ctx, req)
}

// joinLocked is a read in flight for key that reads at least needs, or one not yet started, which then reads
// needs too.
func (s *sharedReads) joinLocked(key readKey, needs Quantities) *flight {
	for _, fl := range s.inflight[key] {
		if fl.needs.Has(needs) {
			return fl
		}
	}
	for _, fl := range s.inflight[key] {
		if !fl.started {
			fl.needs |= needs
			return fl
		}
	}
	return nil
}

func (s *sharedReads) removeLocked(fl *flight) {
	flights := slices.DeleteFunc(s.inflight[fl.key], func(f *flight) bool { return f == fl })
	if len(flights) == 0 {
		delete(s.inflight, fl.key)
		return
	}
	s.inflight[fl.key] = flights
}

// keptLocked is a fresh kept read of key with at least needs. Alert evaluations always read afresh.
func (s *sharedReads) keptLocked(key readKey, needs Quantities, now time.Time) *fleet.Fleet {
	if s.ttl <= 0 || key.fromAlert {
		return nil
	}
	s.expireLocked(now)
	for _, k := range s.kept {
		if k.key == key && k.needs.Has(needs) {
			return k.fleet
		}
	}
	return nil
}

// put keeps f, read for req, dropping expired reads, reads it makes redundant and, when full, the oldest.
func (s *sharedReads) put(req Request, f *fleet.Fleet, now time.Time) {
	size := fleetBytes(f)
	if s.ttl <= 0 || req.FromAlert || size > maxCachedBytes {
		return
	}
	key, needs := keyOf(req)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(now)
	s.dropLocked(func(k keptRead) bool { return k.key == key && needs.Has(k.needs) })
	for len(s.kept) > 0 && (len(s.kept) >= maxCachedFleets || s.keptSize+size > maxCachedBytes) {
		oldest := s.kept[0]
		s.dropLocked(func(k keptRead) bool { return k == oldest })
	}
	s.kept = append(s.kept, keptRead{key: key, needs: needs, fleet: f, at: now, size: size})
	s.keptSize += size
}

func (s *sharedReads) expireLocked(now time.Time) {
	s.dropLocked(func(k keptRead) bool { return now.Sub(k.at) >= s.ttl })
}

func (s *sharedReads) dropLocked(drop func(keptRead) bool) {
	s.kept = slices.DeleteFunc(s.kept, func(k keptRead) bool {
		if drop(k) {
			s.keptSize -= k.size
			return true
		}
		return false
	})
}

// fleetBytes estimates the memory a fleet holds: its series, 8 bytes a step, and a little per model and
// placement for names and headers.
func fleetBytes(f *fleet.Fleet) int64 {
	const perModel, perPlacement, perSeries = 256, 128, 24
	n := int64(0)
	for _, m := range f.Models {
		n += perModel + int64(len(m.PromptTokensPerS)+len(m.GenerationTokensPerS))*8 + 2*perSeries
		for _, p := range m.Placements {
			n += perPlacement + int64(len(p.GPUs)+len(p.PowerW)+len(p.PowerLimitW))*8 + 3*perSeries
		}
	}
	return n
}
