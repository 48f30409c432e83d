package frames

import (
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

// FleetSummary is a dataplane NumericWide (v0.1) frame: one row, one field per fleet figure (stat panels and
// alert rules read it as is).
func FleetSummary(s fleet.Summary, c Context) data.Frames {
	one := []fleet.Summary{s}
	f := data.NewFrame("fleet-summary",
		number("power_w", one, func(s fleet.Summary) float64 { return s.PowerW }, config("Power", UnitWatts)),
		number("idle_w", one, func(s fleet.Summary) float64 { return s.IdleW }, config("Idle power", UnitWatts)),
		number("tokens_per_s", one, func(s fleet.Summary) float64 { return s.TokensPerS }, config("Tokens/s", UnitTokensPerS)),
		number("j_per_token", one, func(s fleet.Summary) float64 { return s.JPerToken }, config("J/token", UnitJPerToken)),
		number("co2_kg_per_day", one, func(s fleet.Summary) float64 { return s.CO2KgPerDay }, config("CO2", UnitKgPerDay)),
		number("gpus", one, func(s fleet.Summary) float64 { return s.GPUs }, config("GPUs", UnitCount)),
		number("idle_gpus", one, func(s fleet.Summary) float64 { return s.IdleGPUs }, config("GPUs serving nothing", UnitCount)),
	)
	f.Fields = append(f.Fields, summaryCarbonFields(one)...)
	f.Fields = append(f.Fields, moneyFields(one, func(s fleet.Summary) fleet.Money { return s.Money }, c.CurrencyUnit)...)
	f.Fields = append(f.Fields, idleCostPerDay(one, c.CurrencyUnit))
	f.SetMeta(&data.FrameMeta{Type: data.FrameTypeNumericWide, TypeVersion: typeVersion, PreferredVisualization: data.VisTypeTable})
	return c.Apply(data.Frames{f})
}
