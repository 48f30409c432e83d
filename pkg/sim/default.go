package sim

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// DefaultTick is the resolution of the physics in the built-in fleets.
const DefaultTick = time.Minute

// DefaultSeed is the seed the built-in fleets use unless told otherwise.
const DefaultSeed = 1

// Catalog GPU types. Parked power of the two A100 80GB variants comes from NRP's table (Kimi-K2.5 idles at
// 670 W on 8 SXM4 cards, MiniMax-M2.5 at 447 W on 4 PCIe cards); the others are public nvidia-smi readings.
var (
	RTXA6000   = GPUType{Name: "NVIDIA RTX A6000", MemoryGB: 48, ParkedW: 105, BareIdleW: 22, PowerCapW: 300}
	A100SXM80  = GPUType{Name: "NVIDIA A100-SXM4-80GB", MemoryGB: 80, ParkedW: 83.75, BareIdleW: 62, PowerCapW: 400}
	A100PCIe80 = GPUType{Name: "NVIDIA A100 80GB PCIe", MemoryGB: 80, ParkedW: 111.75, BareIdleW: 48, PowerCapW: 300}
	L40        = GPUType{Name: "NVIDIA L40", MemoryGB: 48, ParkedW: 80, BareIdleW: 35, PowerCapW: 300}
	L40S       = GPUType{Name: "NVIDIA L40S", MemoryGB: 48, ParkedW: 82, BareIdleW: 30, PowerCapW: 350}
	H100SXM    = GPUType{Name: "NVIDIA H100 80GB HBM3", MemoryGB: 80, ParkedW: 125, BareIdleW: 72, PowerCapW: 700}
	A10        = GPUType{Name: "NVIDIA A10", MemoryGB: 24, ParkedW: 60, BareIdleW: 16, PowerCapW: 150}
)

// Hosts of the default fleet, at NRP sites whose hostname patterns pick the carbon intensity.
const (
	HostSDSCA6000 = "node-1-1.sdsc.optiputer.net"       // California: gpt-oss, gemma until its restart
	HostSDSCA100  = "rci-nrp-gpu-05.sdsc.optiputer.net" // California: Qwen3.5
	HostUNLA100   = "hcc-nrp-shor-c6029.unl.edu"        // UNL: Kimi
	HostNYUA100   = "nrp-gpu-02.nyu.edu"                // NYU: MiniMax
	HostUCSDA6000 = "gpu-a6000-07.ucsd.edu"             // California: Olmo, gemma after its restart
	HostTACCL40   = "nrp-l40-03.tacc.utexas.edu"        // TACC: Llama 8B, 2 unallocated L40
	HostCalit2    = "k8s-h100-01.calit2.optiputer.net"  // California: Qwen3-32B
	HostSDSCA100b = "rci-nrp-gpu-06.sdsc.optiputer.net" // California: OLMo 7B on 4 of its A100s
)

// Offsets of the default fleet's mess from its epoch: both fall inside a 7-day history starting at the epoch.
const (
	DefaultRestartAfter = 3*24*time.Hour + 10*time.Hour
	DefaultRestartDown  = 4 * time.Minute
	DefaultGapAfter     = 5*24*time.Hour + 2*time.Hour
	DefaultGapDuration  = 20 * time.Minute
)

