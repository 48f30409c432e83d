package plugin

import (
	"context"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/frames"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// fleetSummary answers the totals of the selected models (unallocated GPUs included) as NumericWide; with a
// groupBy other than model, the totals of each group as NumericLong (an alert gets idle_cost_per_day only).
func (d *Datasource) fleetSummary(ctx context.Context, q models.Query, f *fleet.Fleet, _ backend.DataQuery) (data.Frames, error) {
	atts, o, c, err := d.attributions(q, f)
	if err != nil {
		return nil, err
	}
	if groups, by := grouped(q, atts, f.Grid, o); groups != nil {
		if fromAlert(ctx) {
			return frames.GroupLong("idle_cost_per_day", groups, by, c), nil
		}
		return frames.GroupSummary(groups, by, c), nil
	}
	return frames.FleetSummary(fleet.Summarize(atts, f.Grid, o), c), nil
}
