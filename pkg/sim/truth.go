package sim

import (
	"encoding/json"
	"math"
	"slices"
	"time"
)

// IdleTokensPerS is the rate below which the truth counts a step as idle (the plugin's default threshold).
const IdleTokensPerS = 0.1

// IdleShareForIdle is the share of idle steps from which the truth calls a model idle (the plugin's default).
const IdleShareForIdle = 0.95

// TokenKind says which tokens the truth counts: prompt + generation, or generation only. Its values are the
// plugin's query option values, but the simulator keeps its own type so the truth imports no code under test.
type TokenKind string

const (
	TokensTotal      TokenKind = "total"
	TokensGeneration TokenKind = "generation"
)

// BelowCapFraction is the share of the power limit under which a busy step counts in BelowCapShare (the
// plugin's default for the steps an efficiency fit uses).
const BelowCapFraction = 0.95

// LookbackPad is how long after a restart or gap a backfilled Prometheus still answers with the old series
// (its 5-minute lookback: backfilled series end without staleness markers). Defined treats it as undefined.
const LookbackPad = 5 * time.Minute

// ModelTruth is what is true of one model over a window.
type ModelTruth struct {
	Model     string `json:"model"`
	Namespace string `json:"namespace"`
	// GPUType, ParkedWPerGPU and PowerCapWPerGPU are the first replica's (see ByGPUType for a model on several
	// types); GPUs is the spec's GPUs of all replicas.
	GPUType string `json:"gpu_type"`
	GPUs    int    `json:"gpus"`
	// Replicas is how many pods serve the model at once; GPUsPerReplica their tensor-parallel size, 0 when the
	// replicas differ (then see ByGPUType).
	Replicas       int `json:"replicas"`
	GPUsPerReplica int `json:"gpus_per_replica"`
	// HeldGPUs is the GPU count the model's pods held for the longest part of the window (fewer during a restart).
	HeldGPUs int `json:"held_gpus"`
	// ByGPUType splits the model by the GPU type of its replicas, in order of first replica.
	ByGPUType []TypeTruth `json:"by_gpu_type"`
	// Physics from the spec.
	ParkedWPerGPU     float64 `json:"parked_w_per_gpu"`
	PowerCapWPerGPU   float64 `json:"power_cap_w_per_gpu"`
	MarginalJPerToken float64 `json:"marginal_j_per_token"`
	ParamsB           float64 `json:"params_b"`
	BytesPerParam     float64 `json:"bytes_per_param"`
	MemoryNeedGB      float64 `json:"memory_need_gb"`
	// Realized over the window.
	EnergyJ          float64 `json:"energy_j"`
	PromptTokens     float64 `json:"prompt_tokens"`
	GenerationTokens float64 `json:"generation_tokens"`
	// JPerToken is energy over prompt + generation tokens; NaN (null in JSON) when no tokens.
	JPerToken           float64 `json:"j_per_token"`
	GenerationJPerToken float64 `json:"generation_j_per_token"`
	MeanPowerW          float64 `json:"mean_power_w"`
	MeanTokensPerS      float64 `json:"mean_tokens_per_s"`
	// IdleShare is the share of steps under IdleTokensPerS; Idle when it reaches IdleShareForIdle.
	IdleShare float64 `json:"idle_share"`
	Idle      bool    `json:"idle"`

	// SaturationTokensPerS is the most the model's GPUs serve within their power limit, all replicas serving.
	SaturationTokensPerS float64 `json:"saturation_tokens_per_s"`
	// ParkedEnergyJ is what the model's GPUs would have drawn parked while it held them; ProductiveEnergyJ
	// the rest of EnergyJ, and RealizedMarginalJPerToken that over the tokens (NaN when no tokens): the
	// marginal J/token as the window realized it, equal to MarginalJPerToken up to the zero-mean power noise.
	ParkedEnergyJ             float64 `json:"parked_energy_j"`
	ProductiveEnergyJ         float64 `json:"productive_energy_j"`
	RealizedMarginalJPerToken float64 `json:"realized_marginal_j_per_token"`
	// EnergyJByHost is EnergyJ per node, for CO2 at each node's site.
	EnergyJByHost map[string]float64 `json:"energy_j_by_host"`
	// BusySteps are the steps at or above IdleTokensPerS. ThrottledShare is the share of them in which the
	// GPUs hit their power limit (served less than demanded) for at least one tick; BelowCapShare the share
	// whose mean power is under BelowCapFraction of the limit: the steps an efficiency fit uses.
	BusySteps      int     `json:"busy_steps"`
	ThrottledShare float64 `json:"throttled_share"`
	BelowCapShare  float64 `json:"below_cap_share"`
	// Serving is the serving model's account on the model's own GPUs; JPerRequest is EnergyJ over its
	// requests (NaN when none).
	Serving     ServingTruth `json:"serving"`
	JPerRequest float64      `json:"j_per_request"`
}

