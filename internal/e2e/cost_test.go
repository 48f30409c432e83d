package e2e

import (
	"math"
	"regexp"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/framestest"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/source"
)

// prices are the simulated operator's; pricedSettings hand them to the plugin: the default site table with
// the price of each site the simulator prices, the rest at the default price per kWh.
var prices = sim.DefaultPrices()

func pricedSettings() map[string]any {
	sites := []map[string]any{}
	for _, s := range models.DefaultSites() {
		site := map[string]any{"name": s.Name, "hostPattern": s.HostPattern, "intensity": s.GPerKWh}
		for _, p := range prices.Sites {
			if regexp.MustCompile(s.HostPattern).MatchString(p.Domain) {
				site["pricePerKWh"] = p.PerKWh
			}
		}
		sites = append(sites, site)
	}
	gpus := []map[string]any{}
	for typ, perH := range prices.GPUPerH {
		gpus = append(gpus, map[string]any{"gpuType": typ, "costPerHour": perH})
	}
	return map[string]any{
		"carbon": map[string]any{"pue": pue, "sites": sites},
		"cost":   map[string]any{"currency": prices.Currency, "defaultPricePerKWh": prices.DefaultPerKWh, "gpus": gpus},
	}
}

// Tolerances. Energy cost is window energy (the energy counter's increase) at each host's price, over the
// covered time: power_w's tolerance (1%, the 20-minute scrape gap is out of the covered time). GPU cost is
// the GPUs held at each covered step: the 4-minute restart holds fewer, well under 1%. Per million tokens:
// J/token's 2% (the window's tokens). Idle cost: idle energy and the GPU-hours of idle steps, each known to
// idle_fraction's 0.02 (absolute), so 2% of the model's whole cost.
const (
	costTol         = 0.01
	costPerTokenTol = 0.02
	idleShareTol    = 0.02
)

func TestCostIsTheTruth(t *testing.T) {
	t.Parallel()
	got, truth := analyses(t, week, fleetSim, weekStart, weekEnd, pricedSettings(), models.QueryIdleAttribution, models.QueryFleetSummary, models.QueryRightSizing)
	table := rows(t, got[models.QueryIdleAttribution][0])
	unit, _ := got[models.QueryIdleAttribution][0].FieldByName("cost_per_h")
	require.NotNil(t, unit)
	assert.Equal(t, "currencyUSD", unit.Config.Unit)
	windowH := truth.End.Sub(truth.Start).Hours()

	for _, m := range truth.Models {
		t.Run(m.Model, func(t *testing.T) {
			row := table[m.Model]
			require.NotNil(t, row)
			energyPerH := prices.EnergyCost(m.EnergyJByHost, pue) / windowH
			gpuPerH := prices.GPUCostPerH(m)
			assert.InEpsilon(t, energyPerH, row["energy_cost_per_h"], costTol, "energy at each host's price x PUE")
			assert.InEpsilon(t, gpuPerH, row["gpu_cost_per_h"], costTol, "GPUs held x hourly cost")
			assert.InEpsilon(t, energyPerH+gpuPerH, row["cost_per_h"], costTol)
			t.Logf("cost per hour %.4f (truth %.4f), idle %.4f", row["cost_per_h"], energyPerH+gpuPerH, row["idle_cost_per_h"])
			idleFraction := math.Min(1, m.ParkedEnergyJ/m.EnergyJ)
			assert.InDelta(t, energyPerH*idleFraction+gpuPerH*m.IdleShare, row["idle_cost_per_h"], idleShareTol*(energyPerH+gpuPerH),
				"idle energy and the GPU-hours of idle steps")
			if tokens := m.PromptTokens + m.GenerationTokens; tokens > 0 {
				assert.InEpsilon(t, (energyPerH+gpuPerH)*windowH/tokens*1e6, row["cost_per_million_tokens"], costPerTokenTol)
			} else {
				assert.Nil(t, row["cost_per_million_tokens"], "no tokens, no cost per token")
				assert.InEpsilon(t, row["cost_per_h"], row["idle_cost_per_h"], 1e-9, "all of it idle")
			}
		})
	}
	t.Run("unallocated GPUs", func(t *testing.T) {
		row := table[source.UnallocatedModel]
		require.NotNil(t, row)
		assert.InEpsilon(t, prices.EnergyCost(truth.Unallocated.EnergyJByHost, pue)/windowH, row["energy_cost_per_h"], costTol)
		assert.InEpsilon(t, row["cost_per_h"], row["idle_cost_per_h"], 1e-9, "all of it idle")
	})
	t.Run("right-sizing savings per month", func(t *testing.T) {
		// The saved watts at the price the model's energy had (each host's price x PUE) and the freed GPUs'
		// hours, over a month of 730.5 h.
		oversized := 0
		for model, row := range rows(t, got[models.QueryRightSizing][0]) {
			m, ok := truth.Model(model)
			if !ok || row["oversized"] != true {
				continue
			}
			oversized++
			perJ := prices.EnergyCost(m.EnergyJByHost, pue) / m.EnergyJ
			want := (row["saving_w"].(float64)*3600*perJ + row["gpus_freed"].(float64)*prices.GPUPerH[m.GPUType]) * 730.5
			assert.InEpsilon(t, want, row["savings_per_month"], costTol, model)
			t.Logf("%s: %.0f W and %.0f GPUs saved: %.2f a month", model, row["saving_w"], row["gpus_freed"], row["savings_per_month"])
		}
		assert.Positive(t, oversized, "the default fleet has an oversized model")
	})
	t.Run("fleet summary", func(t *testing.T) {
		summary := got[models.QueryFleetSummary][0]
		energy := prices.EnergyCost(truth.Unallocated.EnergyJByHost, pue)
		for _, m := range truth.Models {
			energy += prices.EnergyCost(m.EnergyJByHost, pue)
		}
		// Every GPU of every node is held by a model or unallocated at every covered step.
		wantPerH := energy/windowH + prices.FleetGPUCostPerH(fleetSim.Spec())
		assert.InEpsilon(t, wantPerH, value(t, summary, "cost_per_h", 0), costTol)
		assert.InEpsilon(t, 24*value(t, summary, "idle_cost_per_h", 0), value(t, summary, "idle_cost_per_day", 0), 1e-12)
	})
}

