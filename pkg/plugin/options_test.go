package plugin

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

func TestFleetOptionsFromSettingsAndQuery(t *testing.T) {
	s := &models.Settings{
		IdleFloors: []models.IdleFloorW{{GPUType: "NVIDIA L40S", Watts: 70}},
		GPUs: []models.GPUOverride{
			{GPUType: "NVIDIA A100-SXM4-80GB", MemoryGB: 81},            // corrects memory only
			{GPUType: "Acme X1", MemoryGB: 96, TDPW: 500, ParkedW: 110}, // a GPU the catalog lacks
		},
		Carbon: models.CarbonSettings{PUE: 1.1, DefaultGPerKWh: 386, Sites: []models.Site{{Name: "TACC", HostPattern: `tacc`, GPerKWh: 393}}},
	}
	q := models.DefaultQuery()
	q.Tokens, q.IdleThreshold = fleet.TokensGeneration, 5

	opts, err := newAnalysisOptions(s)
	require.NoError(t, err)
	o := opts.forQuery(q)

	assert.Equal(t, fleet.TokensGeneration, o.Tokens)
	assert.Equal(t, 5.0, o.IdleThresholdTokensPerS)
	assert.Equal(t, map[string]float64{"NVIDIA L40S": 70}, o.IdleFloorOverridesW)
	a100, ok := o.GPUs.Lookup("NVIDIA A100-SXM4-80GB")
	require.True(t, ok)
	assert.Equal(t, fleet.GPUSpec{Name: "NVIDIA A100-SXM4-80GB", MemoryGB: 81, TDPW: 400, ParkedW: 90, BareIdleW: 64, HBMGBPerS: 2039, MIG: true}, a100, "figures left at 0 keep the catalog's")
	acme, ok := o.GPUs.Lookup("Acme X1")
	require.True(t, ok)
	assert.Equal(t, 110.0, acme.ParkedW)
	assert.Equal(t, 1.1, o.Carbon.PUE)
	assert.Equal(t, 393.0, o.Carbon.GPerKWh("c001.TACC.utexas.edu"))
	assert.Equal(t, 386.0, o.Carbon.GPerKWh("node.example.org"))
	assert.Equal(t, fleet.DefaultIdleFloorPercentile, o.IdleFloorPercentile)

	other := opts.forQuery(models.DefaultQuery())
	assert.Equal(t, fleet.TokensTotal, other.Tokens, "each query its own tokens")
	assert.Same(t, o.Carbon.Sites[0].Host, other.Carbon.Sites[0].Host, "the carbon patterns are compiled once per instance")
}

func TestSLOFromSettingsAndQuery(t *testing.T) {
	q := models.DefaultQuery()
	assert.Equal(t, fleet.SLO{TTFTP95: 2 * time.Second, ITLP95: 200 * time.Millisecond}, sloOf(models.SLOSettings{}, q), "the defaults")
	five, zero := 5.0, 0.0
	s := models.SLOSettings{TTFTP95Seconds: &five, ITLP95Seconds: &zero}
	assert.Equal(t, fleet.SLO{TTFTP95: 5 * time.Second}, sloOf(s, q), "the data source's, ITL unchecked")
	q.ITLP95Seconds = 0.05
	assert.Equal(t, fleet.SLO{TTFTP95: 5 * time.Second, ITLP95: 50 * time.Millisecond}, sloOf(s, q), "the query's override")
}
