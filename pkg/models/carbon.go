package models

import (
	"errors"
	"fmt"
	"strings"
)

// GridCarbonSettings are the optional parts of the carbon settings: the grid's live intensity and the GPUs'
// embodied carbon. Left empty, CO2 uses the static site table and the embodied and SCI figures stay empty.
type GridCarbonSettings struct {
	// IntensityQuery is a PromQL expression for the grid intensity in gCO2/kWh, one series per site, told
	// apart by IntensitySiteLabel whose values are the sites' names (e.g. the Green Web Foundation's
	// grid-intensity-exporter gauge grid_intensity_carbon_actual, its region label relabelled to the site).
	IntensityQuery string `json:"intensityQuery"`
	// IntensitySiteLabel is the label of IntensityQuery's series that names the site; DefaultIntensitySiteLabel
	// when empty.
	IntensitySiteLabel string `json:"intensitySiteLabel"`
	// Embodied is the manufacturing carbon of one GPU per GPU type; ServiceLifeYears spreads it over the
	// years a GPU serves (the SCI's amortisation of embodied emissions).
	Embodied         []EmbodiedGPU `json:"embodied"`
	ServiceLifeYears float64       `json:"serviceLifeYears"`
}

// EmbodiedGPU is the embodied carbon of one GPU of a type (kgCO2e, as the vendor's product carbon footprint
// or a life-cycle assessment gives it).
type EmbodiedGPU struct {
	GPUType string  `json:"gpuType"`
	KgCO2e  float64 `json:"kgCO2e"`
}

// DefaultIntensitySiteLabel is the site label of carbon.intensityQuery unless set.
const DefaultIntensitySiteLabel = "site"

// LiveIntensity reports whether any live grid intensity is configured.
func (c CarbonSettings) LiveIntensity() bool {
	if c.IntensityQuery != "" {
		return true
	}
	for _, s := range c.Sites {
		if s.IntensityQuery != "" {
			return true
		}
	}
	return false
}

func (c *CarbonSettings) applyGridDefaults() {
	c.IntensityQuery = strings.TrimSpace(c.IntensityQuery)
	setDefault(&c.IntensitySiteLabel, DefaultIntensitySiteLabel)
	for i := range c.Sites {
		c.Sites[i].IntensityQuery = strings.TrimSpace(c.Sites[i].IntensityQuery)
	}
}

func (c *CarbonSettings) validateGrid() []error {
	var errs []error
	if !labelName.MatchString(c.IntensitySiteLabel) {
		errs = append(errs, fmt.Errorf("carbon.intensitySiteLabel %q is not a Prometheus label name", c.IntensitySiteLabel))
	}
	names := map[string]int{}
	for i := range c.Sites {
		s := c.Sites[i]
		if s.PUE != 0 && (s.PUE < 1 || s.PUE > 5) {
			errs = append(errs, fmt.Errorf("carbon.sites[%d] (%s): pue %v is outside 1..5 (0: the fleet's)", i, s.Name, s.PUE))
		}
		// Live series find their site by name.
		key := strings.ToLower(s.Name)
		if j, dup := names[key]; dup && c.LiveIntensity() {
			errs = append(errs, fmt.Errorf("carbon.sites[%d] and [%d] are both named %q: live intensity series name their site", j, i, s.Name))
		}
		names[key] = i
	}
	for i, e := range c.Embodied {
		if strings.TrimSpace(e.GPUType) == "" || !(e.KgCO2e > 0 && e.KgCO2e <= 100000) {
			errs = append(errs, fmt.Errorf("carbon.embodied[%d]: needs a GPU type and kgCO2e in 0..100000, got %q and %v", i, e.GPUType, e.KgCO2e))
		}
	}
	if c.ServiceLifeYears < 0 || c.ServiceLifeYears > 30 {
		errs = append(errs, fmt.Errorf("carbon.serviceLifeYears %v is outside 0..30", c.ServiceLifeYears))
	}
	if len(c.Embodied) > 0 && c.ServiceLifeYears == 0 {
		errs = append(errs, errors.New("carbon.embodied is set but carbon.serviceLifeYears is not: embodied carbon is spread over a GPU's service life (e.g. 4 years)"))
	}
	return errs
}
