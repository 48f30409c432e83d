package fleet

import (
	"fmt"
	"math"
)

// Candidate is an allocation right-sizing may recommend: Replicas servers of GPUsPerReplica GPUs each
// (the tensor-parallel size).
type Candidate struct {
	Replicas       int
	GPUsPerReplica int
}

// GPUs is the candidate's GPU count.
func (c Candidate) GPUs() int { return c.Replicas * c.GPUsPerReplica }

func (c Candidate) String() string {
	if c.Replicas == 1 {
		return fmt.Sprintf("%dx", c.GPUsPerReplica)
	}
	return fmt.Sprintf("%d replicas x %d", c.Replicas, c.GPUsPerReplica)
}

// Physics constants (sources in docs/right-sizing.md).
const (
	// DefaultContextTokens is the mean number of tokens a running request holds in the KV cache (prompt plus
	// output so far) where the serving engine's request counters cannot tell it.
	DefaultContextTokens = 2048
	// ServerOverheadGBPerGPU is what a vLLM server takes on each of its GPUs besides weights and KV cache:
	// the CUDA context (~0.5 GB), activations of the profiling batch and CUDA graphs.
	ServerOverheadGBPerGPU = 2.0
	// MinHeadroomShare is the least power above the idle floor at the p95, as a share of the span from floor
	// to power limit, that the power bound credits: a smaller difference is within the noise of the floor.
	MinHeadroomShare = 0.01
)

// Physics is the upper bound on one replica's generation rate that memory bandwidth and KV room allow.
type Physics struct {
	// KVRoomGB is the replica's memory left for the KV cache: GPUs x usable - weights - GPUs x overhead.
	KVRoomGB float64
	// Batch is how many requests of the mean context fit the KV room.
	Batch float64
	// StepS is the shortest decode step at that batch: the active weights and the batch's KV cache, read once
	// per step, over the GPUs' summed HBM bandwidth.
	StepS float64
	// GenTokensPerS is Batch / StepS: one token per request per step.
	GenTokensPerS float64
	OK            bool
}

// ReplicaPhysics is the physics bound of one replica of tp GPUs of spec serving a model of size at a mean
// context of contextTokens. Not OK when the weights leave no KV room or the catalog lacks the GPU's bandwidth.
func ReplicaPhysics(size ModelSize, spec GPUSpec, tp int, contextTokens float64) Physics {
	n := float64(tp)
	p := Physics{KVRoomGB: n*UsableGB(spec) - size.WeightsGB - n*ServerOverheadGBPerGPU}
	if p.KVRoomGB <= 0 || spec.HBMGBPerS <= 0 || size.KVBytesPerToken <= 0 || contextTokens <= 0 {
		return p
	}
	p.Batch = p.KVRoomGB * 1e9 / (size.KVBytesPerToken * contextTokens)
	p.StepS = (size.ActiveWeightsGB() + p.KVRoomGB) / (n * spec.HBMGBPerS)
	p.GenTokensPerS = p.Batch / p.StepS
	p.OK = true
	return p
}

// evidence is what one model's data tell about its capacity, gathered once and applied to every candidate.
type evidence struct {
	size    ModelSize
	spec    GPUSpec
	current Candidate
	context float64
	// p95 is the 95th percentile of the counted tokens/s; genShare the share of generation tokens in them.
	p95, genShare float64
	tokens        TokenKind

	// Power: capRate is the counted rate where the GPUs reached their power limit (NaN when they never did);
	// else kBound (an upper bound on J/token) and overheadW (serving power per GPU above the floor) give
	// the rate at which the power limit would be reached.
	capRate            float64
	kBound, overheadW  float64
	floorW, limitW     float64
	headroomShare      float64
	powerOK            bool
	powerMissingReason string

	serving servingEvidence
}

// capacityBounds are the evidence applied to one candidate, in counted tokens/s (NaN where that evidence is
// missing).
type capacityBounds struct {
	physics, power, saturation float64
	// powerSource is power-cap where the GPUs reached their limit, else power-headroom.
	powerSource   CapacitySource
	physicsDetail Physics
}

// decide is the most conservative bound and its source; NaN and "" when there is none.
func (b capacityBounds) decide() (float64, CapacitySource) {
	best, source := math.NaN(), CapacitySource("")
	for _, c := range []struct {
		v float64
		s CapacitySource
	}{{b.physics, CapacityPhysics}, {b.power, b.powerSource}, {b.saturation, CapacitySaturation}} {
		if !math.IsNaN(c.v) && (math.IsNaN(best) || c.v < best) {
			best, source = c.v, c.s
		}
	}
	return best, source
}

func (e *evidence) bounds(c Candidate) capacityBounds {
	b := capacityBounds{physics: math.NaN(), power: math.NaN(), saturation: math.NaN()}
	if p := ReplicaPhysics(e.size, e.spec, c.GPUsPerReplica, e.context); p.OK && e.genShare > 0 {
		b.physicsDetail = p
		b.physics = float64(c.Replicas) * p.GenTokensPerS / e.genShare
	}
	n := float64(c.GPUs())
	switch {
	case !math.IsNaN(e.capRate):
		// Measured: the GPUs reached their limit at this rate; GPUs serve it in proportion.
		b.power, b.powerSource = e.capRate*n/float64(e.current.GPUs()), CapacityPowerCap
	case e.powerOK:
		b.power, b.powerSource = n*(e.limitW-e.floorW-e.overheadW)/e.kBound, CapacityPower
	}
	b.saturation = e.serving.capacity(e, c)
	return b
}

// physicsTrusted reports whether the physics bound of the current allocation is above what the model was
// seen to serve: a bound below an observed rate means its assumptions (context, KV size) do not hold here.
func (e *evidence) physicsTrusted(peakGenPerS float64) (bool, string) {
	p := ReplicaPhysics(e.size, e.spec, e.current.GPUsPerReplica, e.context)
	if !p.OK {
		return false, ""
	}
	if limit := float64(e.current.Replicas) * p.GenTokensPerS; peakGenPerS > limit {
		return false, fmt.Sprintf("physics bound not used: the model served %s generation tok/s, above the %s its %s allow at a %.0f-token context",
			formatRate(peakGenPerS), formatRate(limit), e.current, e.context)
	}
	return true, ""
}

// powerEvidence bounds J/token from the power at the p95: p95 power = GPUs x floor + overhead + k x rate with
// overhead >= 0, so k <= (p95 power - GPUs x floor) / p95 rate whatever the fit says; a fit, where there is
// one, may narrow it with the upper end of its slope's confidence interval.
func (e *evidence) powerEvidence(fit Fit, p95PowerW float64) {
	n := float64(e.current.GPUs())
	span := e.limitW - e.floorW
	if math.IsNaN(p95PowerW) || !(span > 0) || !(e.p95 > 0) {
		e.powerMissingReason = "no power at the p95 to bound the per-token energy"
		return
	}
	headroom := math.Max(p95PowerW/n-e.floorW, MinHeadroomShare*span)
	e.headroomShare = headroom / span
	e.kBound = n * headroom / e.p95
	e.overheadW = headroom
	if fit.OK {
		if k := fit.KJPerTokenHigh; k > 0 && k < e.kBound {
			e.kBound = k
		}
		e.overheadW = math.Min(math.Max(fit.P0W/n-e.floorW, 0), headroom)
	}
	e.powerOK = e.limitW-e.floorW-e.overheadW > 0
	if !e.powerOK {
		e.powerMissingReason = "the GPUs draw their power limit at the p95"
	}
}
