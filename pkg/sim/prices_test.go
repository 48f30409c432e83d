package sim

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPricesPickTheSiteByDomain(t *testing.T) {
	p := DefaultPrices()
	assert.Equal(t, 0.085, p.PerKWh(HostUNLA100))
	assert.Equal(t, 0.11, p.PerKWh(HostTACCL40))
	assert.Equal(t, p.DefaultPerKWh, p.PerKWh(HostCalit2), "California: the default")
	// 3.6 MJ is 1 kWh; PUE 1.5.
	assert.InDelta(t, 1.5*(0.085+0.19), p.EnergyCost(map[string]float64{HostUNLA100: 3.6e6, HostNYUA100: 3.6e6}, 1.5), 1e-12)
	m := ModelTruth{ByGPUType: []TypeTruth{{GPUType: A100SXM80.Name, GPUs: 8}, {GPUType: L40.Name, GPUs: 2}}}
	assert.InDelta(t, 8*1.9+2*1.0, p.GPUCostPerH(m), 1e-12)
	spec := Spec{Nodes: []Node{{GPUType: H100SXM.Name, GPUs: 2}, {GPUType: RTXA6000.Name, GPUs: 4}}}
	assert.InDelta(t, 2*3.0+4*0.8, p.FleetGPUCostPerH(spec), 1e-12)
}
