package frames

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

// grafanaCurrencies are the ISO 4217 codes with a currency unit of Grafana's own (currencyUSD...).
var grafanaCurrencies = []string{
	"USD", "GBP", "EUR", "JPY", "RUB", "UAH", "BRL", "DKK", "ISK", "NOK", "SEK", "CZK", "CHF", "PLN", "ZAR", "INR",
	"KRW", "IDR", "PHP", "VND",
}

// CurrencyUnit is Grafana's unit for an ISO 4217 code: its currency unit where it has one, else the code
// after the value; "" without a currency.
func CurrencyUnit(code string) string {
	switch {
	case code == "":
		return ""
	case slices.Contains(grafanaCurrencies, code):
		return "currency" + code
	}
	return "suffix: " + code
}

// WithCost sets the currency of the response's money fields and says which setting would fill the fields a
// missing price leaves empty.
func (c Context) WithCost(p fleet.Prices, carbon fleet.Carbon, ms []*fleet.Model) Context {
	c.CurrencyUnit = CurrencyUnit(p.Currency)
	notice := func(text string) {
		c.Notices = append(slices.Clip(c.Notices), data.Notice{Severity: data.NoticeSeverityInfo, Text: text})
	}
	if p.Currency == "" {
		notice("No prices are set, so the cost fields are empty: set the currency, the price per kWh of the sites " +
			"(or a default price per kWh) and the hourly cost per GPU type in the data source settings (Cost).")
		return c
	}
	gaps := p.Gaps(carbon, ms)
	if len(gaps.Sites) > 0 {
		sites := make([]string, len(gaps.Sites))
		for i, s := range gaps.Sites {
			sites[i] = cmpOr(s, "hosts no site matches")
		}
		notice(fmt.Sprintf("Energy cost is empty where the electricity price is missing: %s. Set a price per kWh on "+
			"those sites, or a default price per kWh, in the data source settings (Cost).", strings.Join(sites, ", ")))
	}
	if len(gaps.GPUTypes) > 0 {
		notice(fmt.Sprintf("GPU cost is empty where the hourly cost of the GPU type is missing: %s. Set it under GPU "+
			"costs in the data source settings (Cost).", strings.Join(gaps.GPUTypes, ", ")))
	}
	return c
}

