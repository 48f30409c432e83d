package source

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/promtest"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

// One Prometheus serves every integration test of the package. It holds the default simulated fleet (restart
// and scrape gap included) several times, each labelled as real clusters label it, under its own instance
// label, so each test reads one labelling through the label filter.
var (
	simEpoch = time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC)
	simWeek  = simEpoch.Add(7 * 24 * time.Hour)
	// The short variants cover the restart (day 3, 10:00) and the scrape gap (day 5, 02:00).
	messFrom = simEpoch.Add(3*24*time.Hour + 8*time.Hour)
	messTo   = simEpoch.Add(5*24*time.Hour + 4*time.Hour)
	// simScrape is the spacing of the history's samples: the settings' scrape interval.
	simScrape = time.Minute
)

// variant is one labelling of the simulated fleet and the settings that read it.
type variant struct {
	instance string
	naming   sim.Naming
	from, to time.Time
	// unread are families left out of the backfill to keep it small.
	unread  []string
	mapping func(*models.Mapping)
}

// neverRead are the families the plugin does not read.
var neverRead = []string{sim.MetricGPUUtil, sim.MetricRequestsRunning, "sglang:num_running_reqs"}

var variants = map[string]variant{
	// dcgm-exporter's pod mapping kept as namespace/pod, the energy counter exported, no power limit.
	"plain": {instance: "plain", from: simEpoch, to: simWeek, unread: []string{sim.MetricPowerLimit}},
	// Scraped with honor_labels: false: namespace/pod name the exporter, the workload's are exported_*.
	"exported": {instance: "exported", naming: sim.Naming{Exported: true}, from: messFrom, to: messTo},
	// SGLang counters, every label renamed, the 2026 exporters' hostname, no energy counter, and the model's
	// name on the GPU series too.
	"renamed": {
		instance: "renamed", from: messFrom, to: messTo,
		naming: func() sim.Naming {
			n := sim.SGLang()
			n.NoEnergyCounter = true
			n.HostLabel = "hostname"
			n.GPUModelLabel = "served_model"
			n.Labels = map[string]string{"model_name": "served_model_name", "namespace": "kube_namespace", "pod": "kube_pod", "modelName": "gpu_product", "UUID": "gpu_uuid"}
			return n
		}(),
		mapping: func(m *models.Mapping) {
			*m = models.SGLangMapping()
			m.ModelLabel = "served_model_name"
			m.NamespaceLabel = "kube_namespace"
			m.JoinLabels = []string{"kube_namespace", "kube_pod"}
			m.GPUTypeLabel = "gpu_product"
			m.GPULabels = []string{"gpu_uuid"}
		},
	},
}

var simProm = promtest.NewFixture(writeSimHistory)

func writeSimHistory(dir string) (promtest.Options, error) {
	s, err := sim.New(sim.DefaultFleet(simEpoch, true), sim.DefaultSeed)
	if err != nil {
		return promtest.Options{}, err
	}
	path := filepath.Join(dir, "fleet.om")
	f, err := os.Create(path)
	if err != nil {
		return promtest.Options{}, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	names := slices.Sorted(func(yield func(string) bool) {
		for name := range variants {
			if !yield(name) {
				return
			}
		}
	})
	for _, name := range names {
		v := variants[name]
		pr, pw := io.Pipe()
		go func() {
			_, err := s.WriteHistory(pw, sim.HistoryOptions{Start: v.from, End: v.to, Step: simScrape, Naming: v.naming, Instance: v.instance})
			pw.CloseWithError(err)
		}()
		if err := copyFamilies(w, pr, append(v.unread, neverRead...)); err != nil {
			return promtest.Options{}, fmt.Errorf("history of %s: %w", name, err)
		}
	}
	if _, err := w.WriteString("# EOF\n"); err != nil {
		return promtest.Options{}, err
	}
	if err := w.Flush(); err != nil {
		return promtest.Options{}, err
	}
	return promtest.Options{Backfill: path}, f.Close()
}

// copyFamilies copies a history without its # EOF and without the unread families.
func copyFamilies(w io.Writer, r io.Reader, unread []string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	skip := false
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.HasPrefix(line, []byte("# TYPE ")) || bytes.HasPrefix(line, []byte("# HELP ")) {
			skip = slices.Contains(unread, string(bytes.Fields(line)[2]))
		}
		if skip || string(line) == "# EOF" {
			continue
		}
		if _, err := w.Write(append(line, '\n')); err != nil {
			return err
		}
	}
	return sc.Err()
}

