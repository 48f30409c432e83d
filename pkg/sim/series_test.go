package sim_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

// EachSeries hands a TSDB writer exactly what the history file holds: the same series (a restarted pod's GPUs
// under both holders), labels and samples (none in the scrape gap), in ascending time per series.
func TestEachSeriesIsTheHistoryFile(t *testing.T) {
	s := defaultSim(t, true)
	o := sim.HistoryOptions{Start: testEpoch.Add(sim.DefaultRestartAfter - 12*time.Hour), End: testEpoch.Add(sim.DefaultGapAfter + time.Hour),
		Step: 15 * time.Minute, Naming: sim.Naming{Exported: true}}
	fromFile, _, _ := history(t, s, o)
	for i := range fromFile {
		fromFile[i].series = "" // the text of the line, which a series handed over has none of
	}

	var fromSeries []sample
	require.NoError(t, s.EachSeries(o, func(hs sim.HistorySeries) {
		labels := map[string]string{}
		for _, l := range hs.Labels {
			if l.Name != "job" && l.Name != "instance" {
				labels[l.Name] = l.Value
			}
		}
		last := int64(-1)
		hs.Samples(func(tMS int64, v float64) {
			require.Greater(t, tMS, last, "samples of %s %v in ascending time", hs.Metric, labels)
			last = tMS
			fromSeries = append(fromSeries, sample{name: hs.Metric, labels: labels, value: v, tMS: tMS})
		})
	}))
	require.Len(t, fromSeries, len(fromFile))
	assert.Equal(t, fromFile, fromSeries)
}
