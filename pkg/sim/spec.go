// Package sim is a simulated GPU fleet serving LLMs, with known ground truth. It emits what dcgm-exporter and
// vLLM emit (live through client_golang collectors, or as OpenMetrics history for promtool), and answers what
// the true power, tokens and energy were over any window, so every test can compare what it recovers with the
// truth.
//
// The state of the fleet is a pure function of (Spec, seed, t): token rates and GPU power are constant over
// ticks of Spec.Tick, each tick's values come from hashing (seed, model or GPU, tick), and counters are exact
// integrals of those values from Spec.Epoch (in integer micro-units, so any two ways of summing agree exactly).
// A history file and a live server built from the same Spec and seed therefore agree at every instant.
//
// Fleets vary as real ones do: a model runs replicas (ReplicaSpec), possibly on several GPU types; nodes and
// models run different exporter versions (Node.HostLabel, Node.NoEnergyCounter, ModelSpec.LegacyVLLM); and
// with Naming.Serving each pod emits vLLM's serving signals from the queueing model in serving.go, which the
// truth (ModelTruth.Serving) reports and Sim.ProjectServing projects onto fewer GPUs.
package sim

import (
	"errors"
	"fmt"
	"time"
)

// GPUType is the physics of one GPU product, keyed by its DCGM modelName.
type GPUType struct {
	Name     string  `json:"name"`      // DCGM modelName, e.g. "NVIDIA A100-SXM4-80GB"
	MemoryGB float64 `json:"memory_gb"` // card memory
	// ParkedW is the power of a GPU holding a loaded model with no requests: the idle floor of every model on
	// this type, raised for a model by its ParkedExtraW.
	ParkedW float64 `json:"parked_w"`
	// BareIdleW is the power of a GPU no pod holds (no CUDA context, P8 state).
	BareIdleW float64 `json:"bare_idle_w"`
	// PowerCapW is the power limit (DCGM_FI_DEV_POWER_MGMT_LIMIT): power never exceeds it. A GPU at its limit
	// throttles: its model serves no more tokens than the power allows.
	PowerCapW float64 `json:"power_cap_w"`
}

// Node is a GPU server: its hostname picks the carbon site, its GPUs are all of one type. A fleet's nodes
// may run different dcgm-exporter versions and configurations: HostLabel and NoEnergyCounter override the
// Naming's for this node's series (DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION is in dcgm-exporter's
// etc/default-counters.csv, read in its 2025-2026 releases, but a cluster's own counter list may drop it).
type Node struct {
	Host            string
	GPUType         string
	GPUs            int
	HostLabel       string
	NoEnergyCounter bool
}

// Traffic is the token rate of a model over time: a base level shaped by a daily cycle, per-tick noise, quiet
// periods with no requests at all, and rare bursts on top.
type Traffic struct {
	// BaseTokensPerS is the level (prompt + generation) the daily cycle and noise modulate; the realized mean
	// is lower by the quiet share and higher by the bursts (the truth reports the realized mean).
	BaseTokensPerS float64
	// DailyAmplitude is the relative swing of the daily cycle (0..1), peaking at PeakHourUTC.
	DailyAmplitude float64
	PeakHourUTC    float64
	// Noise is the relative half-width of the uniform per-tick noise (0..1).
	Noise float64
	// QuietShare is the probability that a half-hour slot has no traffic at all.
	QuietShare float64
	// BurstsPerDay, BurstTokensPerS and BurstMinutes add rare bursts (at most one per hour slot, each at most 60 min).
	BurstsPerDay    float64
	BurstTokensPerS float64
	BurstMinutes    float64
}

// ReplicaSpec is one replica (pod) of a model: its GPUs (the tensor-parallel size), their type and hosts.
type ReplicaSpec struct {
	GPUType string
	GPUs    int
	// Hosts are the nodes the pod's GPUs are taken from, in order: the first free GPUs of the first host, then
	// the next host.
	Hosts []string
	// MarginalJPerToken, when set, replaces the model's on this replica (another GPU type costs otherwise).
	MarginalJPerToken float64
}