func TestMain(m *testing.M) {
	code := m.Run()
	simProm.Close()
	simVM.Close()
	os.Exit(code)
}

// simSource reads one variant from the shared Prometheus, its clock at the variant's end.
func simSource(t *testing.T, name string, mutate func(*models.Settings)) (*Prometheus, *sim.Sim) {
	t.Helper()
	return simSourceAt(t, simProm.Server(t).URL, name, mutate)
}

// simSourceAt reads one variant from the engine at url.
func simSourceAt(t *testing.T, url, name string, mutate func(*models.Settings)) (*Prometheus, *sim.Sim) {
	t.Helper()
	p, s, _ := countedSimSource(t, url, name, mutate)
	return p, s
}

// countedSimSource is simSourceAt with the transport that counts its requests to the engine.
func countedSimSource(t *testing.T, url, name string, mutate func(*models.Settings)) (*Prometheus, *sim.Sim, *countingTransport) {
	t.Helper()
	v := variants[name]
	cfg := testSettings(t, url, func(s *models.Settings) {
		s.ScrapeInterval = simScrape.String()
		if v.mapping != nil {
			v.mapping(&s.Mapping)
		}
		s.Mapping.LabelFilter = fmt.Sprintf(`instance=%q`, v.instance)
		if mutate != nil {
			mutate(s)
		}
	})
	p, ct := newTestSource(t, cfg, v.to)
	s, err := sim.New(sim.DefaultFleet(simEpoch, true), sim.DefaultSeed)
	require.NoError(t, err)
	return p, s, ct
}

// simStep is the step of the integration reads: 2017 points over the week.
const simStep = 5 * time.Minute

// readSim reads a variant's whole window at simStep: the grid's first step covers the window's first 5 minutes.
func readSim(t *testing.T, p *Prometheus, name string) *fleet.Fleet {
	t.Helper()
	v := variants[name]
	f, err := p.Fleet(context.Background(), Request{Start: v.from.Add(simStep), End: v.to, Step: simStep})
	require.NoError(t, err)
	return f
}

func byName(f *fleet.Fleet) map[string]*fleet.Model {
	out := map[string]*fleet.Model{}
	for i := range f.Models {
		out[f.Models[i].Name] = &f.Models[i]
	}
	return out
}

