package plugin

import (
	"strings"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/frames"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// embodiedOf is the settings' embodied carbon per GPU type; the zero value when there is none.
func embodiedOf(g models.GridCarbonSettings) fleet.Embodied {
	if len(g.Embodied) == 0 {
		return fleet.Embodied{}
	}
	e := fleet.Embodied{KgCO2ePerGPU: make(map[string]float64, len(g.Embodied)), LifeYears: g.ServiceLifeYears}
	for _, gpu := range g.Embodied {
		e.KgCO2ePerGPU[gpu.GPUType] = gpu.KgCO2e
	}
	return e
}

// withCarbon adds to c what the carbon figures of atts (read from f) rest on: the grid intensity used, live
// series of no site, and why embodied carbon is empty.
func (d *Datasource) withCarbon(c frames.Context, f *fleet.Fleet, o fleet.Options, atts []fleet.Attribution) frames.Context {
	return c.WithIntensity(d.settings.Carbon.LiveIntensity(), fleet.LiveShareOf(atts)).
		WithUnmatchedSites(d.unmatchedSites(f, o)).
		WithEmbodied(o.Carbon.Embodied.Set(), atts)
}

// unmatchedSites are the sites of the live series that name no site of the table, when the shared intensity
// query matched none of the sites it serves (those without their own query): its site label's values are then
// most likely not the table's names. Series of a few sites left out of the table are deliberate.
func (d *Datasource) unmatchedSites(f *fleet.Fleet, o fleet.Options) []string {
	c := d.settings.Carbon
	if c.IntensityQuery == "" {
		return nil
	}
	for _, s := range c.Sites {
		for name := range f.Intensity {
			if s.IntensityQuery == "" && strings.EqualFold(name, s.Name) {
				return nil
			}
		}
	}
	return o.Carbon.UnmatchedSites(f.Intensity)
}