// ModelSpec is one served model and the GPUs its pods hold. A model runs one pod on GPUType, GPUs and Hosts,
// or, when Replicas is set, one pod per replica (those three fields are then unused). The model's traffic is
// split evenly across the replicas serving at the time.
type ModelSpec struct {
	Name      string // vLLM served model name (label model_name)
	Namespace string
	Container string // container name of the serving pod; defaults to a slug of Name
	GPUType   string
	GPUs      int
	Hosts     []string
	Replicas  []ReplicaSpec
	// ParamsB is the number of parameters in billions (all experts of a mixture-of-experts model);
	// BytesPerParam the weights' dtype (bf16 2, fp8 1, int4/mxfp4 0.5).
	ParamsB       float64
	BytesPerParam float64
	Traffic       Traffic
	// PromptPerGeneration is the ratio of prompt to generation tokens.
	PromptPerGeneration float64
	// ParkedExtraW is what each of the model's GPUs draws parked above its type's ParkedW: a tensor-parallel
	// mixture-of-experts model keeps more awake (NCCL, larger CUDA graphs) than a small dense one.
	ParkedExtraW float64
	// MarginalJPerToken is the energy one more token costs above the parked floor, spread evenly over the GPUs.
	// It also bounds the rate served: at most GPUs x (power cap - parked power) / MarginalJPerToken tokens/s.
	MarginalJPerToken float64
	// LegacyVLLM names the model's serving signals as vLLM before v0.9 did: the KV-cache gauge
	// vllm:gpu_cache_usage_perc (vllm:kv_cache_usage_perc from v0.9) and the inter-token latency histogram
	// vllm:time_per_output_token_seconds (vllm:inter_token_latency_seconds from v0.11).
	LegacyVLLM bool
	// GenerationTokensPerRequest (default 200) and KVBytesPerToken (default 128 KiB) shape the serving
	// signals; see the serving model in serving.go.
	GenerationTokensPerRequest float64
	KVBytesPerToken            float64
}

// Restart replaces a model's pods: counters start again from 0 under new pod names, after Down without
// serving, possibly on other hosts. While a replica is down, the others take all of the model's traffic.
type Restart struct {
	Model string
	// Replicas are the indices (in ModelSpec.ReplicaSpecs) of the replicas that restart; empty restarts all.
	Replicas []int
	At       time.Time
	Down     time.Duration
	// ToHosts are the hosts of the new pod; empty keeps the old GPUs.
	ToHosts []string
}

// Gap is a stretch of missing scrapes: every series of both exporters is absent in [Start, Start+Duration).
type Gap struct {
	Start    time.Time
	Duration time.Duration
}

// Mess is the real-world trouble the fleet has on purpose.
type Mess struct {
	Restarts []Restart
	Gaps     []Gap
}

// Spec describes a fleet completely; with a seed it determines every value the simulator emits.
type Spec struct {
	// Epoch is when the nodes booted and the first pods started: counters count from here, nothing exists before.
	Epoch time.Time
	// Tick is the resolution of the physics: rates and power are constant over each tick (kτ, (k+1)τ].
	Tick     time.Duration
	GPUTypes []GPUType
	Nodes    []Node
	Models   []ModelSpec
	// PowerNoiseW is the half-width of the uniform per-tick noise on each GPU's power (a tick's mean power, so
	// well under a watt for a steady GPU).
	PowerNoiseW float64
	// DriverVersion is the DCGM_FI_DRIVER_VERSION label.
	DriverVersion string
	Mess          Mess
	// Grid are the power grids of the nodes, whose carbon intensity the grid exporter reports (grid.go).
	Grid []GridSite
}

// ContainerName is the container of the model's pods: Container, or a slug of the served name.
func (m ModelSpec) ContainerName() string {
	if m.Container != "" {
		return m.Container
	}
	return slug(m.Name)
}

// ReplicaSpecs are the model's replicas: Replicas, or the one pod GPUType, GPUs and Hosts describe.
func (m ModelSpec) ReplicaSpecs() []ReplicaSpec {
	if len(m.Replicas) > 0 {
		return m.Replicas
	}
	return []ReplicaSpec{{GPUType: m.GPUType, GPUs: m.GPUs, Hosts: m.Hosts}}
}

