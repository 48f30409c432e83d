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
	meta := func() *data.FrameMeta {
		return &data.FrameMeta{Type: data.FrameTypeTimeSeriesMulti, TypeVersion: typeVersion, PreferredVisualization: data.VisTypeGraph}
	}
	if len(series) == 0 {
		return c.Apply(data.Frames{data.NewFrame("").SetMeta(meta())})
	}
	times := make([]time.Time, g.N)
	for i := range times {
		times[i] = g.At(i)
	}
	// Every frame is on the same grid and encoding only reads the field: one time field for all of them saves
	// a copy per model (24 MB for 1000 models over 1000 steps).
	timeField := data.NewField("time", nil, times)
	frames := make(data.Frames, 0, len(series))
	for _, s := range series {
		value := nullable(string(metric), modelLabels(s.Model, s.GPUType), s.Values).
			SetConfig(&data.FieldConfig{DisplayNameFromDS: s.Model, Unit: metricUnits[metric]})
		frames = append(frames, data.NewFrame(s.Model, timeField, value).SetMeta(meta()))
	}
	return c.Apply(frames)
}
