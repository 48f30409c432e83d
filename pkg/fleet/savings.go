package fleet

import (
	"fmt"
	"math"
)

// FreedGPUs says what a GPU freed by right-sizing or co-location draws afterwards: the baseline of the
// savings.
type FreedGPUs string

const (
	// FreedToPool: the GPU goes back to the pool, drawing the idle power of a GPU with no process on it.
	FreedToPool FreedGPUs = "pool"
	// FreedPoweredOff: the node is powered off (or the GPU given to work that would run anyway): the whole
	// parked power is saved.
	FreedPoweredOff FreedGPUs = "powered-off"
)

// IdleFromFit marks a freed GPU's draw taken from the model's own fit (see freedFloor).
const IdleFromFit IdleSource = "fit"

// PoolIdle is the power one GPU of a type draws with no process on it.
type PoolIdle struct {
	W float64
	// Source is "measured" (the fleet's unallocated GPUs) or "catalog" (the catalog's bare idle power).
	Source IdleSource
}

// PoolIdleW are the measured pool idle powers per GPU type.
type PoolIdleW map[string]float64

// MeasurePoolIdle is, per GPU type, the median per-GPU power of the fleet's unallocated GPUs over the steps
// they were there: what a GPU returned to the pool draws.
func MeasurePoolIdle(f *Fleet) PoolIdleW {
	vals := map[string][]float64{}
	for mi := range f.Models {
		m := &f.Models[mi]
		if !m.Unallocated {
			continue
		}
		for _, p := range m.Placements {
			for i, w := range p.PowerW {
				if g := at(p.GPUs, i); g > 0 && !math.IsNaN(w) {
					vals[p.GPUType] = append(vals[p.GPUType], w/g)
				}
			}
		}
	}
	out := PoolIdleW{}
	for t, v := range vals {
		out[t] = Quantile(v, 0.5)
	}
	return out
}

// For is the pool idle power of a GPU type: measured where the fleet has unallocated GPUs of the type, else
// the catalog's bare idle power; false when neither knows it.
func (p PoolIdleW) For(gpuType string, gpus GPUCatalog) (PoolIdle, bool) {
	if w, ok := p[gpuType]; ok {
		return PoolIdle{W: w, Source: IdleMeasured}, true
	}
	key := normalizeGPUName(gpuType)
	for t, w := range p {
		if normalizeGPUName(t) == key {
			return PoolIdle{W: w, Source: IdleMeasured}, true
		}
	}
	if spec, ok := gpus.Lookup(gpuType); ok && spec.BareIdleW > 0 {
		return PoolIdle{W: spec.BareIdleW, Source: IdleCatalog}, true
	}
	return PoolIdle{}, false
}

// freedSaving is what one freed GPU saves of its idle power under the baseline: its parked floor minus the
// pool's idle power, or the whole floor when powered off. ok is false when the pool's idle power of the type
// is unknown (then nothing is claimed for the idle part).
type freedSaving struct {
	perGPUW float64
	pool    PoolIdle
	ok      bool
	about   string
}

func freedSavingW(floor IdleFloor, gpuType string, so SizingOptions, gpus GPUCatalog) freedSaving {
	if so.FreedGPUs == FreedPoweredOff {
		return freedSaving{perGPUW: floor.W, ok: true,
			about: fmt.Sprintf("freed GPUs powered off: %.0f W each (%s idle floor)", floor.W, floor.Source)}
	}
	pool, ok := so.PoolIdle.For(gpuType, gpus)
	if !ok {
		return freedSaving{about: "freed GPUs return to the pool; their idle power there is unknown (no unallocated GPU of the type, not in the catalog): idle saving not claimed"}
	}
	w := math.Max(floor.W-pool.W, 0)
	return freedSaving{perGPUW: w, pool: pool, ok: true,
		about: fmt.Sprintf("freed GPUs return to the pool: %.0f W %s idle floor - %.0f W %s pool idle = %.0f W each",
			floor.W, floor.Source, pool.W, poolSourceWords(pool.Source), w)}
}

func poolSourceWords(s IdleSource) string {
	if s == IdleMeasured {
		return "measured"
	}
	return "catalog bare"
}
