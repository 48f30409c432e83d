package sim

import (
	"slices"
	"time"
)

// Unallocated stands for "no model" where the placement functions take a model name: the GPUs no pod holds.
const Unallocated = ""

// Placement is where some of a model's GPUs are: one host, one GPU type.
type Placement struct {
	Host    string
	GPUType string
}

// Models lists the served model names in spec order.
func (s *Sim) Models() []string {
	out := make([]string, len(s.models))
	for i, m := range s.models {
		out[i] = m.spec.Name
	}
	return out
}

// Namespace is the namespace of the model's pods; "" for an unknown model.
func (s *Sim) Namespace(model string) string {
	if mi := s.modelIndex(model); mi >= 0 {
		return s.models[mi].spec.Namespace
	}
	return ""
}

// holds reports whether holding h belongs to model (Unallocated: to no pod).
func (s *Sim) holds(h holding, model string) bool {
	if h.pod < 0 {
		return model == Unallocated
	}
	return s.models[s.pods[h.pod].model].spec.Name == model
}

// Placements lists every placement the model's GPUs had at any time since the epoch, in GPU order.
func (s *Sim) Placements(model string) []Placement {
	var out []Placement
	for gi := range s.gpus {
		g := &s.gpus[gi]
		p := Placement{Host: g.host, GPUType: g.typ.Name}
		if slices.Contains(out, p) {
			continue
		}
		if slices.ContainsFunc(g.timeline, func(h holding) bool { return s.holds(h, model) }) {
			out = append(out, p)
		}
	}
	return out
}

// PlacementGPUs is how many GPUs at p the model holds over the tick containing t.
func (s *Sim) PlacementGPUs(model string, p Placement, t time.Time) int {
	k := s.tickOf(t.UnixMilli())
	n := 0
	for gi := range s.gpus {
		g := &s.gpus[gi]
		if g.host != p.Host || g.typ.Name != p.GPUType || k < s.e0 {
			continue
		}
		for _, h := range g.timeline {
			if k >= h.k0 && k < h.k1 && s.holds(h, model) {
				n++
			}
		}
	}
	return n
}

// PlacementEnergyJ is the energy over (from, to] of the GPUs at p while the model held them.
func (s *Sim) PlacementEnergyJ(model string, p Placement, from, to time.Time) float64 {
	a, b := from.UnixMilli(), to.UnixMilli()
	var uJ int64
	for gi := range s.gpus {
		g := &s.gpus[gi]
		if g.host != p.Host || g.typ.Name != p.GPUType {
			continue
		}
		for _, h := range g.timeline {
			if !s.holds(h, model) {
				continue
			}
			lo := max(a, h.k0*s.tickMS)
			hi := b
			if h.k1 < forever {
				hi = min(b, h.k1*s.tickMS)
			}
			if lo < hi {
				uJ += s.cumulative(qGPUPower, gi, hi) - s.cumulative(qGPUPower, gi, lo)
			}
		}
	}
	return float64(uJ) / 1e6
}

// Serving reports whether a pod of the model served at any tick in (from, to].
func (s *Sim) Serving(model string, from, to time.Time) bool {
	mi := s.modelIndex(model)
	if mi < 0 {
		return false
	}
	// Ticks (kτ, (k+1)τ] that overlap (from, to].
	k0, k1 := floorDiv(from.UnixMilli(), s.tickMS), s.tickOf(to.UnixMilli())
	for _, pi := range s.models[mi].pods {
		if p := &s.pods[pi]; p.k0 <= k1 && k0 < p.k1 {
			return true
		}
	}
	return false
}

// InGap reports whether scrapes at t are missing.
func (s *Sim) InGap(t time.Time) bool { return s.inGap(t.UnixMilli()) }
