package fleet

import (
	"cmp"
	"fmt"
	"math"
	"slices"
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
	// ContextTokens is the mean tokens a running request holds in the KV cache, for the physics bound.
	ContextTokens float64
	// SLO is the latency a recommendation must keep at the p95 traffic.
	SLO SLO
	// FreedGPUs is the baseline of the savings; PoolIdle the measured idle power of unallocated GPUs
	// (RightSizeFleet and Consolidate measure it from the fleet when nil).
	FreedGPUs FreedGPUs
	PoolIdle  PoolIdleW
}

// Defaults of the sizing options.
const (
	DefaultKVHeadroom        = 0.2
	DefaultTrafficMargin     = 0.3
	DefaultMinHistory        = 48 * time.Hour
	DefaultSpinDownIdleShare = 0.95
	// DefaultTTFTP95 and DefaultITLP95 are MLPerf Inference's server-scenario latency limits for Llama-2-70B
	// (2 s to first token, 200 ms per output token, at the p99); right-sizing holds them at the p95.
	DefaultTTFTP95 = 2 * time.Second
	DefaultITLP95  = 200 * time.Millisecond
)

// DefaultSizingOptions are the sizing options at their defaults, with the built-in model catalog.
func DefaultSizingOptions() SizingOptions {
	return SizingOptions{
		KVHeadroom:        DefaultKVHeadroom,
		TrafficMargin:     DefaultTrafficMargin,
		MinHistory:        DefaultMinHistory,
		SpinDownIdleShare: DefaultSpinDownIdleShare,
		Sizes:             DefaultSizes(),
		ContextTokens:     DefaultContextTokens,
		SLO:               SLO{TTFTP95: DefaultTTFTP95, ITLP95: DefaultITLP95},
		FreedGPUs:         FreedToPool,
	}
}

// CapacitySource says which evidence decided a capacity estimate.
type CapacitySource string

const (
	// CapacityPhysics is the bound from HBM bandwidth and KV room (ReplicaPhysics).
	CapacityPhysics CapacitySource = "physics"
	// CapacityPower is the rate at which the GPUs would reach their power limit, from the per-token energy
	// bounded by the power at the p95 (and the fit's slope interval where there is a fit).
	CapacityPower CapacitySource = "power-headroom"
	// CapacityPowerCap is the rate at which the model's GPUs did reach their power limit in the window.
	CapacityPowerCap CapacitySource = "power-cap"
	// CapacitySaturation is the serving engine's own signals: where requests queued, or where the KV cache
	// would fill.
	CapacitySaturation CapacitySource = "saturation"
	// CapacityPeak is the highest token rate per GPU observed (99th percentile of steps) x GPUs: the last
	// resort, when no other evidence exists.
	CapacityPeak CapacitySource = "observed-peak"
)

