package source

import (
	"context"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/grafana/grafana-plugin-sdk-go/backend/tracing"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// observer is what a source logs and traces with: the SDK's logger and tracer, which Grafana configures.
type observer struct {
	logger log.Logger
	tracer trace.Tracer
}

func defaultObserver() observer {
	return observer{logger: log.DefaultLogger, tracer: tracing.DefaultTracer()}
}

// fleetRead is the span and debug log of one request for a fleet: how it was answered (read, shared, cached).
func (o observer) fleetRead(ctx context.Context, req Request) (context.Context, func(how string, models int, err error)) {
	ctx, span := o.tracer.Start(ctx, "source.Fleet", trace.WithAttributes(
		attribute.String("fleet.start", req.Start.UTC().Format(time.RFC3339)),
		attribute.String("fleet.end", req.End.UTC().Format(time.RFC3339)),
		attribute.String("fleet.step", req.Step.String()),
		attribute.Int("fleet.needs", int(req.Needs)),
		attribute.Bool("fleet.from_alert", req.FromAlert),
	))
	began := time.Now()
	return ctx, func(how string, models int, err error) {
		took := time.Since(began)
		span.SetAttributes(attribute.String("fleet.read", how), attribute.Int("fleet.models", models))
		args := []any{"read", how, "start", req.Start, "end", req.End, "step", req.Step, "needs", int(req.Needs),
			"fromAlert", req.FromAlert, "models", models, "duration", took}
		if err != nil {
			args = append(args, failed(span, err)...)
		}
		span.End()
		o.logger.FromContext(ctx).Debug("Fleet read", args...)
	}
}

// queryRun observes one query of a read over its attempts: each attempt counts its own series and samples.
type queryRun struct {
	o                         observer
	ctx                       context.Context
	span                      trace.Span
	q                         fleetQuery
	began                     time.Time
	attempts, series, samples int
}

// query starts the span of one query of a fleet read.
func (o observer) query(ctx context.Context, q fleetQuery) (context.Context, *queryRun) {
	ctx, span := o.tracer.Start(ctx, "source.query", trace.WithAttributes(
		attribute.String("query.quantity", q.quantity),
		attribute.String("query.promql", q.promql),
		attribute.Bool("query.instant", q.instant),
		attribute.Bool("query.recorded", q.recorded),
	))
	return ctx, &queryRun{o: o, ctx: ctx, span: span, q: q, began: time.Now()}
}

// attempt counts an attempt and the series and samples it decodes into sink.
func (r *queryRun) attempt(sink seriesSink) seriesSink {
	r.attempts++
	r.series, r.samples = 0, 0
	return func(m model.Metric) (pointSink, error) {
		r.series++
		points, err := sink(m)
		if points == nil {
			return nil, err
		}
		return func(tMS int64, v float64) {
			r.samples++
			points(tMS, v)
		}, err
	}
}

// end records the query's outcome on its span and in a debug log line (PromQL, never the URL).
func (r *queryRun) end(err error) {
	took := time.Since(r.began)
	r.span.SetAttributes(
		attribute.Int("query.attempts", r.attempts),
		attribute.Int("query.series", r.series),
		attribute.Int("query.samples", r.samples),
		attribute.Int64("query.duration_ms", took.Milliseconds()),
	)
	args := []any{"quantity", r.q.quantity, "promql", r.q.promql, "instant", r.q.instant, "recorded", r.q.recorded,
		"duration", took, "series", r.series, "samples", r.samples, "attempts", r.attempts}
	if err != nil {
		args = append(args, failed(r.span, err)...)
	}
	r.span.End()
	r.o.logger.FromContext(r.ctx).Debug("Fleet query", args...)
}

// failed marks a span failed and says whose fault it was. The error's text stays out of logs and spans: it may
// quote what a server answered, credentials it echoed included, and only the plugin's sanitizer knows them.
func failed(span trace.Span, err error) []any {
	source := "plugin"
	if backend.IsDownstreamError(err) {
		source = "downstream"
	}
	span.SetStatus(codes.Error, "failed ("+source+" error)")
	return []any{"failed", true, "errorSource", source}
}
