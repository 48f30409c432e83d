// Package framestest reads the plugin's data frames in tests.
package framestest

import (
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// StepSums is, at each time, the sum of the values of time series frames (time field first, value second),
// null values left out: what per-model and per-group series must agree on.
func StepSums(frames data.Frames) map[time.Time]float64 {
	out := map[time.Time]float64{}
	for _, f := range frames {
		for i := range f.Rows() {
			if v, ok := f.Fields[1].ConcreteAt(i); ok {
				out[f.Fields[0].At(i).(time.Time)] += v.(float64)
			}
		}
	}
	return out
}
