package fleet

import (
	"math"
	"slices"
	"strings"
)

// IntensitySource says which grid intensity a CO2 figure rests on.
type IntensitySource string

const (
	// IntensityLive is the grid's intensity at every step (the live intensity setting).
	IntensityLive IntensitySource = "live"
	// IntensityTable is the site table's static intensity at every step.
	IntensityTable IntensitySource = "table"
	// IntensityMixed is live where the source had it, the table elsewhere.
	IntensityMixed IntensitySource = "mixed"
)

// IntensitySourceOf names the source of a figure whose live share of steps is share; none for NaN (no steps).
func IntensitySourceOf(share float64) IntensitySource {
	switch {
	case math.IsNaN(share):
		return ""
	case share == 1:
		return IntensityLive
	case share > 0:
		return IntensityMixed
	}
	return IntensityTable
}

// liveSite is one site's grid intensity on the fleet's grid.
type liveSite struct {
	// gPerKWh is the live intensity at each step, NaN where the source had none.
	gPerKWh Series
	// dirtyFromGPerKWh is the intensity from which a step is among the dirtiest quarter of the window's steps
	// (live, the table's where missing); NaN when every step had the same intensity.
	dirtyFromGPerKWh float64
}

// DirtiestShare is the share of a window's steps that make its dirtiest hours: a quartile.
const DirtiestShare = 0.25

// WithLive is c with the grid's live intensity per site (gCO2/kWh on the fleet's grid, NaN where missing), as
// the source read it (Fleet.Intensity). Site names match case-insensitively; series of no site are ignored.
func (c Carbon) WithLive(perSite map[string]Series) Carbon {
	if len(perSite) == 0 {
		c.live = nil
		return c
	}
	c.live = map[string]*liveSite{}
	for name, s := range perSite {
		i := slices.IndexFunc(c.Sites, func(cs CarbonSite) bool { return strings.EqualFold(cs.Name, name) })
		if i < 0 {
			continue
		}
		c.live[strings.ToLower(name)] = &liveSite{gPerKWh: s, dirtyFromGPerKWh: dirtiestFrom(s, c.Sites[i].GPerKWh)}
	}
	return c
}

// UnmatchedSites are the sites of perSite (Fleet.Intensity) that name no site of c, sorted: their series are
// left out, most likely a site label whose values are not the table's site names.
func (c Carbon) UnmatchedSites(perSite map[string]Series) []string {
	var out []string
	for name := range perSite {
		if !slices.ContainsFunc(c.Sites, func(cs CarbonSite) bool { return strings.EqualFold(cs.Name, name) }) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// dirtiestFrom is the intensity of the step at the top quartile of live (table where missing): the steps at or
// above it are the window's dirtiest quarter. NaN when they all are equal.
func dirtiestFrom(live Series, tableGPerKWh float64) float64 {
	if len(live) == 0 {
		return math.NaN()
	}
	eff := make([]float64, len(live))
	for i, v := range live {
		eff[i] = v
		if v != v {
			eff[i] = tableGPerKWh
		}
	}
	slices.Sort(eff)
	if eff[0] == eff[len(eff)-1] {
		return math.NaN()
	}
	k := int(math.Ceil(DirtiestShare * float64(len(eff))))
	return eff[len(eff)-k]
}

// placementCarbon is what CO2 needs of one placement: its site's PUE and table intensity, and the site's
// live intensity when the source has one.
type placementCarbon struct {
	pue, tableGPerKWh float64
	live              *liveSite
}

func (c Carbon) placement(host string) placementCarbon {
	pc := placementCarbon{pue: c.SitePUE(host), tableGPerKWh: c.GPerKWh(host)}
	if s := c.site(host); s != nil && c.live != nil {
		pc.live = c.live[strings.ToLower(s.Name)]
	}
	return pc
}

// gPerKWh is the grid intensity at step i and whether it is the live one.
func (p placementCarbon) gPerKWh(i int) (float64, bool) {
	if p.live != nil {
		if v := at(p.live.gPerKWh, i); v == v {
			return v, true
		}
	}
	return p.tableGPerKWh, false
}

// gPerJ is grams of CO2 per joule of GPU energy at step i, PUE included, and whether the intensity is live.
func (p placementCarbon) gPerJ(i int) (float64, bool) {
	g, live := p.gPerKWh(i)
	return g * p.pue / joulesPerKWh, live
}

// dirtyKnown reports whether the placement's site tells dirty steps from others.
func (p placementCarbon) dirtyKnown() bool {
	return p.live != nil && !math.IsNaN(p.live.dirtyFromGPerKWh)
}

// dirty reports whether step i is among the dirtiest quarter of the window's steps at the placement's site.
func (p placementCarbon) dirty(i int) bool {
	g, _ := p.gPerKWh(i)
	return p.dirtyKnown() && g >= p.live.dirtyFromGPerKWh
}

// co2GPerH is the CO2 rate of placement p drawing w at step i: w x its gCO2/J at the step x 3600.
func (s *modelSteps) co2GPerH(p, i int, w, _, _ float64) float64 {
	g, _ := s.carbon[p].gPerJ(i)
	return w * g * 3600
}

// LiveIntensityShare is the share of the models' placement steps with power whose grid intensity is live
// (c after WithLive); NaN without such steps.
func LiveIntensityShare(ms []*Model, g Grid, c Carbon) float64 {
	live, steps := 0, 0
	for _, m := range ms {
		for _, p := range m.Placements {
			pc := c.placement(p.Host)
			for i, w := range fitLen(p.PowerW, g.N) {
				if w != w {
					continue
				}
				steps++
				if _, ok := pc.gPerKWh(i); ok {
					live++
				}
			}
		}
	}
	if steps == 0 {
		return math.NaN()
	}
	return float64(live) / float64(steps)
}
