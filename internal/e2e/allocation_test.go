package e2e

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/promtest"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

// The sizing fleet over two pinned days, its exporters upgraded piecemeal (hostname and Hostname, the energy
// counter on some nodes only, old and new vLLM metric names), the L40 replica of the model served on two GPU
// types restarting onto another L40, and a one-GPU model moving to another node, each in the middle of a step.
var (
	mixedEnd   = weekEnd
	mixedStart = mixedEnd.Add(-2 * 24 * time.Hour)
	mixedSim   = mustSim(mixedSpec(), sim.DefaultSeed)
	mixedDays  = promtest.NewFixture(historyOf(mixedSim, mixedStart, mixedEnd))
)

const (
	restartedModel = "olmo-2-7b-moved"
	restartedFrom  = "sizing-a100-03.nyu.edu"
	// Two models that only sit parked on one node's A100s: a tensor-parallel MoE whose GPUs park 22 W higher
	// than the type's, and a dense model at the type's parked power.
	parkedNode  = "sizing-a100-04.ucsd.edu"
	parkedMoE   = "Kimi-K2.5"
	parkedDense = "MiniMax-M2.5"
)

func mixedSpec() sim.Spec {
	spec := sim.SizingFleet(mixedStart.Add(-7 * 24 * time.Hour))
	spec.Nodes = append(spec.Nodes, sim.Node{Host: restartedFrom, GPUType: sim.A100SXM80.Name, GPUs: 1})
	spec.Models = append(spec.Models, sim.ModelSpec{
		Name: restartedModel, Namespace: "olmo", GPUType: sim.A100SXM80.Name, GPUs: 1, Hosts: []string{restartedFrom},
		ParamsB: 7, BytesPerParam: 2, PromptPerGeneration: 2, MarginalJPerToken: 0.1,
		Traffic: sim.Traffic{BaseTokensPerS: 40, DailyAmplitude: 0.5, PeakHourUTC: 18, Noise: 0.1},
	})
	spec.Nodes = append(spec.Nodes, sim.Node{Host: parkedNode, GPUType: sim.A100SXM80.Name, GPUs: 8})
	spec.Models = append(spec.Models,
		sim.ModelSpec{Name: parkedMoE, Namespace: "idle", GPUType: sim.A100SXM80.Name, GPUs: 4, Hosts: []string{parkedNode}, ParamsB: 1000, BytesPerParam: 0.5, ParkedExtraW: 22, MarginalJPerToken: 1},
		sim.ModelSpec{Name: parkedDense, Namespace: "idle", GPUType: sim.A100SXM80.Name, GPUs: 4, Hosts: []string{parkedNode}, ParamsB: 230, BytesPerParam: 1, MarginalJPerToken: 1},
	)
	spec = sim.MixVariants(spec)
	spec.Mess.Restarts = []sim.Restart{
		{Model: sim.SizingMixed, Replicas: []int{1}, At: mixedEnd.Add(-30*time.Hour + 7*time.Minute + 20*time.Second), Down: 40 * time.Second, ToHosts: []string{sim.HostSizingL40}},
		{Model: restartedModel, At: mixedEnd.Add(-20*time.Hour + 3*time.Minute + 10*time.Second), Down: 30 * time.Second, ToHosts: []string{sim.HostSizingA100b}},
	}
	return spec
}

// TestAllocationsAsTheyAre: whole GPUs held most of the window, replicas and their tensor-parallel size, on a
// fleet whose exporters are of mixed versions; power and J/token hold there too.
func TestAllocationsAsTheyAre(t *testing.T) {
	t.Parallel()
	got, truth := analyses(t, mixedDays, mixedSim, mixedStart, mixedEnd, nil, models.QueryIdleAttribution)
	attribution := got[models.QueryIdleAttribution][0]
	table := rows(t, attribution)
	// A model served on two GPU types is a row per (model, GPU type), never one blended row.
	byType := rowsWith(attribution, func(row map[string]any) string { return fmt.Sprint(row["model"], " on ", row["gpu_type"]) })
	for _, m := range truth.Models {
		t.Run(m.Model, func(t *testing.T) {
			if len(m.ByGPUType) > 1 {
				for _, tt := range m.ByGPUType {
					row := byType[m.Model+" on "+tt.GPUType]
					require.NotNil(t, row, "%s on %s", m.Model, tt.GPUType)
					assert.Equal(t, float64(tt.GPUs), row["gpus"], tt.GPUType)
					assert.Equal(t, float64(tt.Replicas), row["replicas"], tt.GPUType)
					assert.InEpsilon(t, tt.MeanPowerW, row["power_w"], 0.01, "%s power W", tt.GPUType)
					assert.InEpsilon(t, tt.EnergyJ/tt.Tokens, row["j_per_token"], 0.02, "%s J/token", tt.GPUType)
				}
				return
			}
			row := table[m.Model]
			require.NotNil(t, row)
			assert.Equal(t, float64(m.HeldGPUs), row["gpus"], "whole GPUs, held most of the window")
			assert.Equal(t, float64(m.Replicas), row["replicas"])
			if m.GPUsPerReplica > 0 {
				assert.Equal(t, float64(m.GPUsPerReplica), row["gpus_per_replica"])
			} else {
				assert.Nil(t, row["gpus_per_replica"], "replicas of different sizes")
			}
			assert.InEpsilon(t, m.MeanPowerW, row["power_w"], 0.01, "power W")
			if !m.Idle && !math.IsNaN(m.JPerToken) {
				assert.InEpsilon(t, m.JPerToken, row["j_per_token"], 0.02, "J/token")
			}
		})
	}
	assert.Len(t, byType, len(table)+1, "one model, on two GPU types, has two rows")
	assert.Equal(t, 2.0, table[sim.SizingReplicas]["replicas"], "2 replicas")
	assert.Equal(t, 2.0, table[sim.SizingReplicas]["gpus_per_replica"], "of 2 GPUs each")
	assert.Equal(t, 4.0, table[sim.SizingReplicas]["gpus"])
	assert.Equal(t, 1.0, table[restartedModel]["gpus"], "a one-GPU model that moved to another node holds one GPU")

	// Idle floors that belong to the model: each parked model is judged against its own parked power; the
	// busy models of the type against the pooled floor. The floor is the 25th percentile of the parked power,
	// whose noise is +-PowerNoiseW: within 1% of the truth.
	for _, name := range []string{parkedMoE, parkedDense} {
		mt, _ := truth.Model(name)
		assert.Equal(t, "model", table[name]["idle_source"], name)
		assert.InEpsilon(t, mt.ParkedWPerGPU, table[name]["idle_floor_w"], 0.01, name)
		assert.InDelta(t, 1, table[name]["idle_fraction"], 1e-9, "%s: all of its power is idle", name)
	}
	assert.Equal(t, "measured", table[sim.SizingOversized]["idle_source"], "a busy model: the type's pooled floor")
}
