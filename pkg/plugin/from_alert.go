package plugin

import (
	"context"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

type fromAlertKey struct{}

// withFromAlert records in ctx whether the request comes from an alert rule evaluation (header FromAlert):
// such queries must answer only frames the alerting engine can read (TimeSeriesMulti, NumericLong,
// NumericWide).
func withFromAlert(ctx context.Context, req *backend.QueryDataRequest) context.Context {
	_, ok := req.Headers[backend.FromAlertHeaderName]
	return context.WithValue(ctx, fromAlertKey{}, ok)
}

// fromAlert reports whether the query being answered comes from an alert rule.
func fromAlert(ctx context.Context) bool {
	v, _ := ctx.Value(fromAlertKey{}).(bool)
	return v
}
