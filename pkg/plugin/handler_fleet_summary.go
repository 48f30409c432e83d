package plugin

import (
	"context"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/frames"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// fleetSummary answers the totals of the selected models (unallocated GPUs included) as NumericWide.
func (d *Datasource) fleetSummary(_ context.Context, q models.Query, f *fleet.Fleet, _ backend.DataQuery) (data.Frames, error) {
	atts, o, c, err := d.attributions(q, f)
	if err != nil {
		return nil, err
	}
	return frames.FleetSummary(fleet.Summarize(atts, f.Grid, o), c), nil
}
