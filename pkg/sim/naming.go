package sim

import (
	"math"
	"strconv"
)

// Metric names as dcgm-exporter and vLLM emit them.
const (
	MetricPower            = "DCGM_FI_DEV_POWER_USAGE"
	MetricEnergy           = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
	MetricGPUUtil          = "DCGM_FI_DEV_GPU_UTIL"
	MetricPowerLimit       = "DCGM_FI_DEV_POWER_MGMT_LIMIT"
	MetricPromptTokens     = "vllm:prompt_tokens_total"
	MetricGenerationTokens = "vllm:generation_tokens_total"
	MetricRequestsRunning  = "vllm:num_requests_running"
)

// Job names under which Prometheus scrapes the two exporters.
const (
	JobDCGM = "dcgm-exporter"
	JobVLLM = "vllm"
)

// The dcgm-exporter's own pod, whose labels a Prometheus with honor_labels: false puts on every DCGM series.
const (
	ExporterNamespace = "gpu-operator"
	ExporterContainer = "nvidia-dcgm-exporter"
)

// Naming says how the emitted series are named and labelled. The zero value is a standard dcgm-exporter +
// vLLM cluster on Kubernetes with the workload's namespace/pod/container on the GPU series.
type Naming struct {
	// Exported emits what Prometheus stores when it scrapes dcgm-exporter with honor_labels: false: the
	// workload's labels as exported_namespace, exported_pod, exported_container, and namespace, pod, container
	// naming the exporter's pod (one per node), on every GPU series, held or not.
	Exported bool
	// NoEnergyCounter leaves out DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION, as many clusters do.
	NoEnergyCounter bool
	// HostLabel is the label holding the node name: "Hostname" (the default) or "hostname" (dcgm-exporter
	// releases from May 2026).
	HostLabel string
	// GPUModelLabel, when set, puts the served model name on the GPU series of held GPUs under this label.
	GPUModelLabel string
	// Metrics renames metrics (standard name -> emitted name), e.g. the vLLM token counters to SGLang's.
	Metrics map[string]string
	// Labels renames labels on every series (standard name -> emitted name), e.g. model_name -> model.
	Labels map[string]string
}

// SGLang is a naming with SGLang's token counters instead of vLLM's.
func SGLang() Naming {
	return Naming{Metrics: map[string]string{
		MetricPromptTokens:     "sglang:prompt_tokens_total",
		MetricGenerationTokens: "sglang:generation_tokens_total",
		MetricRequestsRunning:  "sglang:num_running_reqs",
	}}
}

// Label is one label pair.
type Label struct{ Name, Value string }

// family is one metric family and how to read its value for one series (a GPU or a pod) at t.
type family struct {
	name    string
	help    string
	counter bool
	gpu     bool // a dcgm-exporter family (one series per GPU); otherwise vLLM (one per pod)
	value   func(s *Sim, idx int, tMS int64) float64
}

var families = []family{
	{name: MetricPower, help: "Power draw (in W).", gpu: true, value: (*Sim).gpuPowerW},
	{name: MetricEnergy, help: "Total energy consumption since boot (in mJ).", counter: true, gpu: true, value: (*Sim).gpuEnergyMJ},
	{name: MetricGPUUtil, help: "GPU utilization (in %).", gpu: true, value: (*Sim).gpuUtilPercent},
	{name: MetricPowerLimit, help: "Current power limit for the device (in W).", gpu: true, value: (*Sim).gpuPowerLimitW},
	{name: MetricPromptTokens, help: "Number of prefill tokens processed.", counter: true, value: (*Sim).podPromptTokens},
	{name: MetricGenerationTokens, help: "Number of generation tokens processed.", counter: true, value: (*Sim).podGenerationTokens},
	{name: MetricRequestsRunning, help: "Number of requests currently running on GPU.", value: (*Sim).podRequestsRunning},
}

// emitted is whether naming emits the family.
func (n Naming) emitted(f family) bool { return !(n.NoEnergyCounter && f.name == MetricEnergy) }

// metric is the emitted name of a standard metric.
func (n Naming) metric(name string) string {
	if r, ok := n.Metrics[name]; ok {
		return r
	}
	return name
}

