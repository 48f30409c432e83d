package source

import (
	"sync"
	"time"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

// maxCachedFleets bounds the fleet cache: a dashboard asks for a handful of windows at a time.
const maxCachedFleets = 8

// fleetCache keeps fetched fleets for a short time, keyed by the aligned window and step, so dashboard
// refreshes within one step do not ask Prometheus again. A zero TTL turns it off.
type fleetCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[cacheKey]cachedFleet
}

type cacheKey struct {
	start, end time.Time
	step       time.Duration
	needs      Quantities
}

type cachedFleet struct {
	fleet *fleet.Fleet
	at    time.Time
}

func newFleetCache(ttl time.Duration) *fleetCache {
	return &fleetCache{ttl: ttl, entries: map[cacheKey]cachedFleet{}}
}

func keyOf(req Request) cacheKey {
	needs := req.Needs
	if needs == 0 {
		needs = NeedAll
	}
	return cacheKey{req.Start.UTC(), req.End.UTC(), req.Step, needs}
}

// get is the fleet cached for req, if fresh. Alert evaluations always read afresh.
func (c *fleetCache) get(req Request, now time.Time) *fleet.Fleet {
	if c.ttl <= 0 || req.FromAlert {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[keyOf(req)]
	if !ok || now.Sub(e.at) >= c.ttl {
		return nil
	}
	return e.fleet
}

// put keeps f for req, dropping expired entries and, when full, the oldest.
func (c *fleetCache) put(req Request, f *fleet.Fleet, now time.Time) {
	if c.ttl <= 0 || req.FromAlert {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var oldest cacheKey
	for k, e := range c.entries {
		if now.Sub(e.at) >= c.ttl {
			delete(c.entries, k)
		} else if oldest == (cacheKey{}) || e.at.Before(c.entries[oldest].at) {
			oldest = k
		}
	}
	if len(c.entries) >= maxCachedFleets {
		delete(c.entries, oldest)
	}
	c.entries[keyOf(req)] = cachedFleet{fleet: f, at: now}
}
