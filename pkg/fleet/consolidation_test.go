package fleet_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

func consolidate(f *fleet.Fleet, selected func(string) bool) fleet.Consolidation {
	o := sizingOptions()
	return fleet.Consolidate(f, selected, fleet.MeasureIdleFloors(f, o), o, fleet.DefaultSizingOptions())
}

// On the NRP fleet, the three idle models are spin-down candidates, and nothing else changes: the busy models
// are not low-traffic. The fleet has no unallocated A100: a spun-down A100 returns to the pool at the catalog's
// bare idle power (64 W), so each saves its power less 64 W per GPU.
func TestConsolidationOnTheNRPFleet(t *testing.T) {
	c := consolidate(nrpFleet(), nil)
	want := []struct {
		model   string
		gpus    int
		savingW float64
		gPerKWh float64
	}{
		{"MiniMax-M2.5", 4, 447 - 4*poolW, 531},                       // UNL
		{"Kimi-K2.5", 8, 670 - 8*poolW, 198},                          // SDSC: California
		{"allenai/OLMo-2-0325-32B-Instruct", 2, 2*105 - 2*poolW, 174}, // NYU
	}
	require.Len(t, c.Actions, len(want), "actions: %+v", c.Actions)
	for i, w := range want {
		a := c.Actions[i]
		t.Run(w.model, func(t *testing.T) {
			assert.Equal(t, fleet.ActionSpinDown, a.Action)
			assert.Equal(t, []string{w.model}, a.Models)
			assert.Equal(t, gpuA100, a.GPUType)
			assert.Equal(t, w.gpus, a.GPUsNow)
			assert.Zero(t, a.GPUsAfter)
			assert.InDelta(t, w.savingW, a.SavingW, 1e-6*w.savingW)
			assert.InDelta(t, w.savingW*24/1000, a.SavingKWhPerDay, 1e-6)
			assert.InDelta(t, w.savingW*24/1000*w.gPerKWh/1000, a.SavingKgCO2PerDay, 1e-6)
			assert.Contains(t, a.Reason, "idle 100.0% of 6.9 d with data (never served a request); idle for the last 6.9 d")
		})
	}
	spinDown := map[string]bool{}
	for _, m := range c.Idle {
		spinDown[m.Model] = m.SpinDown
	}
	assert.Equal(t, map[string]bool{
		"gpt-oss-120b": false, "gemma-4-31B": false, "Qwen3.5-397B": false,
		"Kimi-K2.5": true, "MiniMax-M2.5": true, "allenai/OLMo-2-0325-32B-Instruct": true,
	}, spinDown)
}

func TestConsolidationOnTheSizingFleet(t *testing.T) {
	c := consolidate(sizingFleet(), nil)
	byAction := map[string][]fleet.ConsolidationAction{}
	for _, a := range c.Actions {
		byAction[a.Action] = append(byAction[a.Action], a)
	}
	require.Len(t, byAction[fleet.ActionSpinDown], 1)
	assert.Equal(t, []string{"acme/parked-13B"}, byAction[fleet.ActionSpinDown][0].Models)
	assert.InDelta(t, freedGPUW, byAction[fleet.ActionSpinDown][0].SavingW, 1e-9)

	// The three helpers need 3 x 1.2 x 2 = 7.2, 19.2 and 33.6 GB: 60 GB fit one A100 (72 GB usable), so
	// two of their three GPUs are freed, each saving 90 W parked - 64 W in the pool.
	require.Len(t, byAction[fleet.ActionCoLocate], 1)
	co := byAction[fleet.ActionCoLocate][0]
	assert.Equal(t, []string{"acme/helper-14B", "acme/helper-3B", "acme/helper-8B"}, co.Models)
	assert.Equal(t, gpuA100, co.GPUType)
	assert.Equal(t, 3, co.GPUsNow)
	assert.Equal(t, 1, co.GPUsAfter)
	assert.InDelta(t, 2*freedGPUW, co.SavingW, 1e-9)
	assert.InDelta(t, 2*freedGPUW*24.0/1000*174/1000, co.SavingKgCO2PerDay, 1e-9, "helpers run at NYU")
	// Each its own server: need + 2 GB over 80 GB, e.g. (33.6 + 2) / 80 = 0.45 for the 14B.
	assert.Equal(t, "node 1: acme/helper-14B + acme/helper-8B + acme/helper-3B; one vLLM server per model on the shared GPUs, "+
		"gpu_memory_utilization acme/helper-14B 0.45, acme/helper-3B 0.12, acme/helper-8B 0.27 (each includes its server's CUDA "+
		"context and activations, ~2 GB a GPU); vLLM's sleep mode frees an idle server's memory between requests; "+
		"or MIG instances of the GPU sized to these shares", co.Plan)
	assert.Contains(t, co.Reason, "3 low-traffic models (idle 70-70% of the time) on 3x A100-SXM4-80GB fit 1x by memory")
	assert.Equal(t, fleet.ActionCoLocate, c.Actions[0].Action, "actions are ranked by saving: 52 W before 26 W")
}

