package fleet

import (
	"cmp"
	"math"
	"slices"
)

// GroupKey is what idle attribution, the summary and the time series group models by.
type GroupKey string

const (
	GroupModel     GroupKey = "model"
	GroupNamespace GroupKey = "namespace" // the team, on NRP
	GroupGPUType   GroupKey = "gpu_type"
	GroupSite      GroupKey = "site"
	GroupNode      GroupKey = "node"
)

// SiteName is the name of the carbon site whose pattern first matches host; "" when none does.
func (c Carbon) SiteName(host string) string {
	if s := c.site(host); s != nil {
		return s.Name
	}
	return ""
}

// Group is the sum of the attributions (or their placements' parts) sharing one key, as rates over the
// window, so that the groups of a fleet add up to its summary.
type Group struct {
	Key string
	// Models counts the models with a share in the group.
	Models int
	// GPUs is the models' allocations (Attribution.GPUs), split over their parts by GPU-seconds.
	GPUs         float64
	PowerW       float64
	IdleW        float64
	IdleFraction float64
	TokensPerS   float64
	// JPerToken is the group's energy over its tokens; NaN when they are fewer than the idle threshold.
	JPerToken    float64
	CO2GPerH     float64
	CO2IdleGPerH float64
	EnergyJ      float64
	IdleEnergyJ  float64
	Tokens       float64
	CO2G         float64
	CO2IdleG     float64
	Money
}

// keyOf is the group of a part of attribution a.
func keyOf(by GroupKey, a *Attribution, p *AttributionPart) string {
	switch by {
	case GroupNamespace:
		return a.Namespace
	case GroupGPUType:
		return p.GPUType
	case GroupSite:
		return p.Site
	case GroupNode:
		return p.Host
	}
	return a.Model
}

// GroupAttributions sums attributions into groups over a grid's window, sorted by key. Grouped by model or
// namespace a model falls in one group whole; by GPU type, site or node each placement goes to its own
// group, with the model's tokens and GPUs split by the placement's share of its GPU-seconds (replicas serve
// alike). Energy, CO2 and money are the placements' own.
func GroupAttributions(atts []Attribution, by GroupKey, g Grid, o Options) []Group {
	windowS := g.Span().Seconds()
	index := map[string]int{}
	var out []Group
	for ai := range atts {
		a := &atts[ai]
		if a.CoveredS == 0 {
			continue
		}
		var gpuS float64
		for _, p := range a.Parts {
			gpuS += p.GPUSeconds
		}
		seen := map[int]bool{}
		for pi := range a.Parts {
			p := &a.Parts[pi]
			k := keyOf(by, a, p)
			i, ok := index[k]
			if !ok {
				i = len(out)
				index[k] = i
				out = append(out, Group{Key: k})
			}
			share := 1 / float64(len(a.Parts))
			if gpuS > 0 {
				share = p.GPUSeconds / gpuS
			}
			gr := &out[i]
			if !seen[i] {
				gr.Models++
				seen[i] = true
			}
			gr.GPUs += a.GPUs * share
			gr.Tokens += a.Tokens * share
			gr.EnergyJ += p.EnergyJ
			gr.IdleEnergyJ += p.IdleEnergyJ
			gr.CO2G += p.CO2G
			gr.CO2IdleG += p.CO2IdleG
			gr.Cost = gr.Cost.plus(p.Cost)
		}
	}
	for i := range out {
		gr := &out[i]
		gr.PowerW = gr.EnergyJ / windowS
		gr.IdleW = gr.IdleEnergyJ / windowS
		gr.IdleFraction = ratio(gr.IdleEnergyJ, gr.EnergyJ)
		gr.TokensPerS = gr.Tokens / windowS
		gr.CO2GPerH = gr.CO2G / windowS * 3600
		gr.CO2IdleGPerH = gr.CO2IdleG / windowS * 3600
		gr.Hours = windowS / 3600
		gr.JPerToken, gr.MoneyTokens = math.NaN(), math.NaN()
		if !o.isIdle(gr.TokensPerS) {
			gr.JPerToken, gr.MoneyTokens = gr.EnergyJ/gr.Tokens, gr.Tokens
		}
	}
	slices.SortFunc(out, func(a, b Group) int { return cmp.Compare(a.Key, b.Key) })
	return out
}