// RightSizing is the verdict on one model's allocation.
type RightSizing struct {
	Model   string
	GPUType string
	// GPUs is the allocation the model held for most of the window: Replicas x GPUsPerReplica.
	GPUs           int
	Replicas       int
	GPUsPerReplica int
	Size           ModelSize
	// MemoryNeedGB is weights x (1 + KV headroom); NaN when the size is unknown.
	MemoryNeedGB   float64
	UsableGBPerGPU float64
	// MinGPUsByMemory is the smallest tensor-parallel size whose usable memory holds MemoryNeedGB; 0 when
	// unknown or when even 8 GPUs do not.
	MinGPUsByMemory int
	// RecommendedGPUs is the smallest allocation that holds the model, serves its traffic and keeps its SLO
	// (GPUs when nothing smaller does), as RecommendedReplicas x RecommendedGPUsPerReplica; 0 when there is no
	// recommendation (see Reason).
	RecommendedGPUs           int
	RecommendedReplicas       int
	RecommendedGPUsPerReplica int
	GPUsFreed                 int
	// RecommendedCapacityTokensPerS is what the recommended allocation serves (the least bound), for
	// co-location: a model at rate r takes r / this of its GPUs' time.
	RecommendedCapacityTokensPerS float64
	// Verdict is false when the model could not be judged: unknown size or GPU, too little history.
	Verdict   bool
	Oversized bool

	Traffic Traffic
	// CapacityTokensPerS is what the judged allocation is estimated to serve (the recommendation, or the
	// largest smaller allocation that was turned down): the least of the bounds below, CapacitySource the
	// one that decided. The bounds are NaN where their evidence is missing.
	CapacityTokensPerS           float64
	CapacitySource               CapacitySource
	PhysicsCapacityTokensPerS    float64
	PowerCapacityTokensPerS      float64
	SaturationCapacityTokensPerS float64
	// PowerHeadroomShare is (power per GPU at the p95 - idle floor) / (power limit - idle floor): near 0, the
	// GPUs are far from saturation.
	PowerHeadroomShare float64
	// AtCapacity is true when the serving engine showed the model queueing or its KV cache full.
	AtCapacity bool
	// LatencyChecked is true when the judged allocation's latency was projected against the SLO; the
	// projections are NaN otherwise.
	LatencyChecked    bool
	ProjectedTTFTP95S float64
	ProjectedITLP95S  float64

	JPerToken float64
	// JPerRequest is the window's energy over the requests the serving engine counted; NaN without its counter.
	JPerRequest float64
	// ProjectedJPerToken is J/token on RecommendedGPUs: (power - saving) / tokens per second.
	ProjectedJPerToken float64
	// SavingW = SavingIdleW (GPUs freed x what each saves under FreedGPUs) + SavingProductiveW (the serving
	// overhead of the freed GPUs the fit predicts); 0 unless oversized.
	SavingW           float64
	SavingIdleW       float64
	SavingProductiveW float64
	SavingKWhPerDay   float64
	SavingKgCO2PerDay float64
	// SavingsPerMonth is the saving in money (Prices.SavingsPerMonth): energy and the freed GPUs' hours.
	SavingsPerMonth float64
	SavingBaseline  FreedGPUs
	// PoolIdleW is what a freed GPU draws in the pool (NaN when powered off or unknown).
	PoolIdleW      float64
	PoolIdleSource IdleSource
	IdleFloor      IdleFloor
	Reason         string
}

