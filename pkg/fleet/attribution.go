package fleet

import "math"

// Attribution splits one model's power, energy and CO2 over the window into idle overhead and productive work.
// Rates are over the steps where the model had data (its CoveredS), so a model deployed mid-window is judged
// on the time it ran.
type Attribution struct {
	Model string
	// Namespace is the model's Kubernetes namespace (its team on NRP).
	Namespace string
	GPUType   string
	// Unallocated marks the GPUs no pod holds: all of their power is idle.
	Unallocated bool
	// GPUs is the allocation held for most of the covered steps (Model.Allocation): whole GPUs.
	GPUs float64
	// Replicas and GPUsPerReplica describe that allocation (see Allocation).
	Replicas, GPUsPerReplica int

	PowerW       float64
	IdleW        float64
	ProductiveW  float64
	IdleFraction float64
	IdleSource   IdleSource
	IdleFloorW   float64 // per GPU, of GPUType

	TokensPerS float64
	// JPerToken is window energy / window tokens (a ratio of sums); NaN when the model served fewer tokens than
	// the idle threshold over its covered time.
	JPerToken float64
	// MarginalJPerToken is productive energy / window tokens; NaN like JPerToken, and NaN when the productive
	// power is within what the idle floor is known to (MarginalWithinNoise).
	MarginalJPerToken float64
	// FitKJPerToken is the slope of the model's efficiency fit (Curve.Fit): what one more token costs at the
	// traffic it served. NaN without a fit. Unlike MarginalJPerToken it leaves out the power GPUs draw above
	// their parked floor for being awake while serving (see docs/formulas.md).
	FitKJPerToken float64
	// MarginalWithinNoise says the productive power is under GPUs x the measured floor's spread: a difference
	// of two nearly equal figures, whose ratio to the tokens would be noise.
	MarginalWithinNoise bool

	CO2GPerH     float64
	CO2IdleGPerH float64
	// CO2MgPerToken is window CO2 / window tokens; NaN like JPerToken. It is the SCI's operational part.
	CO2MgPerToken float64
	// GridCarbon: the live share of the intensity, idle power in the dirtiest hours, embodied carbon, SCI.
	GridCarbon

	// Window totals, so sums over models (the fleet summary, savings) stay ratios of sums.
	EnergyJ     float64
	IdleEnergyJ float64
	Tokens      float64
	CO2G        float64
	CO2IdleG    float64
	// CoveredS is the time the model had power data: covered steps x step.
	CoveredS float64
	// IdleStepShare is the share of covered steps known to be below the idle threshold.
	IdleStepShare float64
	// GapSteps counts steps without power or token data between the model's first and last covered step.
	GapSteps int

	// Parts are the model's placements' shares (host, site, GPU type) of energy, CO2, GPU-hours and cost.
	Parts []AttributionPart
	// Money is the cost over the covered time (see cost.go); NaN parts where a price is missing.
	Money
}