// DefaultFleet reproduces NRP's measured fleet (the README's introduction quotes it) as window averages, plus an
// oversized small model, a well-sized H100 model and unallocated GPUs. The two busy A6000 models run close to
// their 2 x 300 W cap, where their GPUs throttle: a table mean of 597 W at 2341 tok/s would leave them capped
// all day, with no un-capped steps to fit an efficiency curve on. Their marginal J/token and traffic are set so
// that a week keeps their J/token within 2% of the table (mean power and tok/s within 5%: gpt-oss-120b ~574 W
// at ~2240 tok/s, gemma-4-31B ~572 W at ~357 tok/s) while over a third of their busy steps stay under 95% of
// the cap, spread over a fifth of their rate. With mess, gemma-4-31B restarts (moving to another node) and
// every series misses 20 minutes of scrapes.
func DefaultFleet(epoch time.Time, mess bool) Spec {
	const nrp, sdsc = "nrp-llm", "sdsc-llm"
	busy := func(base, amplitude, noise float64) Traffic {
		return Traffic{BaseTokensPerS: base, DailyAmplitude: amplitude, PeakHourUTC: 21, Noise: noise}
	}
	s := Spec{
		Epoch:         epoch,
		Tick:          DefaultTick,
		GPUTypes:      []GPUType{RTXA6000, A100SXM80, A100PCIe80, L40, H100SXM},
		PowerNoiseW:   0.5,
		DriverVersion: "570.133.20",
		Nodes: []Node{
			{Host: HostSDSCA6000, GPUType: RTXA6000.Name, GPUs: 4},
			{Host: HostSDSCA100, GPUType: A100SXM80.Name, GPUs: 8},
			{Host: HostUNLA100, GPUType: A100SXM80.Name, GPUs: 8},
			{Host: HostNYUA100, GPUType: A100PCIe80.Name, GPUs: 4},
			{Host: HostUCSDA6000, GPUType: RTXA6000.Name, GPUs: 4},
			{Host: HostTACCL40, GPUType: L40.Name, GPUs: 4},
			{Host: HostCalit2, GPUType: H100SXM.Name, GPUs: 2},
			{Host: HostSDSCA100b, GPUType: A100SXM80.Name, GPUs: 4},
		},
		Models: []ModelSpec{
			{
				Name: "gpt-oss-120b", Namespace: nrp, GPUType: RTXA6000.Name, GPUs: 2, Hosts: []string{HostSDSCA6000},
				ParamsB: 117, BytesPerParam: 0.5, Traffic: busy(2480, 0.24, 0.08),
				PromptPerGeneration: 3, MarginalJPerToken: 0.1625,
			},
			{
				Name: "gemma-4-31B", Namespace: nrp, GPUType: RTXA6000.Name, GPUs: 2, Hosts: []string{HostSDSCA6000},
				ParamsB: 31, BytesPerParam: 2, Traffic: busy(395, 0.25, 0.1),
				PromptPerGeneration: 2, MarginalJPerToken: 1.015,
			},
			{
				Name: "Qwen3.5-397B-A17B-FP8", Namespace: nrp, GPUType: A100SXM80.Name, GPUs: 8, Hosts: []string{HostSDSCA100},
				ParamsB: 397, BytesPerParam: 1,
				Traffic:             Traffic{BaseTokensPerS: 19, DailyAmplitude: 0.5, PeakHourUTC: 21, Noise: 0.3, QuietShare: 0.05},
				PromptPerGeneration: 4, MarginalJPerToken: 6.3,
			},
			{
				Name: "Kimi-K2.5", Namespace: nrp, GPUType: A100SXM80.Name, GPUs: 8, Hosts: []string{HostUNLA100},
				ParamsB: 1000, BytesPerParam: 0.5, PromptPerGeneration: 3, MarginalJPerToken: 5,
			},
			{
				Name: "MiniMax-M2.5", Namespace: nrp, GPUType: A100PCIe80.Name, GPUs: 4, Hosts: []string{HostNYUA100},
				ParamsB: 230, BytesPerParam: 1, PromptPerGeneration: 3, MarginalJPerToken: 3,
			},
			{
				Name: "Olmo-2-32B", Namespace: nrp, GPUType: RTXA6000.Name, GPUs: 2, Hosts: []string{HostUCSDA6000},
				ParamsB: 32, BytesPerParam: 2,
				Traffic:             Traffic{BurstsPerDay: 0.25, BurstTokensPerS: 120, BurstMinutes: 10},
				PromptPerGeneration: 2, MarginalJPerToken: 1.1,
			},
			{
				Name: "Llama-3.1-8B-Instruct", Namespace: sdsc, GPUType: L40.Name, GPUs: 2, Hosts: []string{HostTACCL40},
				ParamsB: 8, BytesPerParam: 2,
				Traffic:             Traffic{BaseTokensPerS: 50, DailyAmplitude: 0.6, PeakHourUTC: 21, Noise: 0.3, QuietShare: 0.2},
				PromptPerGeneration: 2, MarginalJPerToken: 0.4,
			},
			{
				// The textbook oversized model: 7B at bf16 (~17 GB with KV headroom) on 4 A100s at ~70 tok/s at its
				// p95, its GPUs within 1% of their parked power.
				Name: "OLMo-2-1124-7B-Instruct", Namespace: sdsc, GPUType: A100SXM80.Name, GPUs: 4, Hosts: []string{HostSDSCA100b},
				ParamsB: 7, BytesPerParam: 2, Traffic: busy(54, 0.3, 0.05), PromptPerGeneration: 2, MarginalJPerToken: 0.04,
			},
			{
				Name: "Qwen3-32B", Namespace: sdsc, GPUType: H100SXM.Name, GPUs: 2, Hosts: []string{HostCalit2},
				ParamsB: 32, BytesPerParam: 2,
				Traffic:             Traffic{BaseTokensPerS: 700, DailyAmplitude: 0.4, PeakHourUTC: 21, Noise: 0.15, QuietShare: 0.05},
				PromptPerGeneration: 3, MarginalJPerToken: 0.45,
			},
		},
	}
	s.Grid = DefaultGrid(epoch, mess)
	if mess {
		s.Mess = Mess{
			Restarts: []Restart{{Model: "gemma-4-31B", At: epoch.Add(DefaultRestartAfter), Down: DefaultRestartDown, ToHosts: []string{HostUCSDA6000}}},
			Gaps:     []Gap{{Start: epoch.Add(DefaultGapAfter), Duration: DefaultGapDuration}},
		}
	}
	return s
}