// value is a number field's value at row i; it fails on null.
func value(t *testing.T, f *data.Frame, name string, i int) float64 {
	t.Helper()
	field, _ := f.FieldByName(name)
	require.NotNil(t, field, name)
	v, ok := field.ConcreteAt(i)
	require.True(t, ok, "%s is null", name)
	return v.(float64)
}

func TestNamespacesSumToTheFleet(t *testing.T) {
	t.Parallel()
	prom := week.Server(t)
	p := startPlugin(t)
	got := answer(t, p, settingsFor(prom.URL, pricedSettings()), nil,
		query("fleet", models.QueryFleetSummary, "", weekStart, weekEnd),
		query("teams", models.QueryFleetSummary, `,"groupBy":"namespace"`, weekStart, weekEnd),
		query("table", models.QueryIdleAttribution, `,"groupBy":"namespace"`, weekStart, weekEnd),
		query("models over time", models.QueryFleetTimeseries, `,"metric":"cost_per_h"`, weekStart, weekEnd),
		query("teams over time", models.QueryFleetTimeseries, `,"metric":"cost_per_h","groupBy":"namespace"`, weekStart, weekEnd))
	truth := truthOver(fleetSim, gridOf(t, weekStart, weekEnd))
	windowS := truth.End.Sub(truth.Start).Seconds()

	fleetFrame, teams := got["fleet"][0], got["teams"][0]
	require.Equal(t, data.FrameTypeNumericLong, teams.Meta.Type)
	for _, field := range []string{"power_w", "idle_w", "tokens_per_s", "co2_kg_per_day", "gpus", "cost_per_h", "energy_cost_per_h", "gpu_cost_per_h", "idle_cost_per_h"} {
		total := 0.0
		for i := range teams.Rows() {
			total += value(t, teams, field, i)
		}
		assert.InEpsilon(t, value(t, fleetFrame, field, 0), total, 1e-9, "%s: the namespaces add up to the fleet", field)
	}

	// Over time, the namespaces' cost per hour adds up to the models' at every step.
	require.Len(t, got["teams over time"], 3, "nrp-llm, sdsc-llm and the unallocated GPUs")
	assert.Equal(t, data.Labels{"namespace": "nrp-llm"}, got["teams over time"][1].Fields[1].Labels)
	modelSteps, teamSteps := framestest.StepSums(got["models over time"]), framestest.StepSums(got["teams over time"])
	require.NotEmpty(t, modelSteps)
	require.Len(t, teamSteps, len(modelSteps))
	for at, v := range modelSteps {
		assert.InEpsilon(t, v, teamSteps[at], 1e-9, "cost per hour at %s", at)
	}

	byNamespace := map[string][]sim.ModelTruth{}
	for _, m := range truth.Models {
		byNamespace[m.Namespace] = append(byNamespace[m.Namespace], m)
	}
	teamRows := rowsBy(t, teams, "namespace")
	tableRows := rowsBy(t, got["table"][0], "namespace")
	require.Len(t, teamRows, len(byNamespace)+1, "the namespaces, and the unallocated GPUs under none")
	for ns, ms := range byNamespace {
		require.Greater(t, len(ms), 1, "%s owns several models", ns)
		var energyJ, costPerH float64
		for _, m := range ms {
			energyJ += m.EnergyJ
			costPerH += prices.EnergyCost(m.EnergyJByHost, pue)/(windowS/3600) + prices.GPUCostPerH(m)
		}
		assert.InEpsilon(t, energyJ/windowS, teamRows[ns]["power_w"], costTol, "%s power", ns)
		assert.InEpsilon(t, costPerH, teamRows[ns]["cost_per_h"], costTol, "%s cost per hour", ns)
		t.Logf("%s: %d models, cost per hour %.4f (truth %.4f)", ns, len(ms), teamRows[ns]["cost_per_h"], costPerH)
		assert.InEpsilon(t, float64(len(ms)), tableRows[ns]["models"], 1e-12, "%s models", ns)
		assert.InEpsilon(t, teamRows[ns]["idle_cost_per_h"], tableRows[ns]["idle_cost_per_h"], 1e-12, "%s: the table and the summary agree", ns)
	}
}

func TestWithoutPricesTheCostIsEmptyAndSaysWhy(t *testing.T) {
	t.Parallel()
	got, _ := analyses(t, week, fleetSim, weekStart, weekEnd, carbonSettings, models.QueryIdleAttribution)
	table := got[models.QueryIdleAttribution][0]
	for _, name := range []string{"cost_per_h", "energy_cost_per_h", "gpu_cost_per_h", "idle_cost_per_h", "cost_per_million_tokens"} {
		field, _ := table.FieldByName(name)
		require.NotNil(t, field, name)
		for i := range field.Len() {
			assert.Nil(t, field.At(i).(*float64), "%s of row %d: no price, no figure", name, i)
		}
		assert.Empty(t, field.Config.Unit, "no currency")
	}
	var texts []string
	for _, n := range table.Meta.Notices {
		texts = append(texts, n.Text)
	}
	assert.Contains(t, texts, "No prices are set, so the cost fields are empty: set the currency, the price per kWh of the sites "+
		"(or a default price per kWh) and the hourly cost per GPU type in the data source settings (Cost).")
}
