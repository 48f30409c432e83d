package fleet

import "math"

// Summary is the fleet (or the selected models) over the window, as ratios of sums over the models'
// attributions: a model present for half the window weighs half.
type Summary struct {
	PowerW     float64
	IdleW      float64
	TokensPerS float64
	// JPerToken is all energy (idle and unallocated GPUs included) over all tokens; NaN when the models
	// served fewer tokens than the idle threshold.
	JPerToken   float64
	CO2KgPerDay float64
	// GPUs is the sum of the models' allocations (whole GPUs, see Model.Allocation): a restart or a scrape gap
	// does not make a fraction of a GPU.
	GPUs float64
	// IdleGPUs is the same sum over models that served nothing above the idle threshold, plus unallocated GPUs.
	IdleGPUs float64
	Models   int
	// Money is the models' cost over the window.
	Money
	// SummaryCarbon: the live share of the grid intensity, embodied carbon and the SCI.
	SummaryCarbon
}

// Summarize sums attributions over a grid's window.
func Summarize(atts []Attribution, g Grid, o Options) Summary {
	windowS := g.Span().Seconds()
	var s Summary
	var energyJ, idleJ, tokens, co2G float64
	for _, a := range atts {
		if a.CoveredS == 0 {
			continue
		}
		s.Models++
		energyJ += a.EnergyJ
		idleJ += a.IdleEnergyJ
		tokens += a.Tokens
		co2G += a.CO2G
		s.Cost = s.Cost.plus(a.Cost)
		s.GPUs += a.GPUs
		if a.Unallocated || math.IsNaN(a.JPerToken) {
			s.IdleGPUs += a.GPUs
		}
	}
	s.PowerW = energyJ / windowS
	s.IdleW = idleJ / windowS
	s.TokensPerS = tokens / windowS
	s.JPerToken, s.Hours, s.MoneyTokens = math.NaN(), windowS/3600, math.NaN()
	if !o.isIdle(s.TokensPerS) {
		s.JPerToken, s.MoneyTokens = energyJ/tokens, tokens
	}
	s.CO2KgPerDay = co2G / 1000 / windowS * 86400
	s.SummaryCarbon = summarizeCarbon(atts, windowS, co2G, tokens, !o.isIdle(s.TokensPerS))
	return s
}
