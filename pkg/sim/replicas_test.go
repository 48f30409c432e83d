package sim_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

const (
	hostRepA = "rep-a.sdsc.optiputer.net"
	hostRepB = "rep-b.ucsd.edu"
	hostRepH = "rep-h.unl.edu"
)

// replicaFleet has a model of 2 replicas x 2 A100 on two hosts, a model on 2 A100 + 1 H100 (a costlier
// J/token on the H100), and with restart, replica 1 of the first model restarting for 30 minutes.
func replicaFleet(epoch time.Time, restart bool) sim.Spec {
	traffic := sim.Traffic{BaseTokensPerS: 600, DailyAmplitude: 0.4, PeakHourUTC: 20, Noise: 0.2}
	s := sim.Spec{
		Epoch: epoch, Tick: sim.DefaultTick, PowerNoiseW: 0.5, DriverVersion: "570.133.20",
		GPUTypes: []sim.GPUType{sim.A100SXM80, sim.H100SXM},
		Nodes: []sim.Node{
			{Host: hostRepA, GPUType: sim.A100SXM80.Name, GPUs: 4},
			{Host: hostRepB, GPUType: sim.A100SXM80.Name, GPUs: 4},
			{Host: hostRepH, GPUType: sim.H100SXM.Name, GPUs: 2},
		},
		Models: []sim.ModelSpec{
			{Name: "pair-8B", Namespace: "rep", ParamsB: 8, BytesPerParam: 2, Traffic: traffic, PromptPerGeneration: 2, MarginalJPerToken: 0.3,
				Replicas: []sim.ReplicaSpec{
					{GPUType: sim.A100SXM80.Name, GPUs: 2, Hosts: []string{hostRepA}},
					{GPUType: sim.A100SXM80.Name, GPUs: 2, Hosts: []string{hostRepB}},
				}},
			{Name: "mixed-32B", Namespace: "rep", ParamsB: 32, BytesPerParam: 2, Traffic: traffic, PromptPerGeneration: 3, MarginalJPerToken: 0.5,
				Replicas: []sim.ReplicaSpec{
					{GPUType: sim.A100SXM80.Name, GPUs: 2, Hosts: []string{hostRepA}},
					{GPUType: sim.H100SXM.Name, GPUs: 1, Hosts: []string{hostRepH}, MarginalJPerToken: 0.8},
				}},
		},
	}
	if restart {
		s.Mess.Restarts = []sim.Restart{{Model: "pair-8B", Replicas: []int{1}, At: epoch.Add(30 * time.Hour), Down: 30 * time.Minute}}
	}
	return s
}

var (
	repEpoch = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	repEnd   = repEpoch.Add(2 * 24 * time.Hour)
)