func TestConsolidationFollowsTheModelSelection(t *testing.T) {
	c := consolidate(sizingFleet(), func(name string) bool { return strings.HasPrefix(name, "acme/helper-") && name != "acme/helper-3B" })
	require.Len(t, c.Actions, 1)
	// 33.6 + 19.2 GB on one A100.
	assert.Equal(t, []string{"acme/helper-14B", "acme/helper-8B"}, c.Actions[0].Models)
	assert.Equal(t, 2, c.Actions[0].GPUsNow)
	assert.Equal(t, 1, c.Actions[0].GPUsAfter)
	assert.Len(t, c.Idle, 2)
}

func TestConsolidationNotesWhatItLeavesOut(t *testing.T) {
	f := sizingFleet()
	f.Models = append(f.Models, servingModel{
		name: "mystery-helper", gpuType: gpuA100, host: hostNYU, gpus: 1, parkedW: 90, overheadW: 10, kJPerToken: 1,
		rates: blockRates(sizingSteps, block{0.7, 0, 0}, block{0.3, 1, 5}),
	}.model())
	noTokens := parkedModel("acme/no-join-7B", gpuA100, hostNYU, 1, 90)
	noTokens.GenerationTokensPerS, noTokens.PromptTokensPerS = nil, nil
	f.Models = append(f.Models, noTokens)
	retired := parkedModel("acme/retired-7B", gpuA100, hostNYU, 1, 90)
	for i := 1500; i < sizingSteps; i++ {
		retired.Placements[0].PowerW[i], retired.Placements[0].GPUs[i] = math.NaN(), math.NaN()
	}
	f.Models = append(f.Models, retired)
	c := consolidate(f, nil)
	assert.Contains(t, strings.Join(c.Notes, "\n"), `mystery-helper is left out of co-location: the size of "mystery-helper" is unknown`)
	assert.Contains(t, strings.Join(c.Notes, "\n"), "acme/no-join-7B: its GPUs report power but it has no token data in the window; check the GPU-to-model join")
	for _, a := range c.Actions {
		assert.NotContains(t, a.Models, "acme/no-join-7B", "a model without token data is never taken for idle")
		assert.NotContains(t, a.Models, "acme/retired-7B", "a model that stopped before the end of the window is already off")
	}
	for _, m := range c.Idle {
		if m.Model == "acme/retired-7B" {
			assert.False(t, m.SpinDown)
			assert.False(t, m.Traffic.Current)
		}
	}
}

func TestMeasureTrafficIdleGaps(t *testing.T) {
	const step = 10 * time.Minute
	nan := math.NaN()
	// b: busy (5 tok/s), i: idle (0), x: power without token data, -: no data at all.
	series := func(pattern string) fleet.Model {
		rates := make([]float64, len(pattern))
		for i, ch := range pattern {
			switch ch {
			case 'b':
				rates[i] = 5
			case 'i':
				rates[i] = 0
			default:
				rates[i] = nan
			}
		}
		m := servingModel{name: "m", gpuType: gpuA100, host: hostNYU, gpus: 2, parkedW: 90, rates: rates}.model()
		for i, ch := range pattern {
			if ch == 'x' {
				m.Placements[0].GPUs[i], m.Placements[0].PowerW[i] = 2, 180
			}
		}
		return m
	}
	cases := []struct {
		name                          string
		pattern                       string
		dataSteps, idleRuns, busyRuns int
		idleShare                     float64
		typical, longest, idleFor     time.Duration
		current                       bool
	}{
		{
			name: "runs of 2, 4 and 3 idle steps, idle at the end", pattern: "biibbiiiibiii",
			dataSteps: 13, idleRuns: 3, busyRuns: 3, idleShare: 9.0 / 13,
			typical: 3 * step, longest: 4 * step, idleFor: 3 * step, current: true,
		},
		{
			name: "steps without token data neither break nor extend a run", pattern: "biixxiib",
			dataSteps: 6, idleRuns: 1, busyRuns: 2, idleShare: 4.0 / 6,
			typical: 4 * step, longest: 4 * step, current: true,
		},
		{
			name: "gaps in all data are skipped too", pattern: "bii--iib",
			dataSteps: 6, idleRuns: 1, busyRuns: 2, idleShare: 4.0 / 6,
			typical: 4 * step, longest: 4 * step, current: true,
		},
		{
			name: "a model whose data stopped is not current", pattern: "biii------",
			dataSteps: 4, idleRuns: 1, busyRuns: 1, idleShare: 3.0 / 4,
			typical: 3 * step, longest: 3 * step, idleFor: 3 * step,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := series(c.pattern)
			tr := fleet.MeasureTraffic(&m, fleet.Grid{Start: sizingStart, Step: step, N: len(c.pattern)}, sizingOptions())
			assert.Equal(t, 2, tr.GPUs)
			assert.Equal(t, c.dataSteps, tr.DataSteps)
			assert.Equal(t, time.Duration(c.dataSteps)*step, tr.History)
			assert.Equal(t, c.idleRuns, tr.IdleRuns)
			assert.Equal(t, c.busyRuns, tr.BusyRuns)
			assert.InDelta(t, c.idleShare, tr.IdleShare, 1e-12)
			assert.Equal(t, c.typical, tr.TypicalIdleGap)
			assert.Equal(t, c.longest, tr.LongestIdleGap)
			assert.Equal(t, c.idleFor, tr.IdleFor)
			assert.Equal(t, c.current, tr.Current)
			assert.InDelta(t, float64(c.busyRuns)/tr.History.Hours()*24, tr.WakeupsPerDay(), 1e-9)
		})
	}
}

