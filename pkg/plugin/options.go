package plugin

import (
	"fmt"
	"regexp"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// analysisOptions are the analyses' options that the data source settings decide, built once per instance
// (compiled carbon patterns, catalogs with the settings' additions); each query adds its own on top.
type analysisOptions struct {
	fleet  fleet.Options
	sizing fleet.SizingOptions
	slo    models.SLOSettings
}

func newAnalysisOptions(s *models.Settings) (analysisOptions, error) {
	o, err := fleetOptions(s)
	if err != nil {
		return analysisOptions{}, err
	}
	return analysisOptions{fleet: o, sizing: sizingOptions(s), slo: s.SLO}, nil
}

// fleetOptions are the analyses' options of the settings: idle floor overrides, GPU catalog additions and the
// carbon table.
func fleetOptions(s *models.Settings) (fleet.Options, error) {
	o := fleet.DefaultOptions()
	if len(s.IdleFloors) > 0 {
		o.IdleFloorOverridesW = make(map[string]float64, len(s.IdleFloors))
		for _, f := range s.IdleFloors {
			o.IdleFloorOverridesW[f.GPUType] = f.Watts
		}
	}
	o.GPUs = gpuCatalog(s.GPUs)
	carbon, err := carbonOf(s.Carbon)
	if err != nil {
		return fleet.Options{}, err
	}
	o.Carbon = carbon
	o.Prices = pricesOf(s)
	return o, nil
}

// forQuery are the options of one query: which tokens count and the idle threshold. The catalogs and the carbon
// table are shared, read only, by every query of the instance.
func (a analysisOptions) forQuery(q models.Query) fleet.Options {
	o := a.fleet
	o.Tokens = q.Tokens
	o.IdleThresholdTokensPerS = q.IdleThreshold
	return o
}

// gpuCatalog is the built-in catalog with the settings' GPU types added on top. An override that leaves a
// figure at 0 keeps the built-in one, so correcting the memory of a known GPU does not lose its power figures.
func gpuCatalog(overrides []models.GPUOverride) fleet.GPUCatalog {
	if len(overrides) == 0 {
		return fleet.DefaultGPUs
	}
	specs := make([]fleet.GPUSpec, 0, len(overrides))
	for _, g := range overrides {
		spec, _ := fleet.DefaultGPUs.Lookup(g.GPUType)
		spec.Name = g.GPUType
		if g.MemoryGB > 0 {
			spec.MemoryGB = g.MemoryGB
		}
		if g.TDPW > 0 {
			spec.TDPW = g.TDPW
		}
		if g.ParkedW > 0 {
			spec.ParkedW = g.ParkedW
		}
		specs = append(specs, spec)
	}
	return fleet.DefaultGPUs.With(specs)
}

// carbonOf compiles the settings' site table. Host patterns match case-insensitively: host names are.
func carbonOf(c models.CarbonSettings) (fleet.Carbon, error) {
	out := fleet.Carbon{PUE: c.PUE, DefaultGPerKWh: c.DefaultGPerKWh}
	for i, s := range c.Sites {
		re, err := regexp.Compile("(?i)" + s.HostPattern)
		if err != nil {
			return fleet.Carbon{}, fmt.Errorf("carbon site %d (%s): host pattern %q does not compile: %w", i, s.Name, s.HostPattern, err)
		}
		out.Sites = append(out.Sites, fleet.CarbonSite{Name: s.Name, Host: re, GPerKWh: s.GPerKWh, PUE: s.PUE})
	}
	out.Embodied = embodiedOf(c.GridCarbonSettings)
	return out, nil
}

// prepare is what every analysis of a query starts from: its options, the idle floors pooled over the whole
// fleet, and the models the query selects.
func (d *Datasource) prepare(q models.Query, f *fleet.Fleet) (fleet.Options, fleet.IdleFloors, []*fleet.Model) {
	o := d.options.forQuery(q)
	o.Carbon = o.Carbon.WithLive(f.Intensity)
	return o, fleet.MeasureIdleFloors(f, o), selected(f, q)
}

// selected are the fleet's models the query keeps, in the fleet's order. The analyses that pool over the
// fleet (idle floors) run on the whole fleet before this.
func selected(f *fleet.Fleet, q models.Query) []*fleet.Model {
	var out []*fleet.Model
	for i := range f.Models {
		if q.Selects(f.Models[i].Name) {
			out = append(out, &f.Models[i])
		}
	}
	return out
}

// gpuTypes are the main GPU types of models, for the notices about their idle floors.
func gpuTypes(ms []*fleet.Model) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.GPUType()
	}
	return out
}
