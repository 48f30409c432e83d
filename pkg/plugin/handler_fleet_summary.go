package plugin

import (
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/frames"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// fleetSummary answers the totals of the selected models (unallocated GPUs included) as NumericWide; with a
// groupBy other than model, the totals of each group as NumericLong (an alert gets idle_cost_per_day only).
func (d *Datasource) fleetSummary(q models.Query, f *fleet.Fleet, fromAlert bool) (data.Frames, error) {
	atts, o, c := d.attributions(q, f)
	if groups, by := grouped(q, atts, f.Grid, o); groups != nil {
		if fromAlert {
			return frames.GroupLong("idle_cost_per_day", groups, by, c), nil
		}
		return frames.GroupSummary(groups, by, c), nil
	}
	return frames.FleetSummary(fleet.Summarize(atts, f.Grid, o), c), nil
}
