package plugin

import (
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/frames"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// consolidation answers the spin-down and co-location actions over the selected models, their idle gaps and
// the idle_hours frame for alerts; an alert rule gets the idle_hours frame only.
func (d *Datasource) consolidation(q models.Query, f *fleet.Fleet, fromAlert bool) (data.Frames, error) {
	in := d.sizingInputs(q, f)
	plan := fleet.Consolidate(f, q.Selects, in.floors, in.options, in.sizing)
	if fromAlert {
		return in.context.Apply(data.Frames{frames.IdleHoursLong(plan.Idle)}), nil
	}
	return frames.Consolidation(plan, in.context), nil
}
