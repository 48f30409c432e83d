package sim_test

import (
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

// SizingFleet holds the cases right-sizing tests need, each stated by the truth over a pinned week.
func TestSizingFleetCases(t *testing.T) {
	s, err := sim.New(sim.SizingFleet(repEpoch), sim.DefaultSeed)
	require.NoError(t, err)
	from, to := repEpoch, repEpoch.Add(7*24*time.Hour)
	tr := s.Truth(from, to, time.Minute)
	project := func(model string, gpus int) sim.ServingTruth {
		p, ok := s.ProjectServing(model, gpus, from, to)
		require.True(t, ok)
		return p
	}
	const sloS = 2.0
	for _, c := range []struct {
		model                      string
		replicas, perReplica, gpus int
		types                      int
		check                      func(t *testing.T, mt sim.ModelTruth)
	}{
		{sim.SizingOversized, 1, 4, 4, 1, func(t *testing.T, mt sim.ModelTruth) {
			parked := float64(mt.GPUs) * mt.ParkedWPerGPU
			assert.Less(t, (mt.MeanPowerW-parked)/parked, 0.01, "within 1%% of parked power")
			var rates []float64
			for at := from.Add(time.Minute); !at.After(to); at = at.Add(time.Minute) {
				rates = append(rates, s.MeanTokensPerS(mt.Model, sim.TokensTotal, at.Add(-time.Minute), at))
			}
			sort.Float64s(rates)
			assert.InEpsilon(t, 70, rates[len(rates)*95/100], 0.1, "p95 of the per-minute rates is ~70 tok/s")
			one := project(mt.Model, 1)
			assert.True(t, one.Fits)
			assert.False(t, one.Queued, "one GPU serves it without a queue")
		}},
		{sim.SizingReplicas, 2, 2, 4, 1, nil},
		{sim.SizingMixed, 2, 1, 2, 2, nil},
		{sim.SizingPeaky, 1, 2, 2, 1, func(t *testing.T, mt sim.ModelTruth) {
			assert.False(t, mt.Serving.Queued, "its GPUs absorb its bursts")
			assert.Greater(t, mt.Serving.PeakUtilization, 0.5, "bursts use over half its capacity")
			assert.True(t, project(mt.Model, 1).Queued, "on one GPU its bursts queue")
		}},
		{sim.SizingSLO, 1, 4, 4, 1, func(t *testing.T, mt sim.ModelTruth) {
			assert.Less(t, mt.MemoryNeedGB, 2*sim.A100SXM80.MemoryGB*sim.GPUMemoryUtilization, "fits 2 GPUs by memory")
			assert.Less(t, mt.Serving.P95TTFTS, sloS)
			two := project(mt.Model, 2)
			assert.True(t, two.Fits)
			assert.Greater(t, two.P95TTFTS, sloS, "on 2 GPUs its p95 TTFT misses the SLO")
		}},
	} {
		t.Run(c.model, func(t *testing.T) {
			mt, ok := tr.Model(c.model)
			require.True(t, ok)
			assert.Equal(t, []int{c.replicas, c.perReplica, c.gpus, c.gpus, c.types},
				[]int{mt.Replicas, mt.GPUsPerReplica, mt.GPUs, mt.HeldGPUs, len(mt.ByGPUType)})
			if c.check != nil {
				c.check(t, mt)
			}
		})
	}
}
