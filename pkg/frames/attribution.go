package frames

import (
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

type attribution = fleet.Attribution

// IdleAttribution is the idle-attribution table, one row per model, then the NumericLong frame of
// idle_fraction by model for alert rules.
func IdleAttribution(atts []fleet.Attribution, c Context) data.Frames {
	return c.Apply(data.Frames{AttributionTable(atts, c.CurrencyUnit), IdleFractionLong(atts)})
}

// AttributionTable is one row per model with the fields of the query contract, units and display names set;
// the money fields are in currencyUnit.
func AttributionTable(atts []fleet.Attribution, currencyUnit string) *data.Frame {
	f := data.NewFrame("idle-attribution",
		text("model", atts, func(a attribution) string { return a.Model }, config("Model", "")),
		text("namespace", atts, func(a attribution) string { return a.Namespace }, config("Namespace", "")),
		text("gpu_type", atts, func(a attribution) string { return a.GPUType }, config("GPU type", "")),
		number("gpus", atts, func(a attribution) float64 { return a.GPUs }, config("GPUs", UnitCount)),
		number("replicas", atts, func(a attribution) float64 { return countOrNull(a.Replicas) }, config("Replicas", UnitCount)),
		number("gpus_per_replica", atts, func(a attribution) float64 { return countOrNull(a.GPUsPerReplica) }, config("GPUs per replica", UnitCount)),
		number("power_w", atts, func(a attribution) float64 { return a.PowerW }, config("Power", UnitWatts)),
		number("idle_w", atts, func(a attribution) float64 { return a.IdleW }, config("Idle power", UnitWatts)),
		number("productive_w", atts, func(a attribution) float64 { return a.ProductiveW }, config("Productive power", UnitWatts)),
		number("idle_fraction", atts, func(a attribution) float64 { return a.IdleFraction }, config("Idle share", UnitShare)),
		number("idle_floor_w", atts, func(a attribution) float64 { return a.IdleFloorW }, config("Idle floor per GPU", UnitWatts)),
		text("idle_source", atts, func(a attribution) string { return string(a.IdleSource) }, config("Idle floor from", "")),
		number("tokens_per_s", atts, func(a attribution) float64 { return a.TokensPerS }, config("Tokens/s", UnitTokensPerS)),
		number("j_per_token", atts, func(a attribution) float64 { return a.JPerToken }, config("J/token", UnitJPerToken)),
		number("marginal_j_per_token", atts, func(a attribution) float64 { return a.MarginalJPerToken }, config("Marginal J/token", UnitJPerToken)),
		number("fit_k_j_per_token", atts, func(a attribution) float64 { return a.FitKJPerToken }, config("J/token of one more token (fit)", UnitJPerToken)),
		number("co2_g_per_h", atts, func(a attribution) float64 { return a.CO2GPerH }, config("CO2", UnitGPerH)),
		number("co2_idle_g_per_h", atts, func(a attribution) float64 { return a.CO2IdleGPerH }, config("Idle CO2", UnitGPerH)),
		number("co2_mg_per_token", atts, func(a attribution) float64 { return a.CO2MgPerToken }, config("CO2 per token", UnitMgPerToken)),
	)
	f.Fields = append(f.Fields, attributionCarbonFields(atts)...)
	f.Fields = append(f.Fields, moneyFields(atts, func(a attribution) fleet.Money { return a.Money }, currencyUnit)...)
	return f.SetMeta(tableMeta())
}

// IdleFractionLong is a dataplane NumericLong (v0.1) frame: idle_fraction by model, with model and gpu_type as
// its string columns (an alert instance per model).
func IdleFractionLong(atts []fleet.Attribution) *data.Frame {
	return numericLong("idle_fraction", atts, func(a attribution) (string, string, float64) {
		return a.Model, a.GPUType, a.IdleFraction
	}, config("Idle share", UnitShare))
}

// numericLong is a NumericLong frame of one value per row: model, gpu_type, name.
func numericLong[T any](name string, rows []T, row func(T) (model, gpuType string, v float64), cfg *data.FieldConfig) *data.Frame {
	return data.NewFrame(name,
		text("model", rows, func(r T) string { m, _, _ := row(r); return m }, nil),
		text("gpu_type", rows, func(r T) string { _, g, _ := row(r); return g }, nil),
		number(name, rows, func(r T) float64 { _, _, v := row(r); return v }, cfg),
	).SetMeta(&data.FrameMeta{Type: data.FrameTypeNumericLong, TypeVersion: typeVersion, PreferredVisualization: data.VisTypeTable})
}
