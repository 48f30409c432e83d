package sim

import (
	"cmp"
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
	// The serving signals (Naming.Serving), as vLLM's v1 engine names them (vllm/v1/metrics/loggers.py, read
	// at v0.10 and v0.11). vLLM renamed vllm:gpu_cache_usage_perc to vllm:kv_cache_usage_perc in v0.9 and
	// vllm:time_per_output_token_seconds to vllm:inter_token_latency_seconds in v0.11, emitting both names
	// for a while; a model with ModelSpec.LegacyVLLM emits only the old ones, as vLLM before v0.9 did. The
	// series carry model_name but not vLLM's engine label, like the token counters, and
	// vllm:cache_config_info only the labels that size the KV cache.
	MetricRequestsWaiting    = "vllm:num_requests_waiting"
	MetricKVCacheUsage       = "vllm:kv_cache_usage_perc"
	MetricGPUCacheUsage      = "vllm:gpu_cache_usage_perc"
	MetricPreemptions        = "vllm:num_preemptions_total"
	MetricRequestSuccess     = "vllm:request_success_total"
	MetricTTFT               = "vllm:time_to_first_token_seconds"
	MetricITL                = "vllm:inter_token_latency_seconds"
	MetricTimePerOutputToken = "vllm:time_per_output_token_seconds"
	MetricCacheConfig        = "vllm:cache_config_info"
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
	// NoEnergyCounter leaves out DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION, as many clusters do (a Node can
	// leave it out on its own).
	NoEnergyCounter bool
	// HostLabel is the label holding the node name: "Hostname" (the default) or "hostname" (dcgm-exporter
	// releases from May 2026); a Node's HostLabel overrides it.
	HostLabel string
	// GPUModelLabel, when set, puts the served model name on the GPU series of held GPUs under this label.
	GPUModelLabel string
	// Metrics renames metrics (standard name -> emitted name), e.g. the vLLM token counters to SGLang's.
	Metrics map[string]string
	// Labels renames labels on every series (standard name -> emitted name), e.g. model_name -> model.
	Labels map[string]string
	// Serving emits vLLM's serving signals (waiting requests, KV-cache usage, preemptions, requests, latency
	// histograms, cache config): off by default, as they multiply a history's series.
	Serving bool
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

type kind int

const (
	gauge kind = iota
	counter
	histogramKind
)

func (k kind) String() string { return [...]string{"gauge", "counter", "histogram"}[k] }

// family is one metric family and how to read its value for one series (a GPU or a pod) at t.
type family struct {
	name string
	// legacy is the name vLLM gave the family before v0.9, emitted for models with LegacyVLLM.
	legacy string
	help   string
	kind   kind
	gpu    bool // a dcgm-exporter family (one series per GPU); otherwise vLLM (one per pod)
	// serving families are emitted only with Naming.Serving.
	serving bool
	value   func(s *Sim, idx int, tMS int64) float64
	// hist and bounds are a histogram family's value and bucket boundaries.
	hist   func(s *Sim, idx int, tMS int64) histogram
	bounds []float64
	// labels are the family's own labels of series idx.
	labels func(s *Sim, idx int) []Label
}

var families = []family{
	{name: MetricPower, help: "Power draw (in W).", gpu: true, value: (*Sim).gpuPowerW},
	{name: MetricEnergy, help: "Total energy consumption since boot (in mJ).", kind: counter, gpu: true, value: (*Sim).gpuEnergyMJ},
	{name: MetricGPUUtil, help: "GPU utilization (in %).", gpu: true, value: (*Sim).gpuUtilPercent},
	{name: MetricPowerLimit, help: "Current power limit for the device (in W).", gpu: true, value: (*Sim).gpuPowerLimitW},
	{name: MetricPromptTokens, help: "Number of prefill tokens processed.", kind: counter, value: (*Sim).podPromptTokens},
	{name: MetricGenerationTokens, help: "Number of generation tokens processed.", kind: counter, value: (*Sim).podGenerationTokens},
	{name: MetricRequestsRunning, help: "Number of requests in model execution batches.",
		value: func(s *Sim, pi int, t int64) float64 { return math.Round(s.podState(pi, t).running) }},
	{name: MetricRequestsWaiting, help: "Number of requests waiting to be processed.", serving: true,
		value: func(s *Sim, pi int, t int64) float64 { return math.Round(s.podState(pi, t).waiting) }},
	{name: MetricKVCacheUsage, legacy: MetricGPUCacheUsage, help: "KV-cache usage. 1 means 100 percent usage.", serving: true,
		value: func(s *Sim, pi int, t int64) float64 { return s.podState(pi, t).kvUsage }},
	{name: MetricPreemptions, help: "Cumulative number of preemption from the engine.", kind: counter, serving: true,
		value: func(s *Sim, pi int, t int64) float64 { return math.Floor(s.podServing(sPreemptions, pi, t)) }},
	{name: MetricRequestSuccess, help: "Count of successfully processed requests.", kind: counter, serving: true,
		value:  func(s *Sim, pi int, t int64) float64 { return math.Floor(s.podServing(sRequests, pi, t)) },
		labels: func(*Sim, int) []Label { return []Label{{"finished_reason", "stop"}} }},
	{name: MetricTTFT, help: "Histogram of time to first token in seconds.", kind: histogramKind, serving: true,
		hist: (*Sim).podTTFT, bounds: TTFTBucketsS},
	{name: MetricITL, legacy: MetricTimePerOutputToken, help: "Histogram of inter-token latency in seconds.", kind: histogramKind,
		serving: true, hist: (*Sim).podITL, bounds: ITLBucketsS},
	{name: MetricCacheConfig, help: "Information of the LLMEngine CacheConfig", serving: true,
		value: func(*Sim, int, int64) float64 { return 1 }, labels: (*Sim).cacheConfigLabels},
}

// part is one series of a family's series as Prometheus stores it: the series itself, or a histogram's
// bucket (with its le label), sum or count.
type part struct {
	suffix string
	labels []Label
	value  func(s *Sim, idx int, tMS int64) float64
}

func (f family) parts() []part {
	if f.kind != histogramKind {
		return []part{{value: f.value}}
	}
	count := func(s *Sim, idx int, t int64) float64 { return float64(f.hist(s, idx, t).count) }
	var out []part
	for j, le := range f.bounds {
		out = append(out, part{suffix: "_bucket", labels: []Label{{"le", strconv.FormatFloat(le, 'f', -1, 64)}},
			value: func(s *Sim, idx int, t int64) float64 { return float64(f.hist(s, idx, t).buckets[j]) }})
	}
	return append(out, part{suffix: "_bucket", labels: []Label{{"le", "+Inf"}}, value: count},
		part{suffix: "_sum", value: func(s *Sim, idx int, t int64) float64 { return f.hist(s, idx, t).sum }},
		part{suffix: "_count", value: count})
}

// wants is whether naming emits the family at all.
func (n Naming) wants(f family) bool { return n.Serving || !f.serving }

// seriesName is the emitted name of family f for series idx (a GPU or a pod); false when not emitted.
func (s *Sim) seriesName(n Naming, f family, idx int) (string, bool) {
	switch {
	case !n.wants(f) || f.name == MetricEnergy && (n.NoEnergyCounter || s.gpus[idx].noEnergy):
		return "", false
	case f.legacy != "" && s.models[s.pods[idx].model].spec.LegacyVLLM:
		return n.metric(f.legacy), true
	}
	return n.metric(f.name), true
}

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
	host := cmp.Or(g.hostLabel, n.HostLabel, "Hostname")
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

// podLabels are the labels of pod pi's series of family f.
func (s *Sim) podLabels(n Naming, f family, pi int) []Label {
	m := &s.models[s.pods[pi].model]
	labels := []Label{{"model_name", m.spec.Name}, {"namespace", m.spec.Namespace}, {"pod", s.pods[pi].name}}
	if f.labels != nil {
		labels = append(labels, f.labels(s, pi)...)
	}
	return n.renamed(labels)
}

// cacheConfigLabels are the labels of vllm:cache_config_info that size the KV cache.
func (s *Sim) cacheConfigLabels(pi int) []Label {
	r := &s.replicas[s.pods[pi].replica]
	blocks := kvBlocks(s.models[r.model].spec, r.typ, r.spec.GPUs)
	return []Label{{"block_size", strconv.Itoa(KVBlockSize)}, {"gpu_memory_utilization", strconv.FormatFloat(GPUMemoryUtilization, 'f', -1, 64)},
		{"num_gpu_blocks", strconv.Itoa(blocks)}}
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
	return float64(s.cumulative(q, p.replica, tMS)-s.cumulative(q, p.replica, p.k0*s.tickMS)) / 1e6
}

func (s *Sim) podPromptTokens(pi int, tMS int64) float64 { return s.podTokens(qPrompt, pi, tMS) }

func (s *Sim) podGenerationTokens(pi int, tMS int64) float64 {
	return s.podTokens(qGeneration, pi, tMS)
}