// DemoHistory is how far back the demo fleet goes.
const DemoHistory = 30 * 24 * time.Hour

// DemoFleet is the fleet of the built-in demo source at now: the default fleet with DemoHistory of history
// before today (UTC), its pod restart and scrape gap within the last week (4 and 2 days ago). It changes only
// at midnight UTC, so anything that knows the day can rebuild exactly what the demo shows.
func DemoFleet(now time.Time) Spec {
	today := now.UTC().Truncate(24 * time.Hour)
	spec := DefaultFleet(today.Add(-DemoHistory), true)
	spec.Mess.Restarts[0].At = today.Add(-4*24*time.Hour + 10*time.Hour)
	spec.Mess.Gaps[0].Start = today.Add(-2*24*time.Hour + 2*time.Hour)
	return spec
}

// scaledSites are the hostname suffixes of scaled fleets, one per carbon site.
var scaledSites = []string{
	"sdsc.optiputer.net", "ucsd.edu", "unl.edu", "nyu.edu", "tacc.utexas.edu", "hawaii.edu", "clemson.edu",
	"k-state.edu", "kreonet.net", "ucsc.edu",
}

// scaledSizes are the model sizes of scaled fleets: parameters (B), bytes per parameter, marginal J/token on
// an A100-class GPU.
var scaledSizes = []struct {
	paramsB, bytes, jPerToken float64
	name                      string
}{
	{1.5, 2, 0.05, "qwen2.5-1.5b"}, {3, 2, 0.08, "llama-3.2-3b"}, {7, 2, 0.15, "mistral-7b"},
	{8, 2, 0.16, "llama-3.1-8b"}, {14, 2, 0.3, "phi-4-14b"}, {27, 2, 0.55, "gemma-3-27b"},
	{32, 2, 0.65, "qwen3-32b"}, {70, 1, 1.2, "llama-3.3-70b-fp8"}, {117, 0.5, 0.2, "gpt-oss-120b"},
	{235, 1, 0.8, "qwen3-235b-a22b-fp8"},
}

