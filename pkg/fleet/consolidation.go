package fleet

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Consolidation actions.
const (
	ActionSpinDown = "spin-down"
	ActionCoLocate = "co-locate"
)

// CoLocateMinIdleShare is the share of its steps with data a model must be idle to count as low-traffic, a
// candidate for sharing GPUs: co-located models mostly wait in turn rather than compete for compute.
const CoLocateMinIdleShare = 0.5

// ConsolidationAction is one change an operator can make, with what it saves.
type ConsolidationAction struct {
	Action  string
	Models  []string
	GPUType string
	GPUsNow int
	// GPUsAfter is 0 for a spin-down.
	GPUsAfter int
	// SavingW is all the models' power for a spin-down; GPUs freed x idle floor for a co-location.
	SavingW           float64
	SavingKWhPerDay   float64
	SavingKgCO2PerDay float64
	// SavingsPerMonth is the saving in money (Prices.SavingsPerMonth): energy and the freed GPUs' hours.
	SavingsPerMonth float64
	// Plan says which models share which GPUs after a co-location, node by node.
	Plan   string
	Reason string
}

// ModelIdleness is the idle-gap view of one model: how long it goes without a request, which tells whether
// spinning it down (and starting it on demand) is safe.
type ModelIdleness struct {
	Model   string
	GPUType string
	Traffic Traffic
	// SpinDown marks a spin-down candidate.
	SpinDown bool
}

// Consolidation is the set of actions over the selected models and their idle gaps.
type Consolidation struct {
	Actions []ConsolidationAction
	Idle    []ModelIdleness
	// Notes say which models were left out of the plans and why.
	Notes []string
}

// Consolidate finds spin-down candidates (idle for at least so.SpinDownIdleShare of their steps with data:
// their whole power is saved; models that no longer run at the end of the window are only listed) and, per GPU type, packs the other low-traffic models (idle at least
// CoLocateMinIdleShare) by memory need with first-fit decreasing, each model on the GPUs right-sizing
// recommends for it (its current GPUs when right-sizing has no verdict), all of a model's GPUs on one node.
// selected keeps the models the query asks for (nil keeps all); node sizes come from the whole fleet.
func Consolidate(f *Fleet, selected func(string) bool, floors IdleFloors, o Options, so SizingOptions) Consolidation {
	so = so.forFleet(f)
	var c Consolidation
	candidates := map[string][]colocated{}
	for i := range f.Models {
		m := &f.Models[i]
		if m.Unallocated || (selected != nil && !selected(m.Name)) {
			continue
		}
		t := MeasureTraffic(m, f.Grid, o)
		if t.GPUs == 0 {
			continue
		}
		if t.DataSteps == 0 {
			c.Notes = append(c.Notes, fmt.Sprintf("%s: its GPUs report power but it has no token data in the window; check the GPU-to-model join", m.Name))
			continue
		}
		idle := ModelIdleness{Model: m.Name, GPUType: m.GPUType(), Traffic: t, SpinDown: t.Current && t.IdleShare >= so.SpinDownIdleShare}
		c.Idle = append(c.Idle, idle)
		switch {
		case !t.Current:
			// Already gone: nothing to spin down or move.
		case idle.SpinDown:
			c.Actions = append(c.Actions, spinDown(m, f.Grid, idle, floors, o, so))
		case t.IdleShare >= CoLocateMinIdleShare:
			rs := RightSize(m, f.Grid, floors, o, so)
			item, ok := colocationItem(rs)
			if !ok {
				c.Notes = append(c.Notes, fmt.Sprintf("%s is left out of co-location: %s", m.Name, rs.Reason))
				continue
			}
			a := Attribute(m, f.Grid, floors, o)
			if !(rs.RecommendedCapacityTokensPerS > 0) {
				c.Notes = append(c.Notes, fmt.Sprintf("%s is left out of co-location: its capacity is unknown, so its share of shared GPUs cannot be checked", m.Name))
				continue
			}
			candidates[idle.GPUType] = append(candidates[idle.GPUType], colocated{item: item, rs: rs, energyJ: a.EnergyJ, co2G: a.CO2G, energyCost: a.Cost.Energy, rates: m.TokensPerS(o.Tokens)})
		}
	}

	nodes := nodeSizes(f)
	for _, gpuType := range sortedKeys(candidates) {
		spec, _ := o.GPUs.Lookup(gpuType)
		a, ok, note := coLocate(gpuType, candidates[gpuType], nodes[gpuType], spec, so.TrafficMargin, freedSavingW(floors.For(gpuType), gpuType, so, o.GPUs), o.Prices)
		if ok {
			c.Actions = append(c.Actions, a)
		} else if note != "" {
			c.Notes = append(c.Notes, note)
		}
	}
	slices.SortStableFunc(c.Actions, func(a, b ConsolidationAction) int { return cmp.Compare(b.SavingW, a.SavingW) })
	slices.SortFunc(c.Idle, func(a, b ModelIdleness) int { return cmp.Compare(a.Model, b.Model) })
	return c
}

