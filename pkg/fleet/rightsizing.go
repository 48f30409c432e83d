package fleet

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// SizingOptions are the knobs of right-sizing and consolidation (the query options of the same names).
type SizingOptions struct {
	// KVHeadroom is the share of the weights kept free for the KV cache.
	KVHeadroom float64
	// TrafficMargin is the share of the smaller allocation's capacity left unused at the p95 token rate.
	TrafficMargin float64
	// MinHistory is the least traffic history that gives a right-sizing verdict.
	MinHistory time.Duration
	// SpinDownIdleShare is the share of steps with data a model must be idle to be a spin-down candidate.
	SpinDownIdleShare float64
	Sizes             ModelSizes
}

// Defaults of the sizing options.
const (
	DefaultKVHeadroom        = 0.2
	DefaultTrafficMargin     = 0.3
	DefaultMinHistory        = 48 * time.Hour
	DefaultSpinDownIdleShare = 0.95
)

// DefaultSizingOptions are the sizing options at their defaults, with the built-in model catalog.
func DefaultSizingOptions() SizingOptions {
	return SizingOptions{
		KVHeadroom:        DefaultKVHeadroom,
		TrafficMargin:     DefaultTrafficMargin,
		MinHistory:        DefaultMinHistory,
		SpinDownIdleShare: DefaultSpinDownIdleShare,
		Sizes:             DefaultSizes(),
	}
}

// CapacitySource says what a model's capacity estimate rests on.
type CapacitySource string

const (
	// CapacityPowerCap is the token rate at which the model's GPUs reached their power limit (its curve).
	CapacityPowerCap CapacitySource = "power-cap"
	// CapacityCurve is the token rate at which the model's fit reaches the GPUs' power limit, for a model that
	// never got there: its own curve extrapolated, never below what it was seen to serve.
	CapacityCurve CapacitySource = "curve"
	// CapacityPeak is the highest token rate per GPU observed (99th percentile of steps).
	CapacityPeak CapacitySource = "observed-peak"
)

// MinCapacityFitR2 is the least R² of a model's fit that right-sizing extrapolates capacity from.
const MinCapacityFitR2 = 0.9

// RightSizing is the verdict on one model's allocation.
type RightSizing struct {
	Model   string
	GPUType string
	// GPUs is the allocation the model held for most of the window.
	GPUs int
	Size ModelSize
	// MemoryNeedGB is weights x (1 + KV headroom); NaN when the size is unknown.
	MemoryNeedGB   float64
	UsableGBPerGPU float64
	// MinGPUsByMemory is the smallest tensor-parallel size whose usable memory holds MemoryNeedGB; 0 when
	// unknown or when even 8 GPUs do not.
	MinGPUsByMemory int
	// RecommendedGPUs is the smallest tensor-parallel size that holds the model and serves its traffic (GPUs
	// when nothing smaller does); 0 when there is no recommendation (see Reason).
	RecommendedGPUs int
	// Verdict is false when the model could not be judged: unknown size or GPU, too little history.
	Verdict   bool
	Oversized bool

	Traffic Traffic
	// CapacityTokensPerS is what RecommendedGPUs are estimated to serve (the rule in docs/right-sizing.md).
	CapacityTokensPerS float64
	CapacitySource     CapacitySource

	JPerToken float64
	// ProjectedJPerToken is J/token on RecommendedGPUs: (power - saving) / tokens per second.
	ProjectedJPerToken float64
	// SavingW = SavingIdleW (GPUs freed x idle floor) + SavingProductiveW (the serving overhead of the freed
	// GPUs the fit predicts); 0 unless oversized.
	SavingW           float64
	SavingIdleW       float64
	SavingProductiveW float64
	SavingKWhPerDay   float64
	SavingKgCO2PerDay float64
	IdleFloor         IdleFloor
	Reason            string
}

