package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/source"
)

// fleetMemo shares reads of the fleet between the queries of one request: each distinct window is read once,
// with every quantity any of its queries needs, however many queries and query types ask for it. Analyses
// never modify a Fleet, so sharing is safe.
type fleetMemo struct {
	// needs are, per window, the quantities the request's queries of that window need.
	needs map[source.Request]source.Quantities
	mu    sync.Mutex
	reads map[source.Request]*fleetRead
}

type fleetRead struct {
	once  sync.Once
	fleet *fleet.Fleet
	err   error
}

type fleetMemoKey struct{}

// withFleetMemo gives the request a memo that knows what each of its windows must be read for. Queries that
// do not parse or plan are left out: they fail on their own.
func (d *Datasource) withFleetMemo(ctx context.Context, req *backend.QueryDataRequest) (context.Context, *fleetMemo) {
	memo := &fleetMemo{needs: map[source.Request]source.Quantities{}, reads: map[source.Request]*fleetRead{}}
	if d.settings != nil {
		for _, dq := range req.Queries {
			q, err := models.ParseQuery(dq)
			if err != nil {
				continue
			}
			if r, err := d.window(req, dq); err == nil {
				memo.needs[r] |= needs(q)
			}
		}
	}
	return context.WithValue(ctx, fleetMemoKey{}, memo), memo
}

// release lets go of the fleets once every query has its frames, so they are garbage while the SDK encodes
// the frames (at 1000 models a fleet is tens of MB).
func (m *fleetMemo) release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.reads)
}

// window is the aligned window a query reads, with what it needs still open.
func (d *Datasource) window(req *backend.QueryDataRequest, dq backend.DataQuery) (source.Request, error) {
	r, err := source.Plan(dq.TimeRange.From, dq.TimeRange.To, dq.Interval, dq.MaxDataPoints, d.settings.Scrape())
	if err != nil {
		return source.Request{}, userErr(err) // the panel's time range
	}
	_, r.FromAlert = req.Headers[backend.FromAlertHeaderName]
	r.Identity = identity(req)
	return r, nil
}

// credentialHeaders are the user's credentials Grafana hands a data source that forwards OAuth identity or
// cookies: Prometheus may answer users differently, so their reads are not shared.
var credentialHeaders = []string{backend.OAuthIdentityTokenHeaderName, backend.OAuthIdentityIDTokenHeaderName, backend.CookiesHeaderName}

// identity is a digest of the request's credentials ("" without any), so the credentials stay out of keys.
func identity(req *backend.QueryDataRequest) string {
	h := sha256.New()
	found := false
	for _, name := range credentialHeaders {
		if v := req.GetHTTPHeader(name); v != "" {
			found = true
			fmt.Fprintf(h, "%s\x00%s\x00", name, v)
		}
	}
	if !found {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// readFleet reads the fleet for a query's window through the request's memo.
func (d *Datasource) readFleet(ctx context.Context, req *backend.QueryDataRequest, dq backend.DataQuery, q models.Query) (*fleet.Fleet, error) {
	r, err := d.window(req, dq)
	if err != nil {
		return nil, err
	}
	memo, _ := ctx.Value(fleetMemoKey{}).(*fleetMemo)
	if memo == nil {
		r.Needs = needs(q)
		return d.source.Fleet(ctx, r)
	}
	window := r
	r.Needs = memo.needs[window] | needs(q)
	memo.mu.Lock()
	read, ok := memo.reads[window]
	if !ok {
		read = &fleetRead{}
		memo.reads[window] = read
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

// needs are the fleet quantities a query's analysis reads. Every fleet-timeseries metric reads power (it gives
// each model its GPU type label) and token rates (they list the models without GPUs); idle fractions and
// efficiency curves measure idle floors from GPU counts; annotations follow GPU counts (moves) and token rates
// (idle stretches); the tables attribute window energy and tokens, and right-sizing and consolidation weigh
// the serving engine's own load signals.
func needs(q models.Query) source.Quantities {
	perStep := source.NeedPowerW | source.NeedTokenRates
	switch {
	case q.QueryType == models.QueryFleetTimeseries && q.Metric == string(fleet.MetricCO2GPerH):
		return perStep | source.NeedIntensity
	case q.QueryType == models.QueryFleetTimeseries && q.Metric != string(fleet.MetricIdleFraction):
		return perStep
	case q.QueryType == models.QueryFleetTimeseries, q.QueryType == models.QueryAnnotations:
		return perStep | source.NeedGPUs
	case q.QueryType == models.QueryEfficiencyCurve:
		return perStep | source.NeedGPUs | source.NeedPowerLimits
	case q.QueryType == models.QueryIdleAttribution || q.QueryType == models.QueryFleetSummary:
		return source.NeedAll &^ source.NeedServing
	}
	return source.NeedAll
}
