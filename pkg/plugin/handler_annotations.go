package plugin

import (
	"errors"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/frames"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// annotations answers the events of the selected models (idle stretches, moves onto other GPUs, right-sizing verdicts that changed) as one frame
// Grafana turns into annotations. Events are no numbers: an alert rule on them gets an error that says so.
func (d *Datasource) annotations(q models.Query, f *fleet.Fleet, fromAlert bool) (data.Frames, error) {
	if fromAlert {
		return nil, userErr(errors.New("the annotations query type answers events for dashboard annotations, nothing to alert on: alert on fleet-timeseries, idle-attribution or consolidation instead"))
	}
	in := d.sizingInputs(q, f)
	events := fleet.Events(f, q.Events, q.Selects, in.floors, in.options, in.sizing)
	return frames.Annotations(events, frames.NewContext(f, nil, nil)), nil
}