// RightSize judges whether model m holds more GPUs than its size and traffic need. floors are the fleet's
// idle floors (MeasureIdleFloors), o the efficiency options (GPU catalog, carbon, idle threshold, tokens).
//
// The model fits n GPUs when n x UsableGB >= weights x (1 + KVHeadroom). Its traffic fits n GPUs when
// p95 tokens/s <= (1 - TrafficMargin) x capacity(n), capacity(n) = capacity per GPU x n (see capacityPerGPU).
// Linear scaling in n is conservative: a model sharded over fewer GPUs communicates less.
func RightSize(m *Model, g Grid, floors IdleFloors, o Options, so SizingOptions) RightSizing {
	r := RightSizing{
		Model: m.Name, GPUType: m.GPUType(),
		MemoryNeedGB: math.NaN(), UsableGBPerGPU: math.NaN(),
		CapacityTokensPerS: math.NaN(), JPerToken: math.NaN(), ProjectedJPerToken: math.NaN(),
	}
	r.Traffic = MeasureTraffic(m, g, o)
	r.GPUs = r.Traffic.GPUs
	r.Size = so.Sizes.Lookup(m.Name)
	r.IdleFloor = floors.For(r.GPUType)
	gpuName := ShortGPUName(r.GPUType)

	spec, knownGPU := o.GPUs.Lookup(r.GPUType)
	switch {
	case r.GPUs == 0:
		r.Reason = "no GPU data for this model in the window"
		return r
	case !r.Traffic.Current:
		r.Reason = fmt.Sprintf("no data in the last %d steps of the window: the model no longer runs", RecentSteps)
		return r
	case !knownGPU:
		r.Reason = fmt.Sprintf("GPU type %q is not in the GPU catalog; add its memory under GPUs in the data source settings", r.GPUType)
		return r
	case !r.Size.Known:
		r.Reason = r.Size.Reason
		return r
	}
	r.UsableGBPerGPU = UsableGB(spec)
	r.MemoryNeedGB = MemoryNeedGB(r.Size, so.KVHeadroom)
	r.MinGPUsByMemory = MinTensorParallel(r.MemoryNeedGB, r.UsableGBPerGPU)
	need := fmt.Sprintf("needs ~%.0f GB at %s (%s)", r.MemoryNeedGB, r.Size.Dtype, r.sizeOrigin())
	serving := fmt.Sprintf("%dx %s serving %s tok/s p95", r.GPUs, gpuName, formatRate(r.Traffic.P95TokensPerS))

	switch {
	case r.MinGPUsByMemory == 0:
		r.Verdict = true
		r.Reason = fmt.Sprintf("%dx %s; %s: more than 8x %s hold (%.0f GB usable); no smaller allocation",
			r.GPUs, gpuName, need, gpuName, 8*r.UsableGBPerGPU)
		return r
	case r.MinGPUsByMemory > r.GPUs:
		r.Verdict = true
		r.Reason = fmt.Sprintf("%dx %s; %s: at least %dx %s; no smaller allocation", r.GPUs, gpuName, need, r.MinGPUsByMemory, gpuName)
		return r
	case r.Traffic.History < so.MinHistory:
		r.Reason = fmt.Sprintf("%s; %s: fits %dx %s; only %.0f h of traffic history, a verdict needs %.0f h (minHistoryHours)",
			serving, need, r.MinGPUsByMemory, gpuName, r.Traffic.History.Hours(), so.MinHistory.Hours())
		return r
	}
	r.Verdict = true

	curve := EfficiencyCurve(m, floors, o)
	perGPU, source := capacityPerGPU(curve.Fit, r.Traffic, r.GPUs, spec.TDPW)
	r.CapacitySource = source
	idle := o.isIdle(r.Traffic.P95TokensPerS)
	r.RecommendedGPUs = r.GPUs
	for _, n := range TensorParallelSizes {
		if n < r.MinGPUsByMemory || n >= r.GPUs {
			continue
		}
		capacity := perGPU * float64(n)
		if idle || r.Traffic.P95TokensPerS <= (1-so.TrafficMargin)*capacity {
			r.RecommendedGPUs, r.CapacityTokensPerS = n, capacity
			break
		}
	}
	r.Oversized = r.RecommendedGPUs < r.GPUs

	a := Attribute(m, g, floors, o)
	r.JPerToken = a.JPerToken
	if !r.Oversized {
		r.ProjectedJPerToken = a.JPerToken
		r.Reason = r.keepReason(serving, need, gpuName, perGPU, so.TrafficMargin)
		return r
	}

	freed := float64(r.GPUs - r.RecommendedGPUs)
	r.SavingIdleW = freed * r.IdleFloor.W
	productive := ""
	if curve.Fit.OK {
		// The fit's intercept above the GPUs' idle floor is what they draw for being awake while serving;
		// it scales with the GPUs and is paid on busy steps only. Per-token energy (k) stays.
		overheadW := math.Max(0, curve.Fit.P0W-float64(r.GPUs)*r.IdleFloor.W)
		r.SavingProductiveW = overheadW * freed / float64(r.GPUs) * (1 - r.Traffic.IdleShare)
	} else {
		productive = "; change in serving power not estimated: " + curve.Fit.Reason
	}
	r.SavingW = math.Min(r.SavingIdleW+r.SavingProductiveW, a.PowerW)
	r.SavingKWhPerDay = r.SavingW * 24 / 1000
	r.SavingKgCO2PerDay = r.SavingW * 86400 * gramsPerJoule(m, a, o) / 1000
	if !idle {
		r.ProjectedJPerToken = (a.PowerW - r.SavingW) / a.TokensPerS
	}
	traffic := fmt.Sprintf("%dx would serve ~%s tok/s (%s)", r.RecommendedGPUs, formatRate(r.CapacityTokensPerS), source)
	if idle {
		traffic = "idle at p95: consider a spin-down (consolidation)"
	}
	r.Reason = fmt.Sprintf("%s; %s: fits %dx %s; %s; saves ~%.0f W%s",
		serving, need, r.RecommendedGPUs, gpuName, traffic, r.SavingW, productive)
	return r
}

