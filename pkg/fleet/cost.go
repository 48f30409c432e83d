package fleet

import (
	"math"
	"slices"
)

// Prices turn energy and GPU-hours into money, in one currency. A price that is not set is missing, never a
// default: the figures it would price stay NaN and Gaps says which setting is missing. The zero value prices
// nothing.
type Prices struct {
	// Currency is the ISO 4217 code of every price; "" when no price is set.
	Currency string
	// PerKWh is the electricity price per kWh of facility energy, by the name of a carbon site; the key ""
	// prices hosts no site matches and sites without a price of their own.
	PerKWh map[string]float64
	// GPUPerH is what one GPU of a type costs per hour held, by GPU type (matched loosely, like the catalog).
	GPUPerH map[string]float64
}

// perKWh is the electricity price at a site ("" for a host no site matches); NaN when unknown.
func (p Prices) perKWh(site string) float64 {
	if v, ok := p.PerKWh[site]; ok {
		return v
	}
	if v, ok := p.PerKWh[""]; ok {
		return v
	}
	return math.NaN()
}

// gpuPerH is the hourly cost of one GPU of a type; NaN when unknown.
func (p Prices) gpuPerH(gpuType string) float64 {
	if v, ok := overrideFor(p.GPUPerH, gpuType); ok {
		return v
	}
	return math.NaN()
}

// Cost is money over a window in the prices' currency: the electricity of the GPUs' energy (PUE included,
// the facility's bill) and the GPU-hours held. Each part is NaN when a price it needs is missing.
type Cost struct {
	Energy, IdleEnergy float64
	GPU, IdleGPU       float64
}

// Total is energy + GPU cost; NaN when either is unknown.
func (c Cost) Total() float64 { return c.Energy + c.GPU }

// Idle is what the idle power and the GPU-hours of idle steps cost; NaN when either is unknown.
func (c Cost) Idle() float64 { return c.IdleEnergy + c.IdleGPU }

func (c Cost) plus(d Cost) Cost {
	return Cost{c.Energy + d.Energy, c.IdleEnergy + d.IdleEnergy, c.GPU + d.GPU, c.IdleGPU + d.IdleGPU}
}

// Money is a cost over a stretch of time and the tokens served in it, as rates.
type Money struct {
	Cost  Cost
	Hours float64
	// MoneyTokens are the tokens the cost bought; NaN when they were fewer than the idle threshold.
	MoneyTokens float64
}

// CostPerH is energy + GPU cost per hour.
func (m Money) CostPerH() float64 { return m.Cost.Total() / m.Hours }

// EnergyCostPerH is the electricity cost per hour.
func (m Money) EnergyCostPerH() float64 { return m.Cost.Energy / m.Hours }

// GPUCostPerH is the cost of the GPU-hours held, per hour.
func (m Money) GPUCostPerH() float64 { return m.Cost.GPU / m.Hours }

// IdleCostPerH is what idle costs per hour: idle energy and the GPU-hours of idle steps.
func (m Money) IdleCostPerH() float64 { return m.Cost.Idle() / m.Hours }

// CostPerMillionTokens is the whole cost over a million tokens: a ratio of sums, like J/token.
func (m Money) CostPerMillionTokens() float64 { return m.Cost.Total() / m.MoneyTokens * 1e6 }

// PartCost is the cost of one placement over the window: energy E (J) and idle energy at the site's price,
// times the PUE; GPU-seconds held and those of idle steps at the GPU type's hourly cost.
func (p Prices) PartCost(part AttributionPart, pue float64) Cost {
	perJ, perGPUS := p.rates(part.Site, part.GPUType, pue)
	return Cost{part.EnergyJ * perJ, part.IdleEnergyJ * perJ, part.GPUSeconds * perGPUS, part.IdleGPUSeconds * perGPUS}
}

// rates are the price of a joule of GPU energy at a site (PUE included) and of a second of one GPU of a type.
func (p Prices) rates(site, gpuType string, pue float64) (perJ, perGPUS float64) {
	return p.perKWh(site) * max(pue, 1) / joulesPerKWh, p.gpuPerH(gpuType) / 3600
}

// HoursPerMonth is a twelfth of a Gregorian year: 365.25 x 24 / 12.
const HoursPerMonth = 730.5

// SavingsPerMonth is what a recommendation saves a month: savingW at the price the models' energy had over
// the window (energyCost / energyJ, PUE and each site's price included) and gpusFreed GPUs of gpuType at their
// hourly cost. 0 when nothing is saved; NaN when a price it needs is missing.
func (p Prices) SavingsPerMonth(savingW, energyCost, energyJ float64, gpusFreed int, gpuType string) float64 {
	if savingW == 0 && gpusFreed == 0 {
		return 0
	}
	gpuPerH := 0.0
	if gpusFreed > 0 {
		gpuPerH = float64(gpusFreed) * p.gpuPerH(gpuType)
	}
	return (savingW*3600*energyCost/energyJ + gpuPerH) * HoursPerMonth
}

// AttributionPart is one placement's share of an attribution: what grouping by GPU type, site or node sums.
type AttributionPart struct {
	Host, Site, GPUType  string
	EnergyJ, IdleEnergyJ float64
	CO2G, CO2IdleG       float64
	// GPUSeconds are the GPUs held x the time of the covered steps; IdleGPUSeconds those of idle steps.
	GPUSeconds, IdleGPUSeconds float64
	Cost                       Cost
}

// CostGaps are the prices a set of attributions missed: the sites (by name, "" for hosts no site matches)
// without an electricity price and the GPU types without an hourly cost.
type CostGaps struct {
	Sites, GPUTypes []string
}

// Gaps lists, sorted and once each, the sites and GPU types of the models' placements whose price is missing.
func (p Prices) Gaps(carbon Carbon, ms []*Model) CostGaps {
	var g CostGaps
	for _, m := range ms {
		for _, pl := range m.Placements {
			if site := carbon.SiteName(pl.Host); math.IsNaN(p.perKWh(site)) {
				g.Sites = append(g.Sites, site)
			}
			if math.IsNaN(p.gpuPerH(pl.GPUType)) {
				g.GPUTypes = append(g.GPUTypes, pl.GPUType)
			}
		}
	}
	slices.Sort(g.Sites)
	slices.Sort(g.GPUTypes)
	g.Sites, g.GPUTypes = slices.Compact(g.Sites), slices.Compact(g.GPUTypes)
	return g
}
