package fleet

import (
	"math"
	"slices"
)

// IdleSource says where an idle floor came from.
type IdleSource string

const (
	// IdleMeasured is a low percentile of parked per-GPU power measured in this fleet over the window.
	IdleMeasured IdleSource = "measured"
	// IdleCatalog is the GPU catalog's parked power (or UnknownGPUIdleFloorW for a GPU the catalog lacks).
	IdleCatalog IdleSource = "catalog"
	// IdleSetting is an override from the data source settings.
	IdleSetting IdleSource = "setting"
)

// UnknownGPUIdleFloorW is the idle floor of a GPU type neither measured, configured nor in the catalog: the
// middle of the catalog's parked powers (55-125 W).
const UnknownGPUIdleFloorW = 90

// IdleFloor is the power one GPU of a type draws with a model loaded and no requests.
type IdleFloor struct {
	GPUType string
	W       float64
	Source  IdleSource
	// ParkedSteps is how many parked per-GPU power samples (placement-steps) the fleet offered for this type;
	// counted even when a setting wins, so a user can compare.
	ParkedSteps int
	// Known is false when the GPU type is in no catalog and W is UnknownGPUIdleFloorW.
	Known bool
}

// IdleFloors are the idle floors per GPU type (keys are the GPU types as the fleet names them).
type IdleFloors map[string]IdleFloor

// For is the idle floor of a GPU type: the fleet's entry (also found when spelled differently, e.g. without
// "NVIDIA"), else the built-in catalog's parked power, else UnknownGPUIdleFloorW.
func (fl IdleFloors) For(gpuType string) IdleFloor {
	if f, ok := fl[gpuType]; ok {
		return f
	}
	key := normalizeGPUName(gpuType)
	for t, f := range fl {
		if normalizeGPUName(t) == key {
			return f
		}
	}
	return catalogFloor(gpuType, DefaultGPUs)
}

func catalogFloor(gpuType string, gpus GPUCatalog) IdleFloor {
	if spec, ok := gpus.Lookup(gpuType); ok && spec.ParkedW > 0 {
		return IdleFloor{GPUType: gpuType, W: spec.ParkedW, Source: IdleCatalog, Known: true}
	}
	return IdleFloor{GPUType: gpuType, W: UnknownGPUIdleFloorW, Source: IdleCatalog}
}

// MeasureIdleFloors finds the idle floor of every GPU type in the fleet. A step is parked when it belongs to a
// run of at least o.ParkedMinSteps consecutive idle steps of a model (weights loaded, no traffic); the floor is
// the o.IdleFloorPercentile quantile of per-GPU power (placement power / GPUs) over all parked steps of all
// models with GPUs of that type. Unallocated GPUs hold no model and are not parked, so they do not count. A
// settings override wins; a type with no parked step gets the catalog's parked power.
//
// The quantile is exact and computed in two passes over the parked steps (a histogram, then the values of the
// one or two bins holding the wanted ranks), so memory stays small however many steps are parked.
func MeasureIdleFloors(f *Fleet, o Options) IdleFloors {
	types := map[string]int{}
	var names []string
	for mi := range f.Models {
		for _, p := range f.Models[mi].Placements {
			if _, ok := types[p.GPUType]; !ok {
				types[p.GPUType] = len(names)
				names = append(names, p.GPUType)
			}
		}
	}
	hists := make([]parkedHistogram, len(names))
	forEachParkedSample(f, &o, types, func(t int, w float64) { hists[t].count(w) })
	for t := range hists {
		hists[t].target(o.IdleFloorPercentile)
	}
	forEachParkedSample(f, &o, types, func(t int, w float64) { hists[t].collect(w) })

	floors := make(IdleFloors, len(names))
	for t, name := range names {
		h := &hists[t]
		floor := catalogFloor(name, o.GPUs)
		if h.n > 0 {
			floor = IdleFloor{GPUType: name, W: h.quantile(), Source: IdleMeasured, Known: true}
		}
		floor.ParkedSteps = h.n
		if w, ok := overrideFor(o.IdleFloorOverridesW, name); ok {
			floor.W, floor.Source, floor.Known = w, IdleSetting, true
		}
		floors[name] = floor
	}
	return floors
}

func overrideFor(overrides map[string]float64, gpuType string) (float64, bool) {
	if w, ok := overrides[gpuType]; ok {
		return w, true
	}
	key := normalizeGPUName(gpuType)
	for t, w := range overrides {
		if normalizeGPUName(t) == key {
			return w, true
		}
	}
	return 0, false
}

// forEachParkedSample calls visit with the GPU type index and per-GPU power of every placement at every
// parked step of every allocated model.
func forEachParkedSample(f *Fleet, o *Options, types map[string]int, visit func(t int, w float64)) {
	minRun := max(o.ParkedMinSteps, 1)
	steps := modelSteps{o: o}
	typeOf := make([]int, 0, 8)
	for mi := range f.Models {
		m := &f.Models[mi]
		if m.Unallocated {
			continue
		}
		steps.m = m
		typeOf = typeOf[:0]
		for _, p := range m.Placements {
			typeOf = append(typeOf, types[p.GPUType])
		}
		emit := func(from, to int) {
			if to-from < minRun {
				return
			}
			for p := range m.Placements {
				pl := &m.Placements[p]
				for i := from; i < to; i++ {
					w, g := at(pl.PowerW, i), at(pl.GPUs, i)
					if g > 0 && !math.IsNaN(w) {
						visit(typeOf[p], w/g)
					}
				}
			}
		}
		run := 0
		for i := 0; i < f.Grid.N; i++ {
			r := steps.tokensPerS(i)
			if !math.IsNaN(r) && o.isIdle(r) {
				run++
				continue
			}
			emit(i-run, i)
			run = 0
		}
		emit(f.Grid.N-run, f.Grid.N)
	}
}

// parkedHistogram finds one exact quantile of a stream seen twice: the first pass counts values into fixed
// bins, the second keeps only the values of the bins that hold the two order statistics around the quantile.
type parkedHistogram struct {
	bins   []int
	n      int
	pos    float64 // fractional rank of the quantile
	lo, hi int     // bins holding ranks floor(pos) and floor(pos)+1
	before int     // values in bins below lo
	kept   []float64
}

const (
	histBinW = 0.5 // W per GPU
	histBins = 4096
)

func histBin(w float64) int {
	return min(max(int(w/histBinW), 0), histBins-1)
}

func (h *parkedHistogram) count(w float64) {
	if h.bins == nil {
		h.bins = make([]int, histBins)
	}
	h.bins[histBin(w)]++
	h.n++
}

func (h *parkedHistogram) target(q float64) {
	if h.n == 0 {
		return
	}
	q = math.Min(math.Max(q, 0), 1)
	h.pos = q * float64(h.n-1)
	rankLo := int(h.pos)
	rankHi := min(rankLo+1, h.n-1)
	h.lo, h.hi = -1, -1
	seen := 0
	for b, c := range h.bins {
		if h.lo < 0 && seen+c > rankLo {
			h.lo, h.before = b, seen
		}
		if seen+c > rankHi {
			h.hi = b
			break
		}
		seen += c
	}
}

func (h *parkedHistogram) collect(w float64) {
	if b := histBin(w); b >= h.lo && b <= h.hi {
		h.kept = append(h.kept, w)
	}
}

func (h *parkedHistogram) quantile() float64 {
	slices.Sort(h.kept)
	lo := int(h.pos) - h.before
	hi := min(lo+1, len(h.kept)-1)
	frac := h.pos - math.Floor(h.pos)
	return h.kept[lo] + (h.kept[hi]-h.kept[lo])*frac
}