// RightSize judges whether model m holds more GPUs than its size, traffic and latency need. floors are the
// fleet's idle floors (MeasureIdleFloors), o the efficiency options (GPU catalog, carbon, idle threshold,
// tokens). The rule is in docs/right-sizing.md: a candidate allocation (fewer replicas, or a smaller
// tensor-parallel size per replica, that holds the model by memory) is recommended when the p95 token rate is
// at most (1 - TrafficMargin) x its capacity, the least of the bounds the evidence supports (physics, power
// headroom or power cap, saturation), and its projected latency keeps the SLO.
func RightSize(m *Model, g Grid, floors IdleFloors, o Options, so SizingOptions) RightSizing {
	r := RightSizing{
		Model: m.Name, GPUType: m.GPUType(),
		MemoryNeedGB: math.NaN(), UsableGBPerGPU: math.NaN(),
		CapacityTokensPerS: math.NaN(), JPerToken: math.NaN(), ProjectedJPerToken: math.NaN(),
		PhysicsCapacityTokensPerS: math.NaN(), PowerCapacityTokensPerS: math.NaN(), SaturationCapacityTokensPerS: math.NaN(),
		PowerHeadroomShare: math.NaN(), ProjectedTTFTP95S: math.NaN(), ProjectedITLP95S: math.NaN(), PoolIdleW: math.NaN(),
		RecommendedCapacityTokensPerS: math.NaN(), JPerRequest: math.NaN(),
	}
	r.Traffic = MeasureTraffic(m, g, o)
	r.GPUs = r.Traffic.GPUs
	current := currentCandidate(m, r.GPUs)
	r.Replicas, r.GPUsPerReplica = current.Replicas, current.GPUsPerReplica
	r.Size = so.Sizes.Lookup(m.Name)
	r.IdleFloor = floors.ForModel(m.Name, r.GPUType)
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
	serving := fmt.Sprintf("%s %s serving %s tok/s p95", current, gpuName, formatRate(r.Traffic.P95TokensPerS))

	switch {
	case r.MinGPUsByMemory == 0:
		r.Verdict = true
		r.Reason = fmt.Sprintf("%s %s; %s: more than 8x %s hold (%.0f GB usable); no smaller allocation",
			current, gpuName, need, gpuName, 8*r.UsableGBPerGPU)
		return r
	case r.MinGPUsByMemory > current.GPUsPerReplica:
		r.Verdict = true
		r.Reason = fmt.Sprintf("%s %s; %s: at least %dx %s; no smaller allocation", current, gpuName, need, r.MinGPUsByMemory, gpuName)
		return r
	case r.Traffic.History < so.MinHistory:
		r.Reason = fmt.Sprintf("%s; %s: fits %dx %s; only %.0f h of traffic history, a verdict needs %.0f h (minHistoryHours)",
			serving, need, r.MinGPUsByMemory, gpuName, r.Traffic.History.Hours(), so.MinHistory.Hours())
		return r
	}
	r.Verdict = true

	curve := EfficiencyCurve(m, floors, o)
	e, missing := gatherEvidence(m, g, r, spec, curve.Fit, o, so)
	r.PowerHeadroomShare = e.headroomShare
	r.AtCapacity = e.serving.atCapacity
	capNow, _ := e.capacity(current, r.Traffic)
	idle := o.isIdle(r.Traffic.P95TokensPerS)

	rec, judged := current, judgement{}
	for _, c := range Candidates(current, r.MinGPUsByMemory) {
		j := e.judge(c, capNow, r.Traffic, so, idle)
		judged = j
		if j.fits {
			rec = c
			break
		}
	}
	r.RecommendedGPUs, r.RecommendedReplicas, r.RecommendedGPUsPerReplica = rec.GPUs(), rec.Replicas, rec.GPUsPerReplica
	r.RecommendedCapacityTokensPerS, _ = e.capacity(rec, r.Traffic)
	r.GPUsFreed = r.GPUs - rec.GPUs()
	r.Oversized = r.GPUsFreed > 0
	if judged.candidate.GPUs() > 0 {
		r.CapacityTokensPerS, r.CapacitySource = judged.capacity, judged.source
		r.PhysicsCapacityTokensPerS, r.PowerCapacityTokensPerS, r.SaturationCapacityTokensPerS = judged.bounds.physics, judged.bounds.power, judged.bounds.saturation
		r.LatencyChecked, r.ProjectedTTFTP95S, r.ProjectedITLP95S = judged.latency.checked, judged.latency.ttftS, judged.latency.itlS
	}
	evidenceNote := ""
	if said := e.serving.said; len(said) > 0 {
		evidenceNote = "; serving engine: " + strings.Join(said, ", ")
	}
	if len(missing) > 0 {
		evidenceNote += "; " + strings.Join(missing, "; ")
	}

	a := Attribute(m, g, floors, o)
	r.JPerToken = a.JPerToken
	if sv := m.Serving; sv != nil && sv.Requests > 0 {
		r.JPerRequest = a.EnergyJ / sv.Requests
	}
	if !r.Oversized {
		r.ProjectedJPerToken = a.JPerToken
		if l := judged.latency; !l.checked && l.about != "" {
			evidenceNote = "; " + l.about + evidenceNote
		}
		r.Reason = r.keepReason(serving, need, gpuName, judged, so.TrafficMargin) + evidenceNote
		return r
	}

	freed := float64(r.GPUsFreed)
	fs := freedSavingW(freedFloor(r.IdleFloor, curve.Fit, r.GPUs), r.GPUType, so, o.GPUs)
	r.SavingBaseline = so.FreedGPUs
	if fs.pool.Source != "" {
		r.PoolIdleW, r.PoolIdleSource = fs.pool.W, fs.pool.Source
	}
	r.SavingIdleW = freed * fs.perGPUW
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
	r.SavingsPerMonth = o.Prices.SavingsPerMonth(r.SavingW, a.Cost.Energy, a.EnergyJ, r.GPUsFreed, r.GPUType)
	if !idle {
		r.ProjectedJPerToken = (a.PowerW - r.SavingW) / a.TokensPerS
	}
	traffic := fmt.Sprintf("%s would serve ~%s tok/s (%s decided; %s)", rec, formatRate(r.CapacityTokensPerS), r.CapacitySource, judged.boundsText())
	if current.Replicas > 1 || rec.Replicas > 1 {
		traffic += fmt.Sprintf("; %s of %s instead of %s of %s", plural(rec.Replicas, "replica"), plural(rec.GPUsPerReplica, "GPU"),
			plural(current.Replicas, "replica"), plural(current.GPUsPerReplica, "GPU"))
	}
	if idle {
		traffic = "idle at p95: consider a spin-down (consolidation)"
	}
	r.Reason = fmt.Sprintf("%s; %s: fits %dx %s; %s; %s; frees %s, saves ~%.0f W (%s)%s%s",
		serving, need, rec.GPUsPerReplica, gpuName, traffic, judged.latency.about, plural(r.GPUsFreed, "GPU"), r.SavingW, fs.about, productive, evidenceNote)
	return r
}

