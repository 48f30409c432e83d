package e2e

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/testhost"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/source"
)

// The default fleet's nodes sit at four NRP sites; their grid intensities (gCO2/kWh, EPA eGRID 2022, as NRP's
// carbon API uses them) are what the plugin's default site table must pick by hostname.
var siteGPerKWh = map[string]float64{
	sim.HostSDSCA6000: 198, sim.HostSDSCA100: 198, sim.HostUCSDA6000: 198, sim.HostCalit2: 198, sim.HostSDSCA100b: 198, // California
	sim.HostUNLA100: 531,
	sim.HostNYUA100: 174,
	sim.HostTACCL40: 393,
}

// The operator's carbon settings in these tests: the default site table and a PUE of 1.2.
const pue = 1.2

var carbonSettings = map[string]any{"carbon": map[string]any{"pue": pue}}

// co2G is the CO2 of energy drawn per host (J), at each host's site intensity and the PUE.
func co2G(t *testing.T, energyJByHost map[string]float64) float64 {
	t.Helper()
	g := 0.0
	for host, j := range energyJByHost {
		intensity, ok := siteGPerKWh[host]
		require.True(t, ok, "host %s has a site", host)
		g += j / 3.6e6 * intensity * pue
	}
	return g
}

func sum(m map[string]float64) float64 {
	total := 0.0
	for _, v := range m {
		total += v
	}
	return total
}

func TestIdleAttributionIsTheTruth(t *testing.T) {
	t.Parallel()
	got, truth := analyses(t, week, fleetSim, weekStart, weekEnd, carbonSettings, models.QueryIdleAttribution, models.QueryRightSizing)
	table := rows(t, got[models.QueryIdleAttribution][0])
	require.Len(t, table, len(truth.Models)+1, "every model and the unallocated GPUs")

	t.Run("measured idle floor per GPU type", func(t *testing.T) {
		// Right-sizing reports each model's idle floor: its own where it parked long enough, else its GPU type's,
		// pooled over the fleet.
		parkedTypes := map[string]bool{} // types holding an idle model: their floor must be measured
		for _, m := range truth.Models {
			parkedTypes[m.GPUType] = parkedTypes[m.GPUType] || m.Idle
		}
		floors := map[string]float64{}
		for model, row := range rows(t, got[models.QueryRightSizing][0]) {
			typ := row["gpu_type"].(string)
			want, ok := truth.GPUType(typ)
			require.True(t, ok, typ)
			assert.InEpsilon(t, want.ParkedW, row["idle_floor_w"], 0.05, "%s (%s)", typ, model)
			if parkedTypes[typ] {
				// A model that parked an hour or more has a floor of its own; the others the type's pooled one.
				assert.Contains(t, []any{string(fleet.IdleMeasured), string(fleet.IdleModel)}, row["idle_source"], "%s (%s)", typ, model)
			}
			floors[typ] = row["idle_floor_w"].(float64)
		}
		t.Logf("idle floors: %v", floors)
		assert.Len(t, floors, len(parkedTypes), "a floor for every GPU type of the fleet")
	})

	for _, m := range truth.Models {
		t.Run(m.Model, func(t *testing.T) {
			row := table[m.Model]
			require.NotNil(t, row)
			assert.Equal(t, m.GPUType, row["gpu_type"])
			assert.InDelta(t, float64(m.GPUs), row["gpus"], 0.05, "mean GPUs held")
			// The plugin divides the window's energy by the time it had data: the scrape gap's steps are out.
			assert.InEpsilon(t, m.MeanPowerW, row["power_w"], 0.01, "power W")
			assert.InDelta(t, math.Min(1, m.ParkedEnergyJ/m.EnergyJ), row["idle_fraction"], 0.02, "idle fraction: the parked share of the energy")
			wantGPerJ := co2G(t, m.EnergyJByHost) / sum(m.EnergyJByHost)
			assert.InEpsilon(t, wantGPerJ, row["co2_g_per_h"].(float64)/row["power_w"].(float64)/3600, 0.01, "CO2 per joule at its sites")

			// Kimi-K2.5 and MiniMax-M2.5 serve nothing. The Olmo idles too, but its rare bursts (if the week
			// has any) give it tokens and so a J/token; the idle fraction above holds for it all the same.
			tokens := m.PromptTokens + m.GenerationTokens
			if tokens == 0 {
				assert.Nil(t, row["j_per_token"], "no tokens, no J/token")
				assert.Nil(t, row["marginal_j_per_token"])
				assert.Nil(t, row["co2_mg_per_token"])
				assert.InDelta(t, 1, row["idle_fraction"], 1e-12)
				assert.InEpsilon(t, row["power_w"], row["idle_w"], 1e-12, "all of its power is idle")
				return
			}
			assert.InEpsilon(t, m.JPerToken, row["j_per_token"], 0.02, "J/token")
			if row["marginal_j_per_token"] == nil {
				// Left empty as within noise: the truth's productive power must then be within the spread of the
				// parked power the floor was measured from (the simulator's +-PowerNoiseW per GPU, and one 0.5 W bin
				// of the floor's histogram).
				productiveW := m.ProductiveEnergyJ / truth.End.Sub(truth.Start).Seconds()
				assert.Less(t, productiveW, float64(m.GPUs)*(2*fleetSim.Spec().PowerNoiseW+0.5), "marginal J/token left empty")
			} else {
				assert.InEpsilon(t, m.RealizedMarginalJPerToken, row["marginal_j_per_token"], 0.05, "marginal J/token")
			}
			assert.InEpsilon(t, co2G(t, m.EnergyJByHost)*1000/tokens, row["co2_mg_per_token"], 0.01, "mg CO2/token")
			if m.BusySteps >= fleet.MinFitSteps {
				// The fit's slope, beside the marginal figure: the simulated cost of one more token, within the
				// efficiency curve test's tolerance.
				assert.InEpsilon(t, m.MarginalJPerToken, row["fit_k_j_per_token"], 0.05, "fit slope")
			}
		})
	}

	t.Run("unallocated GPUs", func(t *testing.T) {
		row := table[source.UnallocatedModel]
		require.NotNil(t, row)
		assert.InEpsilon(t, truth.Unallocated.MeanPowerW, row["power_w"], 0.01)
		assert.InDelta(t, 1, row["idle_fraction"], 1e-12)
		assert.Nil(t, row["j_per_token"])
	})

	t.Run("NRP table", func(t *testing.T) {
		for model, jPerToken := range map[string]float64{"gpt-oss-120b": 0.26, "gemma-4-31B": 1.60, "Qwen3.5-397B-A17B-FP8": 43.5} {
			assert.InEpsilon(t, jPerToken, table[model]["j_per_token"], 0.05, model)
		}
	})
}

