package fleet

import "math"

// Allocation is the GPUs a model held for most of the window: an integer, never a fraction.
type Allocation struct {
	GPUType        string
	GPUs           int // GPUs held most of the window (Replicas x GPUsPerReplica)
	Replicas       int // pods serving the model, each with its own GPU set
	GPUsPerReplica int // the tensor-parallel size of each replica
}

// Allocation is the GPU count the model held at most steps, as one replica (a stub of the read path's
// replica-aware allocation).
func (m *Model) Allocation() Allocation {
	counts := map[int]int{}
	best := 0
	for _, v := range m.GPUs() {
		if math.IsNaN(v) || v <= 0 {
			continue
		}
		n := int(math.Round(v))
		counts[n]++
		if counts[n] > counts[best] || (counts[n] == counts[best] && n > best) {
			best = n
		}
	}
	if best == 0 {
		return Allocation{GPUType: m.GPUType()}
	}
	return Allocation{GPUType: m.GPUType(), GPUs: best, Replicas: 1, GPUsPerReplica: best}
}
