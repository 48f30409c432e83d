package sim

import "strings"

// Prices are what the simulated operator pays: electricity per kWh by site and an hourly cost per GPU. The
// figures are illustrative (of the order of US commercial electricity rates and cloud GPU list prices); the
// cost tests give them to the plugin as settings and check its money against Cost* of the truth's energy.
type Prices struct {
	Currency string
	// Sites price the hosts whose name contains Domain; DefaultPerKWh prices the others.
	Sites         []SitePrice
	DefaultPerKWh float64
	// GPUPerH is the hourly cost of one GPU, by GPU type name.
	GPUPerH map[string]float64
}

// SitePrice is the electricity price of one site.
type SitePrice struct {
	Name, Domain string
	PerKWh       float64
}

// DefaultPrices price the default fleet: UNL, NYU and TACC by site, the California hosts at the default.
func DefaultPrices() Prices {
	return Prices{
		Currency: "USD",
		Sites: []SitePrice{
			{Name: "UNL", Domain: "unl.edu", PerKWh: 0.085},
			{Name: "NYU", Domain: "nyu.edu", PerKWh: 0.19},
			{Name: "TACC", Domain: "utexas.edu", PerKWh: 0.11},
		},
		DefaultPerKWh: 0.27,
		GPUPerH: map[string]float64{
			RTXA6000.Name: 0.8, A100SXM80.Name: 1.9, A100PCIe80.Name: 1.6, L40.Name: 1.0, L40S.Name: 1.2,
			H100SXM.Name: 3.0, A10.Name: 0.5,
		},
	}
}

// PerKWh is the electricity price at host.
func (p Prices) PerKWh(host string) float64 {
	for _, s := range p.Sites {
		if strings.Contains(host, s.Domain) {
			return s.PerKWh
		}
	}
	return p.DefaultPerKWh
}

// EnergyCost is the price of the energy drawn per host (J), scaled to the facility by the PUE.
func (p Prices) EnergyCost(energyJByHost map[string]float64, pue float64) float64 {
	total := 0.0
	for host, j := range energyJByHost {
		total += j / 3.6e6 * pue * p.PerKWh(host)
	}
	return total
}

// GPUCostPerH is what the GPUs of a model's replicas cost per hour held.
func (p Prices) GPUCostPerH(m ModelTruth) float64 {
	total := 0.0
	for _, t := range m.ByGPUType {
		total += float64(t.GPUs) * p.GPUPerH[t.GPUType]
	}
	return total
}

// FleetGPUCostPerH is what every GPU of the fleet's nodes costs per hour, held by a model or not.
func (p Prices) FleetGPUCostPerH(s Spec) float64 {
	total := 0.0
	for _, n := range s.Nodes {
		total += float64(n.GPUs) * p.GPUPerH[n.GPUType]
	}
	return total
}