func TestEfficiencyCurveRecoversThePhysics(t *testing.T) {
	t.Parallel()
	got, truth := analyses(t, week, fleetSim, weekStart, weekEnd, nil, models.QueryEfficiencyCurve)
	frames := got[models.QueryEfficiencyCurve]
	fits := rows(t, frames[0])
	require.Len(t, frames, 1+2*len(fits), "the fit table, then bins and points per model")

	for _, m := range truth.Models {
		t.Run(m.Model, func(t *testing.T) {
			fit := fits[m.Model]
			require.NotNil(t, fit)
			switch {
			case m.BusySteps == 0:
				assert.Nil(t, fit["k_j_per_token"])
				assert.Contains(t, fit["reason"], "served no tokens", "an idle model has points but no fit")
				return
			case m.BusySteps < fleet.MinFitSteps:
				assert.Nil(t, fit["k_j_per_token"])
				assert.Contains(t, fit["reason"], fmt.Sprintf("a fit needs %d", fleet.MinFitSteps), "%d busy steps (rare bursts)", m.BusySteps)
				return
			}
			assert.Empty(t, fit["reason"])
			assert.InEpsilon(t, m.MarginalJPerToken, fit["k_j_per_token"], 0.05, "k = marginal J/token")
			// The simulated power is parked power plus k x rate: the fit's intercept is the parked power.
			assert.InEpsilon(t, float64(m.GPUs)*m.ParkedWPerGPU, fit["p0_w"], 0.05, "p0")
			if m.ThrottledShare == 0 {
				assert.Zero(t, fit["capped_steps"])
				assert.Nil(t, fit["cap_starts_tokens_per_s"])
				return
			}
			// Capped steps draw at least PowerCapFraction of the limit, so their rates start where the line
			// reaches it, and no step serves more than the GPUs' saturation rate.
			gpus := float64(m.GPUs)
			atFraction := (fleet.PowerCapFraction*m.PowerCapWPerGPU - m.ParkedWPerGPU) * gpus / m.MarginalJPerToken
			assert.Positive(t, fit["capped_steps"])
			assert.GreaterOrEqual(t, fit["cap_starts_tokens_per_s"], 0.98*atFraction)
			assert.LessOrEqual(t, fit["cap_starts_tokens_per_s"], m.SaturationTokensPerS)
		})
	}
}

