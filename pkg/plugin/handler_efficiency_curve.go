package plugin

import (
	"context"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/frames"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// efficiencyCurve answers the fit table, binned curves and points of the selected models; an alert rule gets
// the fitted k_j_per_token by model only.
func (d *Datasource) efficiencyCurve(ctx context.Context, q models.Query, f *fleet.Fleet, _ backend.DataQuery) (data.Frames, error) {
	o, floors, ms, err := d.prepare(q, f)
	if err != nil {
		return nil, err
	}
	curves := make([]fleet.Curve, len(ms))
	for i, m := range ms {
		curves[i] = fleet.EfficiencyCurve(m, floors, o)
	}
	c := frames.NewContext(f, floors, nil)
	if fromAlert(ctx) {
		return c.Apply(data.Frames{frames.FitLong(curves)}), nil
	}
	return frames.EfficiencyCurves(f.Grid, curves, c), nil
}
