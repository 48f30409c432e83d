package fleet

import (
	"math"
	"strings"
	"time"
)

// IdleSource says where an idle floor came from.
type IdleSource string

const (
	// IdleModel is a low percentile of the model's own parked per-GPU power: a model that parked long enough
	// has its own floor (a tensor-parallel mixture-of-experts model parks higher than a small dense one).
	IdleModel IdleSource = "model"
	// IdleMeasured is a low percentile of parked per-GPU power measured in this fleet over the window, pooled
	// over the models of the GPU type.
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
	// SpreadW is the interquartile range of the parked per-GPU power (to the histogram's 0.5 W bins, never less
	// than one bin): how closely a measured floor is known. 0 when not measured.
	SpreadW float64
}

// IdleFloors are the idle floors per GPU type (keys are the GPU types as the fleet names them), and the floors
// of the models that parked long enough (keys from ownFloorKey, read through ForModel).
type IdleFloors map[string]IdleFloor

// OwnFloorMinParked is how long a model must have sat parked for a floor of its own: an hour gives a low
// percentile from dozens of steps at the coarsest panel steps.
const OwnFloorMinParked = time.Hour

// ownFloorKey keys a model's own floor; no GPU type name starts with a NUL.
func ownFloorKey(model, gpuType string) string { return "\x00" + model + "\x00" + gpuType }

// ForModel is the idle floor of the model's GPUs of a type: its own where it parked long enough, else For.
func (fl IdleFloors) ForModel(model, gpuType string) IdleFloor {
	if f, ok := fl[ownFloorKey(model, gpuType)]; ok {
		return f
	}
	return fl.For(gpuType)
}

// For is the idle floor of a GPU type: the fleet's entry (also found when spelled differently, e.g. without
// "NVIDIA"), else the built-in catalog's parked power, else UnknownGPUIdleFloorW.
func (fl IdleFloors) For(gpuType string) IdleFloor {
	if f, ok := fl[gpuType]; ok {
		return f
	}
	key := normalizeGPUName(gpuType)
	for t, f := range fl {
		if !strings.HasPrefix(t, "\x00") && normalizeGPUName(t) == key {
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
	runs := parkedRuns(f, &o)
	hists := make([]parkedHistogram, len(names))
	own := map[ownFloor]*parkedHistogram{}
	parkedSteps := map[int]int{}
	for _, r := range runs {
		parkedSteps[r.model] += r.to - r.from
	}
	minSteps := max(int(OwnFloorMinParked/max(f.Grid.Step, time.Second)), 2*o.ParkedMinSteps)
	ownOf := func(model, t int) *parkedHistogram {
		if parkedSteps[model] < minSteps {
			return nil
		}
		k := ownFloor{model, t}
		if own[k] == nil {
			own[k] = &parkedHistogram{}
		}
		return own[k]
	}
	eachParkedSample(f, runs, types, func(model, t int, w float64) {
		hists[t].count(w)
		if h := ownOf(model, t); h != nil {
			h.count(w)
		}
	})
	for t := range hists {
		hists[t].target(o.IdleFloorPercentile)
	}
	for _, h := range own {
		h.target(o.IdleFloorPercentile)
	}
	eachParkedSample(f, runs, types, func(model, t int, w float64) {
		hists[t].collect(w)
		if h := ownOf(model, t); h != nil {
			h.collect(w)
		}
	})

	floors := make(IdleFloors, len(names))
	for t, name := range names {
		h := &hists[t]
		floor := catalogFloor(name, o.GPUs)
		if h.n > 0 {
			floor = IdleFloor{GPUType: name, W: h.quantile(), Source: IdleMeasured, Known: true, SpreadW: h.spreadW()}
		}
		floor.ParkedSteps = h.n
		if w, ok := overrideFor(o.IdleFloorOverridesW, name); ok {
			floor.W, floor.Source, floor.Known = w, IdleSetting, true
		}
		floors[name] = floor
	}
	for k, h := range own {
		name := names[k.gpuType]
		if floors[name].Source == IdleSetting {
			continue
		}
		floors[ownFloorKey(f.Models[k.model].Name, name)] = IdleFloor{
			GPUType: name, W: h.quantile(), Source: IdleModel, Known: true, ParkedSteps: h.n, SpreadW: h.spreadW(),
		}
	}
	return floors
}

// ownFloor is one model's parked samples of one GPU type.
type ownFloor struct{ model, gpuType int }

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

// parkedRun is a run of parked steps [from, to) of model f.Models[model].
type parkedRun struct{ model, from, to int }

// parkedRuns finds the runs of at least o.ParkedMinSteps consecutive idle steps of every allocated model.
func parkedRuns(f *Fleet, o *Options) []parkedRun {
	minRun := max(o.ParkedMinSteps, 1)
	buf := stepBufferPool.Get().(*stepBuffers)
	defer buf.release()
	var runs []parkedRun
	for mi := range f.Models {
		m := &f.Models[mi]
		if m.Unallocated {
			continue
		}
		s := modelSteps{m: m, o: o}
		run := 0
		for i, r := range s.loadTokens(f.Grid.N, buf) {
			if s.idle(r) {
				run++
				continue
			}
			if run >= minRun {
				runs = append(runs, parkedRun{mi, i - run, i})
			}
			run = 0
		}
		if run >= minRun {
			runs = append(runs, parkedRun{mi, f.Grid.N - run, f.Grid.N})
		}
	}
	return runs
}

// eachParkedSample calls visit with the model index, the GPU type index and per-GPU power of every placement at
// every parked step.
func eachParkedSample(f *Fleet, runs []parkedRun, types map[string]int, visit func(model, t int, w float64)) {
	for _, run := range runs {
		for _, pl := range f.Models[run.model].Placements {
			t := types[pl.GPUType]
			power, gpus := fitLen(pl.PowerW, f.Grid.N), fitLen(pl.GPUs, f.Grid.N)
			for i := run.from; i < run.to; i++ {
				if w, g := power[i], gpus[i]; g > 0 && w == w {
					visit(run.model, t, w/g)
				}
			}
		}
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

// spreadW is the interquartile range of the counted values to the bins' resolution: the distance between the
// bins holding the 25th and the 75th percentile, plus one bin.
func (h *parkedHistogram) spreadW() float64 {
	bin := func(q float64) int {
		rank, seen := int(q*float64(h.n-1)), 0
		for b, c := range h.bins {
			if seen += c; seen > rank {
				return b
			}
		}
		return histBins - 1
	}
	return float64(bin(0.75)-bin(0.25)+1) * histBinW
}

func (h *parkedHistogram) collect(w float64) {
	if b := histBin(w); b >= h.lo && b <= h.hi {
		h.kept = append(h.kept, w)
	}
}

func (h *parkedHistogram) quantile() float64 {
	// The kept values hold ranks before..before+len(kept)-1 of the whole stream.
	q := (h.pos - float64(h.before)) / float64(max(len(h.kept)-1, 1))
	if len(h.kept) == 1 {
		q = 0
	}
	return quantileInPlace(h.kept, q)
}