// fleet-timeseries gives per model and step what the simulator says Prometheus holds: power averaged over the
// gauge's samples in the step, tokens/s from the counters' samples over the rate window, and the ratios of those.
func TestFleetTimeseriesFollowTheSimulatorStepByStep(t *testing.T) {
	t.Parallel()
	prom := week.Server(t)
	p := startPlugin(t)
	from := weekEnd.Add(-2 * 24 * time.Hour) // two days hold the scrape gap and reach the restart's lookback
	g := gridOf(t, from, weekEnd)
	rateWindow := source.RateWindow(g.Step, scrapeStep)
	truth := truthOver(fleetSim, g)
	var queries []testhost.Query
	for _, metric := range models.TimeseriesMetrics {
		queries = append(queries, query(metric, models.QueryFleetTimeseries, fmt.Sprintf(`,"metric":%q`, metric), from, weekEnd))
	}
	got := answer(t, p, settingsFor(prom.URL, carbonSettings), nil, queries...)
	series := map[string]map[string][]*float64{} // metric -> model -> values
	for _, metric := range models.TimeseriesMetrics {
		series[metric] = map[string][]*float64{}
		require.Len(t, got[metric], len(truth.Models)+1, "%s: a frame per model and the unallocated GPUs", metric)
		for _, f := range got[metric] {
			require.Len(t, f.Fields, 2)
			assert.Equal(t, data.FrameTypeTimeSeriesMulti, f.Meta.Type)
			require.Equal(t, g.N, f.Rows(), "%s: a value per step", metric)
			assert.True(t, g.Start.Equal(f.Fields[0].At(0).(time.Time)), "%s: the grid's first step", metric)
			v := f.Fields[1]
			assert.Equal(t, metric, v.Name)
			values := make([]*float64, v.Len())
			for i := range values {
				values[i] = v.At(i).(*float64)
			}
			series[metric][v.Labels["model"]] = values
		}
	}
	for _, m := range truth.Models {
		t.Run(m.Model, func(t *testing.T) {
			checked := 0
			for i := range g.N {
				at := g.At(i)
				if !fleetSim.Defined(at.Add(-max(g.Step, rateWindow)), at) {
					continue
				}
				checked++
				// A counter's range is a millisecond longer than its window. The week exports the energy counter,
				// so a step's power is the energy between the counter's first and last samples in the step over
				// their distance (rate() between samples that fall inside the step's range).
				energy, counter := sampleTimes(at.Add(-g.Step-time.Millisecond), at), sampleTimes(at.Add(-rateWindow-time.Millisecond), at)
				first, last := energy[0], energy[len(energy)-1]
				wantW := fleetSim.EnergyJ(m.Model, first, last) / last.Sub(first).Seconds()
				wantR := fleetSim.MeanTokensPerS(m.Model, sim.TokensTotal, counter[0], counter[len(counter)-1])
				power, tokens := series["power_w"][m.Model][i], series["tokens_per_s"][m.Model][i]
				require.NotNil(t, power, "power at %s", at)
				require.NotNil(t, tokens, "tokens at %s", at)
				require.InEpsilon(t, wantW, *power, 1e-6, "power_w at %s", at)
				require.InDelta(t, wantR, *tokens, 1e-6*math.Max(1, wantR), "tokens_per_s at %s", at)

				j, idle := series["j_per_token"][m.Model][i], series["idle_fraction"][m.Model][i]
				require.NotNil(t, idle)
				if wantR < models.DefaultIdleThreshold {
					require.Nil(t, j, "an idle step has no J/token, at %s", at)
					require.InDelta(t, 1, *idle, 1e-12, "an idle step's power is all idle, at %s", at)
				} else {
					require.NotNil(t, j, "at %s", at)
					require.InEpsilon(t, *power / *tokens, *j, 1e-9, "J/token = power / tokens at %s", at)
					gpus := float64(fleetSim.GPUsAt(m.Model, at))
					require.InDelta(t, math.Min(1, gpus*m.ParkedWPerGPU / *power), *idle, 0.01, "idle share of power at %s", at)
				}
				// One host per model outside its restart: CO2 is its power at that site's intensity.
				co2 := series["co2_g_per_h"][m.Model][i]
				require.NotNil(t, co2)
				host := onlyHost(t, m, at)
				require.InEpsilon(t, *power/1000*siteGPerKWh[host]*pue, *co2, 1e-9, "co2_g_per_h at %s", at)
			}
			assert.Greater(t, checked, g.N*9/10, "most steps are defined")
		})
	}
}

