package plugin

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/promtest"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

// The day the grid tests read: the default fleet's second day, pinned, with the Texas exporter's outage
// (sim.DefaultGridGapAfter) inside it. The history is sampled every minute, the simulator's tick, and the
// queries ask for one-minute steps: each step's power and intensity are the samples of the tick it stands for.
var (
	gridEpoch = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	gridFrom  = gridEpoch.Add(24 * time.Hour)
	gridTo    = gridEpoch.Add(48 * time.Hour)
	gridStep  = time.Minute
)

// Sites as an operator would set them: California by its own expression, Texas and New York by the shared
// one (named after the exporter's region label), UNL with no live series at all; PUE per site, the fleet's
// elsewhere; embodied carbon for every GPU type of the fleet but the H100.
var gridSites = []struct {
	name, pattern, query string
	tableGPerKWh, pue    float64
}{
	{"California", `sdsc|ucsd\.edu|calit2`, `grid_intensity_carbon_actual{region="` + sim.RegionCalifornia + `"}`, 198, 1.3},
	{sim.RegionTexas, `tacc`, "", 393, 0},
	{sim.RegionNewYork, `nyu\.edu`, "", 174, 1.15},
	{"UNL", `unl\.edu`, "", 531, 1.25},
}

const (
	gridFleetPUE  = 1.1
	gridLifeYears = 4.0
)

var gridEmbodiedKg = map[string]float64{sim.A100SXM80.Name: 1500, sim.A100PCIe80.Name: 1400, sim.L40.Name: 900, sim.RTXA6000.Name: 800}

func gridSettings(t *testing.T) []byte {
	sites := []map[string]any{}
	for _, s := range gridSites {
		sites = append(sites, map[string]any{"name": s.name, "hostPattern": s.pattern, "intensity": s.tableGPerKWh, "pue": s.pue, "intensityQuery": s.query})
	}
	var embodied []map[string]any
	for gpu, kg := range gridEmbodiedKg {
		embodied = append(embodied, map[string]any{"gpuType": gpu, "kgCO2e": kg})
	}
	b, err := json.Marshal(map[string]any{
		"mode": "prometheus", "scrapeInterval": gridStep.String(),
		"carbon": map[string]any{
			"pue": gridFleetPUE, "sites": sites,
			"intensityQuery": "grid_intensity_carbon_actual", "intensitySiteLabel": "region",
			"embodied": embodied, "serviceLifeYears": gridLifeYears,
		},
	})
	require.NoError(t, err)
	return b
}

// gridTruth answers what the simulator says a host's grid did, with the site table where it has no series.
type gridTruth struct{ s *sim.Sim }

func (g gridTruth) site(host string) (tableGPerKWh, pue float64) {
	for _, s := range gridSites {
		if regexp.MustCompile(s.pattern).MatchString(host) {
			pue = s.pue
			if pue == 0 {
				pue = gridFleetPUE
			}
			return s.tableGPerKWh, pue
		}
	}
	panic("no site for " + host)
}

// gPerKWh is the intensity CO2 should use for the tick ending at t: the grid's, else the site table's.
func (g gridTruth) gPerKWh(host string, t time.Time) (float64, bool) {
	if v, ok := g.s.GridGPerKWh(host, t); ok {
		return v, true
	}
	table, _ := g.site(host)
	return table, false
}

// stale reports whether Prometheus still answers the last live sample at t although the series has ended
// (its 5-minute lookback after the exporter's outage began), and that sample's value.
func (g gridTruth) stale(host string, t time.Time) (float64, bool) {
	if _, live := g.s.GridGPerKWh(host, t); live {
		return 0, false
	}
	for back := gridStep; back <= sim.LookbackPad; back += gridStep {
		if v, live := g.s.GridGPerKWh(host, t.Add(-back)); live {
			return v, true
		}
	}
	return 0, false
}

