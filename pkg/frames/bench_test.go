package frames

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

type benchInput struct {
	grid   fleet.Grid
	series []ModelSeries
	curves []fleet.Curve
}

// benchInputs are the analyses' results for 100 busy models over 30 days at 60 s steps, ready to be framed.
var benchInputs = sync.OnceValue(func() benchInput {
	const n, models = 30 * 24 * 60, 100
	g := fleet.Grid{Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Step: time.Minute, N: n}
	o := fleet.DefaultOptions()
	var series []ModelSeries
	var curves []fleet.Curve
	for mi := range models {
		rate, power, gpus := make(fleet.Series, n), make(fleet.Series, n), make(fleet.Series, n)
		for i := range rate {
			rate[i] = 100 + 90*math.Sin(float64(i*(mi+1))/1440)
			power[i], gpus[i] = 720+3.5*rate[i], 8
		}
		m := &fleet.Model{
			Name: fmt.Sprintf("model-%02d", mi), GenerationTokensPerS: rate, PromptTokensPerS: make(fleet.Series, n),
			Placements: []fleet.Placement{{Host: "h", GPUType: a100, GPUs: gpus, PowerW: power, EnergyJ: math.NaN()}},
		}
		values, err := fleet.StepSeries(m, g, nil, o, fleet.MetricJPerToken)
		if err != nil {
			panic(err)
		}
		series = append(series, ModelSeries{Model: m.Name, GPUType: a100, Values: values})
		curves = append(curves, fleet.EfficiencyCurve(m, nil, o))
	}
	return benchInput{g, series, curves}
})

// BenchmarkFrames builds the frames of fleet-timeseries (j_per_token) and efficiency-curve for 100 models over
// 30 days at 60 s steps (4.3M points each).
func BenchmarkFrames(b *testing.B) {
	in := benchInputs()
	b.Run("fleet-timeseries", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			TimeSeries(in.grid, fleet.MetricJPerToken, in.series, Context{})
		}
	})
	b.Run("efficiency-curve", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			EfficiencyCurves(in.grid, in.curves, Context{})
		}
	})
}
