package frames

import (
	"math"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

// Units of the right-sizing and consolidation frames (Grafana unit ids, or suffixes where Grafana has none).
const (
	UnitKWhPerDay = "kWh/day"
	UnitGB        = "decgbytes"
	UnitHours     = "h" // Grafana shows long durations in days
	UnitPerDay    = "/day"
	UnitSeconds   = "s"
	// UnitJPerRequest is energy per finished request.
	UnitJPerRequest = "J/request"
)

type rightSizing = fleet.RightSizing

// RightSizing is the right-sizing table, one row per model, then the NumericLong frame of saving_w by model
// for alert rules.
func RightSizing(rows []fleet.RightSizing, c Context) data.Frames {
	return c.Apply(data.Frames{RightSizingTable(rows, c.CurrencyUnit), SavingLong(rows)})
}

// RightSizingTable has the contract fields (model, gpu_type, gpus, recommended_gpus, oversized, saving_w,
// saving_kgco2_per_day, reason), then what the verdict rests on. recommended_gpus and oversized are null where
// there is no verdict.
func RightSizingTable(rows []fleet.RightSizing, currencyUnit string) *data.Frame {
	return data.NewFrame("right-sizing",
		text("model", rows, func(r rightSizing) string { return r.Model }, config("Model", "")),
		text("gpu_type", rows, func(r rightSizing) string { return r.GPUType }, config("GPU type", "")),
		number("gpus", rows, func(r rightSizing) float64 { return float64(r.GPUs) }, config("GPUs", UnitCount)),
		number("recommended_gpus", rows, func(r rightSizing) float64 { return countOrNull(r.RecommendedGPUs) }, config("Recommended GPUs", UnitCount)),
		verdictBool("oversized", rows, func(r rightSizing) bool { return r.Oversized }, config("Oversized", "")),
		number("saving_w", rows, func(r rightSizing) float64 { return r.SavingW }, config("Saving", UnitWatts)),
		number("saving_kgco2_per_day", rows, func(r rightSizing) float64 { return r.SavingKgCO2PerDay }, config("CO2 saving", UnitKgPerDay)),
		text("reason", rows, func(r rightSizing) string { return r.Reason }, config("Reason", "")),
		text("size_source", rows, func(r rightSizing) string { return string(r.Size.Source) }, config("Size from", "")),
		number("params_b", rows, func(r rightSizing) float64 { return knownOrNaN(r.Size.Known, r.Size.ParamsB) }, config("Parameters (B)", UnitCount)),
		text("dtype", rows, func(r rightSizing) string { return string(r.Size.Dtype) }, config("Dtype", "")),
		number("memory_need_gb", rows, func(r rightSizing) float64 { return r.MemoryNeedGB }, config("Memory need", UnitGB)),
		number("min_gpus_by_memory", rows, func(r rightSizing) float64 { return countOrNull(r.MinGPUsByMemory) }, config("GPUs by memory", UnitCount)),
		number("p95_tokens_per_s", rows, func(r rightSizing) float64 { return r.Traffic.P95TokensPerS }, config("p95 tokens/s", UnitTokensPerS)),
		number("capacity_tokens_per_s", rows, func(r rightSizing) float64 { return r.CapacityTokensPerS }, config("Capacity when resized", UnitTokensPerS)),
		text("capacity_source", rows, func(r rightSizing) string { return string(r.CapacitySource) }, config("Capacity from", "")),
		number("j_per_token", rows, func(r rightSizing) float64 { return r.JPerToken }, config("J/token", UnitJPerToken)),
		number("j_per_request", rows, func(r rightSizing) float64 { return r.JPerRequest }, config("J/request", UnitJPerRequest)),
		number("projected_j_per_token", rows, func(r rightSizing) float64 { return r.ProjectedJPerToken }, config("J/token when resized", UnitJPerToken)),
		number("saving_kwh_per_day", rows, func(r rightSizing) float64 { return r.SavingKWhPerDay }, config("Energy saving", UnitKWhPerDay)),
		number("idle_floor_w", rows, func(r rightSizing) float64 { return r.IdleFloor.W }, config("Idle floor per GPU", UnitWatts)),
		text("idle_source", rows, func(r rightSizing) string { return string(r.IdleFloor.Source) }, config("Idle floor from", "")),
		number("history_h", rows, func(r rightSizing) float64 { return r.Traffic.History.Hours() }, config("History", UnitHours)),
		number("replicas", rows, func(r rightSizing) float64 { return countOrNull(r.Replicas) }, config("Replicas", UnitCount)),
		number("gpus_per_replica", rows, func(r rightSizing) float64 { return countOrNull(r.GPUsPerReplica) }, config("GPUs per replica", UnitCount)),
		number("recommended_replicas", rows, func(r rightSizing) float64 { return countOrNull(r.RecommendedReplicas) }, config("Recommended replicas", UnitCount)),
		number("recommended_gpus_per_replica", rows, func(r rightSizing) float64 { return countOrNull(r.RecommendedGPUsPerReplica) }, config("Recommended GPUs per replica", UnitCount)),
		number("gpus_freed", rows, func(r rightSizing) float64 { return verdictCount(r, r.GPUsFreed) }, config("GPUs freed", UnitCount)),
		number("physics_capacity_tokens_per_s", rows, func(r rightSizing) float64 { return r.PhysicsCapacityTokensPerS }, config("Capacity by physics", UnitTokensPerS)),
		number("power_capacity_tokens_per_s", rows, func(r rightSizing) float64 { return r.PowerCapacityTokensPerS }, config("Capacity by power", UnitTokensPerS)),
		number("saturation_capacity_tokens_per_s", rows, func(r rightSizing) float64 { return r.SaturationCapacityTokensPerS }, config("Capacity by saturation", UnitTokensPerS)),
		number("power_headroom_share", rows, func(r rightSizing) float64 { return r.PowerHeadroomShare }, config("Power above floor at p95", UnitShare)),
		number("projected_ttft_p95_s", rows, func(r rightSizing) float64 { return r.ProjectedTTFTP95S }, config("Projected TTFT p95", UnitSeconds)),
		number("projected_itl_p95_s", rows, func(r rightSizing) float64 { return r.ProjectedITLP95S }, config("Projected ITL p95", UnitSeconds)),
		text("kv_source", rows, func(r rightSizing) string { return string(r.Size.KVSource) }, config("KV per token from", "")),
		verdictBool("at_capacity", rows, func(r rightSizing) bool { return r.AtCapacity }, config("At capacity", "")),
		verdictBool("latency_checked", rows, func(r rightSizing) bool { return r.LatencyChecked }, config("Latency checked", "")),
		text("saving_baseline", rows, func(r rightSizing) string { return string(r.SavingBaseline) }, config("Freed GPUs", "")),
		number("pool_idle_w", rows, func(r rightSizing) float64 { return r.PoolIdleW }, config("Pool idle per GPU", UnitWatts)),
		savings(rows, func(r rightSizing) float64 { return r.SavingsPerMonth }, currencyUnit),
	).SetMeta(tableMeta())
}

// SavingLong is a dataplane NumericLong (v0.1) frame: saving_w by model (0 where the model keeps its GPUs),
// with model and gpu_type as its string columns.
func SavingLong(rows []fleet.RightSizing) *data.Frame {
	return numericLong("saving_w", rows, func(r rightSizing) (string, string, float64) {
		return r.Model, r.GPUType, r.SavingW
	}, config("Right-sizing saving", UnitWatts))
}

// countOrNull is a GPU count, NaN (null) for 0: "no recommendation".
func countOrNull(n int) float64 {
	if n == 0 {
		return math.NaN()
	}
	return float64(n)
}

// verdictBool is a boolean column, null where the model has no verdict.
func verdictBool(name string, rows []fleet.RightSizing, get func(rightSizing) bool, cfg *data.FieldConfig) *data.Field {
	out := make([]*bool, len(rows))
	for i := range rows {
		if rows[i].Verdict {
			v := get(rows[i])
			out[i] = &v
		}
	}
	return data.NewField(name, nil, out).SetConfig(cfg)
}

// verdictCount is n where the model has a verdict, null otherwise.
func verdictCount(r rightSizing, n int) float64 {
	if !r.Verdict {
		return math.NaN()
	}
	return float64(n)
}

func knownOrNaN(known bool, v float64) float64 {
	if !known {
		return math.NaN()
	}
	return v
}
