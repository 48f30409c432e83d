package fleet

import "regexp"

// Carbon turns GPU energy into CO2: energy (kWh) x the PUE of the GPU's site x the grid intensity there, from
// the site table or, where the source has it, the grid's live intensity at each step (WithLive).
type Carbon struct {
	// PUE (power usage effectiveness, >= 1) scales GPU energy to facility energy at sites without their own.
	PUE float64
	// DefaultGPerKWh is the intensity of hosts no site pattern matches.
	DefaultGPerKWh float64
	// Sites are tried in order; the first whose pattern matches the host wins.
	Sites []CarbonSite
	// Embodied is the GPUs' manufacturing carbon, for the SCI; the zero value has none.
	Embodied Embodied
	// live is the grid's intensity per site name on the fleet's grid; nil: the table alone.
	live map[string]*liveSite
}

// CarbonSite is the grid intensity and PUE of the GPU nodes whose host name matches Host.
type CarbonSite struct {
	Name    string
	Host    *regexp.Regexp
	GPerKWh float64
	// PUE is the site's own; 0 takes Carbon.PUE.
	PUE float64
}

// DefaultGPerKWh is California's (eGRID 2022 CAMX) intensity, NRP's default.
const DefaultGPerKWh = 198

// DefaultCarbon has no sites: every host gets DefaultGPerKWh, with a PUE of 1 (as NRP's carbon API).
func DefaultCarbon() Carbon { return Carbon{PUE: 1, DefaultGPerKWh: DefaultGPerKWh} }

// site is the site of host; nil when no pattern matches.
func (c Carbon) site(host string) *CarbonSite {
	for i := range c.Sites {
		if s := &c.Sites[i]; s.Host != nil && s.Host.MatchString(host) {
			return s
		}
	}
	return nil
}

// GPerKWh is the table's grid intensity (gCO2/kWh) at host, before PUE.
func (c Carbon) GPerKWh(host string) float64 {
	if s := c.site(host); s != nil {
		return s.GPerKWh
	}
	return c.DefaultGPerKWh
}

// SitePUE is the PUE at host: its site's, else the fleet's (1 when unset).
func (c Carbon) SitePUE(host string) float64 {
	pue := c.PUE
	if s := c.site(host); s != nil && s.PUE > 0 {
		pue = s.PUE
	}
	if pue <= 0 {
		pue = 1
	}
	return pue
}

// gPerJ is grams of CO2 per joule of GPU energy at host by the table, PUE included.
func (c Carbon) gPerJ(host string) float64 {
	return c.GPerKWh(host) * c.SitePUE(host) / joulesPerKWh
}

const joulesPerKWh = 3.6e6