func TestReplicasTruth(t *testing.T) {
	s, err := sim.New(replicaFleet(repEpoch, false), sim.DefaultSeed)
	require.NoError(t, err)
	tr := s.Truth(repEpoch, repEnd, time.Minute)
	for _, c := range []struct {
		model                            string
		replicas, perReplica, gpus, held int
		types                            []sim.TypeTruth
	}{
		{"pair-8B", 2, 2, 4, 4, []sim.TypeTruth{{GPUType: sim.A100SXM80.Name, Replicas: 2, GPUsPerReplica: 2, GPUs: 4}}},
		{"mixed-32B", 2, 0, 3, 3, []sim.TypeTruth{
			{GPUType: sim.A100SXM80.Name, Replicas: 1, GPUsPerReplica: 2, GPUs: 2},
			{GPUType: sim.H100SXM.Name, Replicas: 1, GPUsPerReplica: 1, GPUs: 1},
		}},
	} {
		t.Run(c.model, func(t *testing.T) {
			mt, ok := tr.Model(c.model)
			require.True(t, ok)
			assert.Equal(t, []int{c.replicas, c.perReplica, c.gpus, c.held}, []int{mt.Replicas, mt.GPUsPerReplica, mt.GPUs, mt.HeldGPUs})
			require.Len(t, mt.ByGPUType, len(c.types))
			energy, tokens := 0.0, 0.0
			for i, want := range c.types {
				got := mt.ByGPUType[i]
				assert.Equal(t, want.GPUType, got.GPUType)
				assert.Equal(t, []int{want.Replicas, want.GPUsPerReplica, want.GPUs}, []int{got.Replicas, got.GPUsPerReplica, got.GPUs}, want.GPUType)
				energy += got.EnergyJ
				tokens += got.Tokens
				// Each type's GPUs draw at least their parked power all the window.
				assert.Greater(t, got.MeanPowerW, float64(got.GPUs)*got.ParkedWPerGPU, want.GPUType)
			}
			// The types split the model exactly (integer micro-joules and micro-tokens underneath).
			assert.InDelta(t, mt.EnergyJ, energy, 1e-6)
			assert.InDelta(t, mt.PromptTokens+mt.GenerationTokens, tokens, 1e-6)
			if len(c.types) == 2 {
				// Traffic splits evenly; the H100 replica's power per token is its own, so its share of the
				// energy is what 1 GPU at its parked power plus 0.8 J per token of half the tokens draws.
				h := mt.ByGPUType[1]
				span := repEnd.Sub(repEpoch).Seconds()
				assert.InEpsilon(t, h.Tokens, tokens/2, 1e-6, "half the tokens")
				assert.InEpsilon(t, sim.H100SXM.ParkedW*span+0.8*h.Tokens, h.EnergyJ, 1e-3, "H100 replica's energy (power noise is zero-mean)")
			}
		})
	}
}

// Each replica is a pod of its own; traffic splits evenly over the replicas alive, so the pods' counters
// agree while both serve, and while one restarts the other serves all the traffic.
func TestReplicasSplitTrafficAndRestartAlone(t *testing.T) {
	plain, err := sim.New(replicaFleet(repEpoch, false), sim.DefaultSeed)
	require.NoError(t, err)
	s, err := sim.New(replicaFleet(repEpoch, true), sim.DefaultSeed)
	require.NoError(t, err)
	r := s.Spec().Mess.Restarts[0]

	before := r.At.Add(-time.Hour)
	pods := map[string]float64{}
	for _, smp := range scrape(t, s, sim.Naming{}, before) {
		if smp.name == sim.MetricGenerationTokens && smp.labels["model_name"] == "pair-8B" {
			pods[smp.labels["pod"]] = smp.value
		}
	}
	require.Len(t, pods, 2, "one series per replica")
	var counts []float64
	for _, v := range pods {
		counts = append(counts, v)
	}
	assert.Equal(t, counts[0], counts[1], "both replicas served the same")

	down, up := r.At, r.At.Add(r.Down)
	assert.Equal(t, 2, s.GPUsAt("pair-8B", down.Add(time.Minute)), "one replica's GPUs while the other restarts")
	assert.Equal(t, 4, s.GPUsAt("pair-8B", up.Add(time.Minute)))
	// Rates are rounded to milli-tokens/s per replica and kind: at most 2 x 2 x 0.5e-3 tokens/s apart.
	assert.InDelta(t, plain.Tokens("pair-8B", sim.TokensTotal, down, up), s.Tokens("pair-8B", sim.TokensTotal, down, up),
		2e-3*r.Down.Seconds(), "the live replica takes all the traffic")
	assert.False(t, s.Defined(down, up))
	tr := s.Truth(repEpoch, repEnd, time.Minute)
	mt, _ := tr.Model("pair-8B")
	assert.Equal(t, 4, mt.HeldGPUs, "4 GPUs most of the window")
	assert.Equal(t, 2, s.Truth(down, up, time.Minute).Models[0].HeldGPUs)
}

