package source

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

// The recording rules run over the "plain" variant of the shared Prometheus: Prometheus evaluates rules only
// going forward, so promtool evaluates them over the history (create-blocks-from rules, which queries the
// server as its rule manager would, a minute apart) and the blocks join the server's data. Their prefix is
// the tests' own, so the other tests of the package, which look for "fleet:", never see them.
const rulesTestPrefix = "rulestest"

// The recorded series cover the history's days 3 to 5 (the pod restart and the scrape gap, and more than the
// 48 hours right-sizing needs), so a window reaching further back must read the raw series. (promtool
// evaluates the rules at about 10 minutes of history per second here.)
var (
	rulesFrom = simEpoch.Add(3 * 24 * time.Hour)
	rulesTo   = simEpoch.Add(5*24*time.Hour + 6*time.Hour)
)

var (
	recordOnce sync.Once
	recordErr  error
)

// rulesSettings read the plain variant; recorded with RecordingRules "auto", raw with "off".
func rulesSettings(recordingRules string) func(*models.Settings) {
	return func(s *models.Settings) {
		s.RecordedPrefix = rulesTestPrefix
		s.RecordingRules = recordingRules
	}
}

// withRecordedSeries backfills the recorded series into the shared Prometheus, once per test process.
func withRecordedSeries(t *testing.T) {
	t.Helper()
	prom := simProm.Server(t)
	recordOnce.Do(func() {
		p, _ := simSource(t, "plain", rulesSettings("auto"))
		rules, err := p.Rules(context.Background())
		if recordErr = err; err != nil {
			return
		}
		// Until the backfill returns, a failure (which ends this test) fails the others too.
		recordErr = errors.New("the recorded series could not be backfilled: see the first test that asked")
		backfillRules(t, rules, prom, rulesFrom, rulesTo)
		recordErr = nil
	})
	require.NoError(t, recordErr)
}

func TestRecordingRulesAnswerAsTheRawSeries(t *testing.T) {
	withRecordedSeries(t)
	rec, s := simSource(t, "plain", rulesSettings("auto"))
	raw, _ := simSource(t, "plain", rulesSettings("off"))
	req := Request{Start: rulesFrom.Add(simStep), End: rulesTo, Step: simStep}

	got, err := rec.Fleet(context.Background(), req)
	require.NoError(t, err)
	executed := strings.Join(got.ExecutedQueries, "\n")
	assert.Contains(t, executed, rulesTestPrefix+":gpu_energy_joules:increase1m", "the executed query names the recorded series")
	assert.NotContains(t, executed, "DCGM_FI_DEV_POWER_USAGE")
	assert.Contains(t, strings.Join(got.Notices, "\n"), "Read the recorded series of the recording rules")

	// What the analyses answer is the same within 1%.
	want, err := raw.Fleet(context.Background(), req)
	require.NoError(t, err)
	assert.Contains(t, strings.Join(want.ExecutedQueries, "\n"), "DCGM_FI_DEV_POWER_USAGE")
	assertSameAnswers(t, want, got, 0.01)

	// Step by step, a recorded minute is evaluated after it ends (the rule group's evaluation offset), so the
	// recorded steps hold the raw series' samples one minute earlier: the raw read a minute earlier is the same,
	// where the truth is defined. (After a restart or a gap, a counter's first minute has no increase: it
	// had no sample a minute earlier. rate() over the raw series extrapolates over it.)
	lagged, err := raw.Fleet(context.Background(), Request{Start: req.Start.Add(-RecordInterval), End: req.End.Add(-RecordInterval), Step: req.Step})
	require.NoError(t, err)
	assertSameSteps(t, lagged, got, 0.01, func(at time.Time) bool { return s.Defined(at.Add(-got.RateWindow-RecordInterval), at) })

	// The window totals are the truth's but for what the counters gained during the scrape gap: a recorded
	// minute needs a sample a minute earlier, so the minutes of a gap stay empty (the raw series' increase()
	// spans it). Within 0.2%: the recorded minutes trail by one, and a counter's first minute after the gap
	// and after the restart is empty too.
	checkMess(t, got, s)
	truth := s.Truth(got.Grid.Start.Add(-got.Grid.Step), got.Grid.End(), got.Grid.Step)
	models := byName(got)
	for _, mt := range truth.Models {
		m := models[mt.Model]
		require.NotNil(t, m, mt.Model)
		gapJ, gapTokens := 0.0, 0.0
		for _, gap := range gapsIn(s, got) {
			gapJ += s.EnergyJ(mt.Model, gap.Start, gap.End)
			gapTokens += s.Tokens(mt.Model, sim.TokensTotal, gap.Start, gap.End)
		}
		assert.InEpsilon(t, mt.EnergyJ-gapJ, m.EnergyJ(), 0.002, "%s energy", mt.Model)
		assert.InEpsilon(t, mt.PromptTokens+mt.GenerationTokens-gapTokens+1, m.Tokens(fleet.TokensTotal)+1, 0.002, "%s tokens", mt.Model)
	}
}

