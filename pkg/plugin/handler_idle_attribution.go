package plugin

import (
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/frames"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// idleAttribution answers the idle attribution table of the selected models and the idle_fraction frame for
// alerts; an alert rule gets the idle_fraction frame only. With a groupBy other than model, one row per group.
func (d *Datasource) idleAttribution(q models.Query, f *fleet.Fleet, fromAlert bool) (data.Frames, error) {
	atts, o, c := d.attributions(q, f)
	if groups, by := grouped(q, atts, f.Grid, o); groups != nil {
		if fromAlert {
			return frames.GroupLong("idle_fraction", groups, by, c), nil
		}
		return frames.GroupTable(groups, by, c), nil
	}
	if fromAlert {
		return c.Apply(data.Frames{frames.IdleFractionLong(atts)}), nil
	}
	return frames.IdleAttribution(atts, c), nil
}

// attributions is the idle attribution of the models the query selects, the options it was made with, and
// the context of a response about them (executed queries; notices on idle floors and gaps).
func (d *Datasource) attributions(q models.Query, f *fleet.Fleet) ([]fleet.Attribution, fleet.Options, frames.Context) {
	o, floors, ms := d.prepare(q, f)
	atts := make([]fleet.Attribution, len(ms))
	for i, m := range ms {
		atts[i] = fleet.Attribute(m, f.Grid, floors, o)
		atts[i].WithFitSlope(fleet.EfficiencyCurve(m, floors, o).Fit)
	}
	c := frames.NewContext(f, floors, gpuTypes(ms)).WithGaps(atts).WithMarginalNoise(atts).WithCost(o.Prices, o.Carbon, ms)
	return atts, o, d.withCarbon(c, f, o, atts)
}
