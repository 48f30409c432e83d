package plugin

import (
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

// withCarbon adds to c what the carbon figures of atts rest on: the grid intensity used and why embodied
// carbon is empty.
func (d *Datasource) withCarbon(c frames.Context, o fleet.Options, atts []fleet.Attribution) frames.Context {
	return c.WithIntensity(d.settings.Carbon.LiveIntensity(), fleet.LiveShareOf(atts)).WithEmbodied(o.Carbon.Embodied.Set(), atts)
}
