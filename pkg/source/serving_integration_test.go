package source

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/promtest"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

// The simulator's sizing fleet with vLLM's serving signals, three days (a verdict needs two) pinned to a fixed
// window, read through a real Prometheus: the power and token read of the fleet, the serving queries of
// serving.go, then right-sizing, with and without the serving signals.
var (
	servingEnd   = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	servingStart = servingEnd.Add(-3 * 24 * time.Hour)
)

const servingStep = 5 * time.Minute

func servingHistory(t *testing.T, s *sim.Sim) *promtest.Server {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "history.om")
	f, err := os.Create(path)
	require.NoError(t, err)
	_, err = s.WriteHistory(f, sim.HistoryOptions{Start: servingStart.Add(-time.Hour), End: servingEnd, Step: simScrape, Naming: sim.Naming{Serving: true}})
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return promtest.Start(t, promtest.Options{Backfill: path})
}

func TestRightSizingWithServingSignalsThroughPrometheus(t *testing.T) {
	// Exporters upgraded piecemeal: every second model runs a vLLM before v0.9, with the older names of the
	// KV gauge and the inter-token histogram.
	s, err := sim.New(sim.MixVariants(sim.SizingFleet(servingStart.Add(-time.Hour))), sim.DefaultSeed)
	require.NoError(t, err)
	srv := servingHistory(t, s)
	cfg := testSettings(t, srv.URL, func(c *models.Settings) { c.ScrapeInterval = simScrape.String() })
	p, _ := newTestSource(t, cfg, servingEnd)
	read := func() *fleet.Fleet {
		f, err := p.Fleet(context.Background(), Request{Start: servingStart.Add(servingStep), End: servingEnd, Step: servingStep})
		require.NoError(t, err)
		return f
	}
	truth := s.Truth(servingStart, servingEnd, servingStep)
	// The read path's own serving queries, decoded onto each model.
	served := map[string]*fleet.Serving{}
	for _, m := range read().Models {
		served[m.Name] = m.Serving
	}

	// The signals as read against the simulator's own account of the window.
	for _, name := range []string{sim.SizingOversized, sim.SizingSLO, sim.SizingPeaky} {
		mt, _ := truth.Model(name)
		sv := served[name]
		require.NotNil(t, sv, name)
		// Requests are counted exactly by the counter's increase; the p95 latencies come from bucket
		// boundaries (histogram_quantile interpolates within a bucket: vLLM's TTFT buckets are 1.5-4x wide
		// at these latencies), so a step's p95 is within its bucket of the truth: compare the window's worst
		// step with the truth's p95 at bucket resolution.
		assert.InEpsilon(t, mt.Serving.Requests, sv.Requests, 0.01, name)
		ttft := fleet.Quantile(sv.TTFTP95S, 1)
		assert.Greater(t, ttft, mt.Serving.P95TTFTS/4, name)
		assert.Less(t, ttft, mt.Serving.P95TTFTS*4, name)
		assert.Positive(t, sv.KVCacheTokensPerReplica, name)
		// Read under either name (the bursty model's vLLM predates v0.9).
		assert.NotNil(t, sv.ITLP95S, name)
		assert.NotNil(t, sv.KVCacheUsage, name)
		assert.Equal(t, mt.Serving.Queued, fleet.Quantile(sv.RequestsWaiting, 1) >= 1, name)
	}

	// The freed A100s go back to the pool, where the fleet's one unallocated A100 (on its own node) draws:
	unallocatedA100W := truth.Unallocated.EnergyJByHost[sim.HostSizingA100b] / servingEnd.Sub(servingStart).Seconds()

	for _, withServing := range []bool{false, true} {
		// A copy: the read is shared and kept, and analyses never modify a fleet.
		f := *read()
		f.Models = slices.Clone(f.Models)
		if !withServing {
			for i := range f.Models {
				f.Models[i].Serving = nil
			}
		}
		o := fleet.DefaultOptions()
		floors := fleet.MeasureIdleFloors(&f, o)
		got := map[string]fleet.RightSizing{}
		for _, r := range fleet.RightSizeFleet(&f, nil, floors, o, fleet.DefaultSizingOptions()) {
			got[r.Model] = r
		}
		name := map[bool]string{false: "from physics and power alone", true: "with the serving signals"}[withServing]
		t.Run(name, func(t *testing.T) {
			t.Run("the oversized 7B moves to one GPU", func(t *testing.T) {
				mt, _ := truth.Model(sim.SizingOversized)
				one, _ := s.ProjectServing(sim.SizingOversized, 1, servingStart, servingEnd)
				require.False(t, one.Queued, "the truth: one GPU serves it without a queue")
				r := got[sim.SizingOversized]
				assert.True(t, r.Oversized, r.Reason)
				assert.Equal(t, 1, r.RecommendedGPUs)
				// Each freed GPU draws its parked power now and the pool's idle power after: 3 x (parked -
				// pool), the stated baseline, within 5% (the power noise and the fit's intercept).
				assert.InEpsilon(t, 3*(mt.ParkedWPerGPU-unallocatedA100W), r.SavingW, 0.05, r.Reason)
				if withServing {
					assert.True(t, r.LatencyChecked, r.Reason)
					assert.NotContains(t, r.Reason, "not checked")
				} else {
					assert.Contains(t, r.Reason, "saturation not checked")
					assert.Contains(t, r.Reason, "latency not checked")
				}
			})
			t.Run("the model with replicas gets a per-replica recommendation", func(t *testing.T) {
				mt, _ := truth.Model(sim.SizingReplicas)
				require.Equal(t, 2, mt.Replicas)
				require.Equal(t, 2, mt.GPUsPerReplica)
				// The truth: with one GPU per replica (half the GPUs) it neither queues nor nears the SLOs.
				half, _ := s.ProjectServing(sim.SizingReplicas, 1, servingStart, servingEnd)
				require.True(t, half.Fits && !half.Queued && half.P95TTFTS < 2 && half.P95ITLS < 0.2, "%+v", half)
				r := got[sim.SizingReplicas]
				assert.Equal(t, 2, r.Replicas)
				assert.Equal(t, 2, r.GPUsPerReplica)
				assert.True(t, r.Oversized, r.Reason)
				assert.Equal(t, 2, r.RecommendedGPUs, "half its GPUs, as the truth allows")
				assert.Equal(t, r.RecommendedGPUs, r.RecommendedReplicas*r.RecommendedGPUsPerReplica)
				assert.Equal(t, 2, r.GPUsFreed)
				assert.Contains(t, r.Reason, "1 replica of 2 GPUs instead of 2 replicas of 2 GPUs")
			})
			t.Run("the bursty model keeps the GPUs its peaks need", func(t *testing.T) {
				one, _ := s.ProjectServing(sim.SizingPeaky, 1, servingStart, servingEnd)
				require.True(t, one.Queued, "the truth: on one GPU its bursts queue")
				r := got[sim.SizingPeaky]
				assert.False(t, r.Oversized, r.Reason)
				assert.Equal(t, 2, r.RecommendedGPUs)
			})
			t.Run("the model that would miss its TTFT SLO on fewer GPUs keeps them", func(t *testing.T) {
				two, _ := s.ProjectServing(sim.SizingSLO, 2, servingStart, servingEnd)
				require.Greater(t, two.P95TTFTS, 2.0, "the truth: on 2 GPUs its p95 TTFT exceeds 2 s")
				r := got[sim.SizingSLO]
				assert.Equal(t, 2, r.MinGPUsByMemory, "fits 2 by memory")
				assert.False(t, r.Oversized, r.Reason)
				assert.Equal(t, 4, r.RecommendedGPUs)
				if withServing {
					assert.Contains(t, r.Reason, "on 2x: projected time to first token p95")
				} else {
					assert.Contains(t, r.Reason, "latency not checked")
				}
			})
		})
	}
}
