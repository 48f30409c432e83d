package plugin

import (
	"context"
	"sync"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/source"
)

// fleetMemo shares reads of the fleet between the queries of one request: each distinct window is read once,
// however many queries and query types ask for it. Analyses never modify a Fleet, so sharing is safe.
type fleetMemo struct {
	mu    sync.Mutex
	reads map[source.Request]*fleetRead
}

type fleetRead struct {
	once  sync.Once
	fleet *fleet.Fleet
	err   error
}

type fleetMemoKey struct{}

func withFleetMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, fleetMemoKey{}, &fleetMemo{reads: map[source.Request]*fleetRead{}})
}

// readFleet reads the fleet for a query's window through the request's memo.
func (d *Datasource) readFleet(ctx context.Context, req *backend.QueryDataRequest, dq backend.DataQuery) (*fleet.Fleet, error) {
	r, err := source.Plan(dq.TimeRange.From, dq.TimeRange.To, dq.Interval, dq.MaxDataPoints, d.settings.Scrape())
	if err != nil {
		return nil, backend.PluginError(err)
	}
	_, r.FromAlert = req.Headers[backend.FromAlertHeaderName]
	memo, _ := ctx.Value(fleetMemoKey{}).(*fleetMemo)
	if memo == nil {
		return d.source.Fleet(ctx, r)
	}
	memo.mu.Lock()
	read, ok := memo.reads[r]
	if !ok {
		read = &fleetRead{}
		memo.reads[r] = read
	}
	memo.mu.Unlock()
	read.once.Do(func() {
		defer func() {
			if p := recover(); p != nil {
				read.err = backend.PluginErrorf("internal error while reading the fleet: %v (please report it)", p)
			}
		}()
		read.fleet, read.err = d.source.Fleet(ctx, r)
	})
	return read.fleet, read.err
}
