package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/source"
)

// The week's one pod restart moves gemma-4-31B onto another node: the annotations mark it, and nothing else
// moves. Idle stretches are runs of parked steps, never shorter than fleet.DefaultParkedMinSteps.
func TestAnnotationsMarkTheRestartOfTheWeek(t *testing.T) {
	t.Parallel()
	prom := week.Server(t)
	p := startPlugin(t)
	g := gridOf(t, weekStart, weekEnd)
	rateWindow := source.RateWindow(g.Step, scrapeStep)
	got := answer(t, p, settingsFor(prom.URL, nil), nil, query("A", models.QueryAnnotations, "", weekStart, weekEnd))["A"]
	require.Len(t, got, 1)
	f := got[0]

	restart := fleetSim.Spec().Mess.Restarts[0]
	var fromHosts []string
	for _, m := range fleetSim.Spec().Models {
		if m.Name == restart.Model {
			fromHosts = m.Hosts
		}
	}
	require.NotEmpty(t, fromHosts)

	field := func(name string) func(i int) any {
		fl, _ := f.FieldByName(name)
		require.NotNil(t, fl, name)
		return fl.At
	}
	kind, model, start, end, text := field("kind"), field("model"), field("time"), field("timeEnd"), field("text")
	restarts, idle, verdicts := 0, 0, 0
	for i := range f.Rows() {
		from, to := start(i).(time.Time), end(i).(time.Time)
		switch kind(i) {
		case string(fleet.EventRestart):
			restarts++
			assert.Equal(t, restart.Model, model(i))
			// The event starts at the last step on the old GPUs: the step (t-step, t] that holds the restart.
			assert.WithinDuration(t, restart.At, from, g.Step, "restart at %s, marked at %s (step %s)", restart.At, from, g.Step)
			assert.Contains(t, text(i), "on "+fromHosts[0]+" to ")
			assert.Contains(t, text(i), "on "+restart.ToHosts[0])
			t.Logf("%s: %s..%s (restart at %s)", text(i), from, to, restart.At)
		case string(fleet.EventIdle):
			idle++
			assert.GreaterOrEqual(t, int(to.Sub(from)/g.Step), fleet.DefaultParkedMinSteps, "%s: %s", model(i), text(i))
			// Each step t of the stretch had a rate under the threshold: rate() saw the counter's increase
			// between the first sample of its window (t-window, t] and the last, so the simulator served fewer
			// than threshold x window tokens between those samples (extrapolation only raises the rate). Tokens
			// before the first sample fall between two steps' windows and are seen by neither.
			for s := from.Add(g.Step); !s.After(to); s = s.Add(g.Step) {
				first := s.Add(-rateWindow).Add(scrapeStep - 1).Truncate(scrapeStep) // samples are on whole scrapeSteps
				served := tokensServed(model(i).(string), first, s.Truncate(scrapeStep))
				assert.Less(t, served, models.DefaultIdleThreshold*rateWindow.Seconds(), "%s at %s: %s", model(i), s, text(i))
			}
		case string(fleet.EventVerdict):
			verdicts++
			// Taken at UTC midnights with the 48 h a verdict needs behind them in the window.
			assert.Equal(t, from, from.Truncate(fleet.VerdictEvery), "%s: %s", model(i), text(i))
			assert.False(t, from.Before(weekStart.Add(fleet.DefaultMinHistory)), "%s: %s", model(i), text(i))
			t.Logf("%s: %s", from, text(i))
		default:
			t.Errorf("unexpected kind %v", kind(i))
		}
	}
	assert.Equal(t, 1, restarts, "the week holds one restart; the scrape gap moves nothing")
	assert.Zero(t, verdicts, "every model's traffic is the same day after day: so are the daily verdicts")
	t.Logf("%d idle stretches, step %s", idle, g.Step)

	only := answer(t, p, settingsFor(prom.URL, nil), nil, query("B", models.QueryAnnotations, `,"events":["restart"],"models":["Qwen3-32B"]`, weekStart, weekEnd))["B"]
	assert.Equal(t, 0, only[0].Rows(), "Qwen3-32B never moved")
}

// tokensServed are the prompt and generation tokens the simulator served for model over (from, to].
func tokensServed(model string, from, to time.Time) float64 {
	for _, m := range fleetSim.Truth(from, to, to.Sub(from)).Models {
		if m.Model == model {
			return m.PromptTokens + m.GenerationTokens
		}
	}
	return 0
}