// TotalGPUs is the GPUs of all the model's replicas.
func (m ModelSpec) TotalGPUs() int {
	n := 0
	for _, r := range m.ReplicaSpecs() {
		n += r.GPUs
	}
	return n
}

// MemoryNeedGB is the model's true memory need: weights plus 20% KV-cache headroom.
func (m ModelSpec) MemoryNeedGB() float64 { return m.ParamsB * m.BytesPerParam * KVHeadroom }

// KVHeadroom is the factor on the weights that the truth's memory need uses.
const KVHeadroom = 1.2

func (s *Spec) gpuType(name string) (GPUType, bool) {
	for _, t := range s.GPUTypes {
		if t.Name == name {
			return t, true
		}
	}
	return GPUType{}, false
}

// validate checks what the simulator relies on; the errors name the part of the spec at fault.
func (s *Spec) validate() error {
	var errs []error
	if s.Tick < time.Second || s.Tick%time.Second != 0 {
		errs = append(errs, fmt.Errorf("tick %s is not a whole number of seconds >= 1s", s.Tick))
	} else if s.Epoch.UnixMilli()%s.Tick.Milliseconds() != 0 {
		errs = append(errs, fmt.Errorf("epoch %s is not on a tick boundary (tick %s)", s.Epoch.UTC().Format(time.RFC3339), s.Tick))
	}
	for _, t := range s.GPUTypes {
		if t.ParkedW <= 0 || t.BareIdleW <= 0 || t.PowerCapW <= t.ParkedW+s.PowerNoiseW || t.MemoryGB <= 0 {
			errs = append(errs, fmt.Errorf("GPU type %q: needs memory, parked and bare idle power, and a cap above parked power plus the power noise", t.Name))
		}
	}
	hosts := map[string]bool{}
	for _, n := range s.Nodes {
		if _, ok := s.gpuType(n.GPUType); !ok {
			errs = append(errs, fmt.Errorf("node %q: GPU type %q is not in the spec's GPU types", n.Host, n.GPUType))
		}
		if hosts[n.Host] {
			errs = append(errs, fmt.Errorf("node %q is listed twice", n.Host))
		}
		hosts[n.Host] = true
	}
	names := map[string]int{} // model -> replicas
	for _, m := range s.Models {
		if _, dup := names[m.Name]; m.Name == "" || dup {
			errs = append(errs, fmt.Errorf("model %q: names must be non-empty and unique", m.Name))
		}
		names[m.Name] = len(m.ReplicaSpecs())
		for i, r := range m.ReplicaSpecs() {
			if _, ok := s.gpuType(r.GPUType); !ok {
				errs = append(errs, fmt.Errorf("model %q replica %d: GPU type %q is not in the spec's GPU types", m.Name, i, r.GPUType))
			}
			if r.GPUs <= 0 || len(r.Hosts) == 0 {
				errs = append(errs, fmt.Errorf("model %q replica %d: needs GPUs and hosts", m.Name, i))
			}
		}
		if m.ParkedExtraW < 0 {
			errs = append(errs, fmt.Errorf("model %q: ParkedExtraW must not be negative", m.Name))
		}
		if m.Traffic.BurstMinutes > 60 {
			errs = append(errs, fmt.Errorf("model %q: bursts last at most 60 minutes", m.Name))
		}
	}
	for _, r := range s.Mess.Restarts {
		n, ok := names[r.Model]
		if !ok {
			errs = append(errs, fmt.Errorf("restart of %q: no such model", r.Model))
		}
		for _, i := range r.Replicas {
			if ok && (i < 0 || i >= n) {
				errs = append(errs, fmt.Errorf("restart of %q: no replica %d", r.Model, i))
			}
		}
		if !r.At.After(s.Epoch) || r.Down < 0 {
			errs = append(errs, fmt.Errorf("restart of %q: must happen after the epoch, with a non-negative downtime", r.Model))
		}
	}
	return errors.Join(errs...)
}
