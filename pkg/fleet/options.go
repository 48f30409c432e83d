package fleet

// Options are the knobs of the analyses, from the data source settings and the query.
type Options struct {
	// Tokens says which tokens count (prompt + generation, or generation only).
	Tokens TokenKind
	// IdleThresholdTokensPerS is the token rate below which a step counts as idle: its J/token is null and all
	// of its power is idle overhead.
	IdleThresholdTokensPerS float64
	// IdleFloorPercentile (0..1) is the quantile of parked per-GPU power taken as the idle floor.
	IdleFloorPercentile float64
	// ParkedMinSteps is how many consecutive idle steps make those steps "parked" (weights loaded, no traffic),
	// so that the tail of a burst or a short lull does not count toward the idle floor.
	ParkedMinSteps int
	// IdleFloorOverridesW are idle floors per GPU type from the settings; they win over measured values. Keys
	// match GPU types loosely ("A100-SXM4-80GB" matches "NVIDIA A100-SXM4-80GB").
	IdleFloorOverridesW map[string]float64
	// GPUs is the GPU catalog (TDP for power capping, parked power as the idle floor fallback).
	GPUs GPUCatalog
	// Carbon turns energy into CO2.
	Carbon Carbon
	// Prices turn energy and GPU-hours into money.
	Prices Prices
}

// Defaults of the options.
const (
	DefaultIdleThresholdTokensPerS = 0.1
	DefaultIdleFloorPercentile     = 0.25
	DefaultParkedMinSteps          = 5
)

// DefaultOptions are the options with every knob at its default.
func DefaultOptions() Options {
	return Options{
		Tokens:                  TokensTotal,
		IdleThresholdTokensPerS: DefaultIdleThresholdTokensPerS,
		IdleFloorPercentile:     DefaultIdleFloorPercentile,
		ParkedMinSteps:          DefaultParkedMinSteps,
		GPUs:                    DefaultGPUs,
		Carbon:                  DefaultCarbon(),
	}
}

// isIdle reports whether a token rate counts as idle. A rate of exactly 0 is idle even with a threshold of 0,
// so J/token is never infinite.
func (o *Options) isIdle(tokensPerS float64) bool {
	return tokensPerS < o.IdleThresholdTokensPerS || tokensPerS <= 0
}