// freedFloor is what a freed GPU draws now with no traffic: the idle floor, unless the floor is only the
// catalog's (the fleet parked no GPU of the type) and the model's own fit puts its power at zero traffic per GPU
// lower: then that, so the saving is not inflated by a catalog figure this fleet does not show.
func freedFloor(floor IdleFloor, fit Fit, gpus int) IdleFloor {
	if floor.Source == IdleCatalog && fit.OK && gpus > 0 {
		if w := fit.P0W / float64(gpus); w > 0 && w < floor.W {
			floor.W, floor.Source = w, IdleFromFit
		}
	}
	return floor
}

// currentCandidate is the model's allocation as replicas x GPUs per replica; one replica of gpus when the
// read path's allocation does not add up to the GPUs held most of the window.
func currentCandidate(m *Model, gpus int) Candidate {
	if a := m.Allocation(); a.Replicas > 0 && a.GPUsPerReplica > 0 && a.Replicas*a.GPUsPerReplica == gpus {
		return Candidate{Replicas: a.Replicas, GPUsPerReplica: a.GPUsPerReplica}
	}
	return Candidate{Replicas: 1, GPUsPerReplica: gpus}
}

// Candidates are the allocations smaller than current that hold the model (a tensor-parallel size of at least
// minTP), fewest GPUs first; among equals the current tensor-parallel size first (fewer replicas is the
// smaller change), then the larger one (more KV room per replica).
func Candidates(current Candidate, minTP int) []Candidate {
	var out []Candidate
	for _, tp := range TensorParallelSizes {
		if tp < minTP {
			continue
		}
		for n := 1; n*tp < current.GPUs(); n++ {
			out = append(out, Candidate{Replicas: n, GPUsPerReplica: tp})
		}
	}
	slices.SortFunc(out, func(a, b Candidate) int {
		if c := cmp.Compare(a.GPUs(), b.GPUs()); c != 0 {
			return c
		}
		if (a.GPUsPerReplica == current.GPUsPerReplica) != (b.GPUsPerReplica == current.GPUsPerReplica) {
			if a.GPUsPerReplica == current.GPUsPerReplica {
				return -1
			}
			return 1
		}
		return cmp.Compare(b.GPUsPerReplica, a.GPUsPerReplica)
	})
	return out
}

// gatherEvidence collects what the model's data say about its capacity, and says which evidence is missing.
func gatherEvidence(m *Model, g Grid, r RightSizing, spec GPUSpec, fit Fit, o Options, so SizingOptions) (*evidence, []string) {
	e := &evidence{
		size: r.Size, spec: spec, current: Candidate{Replicas: r.Replicas, GPUsPerReplica: r.GPUsPerReplica},
		context: so.ContextTokens, p95: r.Traffic.P95TokensPerS, tokens: o.Tokens,
		capRate: fit.CapStartsTokensPerS, floorW: r.IdleFloor.W, limitW: spec.TDPW, headroomShare: math.NaN(),
	}
	if !(e.context > 0) {
		e.context = DefaultContextTokens
	}
	var missing []string
	tokens, power, gen := m.TokensPerS(o.Tokens), m.PowerW(), m.GenerationTokensPerS
	busy := make([]bool, g.N)
	var busyPower, genRates []float64
	var sumCounted, sumGen float64
	for i := range busy {
		rt, w := at(tokens, i), at(power, i)
		if math.IsNaN(rt) || math.IsNaN(w) || o.isIdle(rt) {
			continue
		}
		busy[i] = true
		busyPower = append(busyPower, w)
		if gr := at(gen, i); !math.IsNaN(gr) {
			genRates = append(genRates, gr)
			sumCounted, sumGen = sumCounted+rt, sumGen+gr
		}
	}
	e.genShare = ratio(sumGen, sumCounted)

	if spec.HBMGBPerS <= 0 {
		missing = append(missing, "physics not checked: the GPU catalog has no memory bandwidth for "+ShortGPUName(r.GPUType))
		e.genShare = math.NaN()
	} else if ok, why := e.physicsTrusted(Quantile(genRates, 0.99)); !ok {
		if why != "" {
			missing = append(missing, why)
		}
		e.genShare = math.NaN()
	} else if r.Size.KVSource == KVEstimated {
		missing = append(missing, fmt.Sprintf("KV cache per token estimated (%.0f kB: architecture unknown)", r.Size.KVBytesPerToken/1e3))
	}
	if math.IsNaN(e.capRate) {
		e.powerEvidence(fit, Quantile(busyPower, 0.95))
		if !e.powerOK && e.powerMissingReason != "" {
			missing = append(missing, "power headroom not used: "+e.powerMissingReason)
		}
	}
	e.gatherServing(m, busy)
	missing = append(missing, e.serving.missing...)
	return e, missing
}

