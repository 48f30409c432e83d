package plugin

import (
	"context"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/frames"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// consolidation answers the spin-down and co-location actions over the selected models, their idle gaps and
// the idle_hours frame for alerts; an alert rule gets the idle_hours frame only.
func (d *Datasource) consolidation(ctx context.Context, q models.Query, f *fleet.Fleet, _ backend.DataQuery) (data.Frames, error) {
	o, floors, ms, err := d.prepare(q, f)
	if err != nil {
		return nil, err
	}
	plan := fleet.Consolidate(f, q.Selects, floors, o, sizingOptions(d.settings, q))
	c := frames.NewContext(f, floors, gpuTypes(ms))
	if fromAlert(ctx) {
		return c.Apply(data.Frames{frames.IdleHoursLong(plan.Idle)}), nil
	}
	return frames.Consolidation(plan, c), nil
}
