package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
)

// CheckHealth is "Save & test": it reaches the engine and checks that the metric families of the mapping exist,
// naming the missing ones. A failure carries its source (settings and Prometheus downstream, a panic plugin).
func (d *Datasource) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (res *backend.CheckHealthResult, _ error) {
	defer func() {
		if r := recover(); r != nil {
			log.DefaultLogger.FromContext(ctx).Error("health check panicked", "panic", d.sanitize.text(fmt.Sprint(r)), "stack", string(debug.Stack()))
			res = &backend.CheckHealthResult{Status: backend.HealthStatusError, ErrorSource: backend.ErrorSourcePlugin,
				Message: fmt.Sprintf("internal error while checking the data source: %v (please report it)", r)}
		}
		res.Message = d.sanitize.text(res.Message)
		if len(res.JSONDetails) > 0 {
			res.JSONDetails = []byte(d.sanitize.text(string(res.JSONDetails)))
		}
	}()
	if d.settingsErr != nil {
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, ErrorSource: backend.ErrorSourceDownstream, Message: d.settingsErr.Error()}, nil
	}
	ctx, cancel := d.withDeadline(ctx)
	defer cancel()
	h := d.source.Health(ctx)
	res = &backend.CheckHealthResult{Status: backend.HealthStatusOk, Message: h.Message}
	if !h.OK {
		// Prometheus unreachable or refusing, or the metrics of the mapping missing: the user's to correct.
		res.Status, res.ErrorSource = backend.HealthStatusError, backend.ErrorSourceDownstream
	}
	if len(h.Details) > 0 {
		res.JSONDetails, _ = json.Marshal(h.Details)
	}
	return res, nil
}