// spinDown saves the model's power less what its GPUs draw afterwards under the savings baseline (the pool's
// idle power, nothing when powered off, their idle floor when the pool's is unknown).
func spinDown(m *Model, g Grid, idle ModelIdleness, floors IdleFloors, o Options, so SizingOptions) ConsolidationAction {
	a := Attribute(m, g, floors, o)
	t := idle.Traffic
	floor := floors.ForModel(m.Name, idle.GPUType)
	fs := freedSavingW(floor, idle.GPUType, so, o.GPUs)
	afterW := float64(t.GPUs) * (floor.W - fs.perGPUW)
	saving := math.Max(a.PowerW-afterW, 0)
	gaps := "never served a request"
	if t.BusyRuns > 0 {
		gaps = fmt.Sprintf("typically %s between requests, longest idle run %s, %.1f wake-ups a day",
			formatDuration(t.TypicalIdleGap), formatDuration(t.LongestIdleGap), t.WakeupsPerDay())
	}
	now := ""
	if t.Current && t.IdleFor > 0 {
		now = fmt.Sprintf("; idle for the last %s", formatDuration(t.IdleFor))
	}
	return ConsolidationAction{
		Action: ActionSpinDown, Models: []string{m.Name}, GPUType: idle.GPUType,
		GPUsNow: t.GPUs, GPUsAfter: 0,
		SavingW:           saving,
		SavingKWhPerDay:   saving * 24 / 1000,
		SavingKgCO2PerDay: saving * 86400 * gramsPerJoule(m, a, o) / 1000,
		SavingsPerMonth:   o.Prices.SavingsPerMonth(saving, a.Cost.Energy, a.EnergyJ, t.GPUs, idle.GPUType),
		Reason: fmt.Sprintf("idle %.1f%% of %s with data (%s)%s; %dx %s draw ~%.0f W, ~%.0f W after a spin-down (%s)",
			100*t.IdleShare, formatDuration(t.History), gaps, now, t.GPUs, ShortGPUName(idle.GPUType), a.PowerW, afterW, fs.about),
	}
}

// colocated is a co-location candidate.
type colocated struct {
	item       PackItem
	rs         RightSizing
	energyJ    float64
	co2G       float64
	energyCost float64
	// rates is the model's counted tokens/s per step.
	rates Series
}

// colocationItem is what a model puts into the packing: its memory need over the GPUs right-sizing
// recommends, or over its current GPUs when right-sizing has no verdict. Models of unknown size, or that need
// more memory than they hold, cannot be packed.
func colocationItem(rs RightSizing) (PackItem, bool) {
	if math.IsNaN(rs.MemoryNeedGB) || rs.MinGPUsByMemory == 0 || rs.MinGPUsByMemory > rs.GPUs {
		return PackItem{}, false
	}
	tp := rs.GPUs
	if rs.Verdict && rs.RecommendedGPUs > 0 {
		tp = rs.RecommendedGPUs
	}
	// Co-located, each model is its own server: a CUDA context and activations on each of its GPUs.
	return PackItem{Name: rs.Model, NeedGB: rs.MemoryNeedGB + float64(tp)*ServerOverheadGBPerGPU, TP: tp}, true
}

// coLocate packs the candidates of one GPU type by memory and keeps the packing only if, on every shared GPU,
// the models' traffic summed per step leaves the margin at its 95th percentile: peaks that coincide are not
// waiting in turn. note says why a packing that saves GPUs was turned down.
func coLocate(gpuType string, cands []colocated, nodeGPUs int, spec GPUSpec, margin float64, fs freedSaving, prices Prices) (ConsolidationAction, bool, string) {
	if len(cands) < 2 {
		return ConsolidationAction{}, false, ""
	}
	items := make([]PackItem, len(cands))
	a := ConsolidationAction{Action: ActionCoLocate, GPUType: gpuType}
	var energyJ, co2G, energyCost float64
	minIdle, maxIdle := 1.0, 0.0
	for i, cd := range cands {
		items[i] = cd.item
		nodeGPUs = max(nodeGPUs, cd.item.TP)
		a.Models = append(a.Models, cd.item.Name)
		a.GPUsNow += cd.rs.GPUs
		energyJ += cd.energyJ
		co2G += cd.co2G
		energyCost += cd.energyCost
		minIdle, maxIdle = math.Min(minIdle, cd.rs.Traffic.IdleShare), math.Max(maxIdle, cd.rs.Traffic.IdleShare)
	}
	p, err := PackFirstFitDecreasing(items, cands[0].rs.UsableGBPerGPU, nodeGPUs)
	if err != nil || p.GPUs >= a.GPUsNow {
		return ConsolidationAction{}, false, ""
	}
	load, busiest := sharedLoad(p, cands)
	if load > 1-margin {
		return ConsolidationAction{}, false, fmt.Sprintf("co-locating %s on %dx %s would not work: at the 95th percentile of their summed traffic %s would need %.0f%% of their shared GPUs' capacity (at most %.0f%% with the %.0f%% margin)",
			strings.Join(a.Models, ", "), p.GPUs, ShortGPUName(gpuType), strings.Join(busiest, " + "), 100*load, 100*(1-margin), 100*margin)
	}
	slices.Sort(a.Models)
	a.GPUsAfter = p.GPUs
	a.SavingW = float64(a.GPUsNow-a.GPUsAfter) * fs.perGPUW
	a.SavingKWhPerDay = a.SavingW * 24 / 1000
	if energyJ > 0 {
		a.SavingKgCO2PerDay = a.SavingW * 86400 * co2G / energyJ / 1000
	}
	a.SavingsPerMonth = prices.SavingsPerMonth(a.SavingW, energyCost, energyJ, a.GPUsNow-a.GPUsAfter, gpuType)
	a.Plan = packingPlan(p) + "; " + sharing(cands, spec)
	name := ShortGPUName(gpuType)
	a.Reason = fmt.Sprintf("%d low-traffic models (idle %.0f-%.0f%% of the time) on %dx %s fit %dx by memory "+
		"(first-fit decreasing, a model's GPUs on one node of %d): frees %s, saves ~%.0f W (%s)",
		len(cands), 100*minIdle, 100*maxIdle, a.GPUsNow, name, a.GPUsAfter, nodeGPUs,
		plural(a.GPUsNow-a.GPUsAfter, "GPU"), a.SavingW, fs.about)
	a.Reason += fmt.Sprintf("; their summed traffic takes at most %.0f%% of a shared GPU's capacity at its 95th percentile", 100*load)
	return a, true, ""
}