// ScaledFleet is a fleet of n models for benchmarks, drawn from seed: a realistic mix of GPU types and model
// sizes, each model on the smallest tensor-parallel size that holds it (one in five on twice that), a fifth
// of the models idle, nodes of 8 (SXM) or 4 GPUs across NRP sites, a few GPUs left unallocated. No mess.
func ScaledFleet(n int, seed int64, epoch time.Time) Spec {
	types := []GPUType{RTXA6000, A100SXM80, A100PCIe80, L40, L40S, H100SXM, A10}
	s := Spec{
		Epoch: epoch, Tick: DefaultTick, GPUTypes: types, PowerNoiseW: 1.5, DriverVersion: "570.133.20",
	}
	r := func(stream, i int64) float64 { return u01(uint64(seed), 0x5CA1ED, stream, i) }
	type nodeFill struct {
		host string
		free int
	}
	open := map[string]*nodeFill{} // GPU type -> node being filled
	for i := range n {
		size := scaledSizes[int(r(1, int64(i))*float64(len(scaledSizes)))]
		typ := types[int(r(2, int64(i))*float64(len(types)))]
		gpus := 1
		for gpus < 8 && float64(gpus)*typ.MemoryGB*0.9 < size.paramsB*size.bytes*KVHeadroom {
			gpus *= 2
		}
		if float64(gpus)*typ.MemoryGB*0.9 < size.paramsB*size.bytes*KVHeadroom {
			typ = H100SXM // too big for 8 of the small cards
			gpus = 8
		}
		if gpus < 8 && r(3, int64(i)) < 0.2 {
			gpus *= 2
		}
		nodeSize := 4
		if typ == A100SXM80 || typ == H100SXM || gpus > 4 {
			nodeSize = 8
		}
		fill := open[typ.Name]
		if fill == nil || fill.free < gpus {
			// What is left on the previous node of this type stays unallocated.
			host := fmt.Sprintf("gpu-%04d.%s", len(s.Nodes), scaledSites[len(s.Nodes)%len(scaledSites)])
			s.Nodes = append(s.Nodes, Node{Host: host, GPUType: typ.Name, GPUs: nodeSize})
			fill = &nodeFill{host: host, free: nodeSize}
			open[typ.Name] = fill
		}
		fill.free -= gpus
		var traffic Traffic
		if r(4, int64(i)) >= 0.2 {
			// Busy models serve in proportion to their GPUs; the level spans two orders of magnitude.
			level := math.Pow(10, 1+2*r(6, int64(i)))
			traffic = Traffic{
				BaseTokensPerS: level * float64(gpus), DailyAmplitude: 0.2 + 0.4*r(7, int64(i)), PeakHourUTC: 21,
				Noise: 0.1 + 0.2*r(8, int64(i)), QuietShare: 0.1 * r(9, int64(i)),
			}
		} else {
			traffic = Traffic{BurstsPerDay: 0.3, BurstTokensPerS: 50, BurstMinutes: 10}
		}
		s.Models = append(s.Models, ModelSpec{
			Name:      fmt.Sprintf("%s-%04d", size.name, i),
			Namespace: fmt.Sprintf("llm-%02d", i%17), GPUType: typ.Name, GPUs: gpus, Hosts: []string{fill.host},
			ParamsB: size.paramsB, BytesPerParam: size.bytes, Traffic: traffic,
			PromptPerGeneration: 1 + 3*r(10, int64(i)), MarginalJPerToken: size.jPerToken,
		})
	}
	return s
}

// Models and hosts of SizingFleet.
const (
	SizingOversized = "acme/oversized-7B"    // 7B bf16 on 4 A100: ~70 tok/s at its p95, GPUs at parked power
	SizingReplicas  = "gemma-3-27b-it"       // 2 replicas x 2 H100 on two hosts
	SizingMixed     = "Llama-3.1-8B-mixed"   // one replica on an A100, one on an L40
	SizingPeaky     = "acme/bursty-8B"       // 2 L40: its bursts need both GPUs, on one it queues
	SizingSLO       = "Qwen2.5-32B-Instruct" // 4 A100: fits 2 by memory, but its p95 TTFT on 2 exceeds 2 s
	HostSizingA100  = "sizing-a100-01.sdsc.optiputer.net"
	HostSizingA100b = "sizing-a100-02.unl.edu"
	HostSizingL40   = "sizing-l40-01.ucsd.edu"
	HostSizingH100a = "sizing-h100-01.calit2.optiputer.net"
	HostSizingH100b = "sizing-h100-02.tacc.utexas.edu"
)

