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
	in, err := d.sizingInputs(q, f)
	if err != nil {
		return nil, err
	}
	plan := fleet.Consolidate(f, q.Selects, in.floors, in.options, in.sizing)
	if fromAlert(ctx) {
		return in.context.Apply(data.Frames{frames.IdleHoursLong(plan.Idle)}), nil
	}
	return frames.Consolidation(plan, in.context), nil
}
