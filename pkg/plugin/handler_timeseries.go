package plugin

import (
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/frames"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// fleetTimeseries answers one metric per selected model (or per group of them, groupBy) over time, as
// TimeSeriesMulti (alertable as is).
func (d *Datasource) fleetTimeseries(q models.Query, f *fleet.Fleet, _ bool) (data.Frames, error) {
	o := d.options.forQuery(q)
	o.Carbon = o.Carbon.WithLive(f.Intensity)
	metric := fleet.StepMetric(q.Metric)
	ms := selected(f, q)
	var floors fleet.IdleFloors // only idle_fraction depends on the idle floors
	var floorTypes []string
	if metric == fleet.MetricIdleFraction {
		floors, floorTypes = fleet.MeasureIdleFloors(f, o), gpuTypes(ms)
	}
	c := frames.NewContext(f, floors, floorTypes)
	switch metric {
	case fleet.MetricCostPerH:
		c = c.WithCost(o.Prices, o.Carbon, ms)
	case fleet.MetricCO2GPerH:
		c = c.WithIntensity(d.settings.Carbon.LiveIntensity(), fleet.LiveIntensityShare(ms, f.Grid, o.Carbon)).
			WithUnmatchedSites(d.unmatchedSites(f, o))
	}
	if by := fleet.GroupKey(q.GroupBy); by != fleet.GroupModel {
		groups, err := fleet.GroupStepSeries(ms, by, f.Grid, floors, o, metric)
		if err != nil {
			return nil, backend.PluginError(err)
		}
		return frames.GroupTimeSeries(f.Grid, metric, by, groups, c), nil
	}
	series := make([]frames.ModelSeries, 0, len(ms))
	for _, m := range ms {
		values, err := fleet.StepSeries(m, f.Grid, floors, o, metric)
		if err != nil {
			return nil, backend.PluginError(err)
		}
		series = append(series, frames.ModelSeries{Model: m.Name, GPUType: m.GPUType(), Values: values})
	}
	return frames.TimeSeries(f.Grid, metric, series, c), nil
}
