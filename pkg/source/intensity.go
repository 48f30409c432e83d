package source

import (
	"fmt"

	"github.com/prometheus/common/model"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// IntensityQuery is one PromQL query of the grid's carbon intensity (gCO2/kWh) and the site its series are of.
type IntensityQuery struct {
	// Site is the site of a per-site expression; empty for the shared one, whose series name their site in the
	// site label.
	Site   string
	PromQL string
}

// IntensityQueries are the grid intensity queries of the carbon settings: the shared expression averaged by
// its site label (an exporter scraped twice is one series), and each site's own averaged into one series. No
// label filter is added: an intensity exporter is rarely on the GPU nodes' labels.
func IntensityQueries(c models.CarbonSettings) []IntensityQuery {
	var out []IntensityQuery
	if c.IntensityQuery != "" {
		out = append(out, IntensityQuery{PromQL: fmt.Sprintf("avg by (%s) (%s)", c.IntensitySiteLabel, c.IntensityQuery)})
	}
	for _, s := range c.Sites {
		if s.IntensityQuery != "" {
			out = append(out, IntensityQuery{Site: s.Name, PromQL: fmt.Sprintf("avg(%s)", s.IntensityQuery)})
		}
	}
	return out
}

// intensityPlan are the grid intensity queries of a fleet read, range queries on its grid: the intensity at
// each step, as the power of a step is its mean up to it. They are optional: without them CO2 uses the site
// table, and a notice says which query was left out.
func intensityPlan(c models.CarbonSettings) []fleetQuery {
	var out []fleetQuery
	for _, iq := range IntensityQueries(c) {
		quantity := "grid_intensity"
		siteOf := func(m model.Metric) (string, bool) {
			site := string(m[model.LabelName(c.IntensitySiteLabel)])
			return site, site != ""
		}
		if iq.Site != "" {
			quantity = fmt.Sprintf("grid_intensity of %s", iq.Site)
			siteOf = func(model.Metric) (string, bool) { return iq.Site, true }
		}
		out = append(out, fleetQuery{quantity: quantity, promql: iq.PromQL, optional: true, provides: NeedIntensity,
			read: func(grid fleet.Grid) (seriesSink, func(*fetched)) {
				got, dropped := map[string]fleet.Series{}, 0
				return seriesInto(grid, siteOf, got, &dropped), func(f *fetched) {
					if f.intensity == nil {
						f.intensity = map[string]fleet.Series{}
					}
					for site, s := range got {
						// A site's own expression wins over the shared one's series of it.
						if _, own := f.intensity[site]; !own || iq.Site != "" {
							f.intensity[site] = s
						}
					}
					if dropped > 0 {
						f.notices = append(f.notices, fmt.Sprintf("%d grid intensity series without a %s label were left out.", dropped, c.IntensitySiteLabel))
					}
				}
			}})
	}
	return out
}