// TypeTruth is what is true of a model's replicas on one GPU type over a window.
type TypeTruth struct {
	GPUType string `json:"gpu_type"`
	// Replicas on this type, their GPUs each (0 when they differ) and in all.
	Replicas       int     `json:"replicas"`
	GPUsPerReplica int     `json:"gpus_per_replica"`
	GPUs           int     `json:"gpus"`
	ParkedWPerGPU  float64 `json:"parked_w_per_gpu"`
	EnergyJ        float64 `json:"energy_j"`
	MeanPowerW     float64 `json:"mean_power_w"`
	// Tokens are what these replicas served (prompt + generation).
	Tokens float64 `json:"tokens"`
	// SaturationTokensPerS is the most these replicas serve within their power limit.
	SaturationTokensPerS float64 `json:"saturation_tokens_per_s"`
}

// UnallocatedTruth is the GPUs no pod holds.
type UnallocatedTruth struct {
	// GPUs by type at the end of the window.
	GPUs          map[string]int     `json:"gpus"`
	EnergyJ       float64            `json:"energy_j"`
	MeanPowerW    float64            `json:"mean_power_w"`
	EnergyJByHost map[string]float64 `json:"energy_j_by_host"`
}

// Interval is a stretch of time where the truth is not what Prometheus can show.
type Interval struct {
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Reason string    `json:"reason"`
}

// Truth is the ground truth over the window (Start, End].
type Truth struct {
	Start       time.Time        `json:"start"`
	End         time.Time        `json:"end"`
	Step        time.Duration    `json:"-"`
	StepS       float64          `json:"step_s"`
	Seed        int64            `json:"seed"`
	GPUTypes    []GPUType        `json:"gpu_types"`
	Models      []ModelTruth     `json:"models"`
	Unallocated UnallocatedTruth `json:"unallocated"`
	// Undefined are the restarts (no serving) and scrape gaps; see Defined.
	Undefined []Interval `json:"undefined"`
}

// Model is the truth of the named model; false when there is none.
func (t *Truth) Model(name string) (ModelTruth, bool) {
	i := slices.IndexFunc(t.Models, func(m ModelTruth) bool { return m.Model == name })
	if i < 0 {
		return ModelTruth{}, false
	}
	return t.Models[i], true
}

// GPUType is the named GPU type's physics (its ParkedW is the idle floor of models without ParkedExtraW); false
// when the fleet has none.
func (t *Truth) GPUType(name string) (GPUType, bool) {
	i := slices.IndexFunc(t.GPUTypes, func(g GPUType) bool { return g.Name == name })
	if i < 0 {
		return GPUType{}, false
	}
	return t.GPUTypes[i], true
}