// capacityPerGPU is what one GPU of the model's type can serve, judged from the model's own data:
//   - the rate where its GPUs reached their power limit, when they did in the window (power-cap);
//   - else, when its fit is good, the rate where the fit reaches the GPUs' power limit: power per GPU is
//     p0/gpus + k x rate per GPU, so that is (limit - p0/gpus) / k, never less than the observed peak (curve);
//   - else the observed peak: the 99th percentile of tokens/s per GPU (observed-peak).
func capacityPerGPU(fit Fit, t Traffic, gpus int, limitPerGPUW float64) (float64, CapacitySource) {
	n := float64(gpus)
	if c := fit.CapStartsTokensPerS; !math.IsNaN(c) {
		return c / n, CapacityPowerCap
	}
	if fit.OK && fit.R2 >= MinCapacityFitR2 && fit.KJPerToken > 0 && limitPerGPUW > fit.P0W/n {
		if c := (limitPerGPUW - fit.P0W/n) / fit.KJPerToken; c > t.PeakTokensPerSPerGPU {
			return c, CapacityCurve
		}
	}
	return t.PeakTokensPerSPerGPU, CapacityPeak
}

// RightSizeFleet is RightSize for every allocated model of the fleet that selected keeps (nil keeps all).
func RightSizeFleet(f *Fleet, selected func(string) bool, floors IdleFloors, o Options, so SizingOptions) []RightSizing {
	var out []RightSizing
	for i := range f.Models {
		m := &f.Models[i]
		if m.Unallocated || (selected != nil && !selected(m.Name)) {
			continue
		}
		out = append(out, RightSize(m, f.Grid, floors, o, so))
	}
	return out
}

func (r *RightSizing) keepReason(serving, need, gpuName string, perGPU, margin float64) string {
	if r.MinGPUsByMemory == r.GPUs {
		return fmt.Sprintf("%s; %s: fits no fewer than %dx %s", serving, need, r.GPUs, gpuName)
	}
	n := r.MinGPUsByMemory
	return fmt.Sprintf("%s; %s: fits %dx %s, but %dx would serve ~%s tok/s (%s), too little for the p95 with a %.0f%% margin",
		serving, need, n, gpuName, n, formatRate(perGPU*float64(n)), r.CapacitySource, margin*100)
}

// sizeOrigin says where the size in a reason comes from.
func (r *RightSizing) sizeOrigin() string {
	s := r.Size
	out := fmt.Sprintf("%s from the %s", formatB(s.ParamsB), s.Source)
	if s.DtypeSource == DtypeAssumed {
		out += ", bf16 assumed"
	}
	return out
}

// gramsPerJoule is the model's CO2 per joule (its hosts' intensities weighted by their energy, PUE included).
func gramsPerJoule(m *Model, a Attribution, o Options) float64 {
	if a.EnergyJ > 0 {
		return a.CO2G / a.EnergyJ
	}
	host := ""
	if len(m.Placements) > 0 {
		host = m.Placements[0].Host
	}
	return o.Carbon.gPerJ(host)
}

// ShortGPUName drops the vendor from a GPU type for reasons and labels: "NVIDIA A100-SXM4-80GB" -> "A100-SXM4-80GB".
func ShortGPUName(gpuType string) string {
	s := strings.TrimSpace(gpuType)
	for _, vendor := range []string{"NVIDIA ", "Tesla "} {
		s = strings.TrimPrefix(s, vendor)
	}
	if s == "" {
		return "GPU"
	}
	return s
}

func formatRate(r float64) string {
	switch {
	case math.IsNaN(r):
		return "?"
	case r >= 10:
		return fmt.Sprintf("%.0f", r)
	}
	return fmt.Sprintf("%.2g", r)
}

func formatDuration(d time.Duration) string {
	if h := d.Hours(); h >= 72 {
		return fmt.Sprintf("%.1f d", h/24)
	} else if h >= 1 {
		return fmt.Sprintf("%.0f h", h)
	}
	return fmt.Sprintf("%.0f min", d.Minutes())
}