// checkAgainstTruth compares every model's per-step power, GPUs, GPU type and token rate with the truth at
// every step the truth defines (within 2%), and the window's energy and tokens (within 0.5%).
func checkAgainstTruth(t *testing.T, f *fleet.Fleet, s *sim.Sim) {
	t.Helper()
	g := f.Grid
	window := g.Span()
	truth := s.Truth(g.Start.Add(-g.Step), g.End(), g.Step)
	models := byName(f)
	assert.Len(t, f.Models, len(truth.Models)+1, "every model once, and the unallocated GPUs")
	for _, mt := range truth.Models {
		m, ok := models[mt.Model]
		if !assert.True(t, ok, "model %s is missing", mt.Model) {
			continue
		}
		power, gpus, tokens := m.PowerW(), m.GPUs(), m.TokensPerS(fleet.TokensTotal)
		checked, worstPower, worstTokens, worstAt := 0, 0.0, 0.0, time.Time{}
		for i := range g.N {
			at := g.At(i)
			if !s.Defined(at.Add(-f.RateWindow), at) {
				continue
			}
			checked++
			wantW := s.MeanPowerW(mt.Model, at.Add(-g.Step), at)
			require.InEpsilon(t, wantW, power[i], 0.02, "%s power at %s", mt.Model, at)
			worstPower = math.Max(worstPower, math.Abs(power[i]/wantW-1))
			require.Equal(t, float64(s.GPUsAt(mt.Model, at)), gpus[i], "%s GPUs at %s", mt.Model, at)
			wantTok := s.MeanTokensPerS(mt.Model, sim.TokensTotal, at.Add(-f.RateWindow), at)
			if at.Sub(simEpoch) <= f.RateWindow {
				continue
			}
			if wantTok < 1 {
				require.InDelta(t, wantTok, tokens[i], 0.02, "%s tok/s at %s", mt.Model, at)
			} else {
				require.InEpsilon(t, wantTok, tokens[i], 0.02, "%s tok/s at %s", mt.Model, at)
				if e := math.Abs(tokens[i]/wantTok - 1); e > worstTokens {
					worstTokens, worstAt = e, at
				}
			}
		}
		assert.Greater(t, checked, g.N*9/10, "%s: most steps are defined", mt.Model)
		for _, p := range m.Placements {
			assert.Equal(t, mt.GPUType, p.GPUType, "%s on %s", mt.Model, p.Host)
			checkPowerLimit(t, f, p, mt.PowerCapWPerGPU, mt.Model)
		}
		assert.Equal(t, mt.GPUType, m.GPUType())
		assert.InEpsilon(t, mt.EnergyJ-unseenJ(s, f, mt.Model), m.EnergyJ(), 0.005, "%s energy over %s (%s)", mt.Model, window, f.EnergySource)
		assert.InEpsilon(t, mt.PromptTokens+mt.GenerationTokens+1, m.Tokens(fleet.TokensTotal)+1, 0.005, "%s tokens over %s", mt.Model, window)
		t.Logf("%s: %d steps checked, worst power error %.2g, worst token rate error %.2g at %s", mt.Model, checked, worstPower, worstTokens, worstAt)
	}

	free, ok := models[UnallocatedModel]
	require.True(t, ok, "the unallocated GPUs are reported")
	assert.True(t, free.Unallocated)
	byType := map[string]int{}
	for _, p := range free.Placements {
		if n := p.GPUs[g.N-1]; !math.IsNaN(n) {
			byType[p.GPUType] += int(n)
		}
	}
	assert.Equal(t, truth.Unallocated.GPUs, byType, "unallocated GPUs by type at the end")
	unseen := 0.0
	if f.EnergySource == fleet.EnergyFromGauge {
		for _, iv := range gapsIn(s, f) {
			unseen += s.Truth(iv.Start, iv.End, g.Step).Unallocated.EnergyJ
		}
	}
	assert.InEpsilon(t, truth.Unallocated.EnergyJ-unseen, free.EnergyJ(), 0.005, "unallocated energy")
}

// gapsIn are the scrape gaps within the fleet's window.
func gapsIn(s *sim.Sim, f *fleet.Fleet) []sim.Interval {
	var out []sim.Interval
	for _, iv := range s.Undefined() {
		if iv.Reason == "scrape gap" && iv.Start.After(f.Grid.Start.Add(-f.Grid.Step)) && !iv.End.After(f.Grid.End()) {
			out = append(out, iv)
		}
	}
	return out
}

// unseenJ is the energy the power gauge cannot show: what the model drew while nothing was scraped. The energy
// counter's increase spans the gap, so it sees it all.
func unseenJ(s *sim.Sim, f *fleet.Fleet, model string) float64 {
	if f.EnergySource == fleet.EnergyFromCounter {
		return 0
	}
	j := 0.0
	for _, iv := range gapsIn(s, f) {
		j += s.EnergyJ(model, iv.Start, iv.End)
	}
	return j
}

// checkPowerLimit checks a placement's power limit: its GPUs' caps where the limit is exported, nil where not.
func checkPowerLimit(t *testing.T, f *fleet.Fleet, p fleet.Placement, capW float64, model string) {
	t.Helper()
	exported := strings.Contains(strings.Join(f.ExecutedQueries, "\n"), "# power_limit_w")
	if !exported {
		assert.Nil(t, p.PowerLimitW, "%s on %s: no limit series, no limit", model, p.Host)
		return
	}
	require.NotNil(t, p.PowerLimitW, "%s on %s", model, p.Host)
	for i, n := range p.GPUs {
		if !math.IsNaN(n) {
			require.InDelta(t, n*capW, p.PowerLimitW[i], 1e-9, "%s on %s: limit at step %d", model, p.Host, i)
		}
	}
}

