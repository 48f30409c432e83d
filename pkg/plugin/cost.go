package plugin

import (
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// pricesOf are the settings' prices: per site (by name), the default per kWh under "", per GPU type. Only
// prices that are set are there; the analyses leave what the others would price empty.
func pricesOf(s *models.Settings) fleet.Prices {
	p := fleet.Prices{Currency: s.Cost.Currency, PerKWh: map[string]float64{}, GPUPerH: map[string]float64{}}
	for _, site := range s.Carbon.Sites {
		if site.PricePerKWh != nil {
			p.PerKWh[site.Name] = *site.PricePerKWh
		}
	}
	if d := s.Cost.DefaultPricePerKWh; d != nil {
		p.PerKWh[""] = *d
	}
	for _, g := range s.Cost.GPUs {
		p.GPUPerH[g.GPUType] = g.CostPerHr
	}
	return p
}

// grouped is the query's attributions summed per its groupBy; nil when it groups by model.
func grouped(q models.Query, atts []fleet.Attribution, g fleet.Grid, o fleet.Options) ([]fleet.Group, fleet.GroupKey) {
	by := fleet.GroupKey(q.GroupBy)
	if by == fleet.GroupModel || by == "" {
		return nil, fleet.GroupModel
	}
	return fleet.GroupAttributions(atts, by, g, o), by
}