// A model's power gauges sampled at 10, 15, 30 and 60 s steps integrate to its true energy: power is constant
// over each 60 s tick and every step divides the tick, so each sample stands for exactly its step (the only
// error is float summation, far under a micro-joule per sample).
func TestHistoryStepsIntegrateToTrueEnergy(t *testing.T) {
	s, err := sim.New(replicaFleet(repEpoch, false), sim.DefaultSeed)
	require.NoError(t, err)
	from, to := repEpoch.Add(6*time.Hour), repEpoch.Add(12*time.Hour)
	tr := s.Truth(from, to, time.Minute)
	for _, step := range []time.Duration{10 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute} {
		t.Run(step.String(), func(t *testing.T) {
			joules := map[string]float64{}
			o := sim.HistoryOptions{Start: from.Add(step), End: to, Step: step, Metrics: []string{sim.MetricPower}}
			require.NoError(t, s.EachSeries(o, func(hs sim.HistorySeries) {
				model := ""
				for _, l := range hs.Labels {
					if l.Name == "pod" {
						model = modelOfPod(s, l.Value)
					}
				}
				hs.Samples(func(_ int64, v float64) { joules[model] += v * step.Seconds() })
			}))
			for _, mt := range tr.Models {
				assert.InEpsilon(t, mt.EnergyJ, joules[mt.Model], 1e-9, mt.Model)
			}
		})
	}
}

// modelOfPod is the model whose container names the pod.
func modelOfPod(s *sim.Sim, pod string) string {
	for _, m := range s.Spec().Models {
		if len(pod) > len(m.ContainerName()) && pod[:len(m.ContainerName())+1] == m.ContainerName()+"-" {
			return m.Name
		}
	}
	return ""
}

// A restart without replicas restarts them all: the model holds no GPU while down, and each replica comes
// back under a new pod name. A spec naming what does not exist is refused with the part at fault.
func TestRestartOfAllReplicasAndBadSpecs(t *testing.T) {
	spec := replicaFleet(repEpoch, true)
	spec.Mess.Restarts[0].Replicas = nil
	s, err := sim.New(spec, sim.DefaultSeed)
	require.NoError(t, err)
	r := spec.Mess.Restarts[0]
	assert.Equal(t, 0, s.GPUsAt("pair-8B", r.At.Add(time.Minute)))
	assert.Zero(t, s.Tokens("pair-8B", sim.TokensTotal, r.At, r.At.Add(r.Down)))
	pods := map[string]bool{}
	for _, at := range []time.Time{r.At.Add(-time.Minute), r.At.Add(r.Down + time.Minute)} {
		for _, smp := range scrape(t, s, sim.Naming{}, at) {
			if smp.name == sim.MetricGenerationTokens && smp.labels["model_name"] == "pair-8B" {
				pods[smp.labels["pod"]] = true
			}
		}
	}
	assert.Len(t, pods, 4, "two pods before, two new ones after")

	for _, c := range []struct {
		name  string
		spoil func(*sim.Spec)
		want  string
	}{
		{"restart of a replica that is not there", func(s *sim.Spec) { s.Mess.Restarts[0].Replicas = []int{2} }, `restart of "pair-8B": no replica 2`},
		{"replica on an unknown GPU type", func(s *sim.Spec) { s.Models[0].Replicas[1].GPUType = "NVIDIA B200" },
			`model "pair-8B" replica 1: GPU type "NVIDIA B200" is not in the spec's GPU types`},
		{"replica without GPUs", func(s *sim.Spec) { s.Models[1].Replicas[0].GPUs = 0 }, `model "mixed-32B" replica 0: needs GPUs and hosts`},
		{"more GPUs than the host has", func(s *sim.Spec) { s.Models[0].Replicas[0].GPUs = 5 }, `model "pair-8B" needs 5 free`},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := replicaFleet(repEpoch, true)
			c.spoil(&bad)
			_, err := sim.New(bad, sim.DefaultSeed)
			assert.ErrorContains(t, err, c.want)
		})
	}
}
