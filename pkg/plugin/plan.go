package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/source"
)

// fleetRead is the read of one window of a request, with every quantity the request's queries of that window
// need: the first query to ask reads it, the others of the window wait for that read. Analyses never modify a
// Fleet, so sharing it is safe.
type fleetRead struct {
	req  source.Request
	once sync.Once
	f    *fleet.Fleet
	err  error
}

// plan gives each parsed query the read of its window; a query whose time range does not plan keeps that error.
// Reads are per request: the source shares them across requests (pkg/source/shared.go).
func (d *Datasource) plan(req *backend.QueryDataRequest, queries []parsedQuery, fromAlert bool) {
	reads := map[source.Request]*fleetRead{}
	for i := range queries {
		p := &queries[i]
		if p.err != nil {
			continue
		}
		window, err := d.window(req, p.dq, fromAlert)
		if err != nil {
			p.err = err
			continue
		}
		read, ok := reads[window]
		if !ok {
			read = &fleetRead{req: window}
			reads[window] = read
		}
		read.req.Needs |= needs(p.q)
		p.read = read
	}
}

// fleet is the window's fleet, read by the first query that asks.
func (r *fleetRead) fleet(ctx context.Context, src source.Source) (*fleet.Fleet, error) {
	r.once.Do(func() {
		defer func() {
			if p := recover(); p != nil {
				r.err = backend.PluginErrorf("internal error while reading the fleet: %v (please report it)", p)
			}
		}()
		r.f, r.err = src.Fleet(ctx, r.req)
	})
	return r.f, r.err
}

// window is the aligned window a query reads, with what it needs still open.
func (d *Datasource) window(req *backend.QueryDataRequest, dq backend.DataQuery, fromAlert bool) (source.Request, error) {
	r, err := source.Plan(dq.TimeRange.From, dq.TimeRange.To, dq.Interval, dq.MaxDataPoints, d.settings.Scrape())
	if err != nil {
		return source.Request{}, userErr(err) // the panel's time range
	}
	r.FromAlert = fromAlert
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
	case q.QueryType == models.QueryAnnotations && slices.Contains(q.Events, fleet.EventVerdict):
		// Verdicts are taken on parts of the window, whose totals the window's cannot give.
		return source.NeedAll &^ source.NeedWindowTotals
	case q.QueryType == models.QueryFleetTimeseries, q.QueryType == models.QueryAnnotations:
		return perStep | source.NeedGPUs
	case q.QueryType == models.QueryEfficiencyCurve:
		return perStep | source.NeedGPUs | source.NeedPowerLimits
	case q.QueryType == models.QueryIdleAttribution || q.QueryType == models.QueryFleetSummary:
		return source.NeedAll &^ source.NeedServing
	}
	return source.NeedAll
}