// SizingFleet is a fleet for right-sizing tests, whose truth (ModelTruth.Serving, Sim.ProjectServing) says
// what fewer GPUs would do: an oversized 7B whose GPUs idle at parked power, a model of 2 replicas x 2 GPUs,
// a model on two GPU types, a model whose bursts need all its GPUs, and a model that would fit half its GPUs
// by memory but would then miss a 2 s p95 time-to-first-token. One L40 and one A100 are unallocated. No mess.
func SizingFleet(epoch time.Time) Spec {
	daily := func(base, amplitude, noise float64) Traffic {
		return Traffic{BaseTokensPerS: base, DailyAmplitude: amplitude, PeakHourUTC: 20, Noise: noise}
	}
	return Spec{
		Epoch: epoch, Tick: DefaultTick, PowerNoiseW: 0.5, DriverVersion: "570.133.20",
		GPUTypes: []GPUType{A100SXM80, L40, H100SXM},
		Nodes: []Node{
			{Host: HostSizingA100, GPUType: A100SXM80.Name, GPUs: 8},
			{Host: HostSizingA100b, GPUType: A100SXM80.Name, GPUs: 2},
			{Host: HostSizingL40, GPUType: L40.Name, GPUs: 4},
			{Host: HostSizingH100a, GPUType: H100SXM.Name, GPUs: 2},
			{Host: HostSizingH100b, GPUType: H100SXM.Name, GPUs: 2},
		},
		Models: []ModelSpec{
			{
				// 0.04 J/token at ~70 tok/s is 0.7 W per GPU above parked: under 1% of 83.75 W.
				Name: SizingOversized, Namespace: "sizing", GPUType: A100SXM80.Name, GPUs: 4, Hosts: []string{HostSizingA100},
				ParamsB: 7, BytesPerParam: 2, Traffic: daily(54, 0.3, 0.05), PromptPerGeneration: 2, MarginalJPerToken: 0.04,
			},
			{
				Name: SizingReplicas, Namespace: "sizing", ParamsB: 27, BytesPerParam: 2, Traffic: daily(900, 0.4, 0.15),
				PromptPerGeneration: 3, MarginalJPerToken: 0.35,
				Replicas: []ReplicaSpec{
					{GPUType: H100SXM.Name, GPUs: 2, Hosts: []string{HostSizingH100a}},
					{GPUType: H100SXM.Name, GPUs: 2, Hosts: []string{HostSizingH100b}},
				},
			},
			{
				Name: SizingMixed, Namespace: "sizing", ParamsB: 8, BytesPerParam: 2, Traffic: daily(300, 0.4, 0.2),
				PromptPerGeneration: 2, MarginalJPerToken: 0.2,
				Replicas: []ReplicaSpec{
					{GPUType: A100SXM80.Name, GPUs: 1, Hosts: []string{HostSizingA100b}},
					{GPUType: L40.Name, GPUs: 1, Hosts: []string{HostSizingL40}, MarginalJPerToken: 0.3},
				},
			},
			{
				// Capacity 2 x 219.5 W / 0.4 J = 1097 tok/s: bursts to ~850 tok/s keep under the queueing knee on
				// two GPUs, and are far over one GPU's 549.
				Name: SizingPeaky, Namespace: "sizing", GPUType: L40.Name, GPUs: 2, Hosts: []string{HostSizingL40},
				ParamsB: 8, BytesPerParam: 2, PromptPerGeneration: 2, MarginalJPerToken: 0.4,
				Traffic: Traffic{BaseTokensPerS: 150, Noise: 0.1, BurstsPerDay: 3, BurstTokensPerS: 700, BurstMinutes: 30},
			},
			{
				// Capacity 4 x 315.25 W / 0.5 J = 2522 tok/s; at up to ~1400 tok/s it never queues on 4 GPUs,
				// and on 2 (1261 tok/s) it is near or over capacity a third of the day.
				Name: SizingSLO, Namespace: "sizing", GPUType: A100SXM80.Name, GPUs: 4, Hosts: []string{HostSizingA100},
				ParamsB: 32, BytesPerParam: 2, Traffic: daily(1000, 0.3, 0.1), PromptPerGeneration: 2, MarginalJPerToken: 0.5,
			},
		},
	}
}

// MixVariants returns spec with the exporter versions of a fleet upgraded piecemeal: every second node labels
// its host "hostname" (dcgm-exporter from May 2026), every third exports no energy counter, every second
// model runs a vLLM older than v0.9 (LegacyVLLM).
func MixVariants(spec Spec) Spec {
	spec.Nodes, spec.Models = slices.Clone(spec.Nodes), slices.Clone(spec.Models)
	for i := range spec.Nodes {
		spec.Nodes[i].HostLabel = map[bool]string{true: "hostname"}[i%2 == 1]
		spec.Nodes[i].NoEnergyCounter = i%3 == 2
	}
	for i := range spec.Models {
		spec.Models[i].LegacyVLLM = i%2 == 1
	}
	return spec
}
