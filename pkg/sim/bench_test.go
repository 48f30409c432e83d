package sim_test

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

// BenchmarkHistory100Models7Days is the history of the benchmark fleet (`fleetsim history --models 100
// --days 7 --step 60s`) without the disk: the file is ~4.4 GB, so writing it is bound by the disk.
func BenchmarkHistory100Models7Days(b *testing.B) {
	s, err := sim.New(sim.ScaledFleet(100, 1, testEpoch), 1)
	require.NoError(b, err)
	for b.Loop() {
		st, err := s.WriteHistory(io.Discard, sim.HistoryOptions{Start: testEpoch, End: testEnd, Step: time.Minute})
		require.NoError(b, err)
		n := 0
		for _, c := range st.Samples {
			n += c
		}
		b.ReportMetric(float64(n), "samples/op")
	}
}
