package fleet

import (
	"math"
	"time"
)

// VerdictEvery is how often a right-sizing verdict is taken for verdict-change events: once a day, at UTC
// midnight, so the days an event falls on do not move as a dashboard pans.
const VerdictEvery = 24 * time.Hour

// VerdictChange is what a right-sizing verdict recommended before and after it changed.
type VerdictChange struct {
	GPUType string
	// Held is the allocation the model held in the history of the new verdict.
	Held int
	// From and To are the recommended GPUs of the two verdicts (Held where the verdict was to keep).
	From, To int
	Reason   string
}

// verdictChanges are the instants where a model's right-sizing verdict changed: at every VerdictEvery
// boundary of the window, the model is judged on the history right-sizing needs (so.MinHistory) up to that
// instant, as an alert rule evaluated then would have judged it. The first verdict is the baseline; instants
// without a verdict (too little history, no data) neither change nor reset it.
func verdictChanges(f *Fleet, keep func(string) bool, floors IdleFloors, o Options, so SizingOptions) []Event {
	so = so.forFleet(f)
	history := max(so.MinHistory, f.Grid.Step)
	historySteps := int((history + f.Grid.Step - 1) / f.Grid.Step)
	var out []Event
	for i := range f.Models {
		m := &f.Models[i]
		if m.Unallocated || !keep(m.Name) {
			continue
		}
		var last *RightSizing
		for _, at := range verdictInstants(f.Grid, history) {
			end := int(at.Sub(f.Grid.Start)/f.Grid.Step) + 1 // the steps up to the instant
			sub, g := m.part(f.Grid, max(0, end-historySteps), end)
			r := RightSize(&sub, g, floors, o, so)
			if !r.Verdict {
				continue
			}
			if last != nil && recommended(*last) != recommended(r) {
				out = append(out, Event{Kind: EventVerdict, Model: m.Name, Start: at, End: at, GPUs: float64(r.GPUs), PowerW: math.NaN(),
					Verdict: &VerdictChange{GPUType: r.GPUType, Held: r.GPUs, From: recommended(*last), To: recommended(r), Reason: r.Reason}})
			}
			last = &r
		}
	}
	return out
}

// recommended is the allocation a verdict recommends: the held one when it says keep.
func recommended(r RightSizing) int {
	if r.RecommendedGPUs > 0 {
		return r.RecommendedGPUs
	}
	return r.GPUs
}

// verdictInstants are the VerdictEvery boundaries in the window with history behind them in it.
func verdictInstants(g Grid, history time.Duration) []time.Time {
	var out []time.Time
	first := g.Start.Add(history)
	t := first.Truncate(VerdictEvery)
	if t.Before(first) {
		t = t.Add(VerdictEvery)
	}
	for ; !t.After(g.End()); t = t.Add(VerdictEvery) {
		out = append(out, t)
	}
	return out
}

// part is the model over steps [a, b) of grid g, with that part of the grid. Window totals that cannot be
// cut (counter energy and tokens, request counts) are unknown in the part, so the analyses use its steps.
func (m *Model) part(g Grid, a, b int) (Model, Grid) {
	cut := func(s Series) Series {
		if s == nil {
			return nil
		}
		return s[min(a, len(s)):min(b, len(s))]
	}
	sub := *m
	sub.PromptTokens, sub.GenerationTokens = math.NaN(), math.NaN()
	sub.PromptTokensPerS, sub.GenerationTokensPerS, sub.Replicas = cut(m.PromptTokensPerS), cut(m.GenerationTokensPerS), cut(m.Replicas)
	sub.Placements = make([]Placement, len(m.Placements))
	for i, p := range m.Placements {
		sub.Placements[i] = Placement{Host: p.Host, GPUType: p.GPUType, GPUs: cut(p.GPUs), PowerW: cut(p.PowerW), PowerLimitW: cut(p.PowerLimitW), EnergyJ: math.NaN()}
	}
	if sv := m.Serving; sv != nil {
		sub.Serving = &Serving{
			RequestsRunning: cut(sv.RequestsRunning), RequestsWaiting: cut(sv.RequestsWaiting), KVCacheUsage: cut(sv.KVCacheUsage),
			TTFTP95S: cut(sv.TTFTP95S), ITLP95S: cut(sv.ITLP95S),
			Preemptions: math.NaN(), Requests: math.NaN(), KVCacheTokensPerReplica: sv.KVCacheTokensPerReplica,
		}
	}
	return sub, Grid{Start: g.At(a), Step: g.Step, N: b - a}
}
