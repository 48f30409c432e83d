package fleet

import (
	"math"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gridFleet is one model on two nodes: one at a site with a live intensity series (a day-shaped curve with a
// 6-step hole), one at a site without. It serves tokens in the first half of the window and idles after.
func gridFleet() (*Model, Grid, Options, Series) {
	g := Grid{Start: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), Step: time.Hour, N: 48}
	live := NewSeries(g.N)
	for i := range live {
		if i < 20 || i >= 26 {
			live[i] = 300 + 150*math.Cos(2*math.Pi*float64(i-18)/24)
		}
	}
	power, gpus, tokens := NewSeries(g.N), NewSeries(g.N), NewSeries(g.N)
	for i := range power {
		power[i], gpus[i], tokens[i] = 400+float64(i%5)*10, 2, 0
		if i < g.N/2 {
			tokens[i] = 100
		}
	}
	m := &Model{
		Name: "m", Namespace: "ns",
		Placements: []Placement{
			{Host: "a.live.example", GPUType: "NVIDIA A100-SXM4-80GB", GPUs: gpus, PowerW: power, EnergyJ: math.NaN()},
			{Host: "b.static.example", GPUType: "NVIDIA A100-SXM4-80GB", GPUs: gpus, PowerW: power, EnergyJ: math.NaN()},
		},
		GenerationTokensPerS: tokens, PromptTokensPerS: make(Series, g.N), PromptTokens: math.NaN(), GenerationTokens: math.NaN(),
	}
	o := DefaultOptions()
	o.IdleFloorOverridesW = map[string]float64{"NVIDIA A100-SXM4-80GB": 150}
	o.Carbon = Carbon{PUE: 1.2, DefaultGPerKWh: 198, Sites: []CarbonSite{
		{Name: "Live", Host: regexp.MustCompile(`live`), GPerKWh: 400, PUE: 1.5},
		{Name: "Static", Host: regexp.MustCompile(`static`), GPerKWh: 500},
	}}
	return m, g, o, live
}

func TestCO2FollowsTheLiveIntensityStepByStepWithTheTableAsFallback(t *testing.T) {
	m, g, o, live := gridFleet()
	o.Carbon = o.Carbon.WithLive(map[string]Series{"live": live, "Nowhere": live})
	floors := MeasureIdleFloors(&Fleet{Grid: g, Models: []Model{*m}}, o)
	a := Attribute(m, g, floors, o)

	dt := g.Step.Seconds()
	var wantG, wantIdleG float64
	liveSteps := 0
	for i := range g.N {
		w := m.Placements[0].PowerW[i]
		idleW := 2 * 150.0
		if m.GenerationTokensPerS[i] == 0 {
			idleW = w
		}
		gLive := 400.0 // the site table where the live series has a hole
		if !math.IsNaN(live[i]) {
			gLive = live[i]
			liveSteps++
		}
		// Live site at its own PUE of 1.5; the static site at the table's 500 and the fleet's PUE of 1.2.
		wantG += w*dt/3.6e6*gLive*1.5 + w*dt/3.6e6*500*1.2
		wantIdleG += idleW*dt/3.6e6*gLive*1.5 + idleW*dt/3.6e6*500*1.2
	}
	assert.InDelta(t, wantG, a.CO2G, 1e-9*wantG)
	assert.InDelta(t, wantIdleG, a.CO2IdleG, 1e-9*wantIdleG)
	assert.Equal(t, liveSteps, a.LiveSteps)
	assert.Equal(t, 2*g.N, a.IntensitySteps)
	assert.InDelta(t, float64(liveSteps)/float64(2*g.N), a.LiveIntensityShare, 1e-12)
	assert.Equal(t, IntensityMixed, a.IntensitySource)

	co2, err := StepSeries(m, g, floors, o, MetricCO2GPerH)
	require.NoError(t, err)
	assert.InDelta(t, 410*(live[1]*1.5+500*1.2)/1000, co2[1], 1e-9, "a live step")
	assert.InDelta(t, 420*(400*1.5+500*1.2)/1000, co2[22], 1e-9, "a step in the live series' hole")
	assert.InDelta(t, float64(liveSteps)/float64(2*g.N), LiveIntensityShare([]*Model{m}, g, o.Carbon), 1e-12)
}

func TestWithoutLiveIntensityCO2IsTheTables(t *testing.T) {
	m, g, o, _ := gridFleet()
	a := Attribute(m, g, nil, o)
	assert.InDelta(t, a.EnergyJ/2/3.6e6*(400*1.5+500*1.2), a.CO2G, 1e-9*a.CO2G)
	assert.Equal(t, IntensityTable, a.IntensitySource)
	assert.Equal(t, 0.0, a.LiveIntensityShare)
	assert.True(t, math.IsNaN(a.IdleDirtyShare), "no live intensity: no dirtiest hours")
}

func TestIdleDirtyShareIsTheIdleEnergyInTheDirtiestQuarterOfSteps(t *testing.T) {
	m, g, o, live := gridFleet()
	o.Carbon = o.Carbon.WithLive(map[string]Series{"Live": live})
	a := Attribute(m, g, MeasureIdleFloors(&Fleet{Grid: g, Models: []Model{*m}}, o), o)
	// The dirtiest quarter (12 of 48 steps) of the live site's intensity, the table's 400 in the hole.
	eff := make([]float64, g.N)
	for i := range eff {
		eff[i] = live[i]
		if math.IsNaN(eff[i]) {
			eff[i] = 400
		}
	}
	var dirtyIdle, idle float64
	for i := range g.N {
		rank := 0
		for _, v := range eff {
			if v > eff[i] {
				rank++
			}
		}
		idleW := 300.0
		if m.GenerationTokensPerS[i] == 0 {
			idleW = m.Placements[0].PowerW[i]
		}
		idle += idleW
		if rank < 12 {
			dirtyIdle += idleW
		}
	}
	assert.InDelta(t, dirtyIdle/idle, a.IdleDirtyShare, 1e-12)
	assert.Greater(t, a.IdleDirtyShare, 0.0)
	assert.Less(t, a.IdleDirtyShare, 1.0)
}

func TestEmbodiedCarbonAndSCIPerToken(t *testing.T) {
	m, g, o, _ := gridFleet()
	o.Carbon.Embodied = Embodied{KgCO2ePerGPU: map[string]float64{"A100-SXM4-80GB": 1500}, LifeYears: 4}
	a := Attribute(m, g, nil, o)
	perGPUHour := 1500 * 1000 / (4 * 365.25 * 24)
	gpuHours := 2 * 2 * g.Span().Hours() // two placements of 2 GPUs, every step
	assert.InDelta(t, gpuHours, a.GPUHours, 1e-9)
	assert.InDelta(t, gpuHours*perGPUHour, a.EmbodiedG, 1e-9)
	assert.InDelta(t, 4*perGPUHour, a.EmbodiedGPerH, 1e-9)
	tokens := 100 * g.Step.Seconds() * float64(g.N/2)
	assert.InDelta(t, (a.CO2G+gpuHours*perGPUHour)*1000/tokens, a.SCIMgPerToken, 1e-9)
	assert.InDelta(t, a.CO2G*1000/tokens, a.CO2MgPerToken, 1e-9, "the operational part stays apart")

	s := Summarize([]Attribution{a}, g, o)
	assert.InDelta(t, gpuHours*perGPUHour/1000/g.Span().Hours()*24, s.EmbodiedKgPerDay, 1e-9)
	assert.InDelta(t, a.SCIMgPerToken, s.SCIMgPerToken, 1e-9)

	o.Carbon.Embodied.KgCO2ePerGPU = map[string]float64{"H100": 2500}
	a = Attribute(m, g, nil, o)
	assert.True(t, math.IsNaN(a.EmbodiedGPerH) && math.IsNaN(a.SCIMgPerToken))
	assert.Equal(t, []string{"NVIDIA A100-SXM4-80GB"}, a.EmbodiedMissing)

	o.Carbon.Embodied = Embodied{}
	a = Attribute(m, g, nil, o)
	assert.True(t, math.IsNaN(a.EmbodiedGPerH) && math.IsNaN(a.SCIMgPerToken), "not set: empty")
	assert.Empty(t, a.EmbodiedMissing)
}