// sharedLoad is the busiest shared GPU's load: per step, the share of its time the models on it take (each at
// rate r takes r / its capacity on its GPUs), summed, and its 95th percentile over the steps; with the models
// on that GPU.
func sharedLoad(p Packing, cands []colocated) (float64, []string) {
	byName := map[string]*colocated{}
	for i := range cands {
		byName[cands[i].item.Name] = &cands[i]
	}
	worst, busiest := 0.0, []string(nil)
	for _, node := range p.Nodes {
		for _, gpu := range node {
			if len(gpu.Items) < 2 {
				continue
			}
			var load Series
			for _, name := range gpu.Items {
				cd := byName[name]
				if load == nil {
					load = make(Series, len(cd.rates))
				}
				for i := range load {
					if r := at(cd.rates, i); r > 0 {
						load[i] += r / cd.rs.RecommendedCapacityTokensPerS
					}
				}
			}
			if q := Quantile(load, 0.95); q > worst || busiest == nil {
				worst, busiest = q, gpu.Items
			}
		}
	}
	return worst, busiest
}

// sharing says how the co-located models would share their GPUs: one vLLM server each, with
// gpu_memory_utilization split by need (its share of the memory plus its server's overhead); sleep mode for the
// idle ones; MIG slices where the GPU type has them.
func sharing(cands []colocated, spec GPUSpec) string {
	parts := make([]string, len(cands))
	for i, cd := range cands {
		share := cd.item.shareGB() / spec.MemoryGB
		parts[i] = fmt.Sprintf("%s %.2f", cd.item.Name, math.Ceil(share*100)/100)
	}
	slices.Sort(parts)
	out := "one vLLM server per model on the shared GPUs, gpu_memory_utilization " + strings.Join(parts, ", ") +
		" (each includes its server's CUDA context and activations, ~2 GB a GPU); vLLM's sleep mode frees an idle server's memory between requests"
	if spec.MIG {
		out += "; or MIG instances of the GPU sized to these shares"
	}
	return out
}

// packingPlan is a packing in words: "node 1: a + b | c | c; node 2: d".
func packingPlan(p Packing) string {
	nodes := make([]string, len(p.Nodes))
	for n, gpus := range p.Nodes {
		shares := make([]string, len(gpus))
		for g, gpu := range gpus {
			shares[g] = strings.Join(gpu.Items, " + ")
		}
		nodes[n] = fmt.Sprintf("node %d: %s", n+1, strings.Join(shares, " | "))
	}
	return strings.Join(nodes, "; ")
}

// nodeSizes is, per GPU type, the most GPUs of that type seen on one host at one step (all models and
// unallocated GPUs together): the node size packings may assume.
func nodeSizes(f *Fleet) map[string]int {
	type hostType struct{ host, gpuType string }
	sums := map[hostType]Series{}
	for mi := range f.Models {
		for _, p := range f.Models[mi].Placements {
			k := hostType{p.Host, p.GPUType}
			s, ok := sums[k]
			if !ok {
				s = make(Series, f.Grid.N)
				sums[k] = s
			}
			for i := range s {
				if n := at(p.GPUs, i); !math.IsNaN(n) {
					s[i] += n
				}
			}
		}
	}
	out := map[string]int{}
	for k, s := range sums {
		for _, n := range s {
			out[k.gpuType] = max(out[k.gpuType], int(math.Round(n)))
		}
	}
	return out
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