// Truth is the ground truth over (start, end], with idle shares counted on steps of step.
func (s *Sim) Truth(start, end time.Time, step time.Duration) Truth {
	span := end.Sub(start).Seconds()
	tr := Truth{Start: start, End: end, Step: step, StepS: step.Seconds(), Seed: int64(s.seed), GPUTypes: s.spec.GPUTypes,
		Undefined: s.Undefined(), Unallocated: UnallocatedTruth{GPUs: map[string]int{}, EnergyJByHost: s.energyByHost(Unallocated, start, end)}}
	modelsJ := 0.0
	for mi := range s.models {
		m := &s.models[mi]
		ms := m.spec
		first := &s.replicas[m.replicas[0]]
		mt := ModelTruth{
			Model: ms.Name, Namespace: ms.Namespace, GPUType: first.typ.Name, GPUs: ms.TotalGPUs(), Replicas: len(m.replicas),
			ParkedWPerGPU: first.parkedW, PowerCapWPerGPU: first.typ.PowerCapW, MarginalJPerToken: ms.MarginalJPerToken,
			ParamsB: ms.ParamsB, BytesPerParam: ms.BytesPerParam, MemoryNeedGB: ms.MemoryNeedGB(),
			EnergyJ:          s.between(qModelPower, mi, start, end),
			PromptTokens:     s.modelBetween(qPrompt, mi, start, end),
			GenerationTokens: s.modelBetween(qGeneration, mi, start, end),
			HeldGPUs:         s.heldGPUsMostly(mi, start, end),
			EnergyJByHost:    s.energyByHost(ms.Name, start, end),
		}
		mt.GPUsPerReplica = sameGPUs(s.replicas, m.replicas)
		for _, ri := range m.replicas {
			r := &s.replicas[ri]
			mt.SaturationTokensPerS += r.saturationTokensPerS
			mt.ParkedEnergyJ += r.parkedW * s.heldGPUSeconds(ri, start, end)
		}
		mt.ByGPUType = s.byGPUType(mi, start, end)
		tokens := mt.PromptTokens + mt.GenerationTokens
		mt.JPerToken, mt.GenerationJPerToken = ratio(mt.EnergyJ, tokens), ratio(mt.EnergyJ, mt.GenerationTokens)
		mt.MeanPowerW, mt.MeanTokensPerS = mt.EnergyJ/span, tokens/span
		mt.ProductiveEnergyJ = mt.EnergyJ - mt.ParkedEnergyJ
		mt.RealizedMarginalJPerToken = ratio(mt.ProductiveEnergyJ, tokens)
		s.countSteps(mi, start, end, step, &mt)
		mt.Serving = s.servingTruth(mi, 0, start, end)
		mt.JPerRequest = ratio(mt.EnergyJ, mt.Serving.Requests)
		modelsJ += mt.EnergyJ
		tr.Models = append(tr.Models, mt)
	}
	gpusJ := 0.0
	kEnd := s.tickOf(end.UnixMilli())
	for gi := range s.gpus {
		gpusJ += s.between(qGPUPower, gi, start, end)
		if s.gpus[gi].holderAt(kEnd) < 0 {
			tr.Unallocated.GPUs[s.gpus[gi].typ.Name]++
		}
	}
	tr.Unallocated.EnergyJ = gpusJ - modelsJ
	tr.Unallocated.MeanPowerW = tr.Unallocated.EnergyJ / span
	return tr
}

// byGPUType is the truth of the model's replicas per GPU type over (start, end].
func (s *Sim) byGPUType(mi int, start, end time.Time) []TypeTruth {
	var out []TypeTruth
	groups := map[string][]int{}
	for _, ri := range s.models[mi].replicas {
		r := &s.replicas[ri]
		if _, ok := groups[r.typ.Name]; !ok {
			out = append(out, TypeTruth{GPUType: r.typ.Name, ParkedWPerGPU: r.parkedW})
		}
		groups[r.typ.Name] = append(groups[r.typ.Name], ri)
	}
	name := s.models[mi].spec.Name
	for i := range out {
		tt := &out[i]
		reps := groups[tt.GPUType]
		tt.Replicas, tt.GPUsPerReplica = len(reps), sameGPUs(s.replicas, reps)
		for _, ri := range reps {
			tt.GPUs += s.replicas[ri].spec.GPUs
			tt.SaturationTokensPerS += s.replicas[ri].saturationTokensPerS
			tt.Tokens += s.between(qPrompt, ri, start, end) + s.between(qGeneration, ri, start, end)
		}
		for _, p := range s.Placements(name) {
			if p.GPUType == tt.GPUType {
				tt.EnergyJ += s.PlacementEnergyJ(name, p, start, end)
			}
		}
		tt.MeanPowerW = tt.EnergyJ / end.Sub(start).Seconds()
	}
	return out
}

// sameGPUs is the GPUs of each of the replicas when they all have as many, else 0.
func sameGPUs(replicas []replica, idx []int) int {
	n := replicas[idx[0]].spec.GPUs
	for _, ri := range idx {
		if replicas[ri].spec.GPUs != n {
			return 0
		}
	}
	return n
}

// heldGPUsMostly is the GPU count the model's pods held over the most ticks of (from, to]; the larger on a tie.
func (s *Sim) heldGPUsMostly(mi int, from, to time.Time) int {
	ticks := map[int]int{}
	for k := floorDiv(from.UnixMilli(), s.tickMS); k <= s.tickOf(to.UnixMilli()); k++ {
		n, _ := s.heldAt(mi, k)
		ticks[n]++
	}
	best := 0
	for n, c := range ticks {
		if c > ticks[best] || (c == ticks[best] && n > best) {
			best = n
		}
	}
	return best
}

