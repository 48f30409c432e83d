package frames

import (
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

// ModelSeries is one model's values of a step metric, one per grid step (NaN is null).
type ModelSeries struct {
	Model   string
	GPUType string
	Values  fleet.Series
}

// metricUnits are the unit of each step metric.
var metricUnits = map[fleet.StepMetric]string{
	fleet.MetricPowerW:       UnitWatts,
	fleet.MetricTokensPerS:   UnitTokensPerS,
	fleet.MetricJPerToken:    UnitJPerToken,
	fleet.MetricIdleFraction: UnitShare,
	fleet.MetricCO2GPerH:     UnitGPerH,
}

// TimeSeries is a dataplane TimeSeriesMulti (v0.1): one frame per model, each a time field and a value field
// named after the metric with labels model and gpu_type, shown under the model's name. No models give the
// dataplane's "no data" frame. Values are not copied: they must not change after.
func TimeSeries(g fleet.Grid, metric fleet.StepMetric, series []ModelSeries, c Context) data.Frames {
	return timeSeries(g, metric, len(series), func(i int) (string, data.Labels, fleet.Series) {
		s := &series[i]
		return s.Model, modelLabels(s.Model, s.GPUType), s.Values
	}, c)
}

// GroupTimeSeries is TimeSeries with one frame per group, labelled with the key it groups by.
func GroupTimeSeries(g fleet.Grid, metric fleet.StepMetric, by fleet.GroupKey, series []fleet.GroupSeries, c Context) data.Frames {
	return timeSeries(g, metric, len(series), func(i int) (string, data.Labels, fleet.Series) {
		s := &series[i]
		return groupName(s.Key, by), data.Labels{string(by): s.Key}, s.Values
	}, c)
}

// timeSeries builds the frames of n series, each given by its name, labels and values.
func timeSeries(g fleet.Grid, metric fleet.StepMetric, n int, series func(i int) (string, data.Labels, fleet.Series), c Context) data.Frames {
	meta := func() *data.FrameMeta {
		return &data.FrameMeta{Type: data.FrameTypeTimeSeriesMulti, TypeVersion: typeVersion, PreferredVisualization: data.VisTypeGraph}
	}
	if n == 0 {
		return c.Apply(data.Frames{data.NewFrame("").SetMeta(meta())})
	}
	unit := metricUnits[metric]
	if metric == fleet.MetricCostPerH {
		unit = c.CurrencyUnit
	}
	times := make([]time.Time, g.N)
	for i := range times {
		times[i] = g.At(i)
	}
	// Every frame is on the same grid and encoding only reads the field: one time field for all of them saves
	// a copy per model (24 MB for 1000 models over 1000 steps).
	timeField := data.NewField("time", nil, times)
	frames := make(data.Frames, 0, n)
	for i := range n {
		name, labels, values := series(i)
		value := nullable(string(metric), labels, values).SetConfig(&data.FieldConfig{DisplayNameFromDS: name, Unit: unit})
		frames = append(frames, data.NewFrame(name, timeField, value).SetMeta(meta()))
	}
	return c.Apply(frames)
}

// groupName is how a group is shown: its key, or "(no namespace)" for the group without one (the unallocated
// GPUs by namespace). Labels keep the empty key, as alert rules see it.
func groupName(key string, by fleet.GroupKey) string { return cmpOr(key, "(no "+string(by)+")") }
