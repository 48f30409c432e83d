package plugin

import (
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/frames"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// fleetSummary answers the totals of the selected models (unallocated GPUs included) as NumericWide.
func (d *Datasource) fleetSummary(q models.Query, f *fleet.Fleet, _ bool) (data.Frames, error) {
	atts, o, c := d.attributions(q, f)
	return frames.FleetSummary(fleet.Summarize(atts, f.Grid, o), c), nil
}