// checkMess checks the steps the truth leaves undefined: across the restart the model stays one model with no
// spike, and in the scrape gap every quantity is missing.
func checkMess(t *testing.T, f *fleet.Fleet, s *sim.Sim) {
	t.Helper()
	g := f.Grid
	gemma := byName(f)["gemma-4-31B"]
	require.NotNil(t, gemma)
	capW := sim.RTXA6000.PowerCapW
	power, gpus := gemma.PowerW(), gemma.GPUs()
	for i := range g.N {
		if !math.IsNaN(power[i]) {
			require.LessOrEqual(t, power[i], 2*capW, "gemma's power at %s: no spike above two capped GPUs", g.At(i))
			require.LessOrEqual(t, gpus[i], 2.0, "gemma's GPUs at %s: never doubled", g.At(i))
		}
	}
	hosts := map[string]bool{}
	for _, p := range gemma.Placements {
		hosts[p.Host] = true
	}
	assert.Equal(t, map[string]bool{sim.HostSDSCA6000: true, sim.HostUCSDA6000: true}, hosts, "gemma moved nodes and stayed one model")

	var gap sim.Interval
	for _, iv := range s.Undefined() {
		if iv.Reason == "scrape gap" {
			gap = iv
		}
	}
	require.False(t, gap.Start.IsZero())
	inGap := 0
	for i := range g.N {
		at := g.At(i)
		// Steps whose whole rate window lies in the gap [Start, End) have no sample at all.
		if at.Add(-f.RateWindow).Before(gap.Start) || !at.Before(gap.End) {
			continue
		}
		inGap++
		for _, m := range f.Models {
			require.True(t, math.IsNaN(m.PowerW()[i]), "%s power in the gap at %s", m.Name, at)
			require.True(t, math.IsNaN(m.GPUs()[i]), "%s GPUs in the gap at %s", m.Name, at)
			if !m.Unallocated {
				require.True(t, math.IsNaN(m.TokensPerS(fleet.TokensTotal)[i]), "%s tokens in the gap at %s", m.Name, at)
			}
		}
	}
	assert.Positive(t, inGap, "the grid has steps in the gap")
}

func TestSimulatedWeek(t *testing.T) {
	p, s := simSource(t, "plain", nil)
	f := readSim(t, p, "plain")
	assert.Equal(t, fleet.EnergyFromCounter, f.EnergySource)
	assert.Equal(t, simStep, f.RateWindow, "the step, which spans more than four scrapes")
	checkAgainstTruth(t, f, s)
	checkMess(t, f, s)
}

func TestSimulatedWeekFromThePowerGauge(t *testing.T) {
	// The same data with the energy counter named as one nobody exports: energy from the gauge.
	p, s := simSource(t, "plain", func(cfg *models.Settings) {
		cfg.Mapping.EnergyMetric = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION_NOT_EXPORTED"
	})
	f := readSim(t, p, "plain")
	assert.Equal(t, fleet.EnergyFromGauge, f.EnergySource)
	checkAgainstTruth(t, f, s)
}

func TestExportedLabels(t *testing.T) {
	p, s := simSource(t, "exported", nil)
	f := readSim(t, p, "exported")
	checkAgainstTruth(t, f, s)
	checkMess(t, f, s)
	assert.Contains(t, f.ExecutedQueries[0], "on (exported_namespace, exported_pod)")

	// gpt-oss-120b and gemma-4-31B share a node, and so an exporter pod: joined on that pod they would be one
	// "model" of four GPUs. Each must hold its own two.
	models := byName(f)
	at, ok := f.Grid.Index(messFrom.Add(time.Hour)) // day 3, 09:00: before gemma's restart
	require.True(t, ok)
	for _, name := range []string{"gpt-oss-120b", "gemma-4-31B"} {
		m := models[name]
		require.NotNil(t, m, name)
		assert.Equal(t, 2.0, m.GPUs()[at], "%s holds its own two GPUs", name)
		i := slices.IndexFunc(m.Placements, func(p fleet.Placement) bool { return p.GPUs[at] > 0 })
		require.GreaterOrEqual(t, i, 0)
		assert.Equal(t, sim.HostSDSCA6000, m.Placements[i].Host, "%s before gemma's restart", name)
	}
	for _, m := range f.Models {
		assert.NotContains(t, m.Name, "dcgm-exporter", "no model named after the exporter")
	}
}

