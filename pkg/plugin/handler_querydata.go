package plugin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"sync"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// analysis answers one parsed query from the fleet read for it.
type analysis func(ctx context.Context, q models.Query, f *fleet.Fleet, dq backend.DataQuery) (data.Frames, error)

func (d *Datasource) newQueryTypeMux() *datasource.QueryTypeMux {
	mux := datasource.NewQueryTypeMux()
	mux.Handle(models.QueryFleetTimeseries, d.handler(d.fleetTimeseries))
	mux.Handle(models.QueryEfficiencyCurve, d.handler(d.efficiencyCurve))
	mux.Handle(models.QueryIdleAttribution, d.handler(d.idleAttribution))
	mux.Handle(models.QueryRightSizing, d.handler(d.rightSizing))
	mux.Handle(models.QueryConsolidation, d.handler(d.consolidation))
	mux.Handle(models.QueryFleetSummary, d.handler(d.fleetSummary))
	mux.Handle(models.QueryAnnotations, d.handler(d.annotations))
	mux.HandleFunc("", unknownQueryType)
	return mux
}

// QueryData answers every query of a request. A dashboard panel sends several query types at once; the fleet
// is read once per request window and shared by all of them. The mux runs the query types one after another,
// so each type goes to it in a request of its own, all at once: a window that times out must not hold the
// query types after it until their share of the timeout is gone.
func (d *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	ctx, cancel := d.withDeadline(ctx)
	defer cancel()
	ctx, memo := d.withFleetMemo(ctx, req)
	defer memo.release()
	ctx = withFromAlert(ctx, req)

	byType := map[string]*backend.QueryDataRequest{}
	for _, q := range req.Queries {
		sub, ok := byType[q.QueryType]
		if !ok {
			sub = &backend.QueryDataRequest{PluginContext: req.PluginContext, Headers: req.Headers}
			byType[q.QueryType] = sub
		}
		sub.Queries = append(sub.Queries, q)
	}
	resp := backend.NewQueryDataResponse()
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		first error
	)
	for _, sub := range byType {
		wg.Go(func() {
			r, err := d.mux.QueryData(ctx, sub)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				first = cmp.Or(first, err)
				return
			}
			maps.Copy(resp.Responses, r.Responses)
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return resp, nil
}

// withDeadline bounds a request by the data source timeout (timeoutSeconds), retries and all, on top of
// whatever deadline the caller set.
func (d *Datasource) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if d.settings == nil {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d.settings.Timeout())
}

// handler runs an analysis for every query of its type, concurrently, each with its own response.
func (d *Datasource) handler(run analysis) backend.QueryDataHandler {
	return backend.QueryDataHandlerFunc(func(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
		resp := backend.NewQueryDataResponse()
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, dq := range req.Queries {
			wg.Go(func() {
				r := d.sanitize.response(d.runQuery(ctx, req, dq, run))
				mu.Lock()
				resp.Responses[dq.RefID] = r
				mu.Unlock()
			})
		}
		wg.Wait()
		return resp, nil
	})
}

func (d *Datasource) runQuery(ctx context.Context, req *backend.QueryDataRequest, dq backend.DataQuery, run analysis) (res backend.DataResponse) {
	defer func() {
		if r := recover(); r != nil {
			log.DefaultLogger.FromContext(ctx).Error("query panicked", "refId", dq.RefID, "queryType", dq.QueryType, "panic", d.sanitize.text(fmt.Sprint(r)), "stack", string(debug.Stack()))
			res = errorResponse(backend.PluginErrorf("internal error while answering %s query %s: %v (please report it)", dq.QueryType, dq.RefID, r))
		}
	}()
	if d.settingsErr != nil {
		return errorResponse(userErr(d.settingsErr))
	}
	q, err := models.ParseQuery(dq)
	if err != nil {
		return errorResponse(userErr(err))
	}
	f, err := d.readFleet(ctx, req, dq, q)
	if err != nil {
		return errorResponse(err)
	}
	frames, err := run(ctx, q, f, dq)
	if err != nil {
		return errorResponse(err)
	}
	return backend.DataResponse{Frames: frames}
}

func unknownQueryType(_ context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	resp := backend.NewQueryDataResponse()
	for _, dq := range req.Queries {
		msg := fmt.Sprintf("unknown query type %q; use one of %v", dq.QueryType, models.QueryTypes)
		if dq.QueryType == "" {
			msg = fmt.Sprintf("the query has no queryType; use one of %v", models.QueryTypes)
		}
		resp.Responses[dq.RefID] = errorResponse(userErr(errors.New(msg)))
	}
	return resp, nil
}