// assertSameSteps compares two reads of the same samples step by step where defined, within tol.
func assertSameSteps(t *testing.T, want, got *fleet.Fleet, tol float64, defined func(at time.Time) bool) {
	t.Helper()
	wantModels := byName(want)
	checked := 0
	for _, gm := range got.Models {
		wm := wantModels[gm.Name]
		require.NotNil(t, wm, gm.Name)
		for _, c := range []struct {
			what      string
			want, got fleet.Series
		}{
			{"power W", wm.PowerW(), gm.PowerW()}, {"GPUs", wm.GPUs(), gm.GPUs()},
			{"tokens/s", wm.TokensPerS(fleet.TokensTotal), gm.TokensPerS(fleet.TokensTotal)},
		} {
			require.Len(t, c.got, len(c.want))
			for i := range c.want {
				if defined(got.Grid.At(i)) {
					checked++
					assertClose(t, c.want[i], c.got[i], tol, 0.01, "%s %s at %s", gm.Name, c.what, got.Grid.At(i))
				}
			}
		}
	}
	assert.Greater(t, checked, len(got.Models)*3*got.Grid.N*9/10, "most steps are defined")
}

func TestRecordingRulesOnlyWhereTheyCoverTheWindow(t *testing.T) {
	withRecordedSeries(t)
	p, _ := simSource(t, "plain", rulesSettings("auto"))
	f, err := p.Fleet(context.Background(), Request{Start: simEpoch.Add(simStep), End: rulesTo, Step: simStep})
	require.NoError(t, err)
	assert.Contains(t, strings.Join(f.ExecutedQueries, "\n"), "DCGM_FI_DEV_POWER_USAGE", "the window starts days before the rules")
	assert.Contains(t, f.Notices, "Read the raw series: the recorded series (rulestest:*) do not cover this window's start and end; the recording rules record only from the time they were loaded.")
}

// assertSameAnswers compares what the analyses answer from two reads of the same window: idle attribution
// and right-sizing per model, within tol.
func assertSameAnswers(t *testing.T, want, got *fleet.Fleet, tol float64) {
	t.Helper()
	o := fleet.DefaultOptions()
	wantFloors, gotFloors := fleet.MeasureIdleFloors(want, o), fleet.MeasureIdleFloors(got, o)
	wantAtts, gotAtts := fleet.AttributeFleet(want, wantFloors, o), fleet.AttributeFleet(got, gotFloors, o)
	require.Len(t, gotAtts, len(wantAtts))
	for i, w := range wantAtts {
		g := gotAtts[i]
		require.Equal(t, w.Model, g.Model)
		assert.Equal(t, w.IdleSource, g.IdleSource, w.Model)
		for _, c := range []struct {
			what       string
			want, got  float64
			absoluteOK float64
		}{
			{"power W", w.PowerW, g.PowerW, 0}, {"idle W", w.IdleW, g.IdleW, 0}, {"GPUs", w.GPUs, g.GPUs, 0},
			{"energy J", w.EnergyJ, g.EnergyJ, 0}, {"tokens", w.Tokens, g.Tokens, 1},
			{"tokens/s", w.TokensPerS, g.TokensPerS, 0.01}, {"J/token", w.JPerToken, g.JPerToken, 0},
			{"idle floor W", w.IdleFloorW, g.IdleFloorW, 0},
		} {
			assertClose(t, c.want, c.got, tol, c.absoluteOK, "%s %s", w.Model, c.what)
		}
	}
	so := fleet.DefaultSizingOptions()
	all := func(string) bool { return true }
	wantSizing, gotSizing := fleet.RightSizeFleet(want, all, wantFloors, o, so), fleet.RightSizeFleet(got, all, gotFloors, o, so)
	require.Len(t, gotSizing, len(wantSizing))
	for i, w := range wantSizing {
		g := gotSizing[i]
		assert.Equal(t, w.Model, g.Model)
		assert.Equal(t, w.Verdict, g.Verdict, "%s: %s / %s", w.Model, w.Reason, g.Reason)
		assert.Equal(t, w.Oversized, g.Oversized, "%s: %s / %s", w.Model, w.Reason, g.Reason)
		assert.Equal(t, w.RecommendedGPUs, g.RecommendedGPUs, w.Model)
		assertClose(t, w.SavingW, g.SavingW, tol, 0, "%s saving W", w.Model)
	}
}

// assertClose compares within a relative tolerance, or an absolute one for values near zero; NaN equals NaN.
func assertClose(t *testing.T, want, got, rel, abs float64, format string, args ...any) {
	t.Helper()
	if math.IsNaN(want) || math.IsNaN(got) {
		assert.Equal(t, math.IsNaN(want), math.IsNaN(got), append([]any{format + ": %v vs %v"}, append(args, want, got)...)...)
		return
	}
	if math.Abs(want-got) <= abs {
		return
	}
	assert.InEpsilon(t, want, got, rel, append([]any{format}, args...)...)
}

func TestRecordingRulesAnswerAsTheRawSeriesOnLongSteps(t *testing.T) {
	// Half-hour steps, as a month-long panel has them, read the 5-minute GPU counts.
	withRecordedSeries(t)
	rec, _ := simSource(t, "plain", rulesSettings("auto"))
	raw, _ := simSource(t, "plain", rulesSettings("off"))
	step := 30 * time.Minute
	req := Request{Start: rulesFrom.Add(step), End: rulesTo, Step: step}
	got, err := rec.Fleet(context.Background(), req)
	require.NoError(t, err)
	assert.Contains(t, strings.Join(got.ExecutedQueries, "\n"), "max_over_time("+rulesTestPrefix+`:gpus:count5m{instance="plain"}[1799999ms])`)
	want, err := raw.Fleet(context.Background(), req)
	require.NoError(t, err)
	assertSameAnswers(t, want, got, 0.01)
}
