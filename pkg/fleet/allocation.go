package fleet

import "math"

// Allocation is what a model held for most of the window: whole GPUs, never the fraction a restart or a
// deployment mid-window would make of a mean.
type Allocation struct {
	GPUType string
	// GPUs is Replicas x GPUsPerReplica when the replicas are alike.
	GPUs int
	// Replicas are the model's serving pods, each with its own GPU set; 1 where the source cannot tell pods.
	Replicas int
	// GPUsPerReplica is the tensor-parallel size of a replica; 0 when the replicas hold different numbers of GPUs.
	GPUsPerReplica int
}

// Allocation is the (GPUs, replicas) pair the model held at the most steps with power data. Ties go to the
// larger allocation: what the model needs at its busiest is at least what it held then.
func (m *Model) Allocation() Allocation {
	a := Allocation{GPUType: m.GPUType()}
	if len(m.Placements) == 0 {
		return a
	}
	power, gpus := m.PowerW(), m.GPUs()
	type held struct{ gpus, replicas int }
	steps := map[held]int{}
	var best held
	for i := range gpus {
		n := at(gpus, i)
		if math.IsNaN(at(power, i)) || math.IsNaN(n) || n < 0.5 {
			continue
		}
		h := held{gpus: int(math.Round(n)), replicas: 1}
		if r := at(m.Replicas, i); r >= 1 {
			h.replicas = int(math.Round(r))
		}
		steps[h]++
		if c, b := steps[h], steps[best]; c > b || (c == b && h.gpus > best.gpus) {
			best = h
		}
	}
	if best.gpus == 0 {
		return a
	}
	a.GPUs, a.Replicas = best.gpus, min(best.replicas, best.gpus)
	if a.GPUs%a.Replicas == 0 {
		a.GPUsPerReplica = a.GPUs / a.Replicas
	}
	return a
}
