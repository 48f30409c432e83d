package fleet

import (
	"math"
	"slices"
	"time"
)

// EventKind is a kind of fleet event an operator wants marked on any time series panel.
type EventKind string

const (
	// EventIdle is a stretch of a model's parked steps: it went idle at Start and woke up at End.
	EventIdle EventKind = "idle"
	// EventRestart is a model's pods moving onto other GPUs: its placements or GPU count changed.
	EventRestart EventKind = "restart"
	// EventVerdict is a model's right-sizing recommendation changing from one daily verdict to the next.
	EventVerdict EventKind = "right-sizing"
)

// EventKinds are every kind of event, in the order editors show them.
var EventKinds = []EventKind{EventIdle, EventRestart, EventVerdict}

// Holding is the GPUs a model holds of one type on one host at a step.
type Holding struct {
	Host    string
	GPUType string
	GPUs    float64
}

// Event is something that happened to a model in the window: a stretch Start..End, or an instant (Start == End).
type Event struct {
	Kind  EventKind
	Model string
	Start time.Time
	End   time.Time
	// Idle: the stretch lasted Duration, the model held GPUs drawing PowerW on average (NaN when unknown), and
	// Ongoing says it had not woken up by the end of the window.
	Duration time.Duration
	GPUs     float64
	PowerW   float64
	Ongoing  bool
	// Restart: what the model held before and after.
	From, To []Holding
	// Verdict: what right-sizing recommended before and after.
	Verdict *VerdictChange
}

// settleSteps is how many consecutive steps with data a new placement must hold before it counts: a step that
// straddles a move reports both the old GPUs and the new ones.
const settleSteps = 2

// Events are the events of the kinds asked for, of the models keep selects, ordered by start. Idle stretches
// are the runs of at least o.ParkedMinSteps idle steps the idle floors are measured on, so one quiet step is no
// event. An idle stretch starts where its first step's interval does (the last busy step's time). Verdict
// changes need the fleet's idle floors and the right-sizing options.
func Events(f *Fleet, kinds []EventKind, keep func(model string) bool, floors IdleFloors, o Options, so SizingOptions) []Event {
	var out []Event
	if slices.Contains(kinds, EventIdle) {
		var power, gpus Series
		last := -1
		for _, r := range parkedRuns(f, &o) { // a model's runs come together
			m := &f.Models[r.model]
			if !keep(m.Name) {
				continue
			}
			if r.model != last {
				power, gpus, last = m.PowerW(), m.GPUs(), r.model
			}
			out = append(out, idleEvent(m.Name, power, gpus, f.Grid, r))
		}
	}
	if slices.Contains(kinds, EventRestart) {
		for i := range f.Models {
			if m := &f.Models[i]; !m.Unallocated && keep(m.Name) {
				out = append(out, placementChanges(m, f.Grid)...)
			}
		}
	}
	if slices.Contains(kinds, EventVerdict) {
		out = append(out, verdictChanges(f, keep, floors, o, so)...)
	}
	slices.SortStableFunc(out, func(a, b Event) int { return a.Start.Compare(b.Start) })
	return out
}

// idleEvent is the idle stretch r of a model whose total power and GPUs are power and gpus.
func idleEvent(model string, power, gpus Series, g Grid, r parkedRun) Event {
	e := Event{
		Kind: EventIdle, Model: model,
		Start: g.At(r.from).Add(-g.Step), End: g.At(r.to - 1),
		Duration: time.Duration(r.to-r.from) * g.Step, Ongoing: r.to == g.N,
		GPUs: math.NaN(), PowerW: math.NaN(),
	}
	sumW, n := 0.0, 0
	for i := r.from; i < r.to; i++ {
		if held := at(gpus, i); !math.IsNaN(held) && (math.IsNaN(e.GPUs) || held > e.GPUs) {
			e.GPUs = held
		}
		if w := at(power, i); !math.IsNaN(w) {
			sumW += w
			n++
		}
	}
	if n > 0 {
		e.PowerW = sumW / float64(n)
	}
	return e
}

// placementChanges are the steps where what a model holds changed between steps with data (steps where it holds
// nothing, a restart's downtime or a scrape gap, are skipped). The event spans the last step on the old
// placement to the first on the new one. A change that settles back where it was is no event.
func placementChanges(m *Model, g Grid) []Event {
	var (
		out                []Event
		settled, candidate []Holding
		lastSettled        int // the last step on the settled placement
		candidateFrom      int // the first step of the current run of candidate
		streak             int // how many steps with data in a row have held candidate; 0 when none is pending
		h                  []Holding
	)
	for i := 0; i < g.N; i++ {
		h = holdings(m, i, h[:0]) // reused: only what is kept is copied
		switch {
		case len(h) == 0:
		case settled == nil:
			settled, lastSettled = slices.Clone(h), i
		case streak == 0 && slices.Equal(h, settled):
			lastSettled = i
		case streak > 0 && slices.Equal(h, candidate):
			streak++
		default:
			candidate, candidateFrom, streak = slices.Clone(h), i, 1
		}
		if streak < settleSteps {
			continue
		}
		if !slices.Equal(candidate, settled) {
			out = append(out, Event{Kind: EventRestart, Model: m.Name, Start: g.At(lastSettled), End: g.At(candidateFrom),
				Duration: g.At(candidateFrom).Sub(g.At(lastSettled)), From: settled, To: candidate, GPUs: math.NaN(), PowerW: math.NaN()})
		}
		settled, lastSettled, streak = candidate, i, 0
	}
	return out
}

// holdings appends what the model held at step i to out, in the order of its placements.
func holdings(m *Model, i int, out []Holding) []Holding {
	for j := range m.Placements {
		p := &m.Placements[j]
		if n := at(p.GPUs, i); n > 0 { // false for NaN
			out = append(out, Holding{Host: p.Host, GPUType: p.GPUType, GPUs: n})
		}
	}
	return out
}
