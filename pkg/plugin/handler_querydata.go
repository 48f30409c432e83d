package plugin

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// analysis answers one parsed query from the fleet read for its window. fromAlert says an alert rule asks: it
// must get only frames the alerting engine reads (TimeSeriesMulti, NumericLong, NumericWide).
type analysis func(q models.Query, f *fleet.Fleet, fromAlert bool) (data.Frames, error)

// analysesByType are the analyses of the query types, one handler_<type>.go each.
func (d *Datasource) analysesByType() map[string]analysis {
	return map[string]analysis{
		models.QueryFleetTimeseries: d.fleetTimeseries,
		models.QueryEfficiencyCurve: d.efficiencyCurve,
		models.QueryIdleAttribution: d.idleAttribution,
		models.QueryRightSizing:     d.rightSizing,
		models.QueryConsolidation:   d.consolidation,
		models.QueryFleetSummary:    d.fleetSummary,
		models.QueryAnnotations:     d.annotations,
	}
}

// maxConcurrentQueries bounds the queries of one request answered at a time. Their reads are shared per window
// and bounded by the source; the analyses are CPU work, and a dashboard sends a dozen queries at most.
const maxConcurrentQueries = 8

// parsedQuery is one query of a request on its way through: parsed and planned once, then answered.
type parsedQuery struct {
	dq  backend.DataQuery
	q   models.Query
	run analysis
	// read is the request's read of the query's window.
	read *fleetRead
	// err is the query's answer when it could not be parsed or planned.
	err error
}

// QueryData answers every query of a request, one way through: parse each query once, plan one read per
// distinct window with every quantity its queries need (plan.go), then answer all queries at once, each reading
// its window (the first to ask reads, through the source's shared reads) and running its analysis. The SDK's
// QueryTypeMux is not used: it runs the query types one after another, so a window that times out would hold
// the query types after it until their share of the timeout is gone.
func (d *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	ctx, cancel := d.withDeadline(ctx)
	defer cancel()
	_, fromAlert := req.Headers[backend.FromAlertHeaderName]
	queries := d.parse(req)
	d.plan(req, queries, fromAlert)

	answers := make([]backend.DataResponse, len(queries))
	sem := make(chan struct{}, maxConcurrentQueries)
	var wg sync.WaitGroup
	for i := range queries {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			answers[i] = d.sanitize.response(d.answer(ctx, &queries[i], fromAlert))
		})
	}
	wg.Wait()
	resp := backend.NewQueryDataResponse()
	for i, q := range queries {
		resp.Responses[q.dq.RefID] = answers[i]
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

// parse finds each query's analysis and parses its JSON; a query that fails keeps its error as its answer.
func (d *Datasource) parse(req *backend.QueryDataRequest) []parsedQuery {
	queries := make([]parsedQuery, len(req.Queries))
	for i, dq := range req.Queries {
		p := &queries[i]
		p.dq = dq
		run, ok := d.analyses[dq.QueryType]
		switch {
		case !ok:
			p.err = userErr(unknownQueryType(dq.QueryType))
		case d.settingsErr != nil:
			p.err = userErr(d.settingsErr)
		default:
			p.run = run
			q, err := models.ParseQuery(dq)
			if err != nil {
				p.err = userErr(err)
			}
			p.q = q
		}
	}
	return queries
}

func unknownQueryType(queryType string) error {
	if queryType == "" {
		return fmt.Errorf("the query has no queryType; use one of %v", models.QueryTypes)
	}
	return fmt.Errorf("unknown query type %q; use one of %v", queryType, models.QueryTypes)
}

// answer reads the query's window and runs its analysis. A panic becomes this query's error: the others of the
// request still answer.
func (d *Datasource) answer(ctx context.Context, p *parsedQuery, fromAlert bool) (res backend.DataResponse) {
	defer func() {
		if r := recover(); r != nil {
			log.DefaultLogger.FromContext(ctx).Error("query panicked", "refId", p.dq.RefID, "queryType", p.dq.QueryType, "panic", d.sanitize.text(fmt.Sprint(r)), "stack", string(debug.Stack()))
			res = errorResponse(backend.PluginErrorf("internal error while answering %s query %s: %v (please report it)", p.dq.QueryType, p.dq.RefID, r))
		}
	}()
	if p.err != nil {
		return errorResponse(p.err)
	}
	f, err := p.read.fleet(ctx, d.source)
	if err != nil {
		return errorResponse(err)
	}
	frames, err := p.run(p.q, f, fromAlert)
	if err != nil {
		return errorResponse(err)
	}
	return backend.DataResponse{Frames: frames}
}