func TestNonDefaultMappingReadsTheSameFleet(t *testing.T) {
	// The "renamed" variant is the same fleet as "plain" with SGLang counters and every label renamed; only
	// the settings change. Over the same window both must read alike (energy aside: no counter there).
	renamed, s := simSource(t, "renamed", nil)
	got := readSim(t, renamed, "renamed")
	assert.Equal(t, fleet.EnergyFromGauge, got.EnergySource)
	checkAgainstTruth(t, got, s)
	checkMess(t, got, s)

	plain, _ := simSource(t, "plain", func(cfg *models.Settings) { cfg.Mapping.EnergyMetric = "NOT_EXPORTED" })
	want, err := plain.Fleet(context.Background(), Request{Start: got.Grid.Start, End: got.Grid.End(), Step: got.Grid.Step})
	require.NoError(t, err)
	assertSameFleet(t, want, got)
}

func TestModelLabelOnTheGPUSeries(t *testing.T) {
	// The "renamed" variant also carries the model's name on its GPU series: read with it, no join.
	p, s := simSource(t, "renamed", func(cfg *models.Settings) { cfg.Mapping.GPUModelLabel = "served_model" })
	got := readSim(t, p, "renamed")
	assert.NotContains(t, strings.Join(got.ExecutedQueries, "\n"), "group_left", "no join")
	checkAgainstTruth(t, got, s)
	checkMess(t, got, s)

	joined, _ := simSource(t, "renamed", nil)
	want, err := joined.Fleet(context.Background(), Request{Start: got.Grid.Start, End: got.Grid.End(), Step: got.Grid.Step})
	require.NoError(t, err)
	assertSameFleet(t, want, got)
}

// assertSameFleet compares two reads of the same fleet, placement by placement and step by step.
func assertSameFleet(t *testing.T, want, got *fleet.Fleet) {
	t.Helper()
	require.Equal(t, want.Grid, got.Grid)
	require.Len(t, got.Models, len(want.Models))
	for i, wm := range want.Models {
		gm := got.Models[i]
		require.Equal(t, wm.Name, gm.Name)
		assert.Equal(t, wm.Namespace, gm.Namespace, wm.Name)
		require.Len(t, gm.Placements, len(wm.Placements), wm.Name)
		for j, wp := range wm.Placements {
			gp := gm.Placements[j]
			assert.Equal(t, wp.Host, gp.Host, wm.Name)
			assert.Equal(t, wp.GPUType, gp.GPUType, wm.Name)
			assertSeriesClose(t, wp.PowerW, gp.PowerW, wm.Name+" power")
			assertSeriesClose(t, wp.GPUs, gp.GPUs, wm.Name+" GPUs")
			assert.InEpsilon(t, wp.EnergyJ+1, gp.EnergyJ+1, 1e-9, wm.Name+" energy")
		}
		assertSeriesClose(t, wm.PromptTokensPerS, gm.PromptTokensPerS, wm.Name+" prompt tok/s")
		assertSeriesClose(t, wm.GenerationTokensPerS, gm.GenerationTokensPerS, wm.Name+" generation tok/s")
		assert.InEpsilon(t, wm.PromptTokens+1, gm.PromptTokens+1, 1e-9, wm.Name)
		assert.InEpsilon(t, wm.GenerationTokens+1, gm.GenerationTokens+1, 1e-9, wm.Name)
	}
}

func assertSeriesClose(t *testing.T, want, got fleet.Series, what string) {
	t.Helper()
	require.Len(t, got, len(want), what)
	for i := range want {
		if math.IsNaN(want[i]) || math.IsNaN(got[i]) {
			require.Equal(t, math.IsNaN(want[i]), math.IsNaN(got[i]), "%s at step %d: %v vs %v", what, i, want[i], got[i])
			continue
		}
		require.InDelta(t, want[i], got[i], 1e-9*math.Max(1, math.Abs(want[i])), "%s at step %d", what, i)
	}
}