func (n Naming) renamed(labels []Label) []Label {
	for i, l := range labels {
		if r, ok := n.Labels[l.Name]; ok {
			labels[i].Name = r
		}
	}
	return labels
}

// gpuLabels are the labels of GPU gi's series while pod pi holds it (-1: no pod).
func (s *Sim) gpuLabels(n Naming, gi, pi int) []Label {
	g := &s.gpus[gi]
	host := n.HostLabel
	if host == "" {
		host = "Hostname"
	}
	idx := strconv.Itoa(g.index)
	labels := []Label{
		{"gpu", idx}, {"UUID", g.uuid}, {"device", "nvidia" + idx}, {"modelName", g.typ.Name},
		{host, g.host}, {"pci_bus_id", g.pciBusID}, {"DCGM_FI_DRIVER_VERSION", s.spec.DriverVersion},
	}
	prefix := ""
	if n.Exported {
		prefix = "exported_"
		labels = append(labels, Label{"namespace", ExporterNamespace},
			Label{"pod", podName(ExporterContainer, hashString(g.host), 0)}, Label{"container", ExporterContainer})
	}
	if pi >= 0 {
		m := &s.models[s.pods[pi].model]
		labels = append(labels, Label{prefix + "namespace", m.spec.Namespace}, Label{prefix + "pod", s.pods[pi].name},
			Label{prefix + "container", m.spec.Container})
		if n.GPUModelLabel != "" {
			labels = append(labels, Label{n.GPUModelLabel, m.spec.Name})
		}
	}
	return n.renamed(labels)
}

// podLabels are the labels of pod pi's vLLM series.
func (s *Sim) podLabels(n Naming, pi int) []Label {
	m := &s.models[s.pods[pi].model]
	return n.renamed([]Label{{"model_name", m.spec.Name}, {"namespace", m.spec.Namespace}, {"pod", s.pods[pi].name}})
}

func (s *Sim) gpuPowerW(gi int, tMS int64) float64 {
	return float64(s.value(qGPUPower, gi, s.tickOf(tMS))) / 1000
}

func (s *Sim) gpuEnergyMJ(gi int, tMS int64) float64 {
	return float64(s.cumulative(qGPUPower, gi, tMS)) / 1000
}

func (s *Sim) gpuPowerLimitW(gi int, _ int64) float64 { return s.gpus[gi].typ.PowerCapW }

// gpuUtilPercent is how far the GPU's power is between parked and its cap: 0 when parked or unheld.
func (s *Sim) gpuUtilPercent(gi int, tMS int64) float64 {
	g := &s.gpus[gi]
	k := s.tickOf(tMS)
	if g.holderAt(k) < 0 {
		return 0
	}
	w := float64(s.value(qGPUPower, gi, k)) / 1000
	return math.Round(100 * math.Min(math.Max((w-g.typ.ParkedW)/(g.typ.PowerCapW-g.typ.ParkedW), 0), 1))
}

// podTokens is the pod's counter of quantity q at t: the model's tokens since the pod started.
func (s *Sim) podTokens(q quantity, pi int, tMS int64) float64 {
	p := &s.pods[pi]
	return float64(s.cumulative(q, p.model, tMS)-s.cumulative(q, p.model, p.k0*s.tickMS)) / 1e6
}

func (s *Sim) podPromptTokens(pi int, tMS int64) float64 { return s.podTokens(qPrompt, pi, tMS) }

func (s *Sim) podGenerationTokens(pi int, tMS int64) float64 {
	return s.podTokens(qGeneration, pi, tMS)
}

// requestTokensPerS is the token rate one running request adds (prompt + generation).
const requestTokensPerS = 60

func (s *Sim) podRequestsRunning(pi int, tMS int64) float64 {
	mi, k := s.pods[pi].model, s.tickOf(tMS)
	r := float64(s.value(qPrompt, mi, k)+s.value(qGeneration, mi, k)) / 1000
	if r < 0.1 {
		return 0
	}
	return math.Max(1, math.Round(r/requestTokensPerS))
}