// capacity is the decided capacity of candidate c; the observed peak per GPU x its GPUs when no evidence
// gives a bound.
func (e *evidence) capacity(c Candidate, t Traffic) (float64, CapacitySource) {
	v, s := e.bounds(c).decide()
	if math.IsNaN(v) {
		return t.PeakTokensPerSPerGPU * float64(c.GPUs()), CapacityPeak
	}
	return v, s
}

// judgement is one candidate's verdict.
type judgement struct {
	candidate Candidate
	bounds    capacityBounds
	capacity  float64
	source    CapacitySource
	latency   latency
	// tooSlow is false when the capacity serves the p95 with the margin.
	tooSlow bool
	fits    bool
}

func (e *evidence) judge(c Candidate, capNow float64, t Traffic, so SizingOptions, idle bool) judgement {
	j := judgement{candidate: c, bounds: e.bounds(c)}
	j.capacity, j.source = e.capacity(c, t)
	j.tooSlow = !idle && !(t.P95TokensPerS <= (1-so.TrafficMargin)*j.capacity)
	j.latency = e.projectLatency(so.SLO, c, capNow, j.capacity)
	if idle {
		j.latency = latency{ttftS: math.NaN(), itlS: math.NaN(), about: "latency not projected (idle at the p95)"}
	}
	j.fits = !j.tooSlow && j.latency.breach == ""
	return j
}

// boundsText lists the bounds a judgement had.
func (j judgement) boundsText() string {
	var parts []string
	for _, b := range []struct {
		name string
		v    float64
	}{{"physics", j.bounds.physics}, {"power", j.bounds.power}, {"saturation", j.bounds.saturation}} {
		if !math.IsNaN(b.v) {
			parts = append(parts, fmt.Sprintf("%s ~%s", b.name, formatRate(b.v)))
		}
	}
	if len(parts) == 0 {
		return "no bound: observed peak per GPU"
	}
	return strings.Join(parts, ", ")
}

// RightSizeFleet is RightSize for every allocated model of the fleet that selected keeps (nil keeps all).
func RightSizeFleet(f *Fleet, selected func(string) bool, floors IdleFloors, o Options, so SizingOptions) []RightSizing {
	so = so.forFleet(f)
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

func (r *RightSizing) keepReason(serving, need, gpuName string, j judgement, margin float64) string {
	if j.candidate.GPUs() == 0 {
		return fmt.Sprintf("%s; %s: fits no fewer than %s %s", serving, need, Candidate{Replicas: r.Replicas, GPUsPerReplica: r.GPUsPerReplica}, gpuName)
	}
	c := j.candidate
	if j.tooSlow {
		also := ""
		if j.latency.breach != "" {
			also = "; on " + c.String() + ": " + j.latency.breach
		}
		return fmt.Sprintf("%s; %s: fits %dx %s, but %s would serve ~%s tok/s (%s decided; %s), too little for the p95 with a %.0f%% margin%s",
			serving, need, r.MinGPUsByMemory, gpuName, c, formatRate(j.capacity), j.source, j.boundsText(), margin*100, also)
	}
	return fmt.Sprintf("%s; %s: fits %dx %s and %s would serve ~%s tok/s (%s decided), but on %s: %s",
		serving, need, r.MinGPUsByMemory, gpuName, c, formatRate(j.capacity), j.source, c, j.latency.breach)
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

// forFleet is so with the fleet's measured pool idle power, unless set.
func (so SizingOptions) forFleet(f *Fleet) SizingOptions {
	if so.PoolIdle == nil {
		so.PoolIdle = MeasurePoolIdle(f)
	}
	return so
}