func TestSimulatedHealthAndValues(t *testing.T) {
	t.Run("plain", func(t *testing.T) {
		p, s := simSource(t, "plain", nil)
		h := p.Health(context.Background())
		assert.True(t, h.OK, h.Message)
		assert.Regexp(t, `^Connected to Prometheus 2\.\S+ \(detected from its build info\)\. Found GPU power, prompt tokens, generation tokens, energy counter\. GPUs join models on namespace, pod\. No power limit \(DCGM_FI_DEV_POWER_MGMT_LIMIT\): the catalog TDP stands in\.$`, h.Message)
		models, err := p.Values(context.Background(), ValueModels)
		require.NoError(t, err)
		want := s.Models()
		slices.Sort(want)
		assert.Equal(t, want, models)
		types, err := p.Values(context.Background(), ValueGPUTypes)
		require.NoError(t, err)
		assert.Equal(t, []string{sim.A100PCIe80.Name, sim.A100SXM80.Name, sim.H100SXM.Name, sim.L40.Name, sim.RTXA6000.Name}, types)
		namespaces, err := p.Values(context.Background(), ValueNamespaces)
		require.NoError(t, err)
		assert.Equal(t, []string{"nrp-llm", "sdsc-llm"}, namespaces)
	})
	t.Run("exported labels are detected", func(t *testing.T) {
		p, _ := simSource(t, "exported", nil)
		h := p.Health(context.Background())
		assert.True(t, h.OK, h.Message)
		assert.Equal(t, "exported (detected)", h.Details["joinMode"])
		assert.Equal(t, []string{"exported_namespace", "exported_pod"}, h.Details["joinLabels"])
	})
	t.Run("no energy counter is noted", func(t *testing.T) {
		p, _ := simSource(t, "renamed", nil)
		h := p.Health(context.Background())
		assert.True(t, h.OK, h.Message)
		assert.Contains(t, h.Message, "No energy counter (DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION): energy comes from the power gauge.")
		assert.Equal(t, "hostname", h.Details["hostLabel"])
	})
	t.Run("a mapping that matches nothing names what is missing", func(t *testing.T) {
		p, _ := simSource(t, "plain", func(cfg *models.Settings) { cfg.Mapping.PromptTokensMetric = "tgi_prompt_tokens_total" })
		h := p.Health(context.Background())
		assert.False(t, h.OK)
		assert.Contains(t, h.Message, "Found no series of prompt tokens (tgi_prompt_tokens_total) in the last 24h")
	})
}

// Save & test tries the grid intensity queries at the check's instant: the sites with a value now are named
// with it (the simulator's grid at that minute), those without are told the site table applies, and a query
// the engine refuses fails the check instead of leaving CO2 quietly on the table.
func TestHealthTriesTheGridIntensityQueries(t *testing.T) {
	sites := func(s *models.Settings) {
		s.Carbon.IntensityQuery, s.Carbon.IntensitySiteLabel = sim.MetricGridIntensity, "region"
		s.Carbon.Sites = []models.Site{
			{Name: "California", HostPattern: `sdsc`, GPerKWh: 198, IntensityQuery: fmt.Sprintf(`%s{region=%q}`, sim.MetricGridIntensity, sim.RegionCalifornia)},
			{Name: sim.RegionNewYork, HostPattern: `nyu\.edu`, GPerKWh: 174},
			{Name: "UNL", HostPattern: `unl\.edu`, GPerKWh: 531},
		}
	}
	p, s := simSource(t, "plain", sites)
	at := variants["plain"].to
	h := p.Health(context.Background())
	assert.True(t, h.OK, h.Message)
	var live []string
	for _, c := range []struct{ site, host string }{{"California", sim.HostSDSCA100}, {sim.RegionNewYork, sim.HostNYUA100}} {
		g, ok := s.GridGPerKWh(c.host, at)
		require.True(t, ok, "the simulated grid of %s has a value at %s", c.site, at)
		live = append(live, fmt.Sprintf("%s %.0f", c.site, g))
	}
	assert.Contains(t, h.Message, "Grid intensity now (gCO2/kWh): "+strings.Join(live, ", ")+".")
	assert.Contains(t, h.Message, "No live grid intensity for UNL: the site table applies there.")

	broken, _ := simSource(t, "plain", func(s *models.Settings) {
		sites(s)
		s.Carbon.Sites[0].IntensityQuery = sim.MetricGridIntensity + `{region=`
	})
	h = broken.Health(context.Background())
	assert.False(t, h.OK, h.Message)
	assert.Contains(t, h.Message, "the grid intensity query of California is not valid PromQL (")
	assert.Contains(t, h.Message, "correct the intensity query of site California in the data source's carbon settings")
	assert.NotContains(t, h.Message, "label filter", "the query is the user's, not the filter's fault")
}
