package fleet

import "regexp"

// Carbon turns GPU energy into CO2: energy (kWh) x PUE x the grid intensity of the GPU's site.
type Carbon struct {
	// PUE (power usage effectiveness, >= 1) scales GPU energy to facility energy.
	PUE float64
	// DefaultGPerKWh is the intensity of hosts no site pattern matches.
	DefaultGPerKWh float64
	// Sites are tried in order; the first whose pattern matches the host wins.
	Sites []CarbonSite
}

// CarbonSite is the grid intensity of the GPU nodes whose host name matches Host.
type CarbonSite struct {
	Name    string
	Host    *regexp.Regexp
	GPerKWh float64
}

// DefaultGPerKWh is California's (eGRID 2022 CAMX) intensity, NRP's default.
const DefaultGPerKWh = 198

// DefaultCarbon has no sites: every host gets DefaultGPerKWh, with a PUE of 1 (as NRP's carbon API).
func DefaultCarbon() Carbon { return Carbon{PUE: 1, DefaultGPerKWh: DefaultGPerKWh} }

// GPerKWh is the grid intensity (gCO2/kWh) at host, before PUE.
func (c Carbon) GPerKWh(host string) float64 {
	for _, s := range c.Sites {
		if s.Host != nil && s.Host.MatchString(host) {
			return s.GPerKWh
		}
	}
	return c.DefaultGPerKWh
}

// gPerJ is grams of CO2 per joule of GPU energy at host, PUE included.
func (c Carbon) gPerJ(host string) float64 {
	pue := c.PUE
	if pue <= 0 {
		pue = 1
	}
	return c.GPerKWh(host) * pue / joulesPerKWh
}

const joulesPerKWh = 3.6e6