// 100 models over 30 days at 60 s steps (4.3M points): a fifth parked, a fifth low-traffic helpers, the rest
// bursty chat models, on hosts of 8 A100s.
func BenchmarkRightSizingAndConsolidation100Models30Days(b *testing.B) {
	const n = 30 * 24 * 60
	f := &fleet.Fleet{Grid: fleet.Grid{Start: sizingStart, Step: time.Minute, N: n}}
	bursty := blockRates(n, block{0.9, 2, 6}, block{0.08, 8, 8}, block{0.02, 200, 200})
	helper := blockRates(n, block{0.7, 0, 0}, block{0.3, 1, 5})
	for i := range 100 {
		host := fmt.Sprintf("gpu-%02d.sdsc.optiputer.net", i/4)
		m := servingModel{name: fmt.Sprintf("acme/chat-%d-7B", i), gpuType: gpuA100, host: host, gpus: 2, parkedW: 90, overheadW: 20, kJPerToken: 0.5, tdpW: 400, rates: bursty}
		switch i % 5 {
		case 0:
			m.rates = make([]float64, n)
		case 1:
			m.rates = helper
		}
		f.Models = append(f.Models, m.model())
	}
	o := sizingOptions()
	so := fleet.DefaultSizingOptions()
	b.ReportAllocs()
	for b.Loop() {
		floors := fleet.MeasureIdleFloors(f, o)
		rows := fleet.RightSizeFleet(f, nil, floors, o, so)
		c := fleet.Consolidate(f, nil, floors, o, so)
		if len(rows) != 100 || len(c.Actions) == 0 {
			b.Fatalf("%d rows, %d actions", len(rows), len(c.Actions))
		}
	}
}

// Spin-downs and co-locations count freed GPUs as right-sizing does: powered off, they save all their power.
func TestConsolidationPoweredOffBaseline(t *testing.T) {
	f := sizingFleet()
	o := sizingOptions()
	so := fleet.DefaultSizingOptions()
	so.FreedGPUs = fleet.FreedPoweredOff
	c := fleet.Consolidate(f, nil, fleet.MeasureIdleFloors(f, o), o, so)
	require.Len(t, c.Actions, 2)
	assert.Equal(t, fleet.ActionCoLocate, c.Actions[0].Action)
	assert.InDelta(t, 2*floorW, c.Actions[0].SavingW, 1e-9, "2 freed A100s at their 90 W floor")
	assert.Contains(t, c.Actions[0].Reason, "freed GPUs powered off: 90 W each")
	assert.Equal(t, []string{"acme/parked-13B"}, c.Actions[1].Models)
	assert.InDelta(t, floorW, c.Actions[1].SavingW, 1e-9, "all of its parked power")
}

// Two helpers idle 60% of the time, each busy at 100-150 tok/s on one A100 whose fit (90 W + 10 W + 1 J x
// rate) puts its capacity at (400 - 90 - 10) / 1 = 300 tok/s. Sharing one
// GPU works when their busy steps interleave (at most 150 / 300 = 50% of it), not when they coincide (up to
// 300 / 300 = 100% > the 70% the margin allows).
func TestCoLocationSumsTheTrafficPerStep(t *testing.T) {
	busy := func(phase int) []float64 {
		r := make([]float64, sizingSteps)
		for i := range r {
			if (i+phase)%5 < 2 {
				r[i] = 100 + float64(i%51)
			}
		}
		return r
	}
	helper := func(name string, phase int) fleet.Model {
		return servingModel{name: name, gpuType: gpuA100, host: hostNYU, gpus: 1, parkedW: 90, overheadW: 10, kJPerToken: 1, tdpW: 400, rates: busy(phase)}.model()
	}
	for _, c := range []struct {
		name   string
		phase  int
		shared bool
	}{{"interleaved peaks share a GPU", 2, true}, {"coinciding peaks do not", 0, false}} {
		t.Run(c.name, func(t *testing.T) {
			f := &fleet.Fleet{Grid: sizingGrid(), Models: []fleet.Model{helper("acme/helper-3B", 0), helper("acme/helper-8B", c.phase)}}
			got := consolidate(f, nil)
			if c.shared {
				require.Len(t, got.Actions, 1, "notes: %v", got.Notes)
				assert.Equal(t, fleet.ActionCoLocate, got.Actions[0].Action)
				assert.Equal(t, 1, got.Actions[0].GPUsAfter)
				return
			}
			assert.Empty(t, got.Actions)
			require.Len(t, got.Notes, 1)
			assert.Contains(t, got.Notes[0], "co-locating acme/helper-3B, acme/helper-8B on 1x A100-SXM4-80GB would not work")
		})
	}
}
