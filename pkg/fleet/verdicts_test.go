package fleet_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

// The textbook 7B on 4 A100s serves ~19900 tok/s at its p95 for three days: more than three A100s serve within
// their power limit and the 30% traffic margin (3 x (400 - 90) W / 0.04 J/token x 0.7 = 16275 tok/s), less
// than four do (21700). Then ~70 tok/s, which one A100 serves. Judged
// daily on the 48 h before each midnight, the verdict is "keep 4" while the busy days are in the history and
// "1 GPU" from the first midnight whose 48 h are all quiet: day 5.
func TestVerdictChangesWhenTrafficFalls(t *testing.T) {
	const days = 7
	steps := days * int(24*time.Hour/sizingStep)
	busySteps := 3 * int(24*time.Hour/sizingStep)
	rates := append(blockRates(busySteps, block{0.9, 17000, 19000}, block{0.1, 19000, 20000}),
		blockRates(steps-busySteps, block{0.9, 20, 60}, block{0.1, 60, 80})...)
	m := servingModel{name: textbook, gpuType: gpuA100, host: hostSDSC, gpus: textbookGPUs, parkedW: 90, kJPerToken: 0.04, tdpW: 400, rates: rates}.model()
	parked := servingModel{name: "acme/parked-13B", gpuType: gpuA100, host: hostNYU, gpus: 1, parkedW: 90, rates: make([]float64, steps)}.model()
	f := &fleet.Fleet{Grid: fleet.Grid{Start: sizingStart, Step: sizingStep, N: steps}, Models: []fleet.Model{m, parked}}
	o := sizingOptions()
	floors := fleet.MeasureIdleFloors(f, o)

	events := fleet.Events(f, []fleet.EventKind{fleet.EventVerdict}, func(string) bool { return true }, floors, o, fleet.DefaultSizingOptions())
	require.Len(t, events, 1, "one change for the 7B; the parked 13B's verdict (spin down) never changes")
	e := events[0]
	assert.Equal(t, fleet.EventVerdict, e.Kind)
	assert.Equal(t, textbook, e.Model)
	assert.Equal(t, sizingStart.Add(5*24*time.Hour), e.Start, "the first midnight with 48 quiet hours behind it")
	assert.Equal(t, e.Start, e.End, "an instant")
	require.NotNil(t, e.Verdict)
	assert.Equal(t, 4, e.Verdict.Held)
	assert.Equal(t, 4, e.Verdict.From, "keep 4 while the busy days were in the history")
	assert.Equal(t, 1, e.Verdict.To)
	assert.Equal(t, gpuA100, e.Verdict.GPUType)
	assert.NotEmpty(t, e.Verdict.Reason)
}

// A window shorter than the history a verdict needs has no verdict instants, so no events, and a model whose
// verdict stays the same has none either.
func TestNoVerdictChangeWithoutHistoryOrChange(t *testing.T) {
	for _, days := range []int{1, 6} {
		steps := days * int(24*time.Hour/sizingStep)
		m := servingModel{name: textbook, gpuType: gpuA100, host: hostSDSC, gpus: textbookGPUs, parkedW: 90, kJPerToken: 0.04, tdpW: 400,
			rates: blockRates(steps, block{0.9, 20, 60}, block{0.1, 60, 80})}.model()
		f := &fleet.Fleet{Grid: fleet.Grid{Start: sizingStart.Add(7 * time.Hour), Step: sizingStep, N: steps}, Models: []fleet.Model{m}}
		o := sizingOptions()
		events := fleet.Events(f, []fleet.EventKind{fleet.EventVerdict}, func(string) bool { return true }, fleet.MeasureIdleFloors(f, o), o, fleet.DefaultSizingOptions())
		assert.Empty(t, events, "%d days", days)
	}
}