// Attribute is the idle attribution of one model over the grid g. Energy per placement comes from the energy
// counter where the source had one, else from the power samples; idle energy is the idle share of the samples
// applied to that energy. CO2 weighs each placement's energy by its site's PUE and grid intensity, step by
// step where the grid's live intensity is known (see GridCarbon).
func Attribute(m *Model, g Grid, floors IdleFloors, o Options) Attribution {
	s := newModelSteps(m, floors, &o)
	a := Attribution{Model: m.Name, Namespace: m.Namespace, GPUType: m.GPUType(), Unallocated: m.Unallocated}
	floor := floors.ForModel(m.Name, a.GPUType)
	a.IdleSource, a.IdleFloorW = floor.Source, floor.W
	if m.Unallocated { // all of its power is idle, as measured: no floor is involved
		a.IdleSource = IdleMeasured
	}

	dt := g.Step.Seconds()
	tokens, power, buf := s.load(g.N)
	defer buf.release()
	covered, idleSteps, last := 0, 0, -1
	tokensSampled := 0.0
	for i, w := range power {
		if w != w { // no placement reported
			continue
		}
		covered++
		r := tokens[i]
		if s.idle(r) {
			idleSteps++
		}
		if r == r {
			tokensSampled += r * dt
		} else if !m.Unallocated {
			a.GapSteps++
		}
		if last >= 0 {
			a.GapSteps += i - last - 1
		}
		last = i
	}
	if covered == 0 {
		return a.noData()
	}

	for p := range m.Placements {
		pl := &m.Placements[p]
		floorW := s.floorW[p]
		gpus := fitLen(pl.GPUs, g.N)
		var sampledW, idleSampledW, idleGPUSteps float64
		var cs carbonSums
		for i, w := range fitLen(pl.PowerW, g.N) {
			if w != w {
				continue
			}
			n, idle := gpus[i], s.idle(tokens[i])
			idleW := placementIdleW(w, n, floorW, idle)
			sampledW += w
			idleSampledW += idleW
			cs.add(s.carbon[p], i, w, idleW, n)
			if idle && n == n {
				idleGPUSteps += n
			}
		}
		// Energy from the counter where there is one; the samples say which share of it was idle.
		e, idle := pl.EnergyJ, idleSampledW*dt
		if math.IsNaN(e) {
			e = sampledW * dt
		} else if sampledW > 0 {
			idle *= e / (sampledW * dt)
		}
		a.EnergyJ += e
		a.IdleEnergyJ += idle
		co2G, co2IdleG := a.addCarbon(cs, s.carbon[p], e, idle, sampledW, idleSampledW, pl.GPUType, o.Carbon.Embodied, dt)
		part := AttributionPart{Host: pl.Host, Site: o.Carbon.SiteName(pl.Host), GPUType: pl.GPUType,
			EnergyJ: e, IdleEnergyJ: idle, CO2G: co2G, CO2IdleG: co2IdleG,
			GPUSeconds: cs.gpuSteps * dt, IdleGPUSeconds: idleGPUSteps * dt}
		part.Cost = o.Prices.PartCost(part, s.carbon[p].pue)
		a.Parts = append(a.Parts, part)
		a.Cost = a.Cost.plus(part.Cost)
	}
	a.Tokens = m.Tokens(o.Tokens)
	if math.IsNaN(a.Tokens) {
		a.Tokens = tokensSampled
	}
	if m.Unallocated {
		a.Tokens = 0
	}

	a.CoveredS = float64(covered) * dt
	hours := a.CoveredS / 3600
	alloc := m.Allocation()
	a.GPUs, a.Replicas, a.GPUsPerReplica = float64(alloc.GPUs), alloc.Replicas, alloc.GPUsPerReplica
	a.IdleStepShare = float64(idleSteps) / float64(covered)
	a.PowerW = a.EnergyJ / a.CoveredS
	a.IdleW = a.IdleEnergyJ / a.CoveredS
	a.ProductiveW = a.PowerW - a.IdleW
	a.IdleFraction = ratio(a.IdleEnergyJ, a.EnergyJ)
	a.TokensPerS = a.Tokens / a.CoveredS
	a.CO2GPerH = a.CO2G / hours
	a.CO2IdleGPerH = a.CO2IdleG / hours
	a.Hours, a.MoneyTokens = hours, math.NaN()
	a.finishCarbon(hours, !o.isIdle(a.TokensPerS), o.Carbon.Embodied.Set())
	a.JPerToken, a.MarginalJPerToken, a.CO2MgPerToken, a.FitKJPerToken = math.NaN(), math.NaN(), math.NaN(), math.NaN()
	if !o.isIdle(a.TokensPerS) {
		a.JPerToken = a.EnergyJ / a.Tokens
		a.MarginalJPerToken = (a.EnergyJ - a.IdleEnergyJ) / a.Tokens
		if (floor.Source == IdleMeasured || floor.Source == IdleModel) && a.ProductiveW < a.GPUs*floor.SpreadW {
			a.MarginalJPerToken, a.MarginalWithinNoise = math.NaN(), true
		}
		a.CO2MgPerToken = a.CO2G * 1000 / a.Tokens
		a.MoneyTokens = a.Tokens
	}
	return a
}

func (a Attribution) noData() Attribution {
	nan := math.NaN()
	a.GPUs, a.PowerW, a.IdleW, a.ProductiveW, a.IdleFraction = nan, nan, nan, nan, nan
	a.TokensPerS, a.JPerToken, a.MarginalJPerToken, a.FitKJPerToken = nan, nan, nan, nan
	a.CO2GPerH, a.CO2IdleGPerH, a.CO2MgPerToken, a.IdleStepShare = nan, nan, nan, nan
	a.finishCarbon(math.NaN(), false, false)
	return a
}

// WithFitSlope sets the attribution's FitKJPerToken from the model's efficiency fit.
func (a *Attribution) WithFitSlope(fit Fit) {
	a.FitKJPerToken = math.NaN()
	if fit.OK {
		a.FitKJPerToken = fit.KJPerToken
	}
}

// AttributeFleet is Attribute for every model of the fleet, in the fleet's order.
func AttributeFleet(f *Fleet, floors IdleFloors, o Options) []Attribution {
	out := make([]Attribution, len(f.Models))
	for i := range f.Models {
		out[i] = Attribute(&f.Models[i], f.Grid, floors, o)
	}
	return out
}

// ratio is a/b, NaN when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}
