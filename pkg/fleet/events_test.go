package fleet

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func all(string) bool { return true }

// A model busy, then idle for 10 steps, busy again, idle for 3 steps (too short to count), then idle to the end.
func TestIdleEventsAreTheParkedStretches(t *testing.T) {
	const n = 40
	rates := constant(n, 500)
	for i := 10; i < 20; i++ {
		rates[i] = 0
	}
	for i := 25; i < 28; i++ {
		rates[i] = 0.05 // below the 0.1 tok/s threshold
	}
	for i := 32; i < n; i++ {
		rates[i] = 0
	}
	f := &Fleet{Grid: testGrid(n), Models: []Model{
		served("gemma", a6000, sdsc, 2, 105, 0.2, rates),
		parked("kimi", a100, nyu, 8, 90, n),
		unallocated(a100, unl, 4, 60, n),
	}}
	events := Events(f, []EventKind{EventIdle}, func(m string) bool { return m == "gemma" }, nil, testOptions(), DefaultSizingOptions())
	require.Len(t, events, 2, "the 3-step lull is shorter than ParkedMinSteps; kimi is filtered out")

	first := events[0]
	assert.Equal(t, EventIdle, first.Kind)
	assert.Equal(t, t0.Add(9*time.Minute), first.Start, "went idle after the last busy step")
	assert.Equal(t, t0.Add(19*time.Minute), first.End, "woke up at step 20: the last idle step is 19")
	assert.Equal(t, 10*time.Minute, first.Duration)
	assert.False(t, first.Ongoing)
	assert.Equal(t, 2.0, first.GPUs)
	assert.InDelta(t, 2*105.0, first.PowerW, 1e-9, "idle steps draw the parked power only")

	last := events[1]
	assert.Equal(t, t0.Add(31*time.Minute), last.Start)
	assert.Equal(t, 8*time.Minute, last.Duration)
	assert.True(t, last.Ongoing, "still idle at the end of the window")

	kimi := Events(f, []EventKind{EventIdle, EventRestart}, func(m string) bool { return m == "kimi" }, nil, testOptions(), DefaultSizingOptions())
	require.Len(t, kimi, 1, "parked all window, never moved")
	assert.Equal(t, n*time.Minute, kimi[0].Duration)
	assert.InDelta(t, 8*90.0, kimi[0].PowerW, 1e-9)
}

// moved is a model on 2 A6000 at sdsc that restarts at step 10: steps 10-12 hold nothing (pods down), step 13
// straddles the move (old and new GPUs both reported), then 4 A100 at nyu from step 14.
func moved(n int) Model {
	m := served("gemma", a6000, sdsc, 2, 105, 0.2, constant(n, 300))
	m.Placements = append(m.Placements, Placement{Host: nyu, GPUType: a100, GPUs: NewSeries(n), PowerW: NewSeries(n), EnergyJ: math.NaN()})
	old, next := &m.Placements[0], &m.Placements[1]
	for i := 10; i < n; i++ {
		if i >= 13 {
			next.GPUs[i], next.PowerW[i] = 4, 4*90
		}
		old.GPUs[i], old.PowerW[i] = math.NaN(), math.NaN()
	}
	old.GPUs[13], old.PowerW[13] = 2, 210
	return m
}

func TestRestartEventSpansTheMoveOntoOtherGPUs(t *testing.T) {
	const n = 30
	f := &Fleet{Grid: testGrid(n), Models: []Model{moved(n), served("steady", a100, unl, 1, 90, 0.2, constant(n, 100))}}
	events := Events(f, []EventKind{EventRestart}, all, nil, testOptions(), DefaultSizingOptions())
	require.Len(t, events, 1, "the straddling step is no event of its own; the steady model never moved")
	e := events[0]
	assert.Equal(t, "gemma", e.Model)
	assert.Equal(t, t0.Add(9*time.Minute), e.Start, "the last step on the old GPUs")
	assert.Equal(t, t0.Add(14*time.Minute), e.End, "the first step on the new GPUs alone")
	assert.Equal(t, []Holding{{Host: sdsc, GPUType: a6000, GPUs: 2}}, e.From)
	assert.Equal(t, []Holding{{Host: nyu, GPUType: a100, GPUs: 4}}, e.To)
}

func TestGPUCountChangeIsAnEventAndABlipIsNot(t *testing.T) {
	const n = 20
	m := served("scaled", a100, unl, 2, 90, 0.2, constant(n, 100))
	gpus := m.Placements[0].GPUs
	gpus[5] = 3 // one step with an extra GPU: a blip
	for i := 12; i < n; i++ {
		gpus[i] = 4
	}
	f := &Fleet{Grid: testGrid(n), Models: []Model{m}}
	events := Events(f, []EventKind{EventRestart}, all, nil, testOptions(), DefaultSizingOptions())
	require.Len(t, events, 1)
	assert.Equal(t, t0.Add(11*time.Minute), events[0].Start)
	assert.Equal(t, t0.Add(12*time.Minute), events[0].End)
	assert.Equal(t, 4.0, events[0].To[0].GPUs)

	assert.Empty(t, Events(f, nil, all, nil, testOptions(), DefaultSizingOptions()), "no kinds asked, no events")
}
