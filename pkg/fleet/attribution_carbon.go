package fleet

import (
	"math"
	"slices"
)

// GridCarbon is the part of an attribution that follows the grid hour by hour, and the GPUs' embodied carbon
// for the Green Software Foundation's SCI.
type GridCarbon struct {
	// LiveIntensityShare is the share of the model's placement steps whose CO2 used the grid's live intensity
	// (the others the site table); IntensitySource names it. NaN without steps.
	LiveIntensityShare float64
	IntensitySource    IntensitySource
	// IdleDirtyShare is the share of the model's idle energy spent in the dirtiest quarter of the window's steps
	// at its sites: 0.25 when idle power is spread evenly over the grid's hours, more when it falls in the
	// dirtiest ones. NaN without live intensity at its sites, or without idle energy.
	IdleDirtyShare float64
	// EmbodiedGPerH is the embodied carbon of the GPUs held, per covered hour; SCIMgPerToken is (operational +
	// embodied) CO2 per token, the SCI with a token as the functional unit (NaN like JPerToken). Both NaN when
	// embodied carbon is not set or a GPU type of the model has no figure (EmbodiedMissing).
	EmbodiedGPerH   float64
	SCIMgPerToken   float64
	EmbodiedMissing []string

	// Window totals, so sums over models stay ratios of sums.
	LiveSteps, IntensitySteps int
	// DirtyIdleEnergyJ is the idle energy in the dirtiest steps, out of DirtyKnownIdleEnergyJ (idle energy at
	// sites with a live intensity).
	DirtyIdleEnergyJ, DirtyKnownIdleEnergyJ float64
	// GPUHours is the GPUs held over the covered steps; EmbodiedG their embodied carbon.
	GPUHours  float64
	EmbodiedG float64
}

// carbonSums are one placement's sampled steps weighted by the grid intensity at each.
type carbonSums struct {
	// wGPerS and idleWGPerS are the sums of power and idle power x gCO2/J: grams per second.
	wGPerS, idleWGPerS float64
	dirtyIdleW         float64
	liveSteps, steps   int
	gpuSteps           float64
}

// add counts step i, where the placement drew w, idleW of it idle, with gpus GPUs.
func (c *carbonSums) add(pc placementCarbon, i int, w, idleW, gpus float64) {
	g, live := pc.gPerJ(i)
	c.wGPerS += w * g
	c.idleWGPerS += idleW * g
	c.steps++
	if live {
		c.liveSteps++
	}
	if pc.dirty(i) {
		c.dirtyIdleW += idleW
	}
	if gpus == gpus {
		c.gpuSteps += gpus
	}
}

// addCarbon adds a placement's CO2 to the attribution and returns it (all and idle): its window energy e (idle
// of it) at the power-weighted mean of its steps' intensities (sampledW and idleSampledW are the sums of its
// sampled power and idle power), which is energy x intensity summed step by step. Without live intensity the
// table's, unweighted.
func (a *Attribution) addCarbon(cs carbonSums, pc placementCarbon, e, idle, sampledW, idleSampledW float64, gpuType string, emb Embodied, dt float64) (co2G, co2IdleG float64) {
	gPerJ := pc.tableGPerKWh * pc.pue / joulesPerKWh
	allGPerJ, idleGPerJ := gPerJ, gPerJ
	if pc.live != nil && sampledW > 0 {
		allGPerJ = cs.wGPerS / sampledW
	}
	if pc.live != nil && idleSampledW > 0 {
		idleGPerJ = cs.idleWGPerS / idleSampledW
	}
	co2G, co2IdleG = e*allGPerJ, idle*idleGPerJ
	a.CO2G += co2G
	a.CO2IdleG += co2IdleG
	a.LiveSteps += cs.liveSteps
	a.IntensitySteps += cs.steps
	if pc.dirtyKnown() && idleSampledW > 0 {
		a.DirtyIdleEnergyJ += idle * cs.dirtyIdleW / idleSampledW
		a.DirtyKnownIdleEnergyJ += idle
	}
	hours := cs.gpuSteps * dt / 3600
	a.GPUHours += hours
	if per, ok := emb.GPerGPUHour(gpuType); ok {
		a.EmbodiedG += hours * per
	} else if emb.Set() && !slices.Contains(a.EmbodiedMissing, gpuType) {
		a.EmbodiedMissing = append(a.EmbodiedMissing, gpuType)
	}
	return co2G, co2IdleG
}

// finishCarbon derives the rates of the grid-carbon totals over hours covered; served says the model served
// tokens above the idle threshold.
func (a *Attribution) finishCarbon(hours float64, served bool, embodiedSet bool) {
	g := &a.GridCarbon
	g.LiveIntensityShare = math.NaN()
	if g.IntensitySteps > 0 {
		g.LiveIntensityShare = float64(g.LiveSteps) / float64(g.IntensitySteps)
	}
	g.IntensitySource = IntensitySourceOf(g.LiveIntensityShare)
	g.IdleDirtyShare = ratio(g.DirtyIdleEnergyJ, g.DirtyKnownIdleEnergyJ)
	if !embodiedSet || len(g.EmbodiedMissing) > 0 {
		g.EmbodiedG = math.NaN()
	}
	g.EmbodiedGPerH, g.SCIMgPerToken = g.EmbodiedG/hours, math.NaN()
	if served {
		g.SCIMgPerToken = (a.CO2G + g.EmbodiedG) * 1000 / a.Tokens
	}
}

// SummaryCarbon is the fleet summary's part of GridCarbon.
type SummaryCarbon struct {
	LiveIntensityShare float64
	IntensitySource    IntensitySource
	// EmbodiedKgPerDay is the embodied carbon of the GPUs held, per day of the window; SCIMgPerToken is all
	// CO2 (operational and embodied, idle and unallocated GPUs included) per token. NaN like GridCarbon's.
	EmbodiedKgPerDay float64
	SCIMgPerToken    float64
}

// summarizeCarbon sums the grid carbon of atts over a window of windowS seconds, with co2G and tokens the
// window's operational CO2 and tokens; served says the tokens are above the idle threshold.
func summarizeCarbon(atts []Attribution, windowS, co2G, tokens float64, served bool) SummaryCarbon {
	embodiedG := 0.0
	for _, a := range atts {
		if a.CoveredS > 0 {
			embodiedG += a.EmbodiedG
		}
	}
	share := LiveShareOf(atts)
	s := SummaryCarbon{LiveIntensityShare: share, IntensitySource: IntensitySourceOf(share),
		EmbodiedKgPerDay: embodiedG / 1000 / windowS * 86400, SCIMgPerToken: math.NaN()}
	if served {
		s.SCIMgPerToken = (co2G + embodiedG) * 1000 / tokens
	}
	return s
}

// LiveShareOf is the share of the node-steps of atts whose CO2 used the grid's live intensity; NaN without steps.
func LiveShareOf(atts []Attribution) float64 {
	var live, steps int
	for _, a := range atts {
		live, steps = live+a.LiveSteps, steps+a.IntensitySteps
	}
	if steps == 0 {
		return math.NaN()
	}
	return float64(live) / float64(steps)
}
