package plugin

import (
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/frames"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// efficiencyCurve answers the fit table, binned curves and points of the selected models; an alert rule gets
// the fitted k_j_per_token by model only.
func (d *Datasource) efficiencyCurve(q models.Query, f *fleet.Fleet, fromAlert bool) (data.Frames, error) {
	o, floors, ms := d.prepare(q, f)
	curves := make([]fleet.Curve, len(ms))
	for i, m := range ms {
		curves[i] = fleet.EfficiencyCurve(m, floors, o)
	}
	c := frames.NewContext(f, floors, nil)
	if fromAlert {
		return c.Apply(data.Frames{frames.FitLong(curves)}), nil
	}
	return frames.EfficiencyCurves(f.Grid, curves, c), nil
}