func cmpOr(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

// moneyFields are the cost fields of rows: per hour (all, energy, GPU-hours, idle) and per million tokens.
func moneyFields[T any](rows []T, money func(T) fleet.Money, unit string) []*data.Field {
	return []*data.Field{
		number("cost_per_h", rows, func(r T) float64 { return money(r).CostPerH() }, config("Cost per hour", unit)),
		number("energy_cost_per_h", rows, func(r T) float64 { return money(r).EnergyCostPerH() }, config("Energy cost per hour", unit)),
		number("gpu_cost_per_h", rows, func(r T) float64 { return money(r).GPUCostPerH() }, config("GPU cost per hour", unit)),
		number("idle_cost_per_h", rows, func(r T) float64 { return money(r).IdleCostPerH() }, config("Idle cost per hour", unit)),
		number("cost_per_million_tokens", rows, func(r T) float64 { return money(r).CostPerMillionTokens() }, config("Cost per million tokens", unit)),
	}
}

// GroupTable is the idle-attribution table grouped by key: one row per group (namespace, GPU type, site or
// node), its first field named after the key.
func GroupTable(groups []fleet.Group, by fleet.GroupKey, c Context) data.Frames {
	type g = fleet.Group
	f := data.NewFrame("idle-attribution",
		text(string(by), groups, func(r g) string { return groupName(r.Key, by) }, config(groupTitles[by], "")),
		number("models", groups, func(r g) float64 { return float64(r.Models) }, config("Models", UnitCount)),
		number("gpus", groups, func(r g) float64 { return r.GPUs }, config("GPUs", UnitCount)),
		number("power_w", groups, func(r g) float64 { return r.PowerW }, config("Power", UnitWatts)),
		number("idle_w", groups, func(r g) float64 { return r.IdleW }, config("Idle power", UnitWatts)),
		number("idle_fraction", groups, func(r g) float64 { return r.IdleFraction }, config("Idle share", UnitShare)),
		number("tokens_per_s", groups, func(r g) float64 { return r.TokensPerS }, config("Tokens/s", UnitTokensPerS)),
		number("j_per_token", groups, func(r g) float64 { return r.JPerToken }, config("J/token", UnitJPerToken)),
		number("co2_g_per_h", groups, func(r g) float64 { return r.CO2GPerH }, config("CO2", UnitGPerH)),
		number("co2_idle_g_per_h", groups, func(r g) float64 { return r.CO2IdleGPerH }, config("Idle CO2", UnitGPerH)),
	).SetMeta(tableMeta())
	f.Fields = append(f.Fields, moneyFields(groups, func(r g) fleet.Money { return r.Money }, c.CurrencyUnit)...)
	return c.Apply(data.Frames{f})
}

// groupTitles are the display names of the group columns.
var groupTitles = map[fleet.GroupKey]string{
	fleet.GroupModel: "Model", fleet.GroupNamespace: "Namespace", fleet.GroupGPUType: "GPU type",
	fleet.GroupSite: "Site", fleet.GroupNode: "Node",
}

// GroupSummary is fleet-summary grouped by key, a dataplane NumericLong (v0.1) frame: one row per group with
// the summary's figures, the group's name as its string column (an alert instance per group).
func GroupSummary(groups []fleet.Group, by fleet.GroupKey, c Context) data.Frames {
	type g = fleet.Group
	f := data.NewFrame("fleet-summary",
		text(string(by), groups, func(r g) string { return groupName(r.Key, by) }, config(groupTitles[by], "")),
		number("power_w", groups, func(r g) float64 { return r.PowerW }, config("Power", UnitWatts)),
		number("idle_w", groups, func(r g) float64 { return r.IdleW }, config("Idle power", UnitWatts)),
		number("tokens_per_s", groups, func(r g) float64 { return r.TokensPerS }, config("Tokens/s", UnitTokensPerS)),
		number("j_per_token", groups, func(r g) float64 { return r.JPerToken }, config("J/token", UnitJPerToken)),
		number("co2_kg_per_day", groups, func(r g) float64 { return r.CO2GPerH * 24 / 1000 }, config("CO2", UnitKgPerDay)),
		number("gpus", groups, func(r g) float64 { return r.GPUs }, config("GPUs", UnitCount)),
	)
	f.Fields = append(f.Fields, moneyFields(groups, func(r g) fleet.Money { return r.Money }, c.CurrencyUnit)...)
	f.Fields = append(f.Fields, idleCostPerDay(groups, c.CurrencyUnit))
	f.SetMeta(&data.FrameMeta{Type: data.FrameTypeNumericLong, TypeVersion: typeVersion, PreferredVisualization: data.VisTypeTable})
	return c.Apply(data.Frames{f})
}

// GroupLong is an alertable dataplane NumericLong (v0.1) frame of one figure by group: idle_fraction of a
// grouped idle-attribution, idle_cost_per_day of a grouped fleet-summary.
func GroupLong(name string, groups []fleet.Group, by fleet.GroupKey, c Context) data.Frames {
	field := idleCostPerDay(groups, c.CurrencyUnit)
	if name == "idle_fraction" {
		field = number(name, groups, func(r fleet.Group) float64 { return r.IdleFraction }, config("Idle share", UnitShare))
	}
	f := data.NewFrame(name, text(string(by), groups, func(r fleet.Group) string { return r.Key }, nil), field).
		SetMeta(&data.FrameMeta{Type: data.FrameTypeNumericLong, TypeVersion: typeVersion})
	return c.Apply(data.Frames{f})
}

func idleCostPerDay[T interface{ IdleCostPerH() float64 }](rows []T, unit string) *data.Field {
	return number("idle_cost_per_day", rows, func(r T) float64 { return r.IdleCostPerH() * 24 }, config("Idle cost per day", unit))
}

// savings is the savings_per_month field of recommendations: null throughout without prices.
func savings[T any](rows []T, value func(T) float64, unit string) *data.Field {
	return number("savings_per_month", rows, func(r T) float64 {
		if unit == "" {
			return math.NaN()
		}
		return value(r)
	}, config("Savings per month", unit))
}
