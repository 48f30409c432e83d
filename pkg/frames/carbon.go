package frames

import (
	"fmt"
	"slices"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

// attributionCarbonFields are the idle-attribution columns of carbon that follows the grid and of the SCI:
// which intensity CO2 rests on, idle energy in the grid's dirtiest hours, embodied carbon and SCI per token
// (co2_mg_per_token is the SCI's operational part).
func attributionCarbonFields(atts []fleet.Attribution) []*data.Field {
	return []*data.Field{
		text("intensity_source", atts, func(a attribution) string { return string(a.IntensitySource) }, config("Grid intensity", "")),
		number("live_intensity_share", atts, func(a attribution) float64 { return a.LiveIntensityShare }, config("Steps at live intensity", UnitShare)),
		number("idle_dirty_share", atts, func(a attribution) float64 { return a.IdleDirtyShare }, config("Idle energy in dirtiest 25% of hours", UnitShare)),
		number("embodied_gco2_per_h", atts, func(a attribution) float64 { return a.EmbodiedGPerH }, config("Embodied CO2", UnitGPerH)),
		number("sci_mg_per_token", atts, func(a attribution) float64 { return a.SCIMgPerToken }, config("SCI per token", UnitMgPerToken)),
	}
}

// summaryCarbonFields are the fleet summary's: numbers only, as NumericWide wants.
func summaryCarbonFields(one []fleet.Summary) []*data.Field {
	return []*data.Field{
		number("live_intensity_share", one, func(s fleet.Summary) float64 { return s.LiveIntensityShare }, config("Steps at live intensity", UnitShare)),
		number("embodied_kg_per_day", one, func(s fleet.Summary) float64 { return s.EmbodiedKgPerDay }, config("Embodied CO2", UnitKgPerDay)),
		number("sci_mg_per_token", one, func(s fleet.Summary) float64 { return s.SCIMgPerToken }, config("SCI per token", UnitMgPerToken)),
	}
}

// WithIntensity says which grid intensity the CO2 figures rest on: liveShare of the steps at the grid's live
// intensity (NaN: no steps), the site table's elsewhere; live says the live intensity setting is on.
func (c Context) WithIntensity(live bool, liveShare float64) Context {
	var text string
	switch src := fleet.IntensitySourceOf(liveShare); {
	case !live:
		return c
	case src == fleet.IntensityLive:
		text = "CO2 follows the grid's live intensity at every step."
	case src == fleet.IntensityMixed:
		text = fmt.Sprintf("CO2 follows the grid's live intensity at %.0f%% of steps; the site table's static intensity at the others (sites or hours without a live series).", liveShare*100)
	case src == fleet.IntensityTable:
		text = "CO2 uses the site table's static intensity: the live intensity query answered no series for these models' sites in this window."
	default:
		return c
	}
	c.Notices = append(slices.Clip(c.Notices), data.Notice{Severity: data.NoticeSeverityInfo, Text: text})
	return c
}

// WithEmbodied says why embodied carbon and the SCI are empty: no setting (set says there is one), or GPU
// types without a figure.
func (c Context) WithEmbodied(set bool, atts []fleet.Attribution) Context {
	if !set {
		c.Notices = append(slices.Clip(c.Notices), data.Notice{Severity: data.NoticeSeverityInfo, Text: "Embodied CO2 and SCI per token are empty: set carbon.embodied (kgCO2e per GPU type) and carbon.serviceLifeYears in the data source settings."})
		return c
	}
	var missing []string
	for _, a := range atts {
		missing = append(missing, a.EmbodiedMissing...)
	}
	slices.Sort(missing)
	if missing = slices.Compact(missing); len(missing) > 0 {
		c.Notices = append(slices.Clip(c.Notices), data.Notice{Severity: data.NoticeSeverityWarning, Text: fmt.Sprintf(
			"Embodied CO2 and SCI per token are empty for models on GPU types without a figure under carbon.embodied: %s.", strings.Join(missing, ", "))})
	}
	return c
}

// WithUnmatchedSites warns that the live intensity series of sites (label values) name no site of the table.
func (c Context) WithUnmatchedSites(sites []string) Context {
	if len(sites) == 0 {
		return c
	}
	c.Notices = append(slices.Clip(c.Notices), data.Notice{Severity: data.NoticeSeverityWarning, Text: fmt.Sprintf(
		"Live grid intensity series for %s name no site of the carbon table and were left out: name the sites after them, or give each site its own intensity query.", strings.Join(sites, ", "))})
	return c
}
