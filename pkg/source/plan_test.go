package source

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// prometheusAccepts is Prometheus' own check on a range query (web/api/v1: (end-start)/step > 11000 is refused).
func prometheusAccepts(r Request) bool {
	return r.End.Sub(r.Start)/r.Step <= MaxPointsPerSeries
}

func points(r Request) int64 { return int64(r.End.Sub(r.Start)/r.Step) + 1 }

func TestPlan(t *testing.T) {
	// A time with a fraction of a second, off every step.
	t0 := time.Date(2026, 11, 20, 12, 0, 7, 250e6, time.UTC)
	tests := []struct {
		name          string
		span          time.Duration
		interval      time.Duration
		maxDataPoints int64
		scrape        time.Duration
		wantStep      time.Duration
	}{
		{"the panel's interval when it is the coarsest", 6 * time.Hour, time.Minute, 1000, 30 * time.Second, time.Minute},
		{"the span over max data points", 30 * 24 * time.Hour, 15 * time.Second, 1000, 30 * time.Second, 2592 * time.Second},
		{"never finer than the scrape interval", time.Hour, time.Second, 10000, 30 * time.Second, 30 * time.Second},
		{"whole seconds", time.Hour, 1500 * time.Millisecond, 0, time.Second, 2 * time.Second},
		{"10998 s at 1 s: 10999 points, under the limit", 10998 * time.Second, time.Second, 0, time.Second, time.Second},
		{"10999 s at 1 s could reach 11001 points after alignment: 2 s", 10999 * time.Second, time.Second, 0, time.Second, 2 * time.Second},
		{"11000 s at 1 s: 2 s", 11000 * time.Second, time.Second, 0, time.Second, 2 * time.Second},
		{"30 days at 30 s scrapes with no point limit from the panel: 236 s", 30 * 24 * time.Hour, 0, 0, 30 * time.Second, 236 * time.Second},
		{"a year", 365 * 24 * time.Hour, 0, 0, 30 * time.Second, 2868 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Plan(t0, t0.Add(tt.span), tt.interval, tt.maxDataPoints, tt.scrape)
			require.NoError(t, err)
			assert.Equal(t, tt.wantStep, r.Step)
			assert.True(t, prometheusAccepts(r), "%d points", points(r))
			assert.LessOrEqual(t, points(r), int64(MaxPointsPerSeries))
			assert.Zero(t, r.Start.Unix()%int64(r.Step/time.Second), "start aligned to the step")
			assert.Zero(t, r.End.Unix()%int64(r.Step/time.Second), "end aligned to the step")
		})
	}
}

func TestPlanIsStableAcrossRefreshes(t *testing.T) {
	from := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	to := from.Add(24 * time.Hour)
	first, err := Plan(from, to, 0, 1000, 30*time.Second)
	require.NoError(t, err)
	require.Equal(t, 87*time.Second, first.Step, "24h over 1000 points is 86.4 s: rounded up, so at most 1000 points")

	// Start and end each stay put until their edge of the window crosses a step boundary.
	within := min(first.End.Add(first.Step).Sub(to), first.Start.Add(first.Step).Sub(from)) / 2
	require.Positive(t, within)
	again, err := Plan(from.Add(within), to.Add(within), 0, 1000, 30*time.Second)
	require.NoError(t, err)
	assert.Equal(t, first, again, "a refresh within the same step asks for the same range")

	next, err := Plan(from.Add(first.Step), to.Add(first.Step), 0, 1000, 30*time.Second)
	require.NoError(t, err)
	assert.Equal(t, first.End.Add(first.Step), next.End, "a step later, the range moves by one step")
}

// TestPlanInvariants checks the plan over many random windows: Prometheus accepts it, it is aligned, and it
// covers the asked window to within a step.
func TestPlanInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 20000 {
		from := base.Add(time.Duration(rng.Int64N(int64(300 * 24 * time.Hour))))
		span := time.Duration(1 + rng.Int64N(int64(MaxSpan)))
		if rng.IntN(2) == 0 {
			span = time.Duration(1 + rng.Int64N(int64(12000*time.Second)))
		}
		interval := time.Duration(rng.Int64N(int64(5 * time.Minute)))
		maxDP := rng.Int64N(20000)
		scrape := []time.Duration{time.Second, 15 * time.Second, 30 * time.Second, time.Minute}[rng.IntN(4)]
		r, err := Plan(from, from.Add(span), interval, maxDP, scrape)
		require.NoError(t, err)
		s := int64(r.Step / time.Second)
		require.True(t, prometheusAccepts(r), "from %s span %s: %d points at %s", from, span, points(r), r.Step)
		require.Zero(t, r.Step%time.Second)
		require.GreaterOrEqual(t, r.Step, max(scrape, interval.Truncate(time.Second)))
		require.Zero(t, r.Start.Unix()%s)
		require.Zero(t, r.End.Unix()%s)
		require.False(t, r.Start.After(from))
		require.Less(t, from.Sub(r.Start), r.Step)
		require.False(t, r.End.After(from.Add(span)))
		require.Less(t, from.Add(span).Sub(r.End), r.Step)
	}
}

func TestPlanRefuses(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		from, to time.Time
		want     string
	}{
		{"an empty range", t0, t0, "the time range is empty or inverted"},
		{"an inverted range", t0, t0.Add(-time.Hour), "the time range is empty or inverted"},
		{"ten years", t0.AddDate(-10, 0, 0), t0, "the time range covers 3652 days; at most 732 days are supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(tt.from, tt.to, 0, 0, 30*time.Second)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestGridOfAndRateWindow(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	g := GridOf(Request{Start: t0, End: t0.Add(10 * time.Minute), Step: time.Minute})
	assert.Equal(t, 11, g.N)
	assert.Equal(t, t0.Add(10*time.Minute), g.End())
	assert.Equal(t, 1, GridOf(Request{Start: t0, End: t0, Step: time.Minute}).N)

	assert.Equal(t, 2*time.Minute, RateWindow(time.Minute, 30*time.Second), "four scrapes when the step is finer")
	assert.Equal(t, 5*time.Minute, RateWindow(5*time.Minute, 30*time.Second), "the step when it is coarser")
}
