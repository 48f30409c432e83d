package fleet_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

// The simulator's week, which the integration tests read through Prometheus; here because it checks the fleet
// against what the efficiency fit needs: the simulator imports nothing of the plugin.
var (
	simEpoch = time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC)
	simEnd   = simEpoch.Add(7 * 24 * time.Hour)
)

// The busy models near their cap keep enough busy steps under it, with spread rates, for an efficiency fit:
// at the 60 s truth step and at the ~10 min step a week-long dashboard panel reads.
func TestBusyModelsHaveStepsBelowTheCapToFit(t *testing.T) {
	s, err := sim.New(sim.DefaultFleet(simEpoch, true), sim.DefaultSeed)
	require.NoError(t, err)
	tr := s.Truth(simEpoch, simEnd, time.Minute)
	for _, m := range tr.Models {
		if m.Idle {
			continue
		}
		t.Run(m.Model, func(t *testing.T) {
			assert.GreaterOrEqual(t, m.BelowCapShare, 0.3, "share of busy steps under %.0f%% of the cap", 100*fleet.PowerCapFraction)
			if m.GPUType == sim.RTXA6000.Name {
				assert.Positive(t, m.ThrottledShare, "its GPUs reach their cap at the daily peak")
			} else {
				assert.Zero(t, m.ThrottledShare)
			}
			for _, step := range []time.Duration{time.Minute, 10 * time.Minute} {
				rates := belowCapRates(s, m, step)
				spread := (fleet.Quantile(rates, 0.9) - fleet.Quantile(rates, 0.1)) / fleet.Quantile(rates, 0.5)
				t.Logf("%s steps: %d busy steps under the cap, rate spread %.2f", step, len(rates), spread)
				assert.GreaterOrEqual(t, len(rates), fleet.MinFitSteps)
				assert.GreaterOrEqual(t, spread, fleet.MinRateSpread, "(p90 - p10) / median of their rates")
			}
		})
	}
}

// belowCapRates are the token rates of the model's busy steps whose power is under fleet.PowerCapFraction of
// the limit, in the test week.
func belowCapRates(s *sim.Sim, m sim.ModelTruth, step time.Duration) []float64 {
	var out []float64
	for at := simEpoch.Add(step); !at.After(simEnd); at = at.Add(step) {
		from := at.Add(-step)
		r := s.MeanTokensPerS(m.Model, sim.TokensTotal, from, at)
		limitW := float64(s.GPUsAt(m.Model, at)) * m.PowerCapWPerGPU
		if r >= sim.IdleTokensPerS && s.MeanPowerW(m.Model, from, at) < fleet.PowerCapFraction*limitW {
			out = append(out, r)
		}
	}
	return out
}
