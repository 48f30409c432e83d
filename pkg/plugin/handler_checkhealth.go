package plugin

import (
	"context"
	"encoding/json"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// CheckHealth is "Save & test": it reaches the engine and checks that the metric families of the mapping exist,
// naming the missing ones.
func (d *Datasource) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	if d.settingsErr != nil {
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: d.settingsErr.Error()}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, d.settings.Timeout())
	defer cancel()
	h := d.source.Health(ctx)
	res := &backend.CheckHealthResult{Status: backend.HealthStatusOk, Message: h.Message}
	if !h.OK {
		res.Status = backend.HealthStatusError
	}
	if len(h.Details) > 0 {
		res.JSONDetails, _ = json.Marshal(h.Details)
	}
	return res, nil
}