// sampleTimes are the history's sample times in (from, to].
func sampleTimes(from, to time.Time) []time.Time {
	var out []time.Time
	first := from.Truncate(scrapeStep).Add(scrapeStep)
	for t := first; !t.After(to); t = t.Add(scrapeStep) {
		out = append(out, t)
	}
	return out
}

// onlyHost is the host holding the model's GPUs at t.
func onlyHost(t *testing.T, m sim.ModelTruth, at time.Time) string {
	t.Helper()
	var hosts []string
	for _, p := range fleetSim.Placements(m.Model) {
		if fleetSim.PlacementGPUs(m.Model, p, at) > 0 {
			hosts = append(hosts, p.Host)
		}
	}
	require.Len(t, hosts, 1, "%s at %s", m.Model, at)
	return hosts[0]
}

func TestFleetSummaryTotalsTheFleet(t *testing.T) {
	t.Parallel()
	got, truth := analyses(t, week, fleetSim, weekStart, weekEnd, carbonSettings, models.QueryFleetSummary)
	frames := got[models.QueryFleetSummary]
	require.Len(t, frames, 1)
	require.Equal(t, data.FrameTypeNumericWide, frames[0].Meta.Type)
	value := func(name string) float64 {
		f, _ := frames[0].FieldByName(name)
		require.NotNil(t, f, name)
		return *f.At(0).(*float64)
	}

	windowS := truth.End.Sub(truth.Start).Seconds()
	energyJ, parkedJ, tokens, co2 := truth.Unallocated.EnergyJ, truth.Unallocated.EnergyJ, 0.0, co2G(t, truth.Unallocated.EnergyJByHost)
	gpus, idleGPUs := 0, 0
	for _, typ := range truth.Unallocated.GPUs {
		gpus += typ
		idleGPUs += typ
	}
	for _, m := range truth.Models {
		energyJ += m.EnergyJ
		parkedJ += math.Min(m.ParkedEnergyJ, m.EnergyJ)
		tokens += m.PromptTokens + m.GenerationTokens
		co2 += co2G(t, m.EnergyJByHost)
		gpus += m.GPUs
		if m.PromptTokens+m.GenerationTokens == 0 {
			idleGPUs += m.GPUs
		}
	}
	assert.InEpsilon(t, energyJ/windowS, value("power_w"), 0.01, "power W: all GPUs, the unallocated included")
	assert.InEpsilon(t, parkedJ/windowS, value("idle_w"), 0.02, "idle W: the parked power and the unallocated GPUs")
	assert.InEpsilon(t, tokens/windowS, value("tokens_per_s"), 0.01)
	assert.InEpsilon(t, energyJ/tokens, value("j_per_token"), 0.02, "fleet J/token: all energy over all tokens")
	assert.InEpsilon(t, co2/1000/(windowS/86400), value("co2_kg_per_day"), 0.01, "kg CO2 per day at each host's site")
	assert.InDelta(t, float64(gpus), value("gpus"), 0.05)
	assert.InDelta(t, float64(idleGPUs), value("idle_gpus"), 0.05, "GPUs of models that served nothing, and the unallocated")
}