// heldAt is how many GPUs the model's pods hold over tick k, and their summed power limit.
func (s *Sim) heldAt(mi int, k int64) (gpus int, limitW float64) {
	for _, pi := range s.models[mi].pods {
		if p := &s.pods[pi]; k >= p.k0 && k < p.k1 {
			gpus += len(p.gpus)
			limitW += float64(len(p.gpus)) * s.replicas[p.replica].typ.PowerCapW
		}
	}
	return gpus, limitW
}

// countSteps fills the step shares of mt: idle steps, busy steps, and among those the throttled ones and the
// ones under BelowCapFraction of the power limit of the GPUs held at the step's end.
func (s *Sim) countSteps(mi int, start, end time.Time, step time.Duration, mt *ModelTruth) {
	m := &s.models[mi]
	idle, steps, throttled, belowCap := 0, 0, 0, 0
	for t := start.Add(step); !t.After(end); t = t.Add(step) {
		steps++
		from := t.Add(-step)
		if s.tokens(mi, TokensTotal, from, t)/step.Seconds() < IdleTokensPerS {
			idle++
			continue
		}
		mt.BusySteps++
		if s.throttled(m, s.tickOf(from.UnixMilli()+1), s.tickOf(t.UnixMilli())) {
			throttled++
		}
		_, limitW := s.heldAt(mi, s.tickOf(t.UnixMilli()))
		if s.between(qModelPower, mi, from, t)/step.Seconds() < BelowCapFraction*limitW {
			belowCap++
		}
	}
	if steps > 0 {
		mt.IdleShare = float64(idle) / float64(steps)
	}
	mt.Idle = mt.IdleShare >= IdleShareForIdle
	if mt.BusySteps > 0 {
		mt.ThrottledShare = float64(throttled) / float64(mt.BusySteps)
		mt.BelowCapShare = float64(belowCap) / float64(mt.BusySteps)
	}
}

// throttled reports whether a replica of the model served less than demanded at some tick in [k0, k1].
func (s *Sim) throttled(m *model, k0, k1 int64) bool {
	for k := k0; k <= k1; k++ {
		for _, ri := range m.replicas {
			if s.demandTokensPerS(ri, k) > s.replicas[ri].saturationTokensPerS {
				return true
			}
		}
	}
	return false
}

// heldGPUSeconds is the GPU-seconds replica ri's pods held over (from, to].
func (s *Sim) heldGPUSeconds(ri int, from, to time.Time) float64 {
	a, b := from.UnixMilli(), to.UnixMilli()
	var ms int64
	for _, pi := range s.replicas[ri].pods {
		p := &s.pods[pi]
		lo, hi := max(a, p.k0*s.tickMS), b
		if p.k1 < forever {
			hi = min(b, p.k1*s.tickMS)
		}
		if lo < hi {
			ms += (hi - lo) * int64(len(p.gpus))
		}
	}
	return float64(ms) / 1000
}

// energyByHost is the energy over (from, to] of the GPUs the model (Unallocated: no pod) held, per node.
func (s *Sim) energyByHost(model string, from, to time.Time) map[string]float64 {
	out := map[string]float64{}
	for _, p := range s.Placements(model) {
		out[p.Host] += s.PlacementEnergyJ(model, p, from, to)
	}
	return out
}

// modelBetween is the integral of per-replica quantity q summed over model mi's replicas over (from, to].
func (s *Sim) modelBetween(q quantity, mi int, from, to time.Time) float64 {
	total := 0.0
	for _, ri := range s.models[mi].replicas {
		total += s.between(q, ri, from, to)
	}
	return total
}

// between is the integral of quantity q of series idx over (from, to], in units (J, tokens).
func (s *Sim) between(q quantity, idx int, from, to time.Time) float64 {
	return float64(s.cumulative(q, idx, to.UnixMilli())-s.cumulative(q, idx, from.UnixMilli())) / 1e6
}

