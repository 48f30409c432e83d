package frames

import (
	"math"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

type (
	action   = fleet.ConsolidationAction
	idleness = fleet.ModelIdleness
)

// Consolidation is the action table, the idle-gap table and the NumericLong frame of idle_hours by model for
// alert rules; models left out of the plans are named in notices.
func Consolidation(c fleet.Consolidation, ctx Context) data.Frames {
	for _, n := range c.Notes {
		ctx.Notices = append(ctx.Notices, data.Notice{Severity: data.NoticeSeverityInfo, Text: n})
	}
	return ctx.Apply(data.Frames{ActionTable(c.Actions, ctx.CurrencyUnit), IdleGapTable(c.Idle), IdleHoursLong(c.Idle)})
}

// ActionTable is one row per action with the contract fields (action, models, gpu_type, gpus_now,
// gpus_after, saving_w, saving_kgco2_per_day, reason), then the energy saving and the co-location plan.
func ActionTable(actions []fleet.ConsolidationAction, currencyUnit string) *data.Frame {
	return data.NewFrame("consolidation",
		text("action", actions, func(a action) string { return a.Action }, config("Action", "")),
		text("models", actions, func(a action) string { return strings.Join(a.Models, ", ") }, config("Models", "")),
		text("gpu_type", actions, func(a action) string { return a.GPUType }, config("GPU type", "")),
		number("gpus_now", actions, func(a action) float64 { return float64(a.GPUsNow) }, config("GPUs now", UnitCount)),
		number("gpus_after", actions, func(a action) float64 { return float64(a.GPUsAfter) }, config("GPUs after", UnitCount)),
		number("saving_w", actions, func(a action) float64 { return a.SavingW }, config("Saving", UnitWatts)),
		number("saving_kgco2_per_day", actions, func(a action) float64 { return a.SavingKgCO2PerDay }, config("CO2 saving", UnitKgPerDay)),
		text("reason", actions, func(a action) string { return a.Reason }, config("Reason", "")),
		number("saving_kwh_per_day", actions, func(a action) float64 { return a.SavingKWhPerDay }, config("Energy saving", UnitKWhPerDay)),
		text("plan", actions, func(a action) string { return a.Plan }, config("Plan", "")),
		savings(actions, func(a action) float64 { return a.SavingsPerMonth }, currencyUnit),
	).SetMeta(tableMeta())
}

// IdleGapTable is one row per model: how long it goes without a request, which tells whether a spin-down
// (and a cold start on the next request) is safe.
func IdleGapTable(rows []fleet.ModelIdleness) *data.Frame {
	spinDown := make([]bool, len(rows))
	for i, r := range rows {
		spinDown[i] = r.SpinDown
	}
	return data.NewFrame("idle-gaps",
		text("model", rows, func(r idleness) string { return r.Model }, config("Model", "")),
		text("gpu_type", rows, func(r idleness) string { return r.GPUType }, config("GPU type", "")),
		number("gpus", rows, func(r idleness) float64 { return float64(r.Traffic.GPUs) }, config("GPUs", UnitCount)),
		data.NewField("spin_down", nil, spinDown).SetConfig(config("Spin-down candidate", "")),
		number("idle_share", rows, func(r idleness) float64 { return r.Traffic.IdleShare }, config("Idle share", UnitShare)),
		number("idle_hours", rows, func(r idleness) float64 { return idleHours(r) }, config("Idle now for", UnitHours)),
		number("typical_idle_gap_h", rows, func(r idleness) float64 { return r.Traffic.TypicalIdleGap.Hours() }, config("Typical idle gap", UnitHours)),
		number("longest_idle_gap_h", rows, func(r idleness) float64 { return r.Traffic.LongestIdleGap.Hours() }, config("Longest idle gap", UnitHours)),
		number("wakeups_per_day", rows, func(r idleness) float64 { return r.Traffic.WakeupsPerDay() }, config("Wake-ups", UnitPerDay)),
		number("history_h", rows, func(r idleness) float64 { return r.Traffic.History.Hours() }, config("History", UnitHours)),
	).SetMeta(tableMeta())
}

// IdleHoursLong is a dataplane NumericLong (v0.1) frame: idle_hours by model, for the models still running
// (a model whose data stopped is not alerted on).
func IdleHoursLong(rows []fleet.ModelIdleness) *data.Frame {
	var running []fleet.ModelIdleness
	for _, r := range rows {
		if r.Traffic.Current {
			running = append(running, r)
		}
	}
	return numericLong("idle_hours", running, func(r idleness) (string, string, float64) {
		return r.Model, r.GPUType, idleHours(r)
	}, config("Idle for", UnitHours))
}

// idleHours is how long the model has gone without a request; null for a model no longer running.
func idleHours(r fleet.ModelIdleness) float64 {
	if !r.Traffic.Current {
		return math.NaN()
	}
	return r.Traffic.IdleFor.Hours()
}
