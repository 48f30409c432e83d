package plugin

import (
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/frames"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// rightSizing answers the right-sizing table of the selected models and the saving_w frame for alerts; an
// alert rule gets the saving_w frame only.
func (d *Datasource) rightSizing(q models.Query, f *fleet.Fleet, fromAlert bool) (data.Frames, error) {
	in := d.sizingInputs(q, f)
	rows := fleet.RightSizeFleet(f, q.Selects, in.floors, in.options, in.sizing)
	if fromAlert {
		return in.context.Apply(data.Frames{frames.SavingLong(rows)}), nil
	}
	return frames.RightSizing(rows, in.context), nil
}

// sizingInputs are what right-sizing and consolidation start from.
type sizingInputs struct {
	options fleet.Options
	floors  fleet.IdleFloors
	sizing  fleet.SizingOptions
	// context is that of a response about the selected models.
	context frames.Context
}

func (d *Datasource) sizingInputs(q models.Query, f *fleet.Fleet) sizingInputs {
	o, floors, ms := d.prepare(q, f)
	return sizingInputs{options: o, floors: floors, sizing: d.options.sizingFor(q), context: frames.NewContext(f, floors, gpuTypes(ms)).WithCost(o.Prices, o.Carbon, ms)}
}

// sizingOptions are the right-sizing and consolidation options of the settings: their model sizes on top of the
// built-in catalog.
func sizingOptions(s *models.Settings) fleet.SizingOptions {
	so := fleet.DefaultSizingOptions()
	overrides := make([]fleet.SizeOverride, len(s.ModelSizes))
	for i, m := range s.ModelSizes {
		overrides[i] = fleet.SizeOverride{Model: m.Model, ParamsB: m.ParamsB, Dtype: m.Dtype}
	}
	so.Sizes = fleet.NewModelSizes(fleet.DefaultModelSizes, overrides)
	return so
}

// sizingFor are the right-sizing and consolidation options of a query, on top of the instance's.
func (a analysisOptions) sizingFor(q models.Query) fleet.SizingOptions {
	so := a.sizing
	so.KVHeadroom = q.KVHeadroom
	so.TrafficMargin = q.TrafficMargin
	so.MinHistory = time.Duration(q.MinHistoryHours * float64(time.Hour))
	so.SpinDownIdleShare = q.SpinDownIdleShare
	so.ContextTokens = q.ContextTokens
	so.FreedGPUs = fleet.FreedGPUs(q.FreedGPUs)
	so.SLO = sloOf(a.slo, q)
	return so
}

// sloOf is the data source's latency SLO (the defaults where a field is unset) with the query's overrides on top.
func sloOf(s models.SLOSettings, q models.Query) fleet.SLO {
	pick := func(setting *float64, def, query float64) float64 {
		switch {
		case query > 0:
			return query
		case setting != nil:
			return *setting
		}
		return def
	}
	return fleet.SLO{
		TTFTP95: seconds(pick(s.TTFTP95Seconds, models.DefaultTTFTP95Seconds, q.TTFTP95Seconds)),
		ITLP95:  seconds(pick(s.ITLP95Seconds, models.DefaultITLP95Seconds, q.ITLP95Seconds)),
	}
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