func TestCarbonFollowsTheGridThroughPrometheus(t *testing.T) {
	s, err := sim.New(sim.DefaultFleet(gridEpoch, true), sim.DefaultSeed)
	require.NoError(t, err)
	dir := t.TempDir()
	path := filepath.Join(dir, "history.om")
	f, err := os.Create(path)
	require.NoError(t, err)
	_, err = s.WriteHistory(f, sim.HistoryOptions{Start: gridFrom.Add(-time.Hour), End: gridTo, Step: gridStep,
		Metrics: []string{sim.MetricPower, sim.MetricEnergy, sim.MetricPromptTokens, sim.MetricGenerationTokens, sim.MetricGridIntensity}})
	require.NoError(t, err)
	require.NoError(t, f.Close())
	srv := promtest.Start(t, promtest.Options{Backfill: path})

	inst, err := NewDatasource(context.Background(), backend.DataSourceInstanceSettings{URL: srv.URL, JSONData: gridSettings(t)})
	require.NoError(t, err)
	d := inst.(*Datasource)
	require.NoError(t, d.settingsErr)
	run := func(t *testing.T, queryType, json string) data.Frames {
		resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{{
			RefID: "A", QueryType: queryType, JSON: []byte(json), Interval: gridStep, MaxDataPoints: 100000,
			TimeRange: backend.TimeRange{From: gridFrom, To: gridTo},
		}}})
		require.NoError(t, err)
		require.NoError(t, resp.Responses["A"].Error)
		return resp.Responses["A"].Frames
	}
	truth := gridTruth{s}
	// One model per site: California (own expression), Texas (shared expression, with the outage), New York
	// (shared, idle all day), UNL (no series).
	models := map[string]string{"Qwen3.5-397B-A17B-FP8": sim.HostSDSCA100, "Llama-3.1-8B-Instruct": sim.HostTACCL40,
		"MiniMax-M2.5": sim.HostNYUA100, "Kimi-K2.5": sim.HostUNLA100}

	t.Run("CO2 per step is power x the grid's intensity at the step", func(t *testing.T) {
		frames := run(t, "fleet-timeseries", `{"metric":"co2_g_per_h"}`)
		checked, fallback, worst := 0, 0, 0.0
		for _, fr := range frames {
			host, ok := models[fr.Name]
			if !ok {
				continue
			}
			times, values := fr.Fields[0], fr.Fields[1]
			for i := range times.Len() {
				at := times.At(i).(time.Time)
				v, _ := values.ConcreteAt(i)
				if _, stale := truth.stale(host, at); v == nil || stale {
					continue
				}
				g, live := truth.gPerKWh(host, at)
				_, pue := truth.site(host)
				// Power and intensity are each tick's samples, so the only error is float rounding; 1% is the
				// issue's bound, far above it.
				want := s.ModelPowerW(fr.Name, at) * g * pue / 1000
				require.InEpsilon(t, want, v.(float64), 0.01, "%s at %s", fr.Name, at)
				require.InEpsilon(t, want, v.(float64), 1e-6, "%s at %s", fr.Name, at)
				worst = max(worst, math.Abs(v.(float64)/want-1))
				checked++
				if !live {
					fallback++
				}
			}
		}
		t.Logf("%d steps (%d at the table's intensity), worst relative error %.2g", checked, fallback, worst)
		// A day of minutes for four models, less the lookback after the outage began.
		assert.GreaterOrEqual(t, checked, 4*1440-10)
		// UNL all day and Texas during its outage fell back to the table.
		assert.GreaterOrEqual(t, fallback, 1440+int((sim.DefaultGridGapDuration-sim.LookbackPad)/gridStep))
		assert.Contains(t, noticeTexts(frames[0]), "the site table's static intensity at the others")
	})

	t.Run("window CO2, live share, dirtiest hours and SCI against the truth", func(t *testing.T) {
		frames := run(t, "idle-attribution", `{}`)
		table := frames[0]
		for name, host := range models {
			row := rowOf(t, table, name)
			var co2G, dirtyJ, liveSteps, steps, gpuHours float64
			var ticks, powers []float64
			_, pue := truth.site(host)
			// The grid's steps from gridFrom to gridTo, each standing for the minute up to it.
			for at := gridFrom; !at.After(gridTo); at = at.Add(gridStep) {
				p := s.ModelPowerW(name, at)
				g, live := truth.gPerKWh(host, at)
				if v, stale := truth.stale(host, at); stale {
					g, live = v, true // what Prometheus still answers
				}
				co2G += p * gridStep.Seconds() / 3.6e6 * g * pue
				steps++
				if live {
					liveSteps++
				}
				ticks, powers = append(ticks, g), append(powers, p)
				gpuHours += float64(s.GPUsAt(name, at)) * gridStep.Hours()
			}
			hours := steps * gridStep.Hours()
			// The plugin weighs the energy counter's window energy by the steps' intensities, which are the
			// truth's samples; increase() extrapolates the counter over at most the window's first minute, one
			// of 1441 steps whose power is within a few percent of the mean: well under 0.1%.
			assert.InEpsilon(t, co2G/hours, row["co2_g_per_h"], 1e-3, "%s: CO2", name)
			t.Logf("%s: CO2 %.2f g/h (truth %.2f), live share %v, SCI %v mg/token", name, row["co2_g_per_h"], co2G/hours, row["live_intensity_share"], row["sci_mg_per_token"])
			assert.InDelta(t, liveSteps/steps, row["live_intensity_share"], 1.0/1440, "%s: live share", name)
			wantSource := map[bool]string{true: "mixed", false: "live"}[liveSteps < steps]
			if liveSteps == 0 {
				wantSource = "table"
			}
			assert.Equal(t, wantSource, row["intensity_source"], name)

			// MiniMax idles all day: its idle energy in the dirtiest quarter of New York's minutes.
			if name == "MiniMax-M2.5" {
				order := make([]int, len(ticks))
				for i := range order {
					order[i] = i
				}
				slices.SortFunc(order, func(a, b int) int { return -cmpFloat(ticks[a], ticks[b]) })
				for _, i := range order[:len(order)/4] {
					dirtyJ += powers[i]
				}
				sum := 0.0
				for _, p := range powers {
					sum += p
				}
				// Ties at the quartile's edge (the curve is symmetric about its peak) may add a minute: 1/1440.
				assert.InDelta(t, dirtyJ/sum, row["idle_dirty_share"], 2.0/1440, "idle energy in New York's dirtiest hours")
			}

			// SCI: (operational + embodied) per token, embodied = GPU-hours x kg x 1000 / life hours.
			kg := gridEmbodiedKg[s.Spec().Models[slices.IndexFunc(s.Spec().Models, func(m sim.ModelSpec) bool { return m.Name == name })].GPUType]
			embodiedG := gpuHours * kg * 1000 / (gridLifeYears * 365.25 * 24)
			assert.InEpsilon(t, embodiedG/hours, row["embodied_gco2_per_h"], 1e-9, "%s: embodied", name)
			tokens := s.Tokens(name, sim.TokensTotal, gridFrom.Add(-gridStep), gridTo)
			if tokens > 0.1*hours*3600 {
				// Tokens come from increase() over the window, extrapolated over its first minute (one of 1441,
				// whose rate is within the traffic's noise of the mean): within 0.1%; with CO2's, SCI within 0.2%.
				assert.InEpsilon(t, (co2G+embodiedG)*1000/tokens, row["sci_mg_per_token"], 2e-3, "%s: SCI", name)
				assert.InEpsilon(t, co2G*1000/tokens, row["co2_mg_per_token"], 2e-3, "%s: operational CO2 per token", name)
			} else {
				assert.Nil(t, row["sci_mg_per_token"], "%s served nothing", name)
			}
		}
		_, h100 := rowOf(t, table, "Qwen3-32B")["embodied_gco2_per_h"].(float64)
		assert.False(t, h100, "no embodied figure for the H100: empty")
		assert.Contains(t, noticeTexts(table), "NVIDIA H100 80GB HBM3")
	})
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func noticeTexts(f *data.Frame) string {
	var out string
	for _, n := range f.Meta.Notices {
		out += n.Text + "\n"
	}
	return out
}