// MarshalJSON writes the ratios that have no value (no tokens) as null.
func (m ModelTruth) MarshalJSON() ([]byte, error) {
	type plain ModelTruth
	return json.Marshal(struct {
		plain
		JPerToken                 *float64 `json:"j_per_token"`
		GenerationJPerToken       *float64 `json:"generation_j_per_token"`
		RealizedMarginalJPerToken *float64 `json:"realized_marginal_j_per_token"`
		SaturationTokensPerS      *float64 `json:"saturation_tokens_per_s"`
		JPerRequest               *float64 `json:"j_per_request"`
	}{plain(m), finite(m.JPerToken), finite(m.GenerationJPerToken), finite(m.RealizedMarginalJPerToken), finite(m.SaturationTokensPerS),
		finite(m.JPerRequest)})
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return math.NaN()
	}
	return a / b
}

func (s *Sim) modelIndex(name string) int {
	if mi, ok := s.byName[name]; ok {
		return mi
	}
	return -1
}

// ModelPowerW is the summed power of the model's GPUs over the tick containing t: what its power gauges
// sampled at t add up to. NaN for an unknown model.
func (s *Sim) ModelPowerW(name string, t time.Time) float64 {
	mi := s.modelIndex(name)
	if mi < 0 {
		return math.NaN()
	}
	return float64(s.value(qModelPower, mi, s.tickOf(t.UnixMilli()))) / 1000
}

// MeanPowerW is the model's energy over (from, to] divided by its length. NaN for an unknown model.
func (s *Sim) MeanPowerW(name string, from, to time.Time) float64 {
	return s.EnergyJ(name, from, to) / to.Sub(from).Seconds()
}

// EnergyJ is the model's energy over (from, to]. NaN for an unknown model.
func (s *Sim) EnergyJ(name string, from, to time.Time) float64 {
	mi := s.modelIndex(name)
	if mi < 0 {
		return math.NaN()
	}
	return s.between(qModelPower, mi, from, to)
}

// Tokens is the model's token count of kind over (from, to]. NaN for an unknown model.
func (s *Sim) Tokens(name string, kind TokenKind, from, to time.Time) float64 {
	mi := s.modelIndex(name)
	if mi < 0 {
		return math.NaN()
	}
	return s.tokens(mi, kind, from, to)
}

func (s *Sim) tokens(mi int, kind TokenKind, from, to time.Time) float64 {
	gen := s.modelBetween(qGeneration, mi, from, to)
	if kind == TokensGeneration {
		return gen
	}
	return gen + s.modelBetween(qPrompt, mi, from, to)
}

// MeanTokensPerS is the model's mean token rate of kind over (from, to]: what rate() over that window
// estimates. NaN for an unknown model.
func (s *Sim) MeanTokensPerS(name string, kind TokenKind, from, to time.Time) float64 {
	return s.Tokens(name, kind, from, to) / to.Sub(from).Seconds()
}

// GPUsAt is how many GPUs the model's pods hold at t (fewer while restarting). -1 for an unknown model.
func (s *Sim) GPUsAt(name string, t time.Time) int {
	mi := s.modelIndex(name)
	if mi < 0 {
		return -1
	}
	n, _ := s.heldAt(mi, s.tickOf(t.UnixMilli()))
	return n
}

// Undefined are the restarts (from the old pod's end to the new pod's start) and the scrape gaps.
func (s *Sim) Undefined() []Interval {
	var out []Interval
	for _, r := range s.replicas {
		for i := 1; i < len(r.pods); i++ {
			prev, next := &s.pods[r.pods[i-1]], &s.pods[r.pods[i]]
			out = append(out, Interval{Start: time.UnixMilli(prev.k1 * s.tickMS).UTC(), End: time.UnixMilli(next.k0 * s.tickMS).UTC(),
				Reason: "restart of " + s.models[r.model].spec.Name})
		}
	}
	for _, g := range s.gaps {
		out = append(out, Interval{Start: time.UnixMilli(g[0]).UTC(), End: time.UnixMilli(g[1]).UTC(), Reason: "scrape gap"})
	}
	slices.SortFunc(out, func(a, b Interval) int { return a.Start.Compare(b.Start) })
	return slices.Compact(out) // replicas restarting together are one interval
}

// Defined reports whether the truth over [from, to] is what Prometheus can show: the window touches no
// restart or gap, nor the LookbackPad after one.
func (s *Sim) Defined(from, to time.Time) bool {
	for _, iv := range s.Undefined() {
		if !from.After(iv.End.Add(LookbackPad)) && !to.Before(iv.Start) {
			return false
		}
	}
	return true
}
