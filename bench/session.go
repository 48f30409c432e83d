package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/promtest"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/testhost"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

// benchCase is what a dashboard sends in one request: one query type, or several together.
type benchCase struct {
	Name    string
	Queries []testhost.Query
}

// epoch is where every simulated history starts: a fixed date, so every session measures the same data.
var epoch = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

// panelQuery is a query as a 30-day dashboard panel 1000 points wide sends it.
func panelQuery(refID, queryType, options string, from, to time.Time) testhost.Query {
	return testhost.Query{
		RefID: refID, QueryType: queryType, JSON: fmt.Sprintf(`{"queryType":%q%s}`, queryType, options),
		From: from, To: to, Interval: 30 * time.Minute, MaxDataPoints: 1000,
	}
}

func cases(from, to time.Time) []benchCase {
	single := []benchCase{
		{Name: "fleet-timeseries (j_per_token)", Queries: []testhost.Query{panelQuery("A", "fleet-timeseries", `,"metric":"j_per_token"`, from, to)}},
		{Name: "efficiency-curve", Queries: []testhost.Query{panelQuery("A", "efficiency-curve", "", from, to)}},
		{Name: "idle-attribution", Queries: []testhost.Query{panelQuery("A", "idle-attribution", "", from, to)}},
		{Name: "right-sizing", Queries: []testhost.Query{panelQuery("A", "right-sizing", "", from, to)}},
		{Name: "consolidation", Queries: []testhost.Query{panelQuery("A", "consolidation", "", from, to)}},
	}
	all := benchCase{Name: allFive}
	for i, c := range single {
		q := c.Queries[0]
		q.RefID = string(rune('A' + i))
		all.Queries = append(all.Queries, q)
	}
	return append(single, all)
}

const allFive = "all five in one request"

// row is one case's medians.
type row struct {
	Fleet       fleetSize
	Case        string
	Floor       time.Duration
	HandWritten time.Duration
	Plugin      time.Duration
	// Bytes are the answers' bytes on the wire (gzip) per run.
	FloorBytes, HandWrittenBytes, PluginBytes int64
	// SamplesRead is what Prometheus loaded for the floor queries (stats=all); SamplesStored the samples the
	// families they read hold in the window, HandSamples what the hand-written query loaded.
	SamplesRead, SamplesStored, HandSamples int64
	// Panels is the number of concurrent requests of a dashboard load (0: one request); ColdSingle is one
	// request of the fleet's costliest single query type in a fresh process, timed alongside the loads.
	Panels     int
	ColdSingle time.Duration
	Queries    int
	PeakRSS    int64
	Err        string
}

// fleetInfo is what one fleet's setup was.
type fleetInfo struct {
	Fleet      fleetSize
	GPUs       int
	Backfill   backfilled
	LoadBefore string
	LoadAfter  string
}

type session struct {
	cfg    config
	rows   []row
	fleets []fleetInfo
	began  time.Time
}

func newSession(cfg config) *session { return &session{cfg: cfg, began: time.Now()} }

// measureFleet backfills one fleet, starts Prometheus on it and measures every case.
func (s *session) measureFleet(ctx context.Context, f fleetSize) error {
	spec := sim.ScaledFleet(f.Models, s.cfg.seed, epoch)
	fleetSim, err := sim.New(spec, s.cfg.seed)
	if err != nil {
		return err
	}
	info := fleetInfo{Fleet: f, LoadBefore: loadAverage()}
	for _, n := range spec.Nodes {
		info.GPUs += n.GPUs
	}
	from, to := epoch, epoch.Add(time.Duration(s.cfg.days)*24*time.Hour)
	dir, cleanup, err := s.fleetDir(f)
	if err != nil {
		return err
	}
	defer cleanup()
	logf("%d models at %s: backfilling %d days into %s", f.Models, f.Spacing, s.cfg.days, dir)
	prom, err := promtest.Launch(dir, promtest.Options{WriteBlocks: func(dataDir string) error {
		statsPath := filepath.Join(dir, "backfill.json")
		if hasBlocks(dataDir) {
			return readJSON(statsPath, &info.Backfill)
		}
		bf, err := writeBlocks(fleetSim, dataDir, from, to, f.Spacing)
		if err != nil {
			return err
		}
		info.Backfill = bf
		return writeJSON(statsPath, bf)
	}})
	if err != nil {
		return err
	}
	defer func() { _ = prom.Stop() }() // the benchmark's figures are taken; a server that will not stop changes none
	logf("%d series, %d samples, backfilled in %s", info.Backfill.Series, info.Backfill.Samples, info.Backfill.Took.Round(time.Second))
	proxy, err := newCountingProxy(prom.URL)
	if err != nil {
		return err
	}
	defer proxy.Close()
	api := promAPI{url: proxy.URL, client: &http.Client{}, timeout: queryTimeout, stored: map[storedKey]int64{}, read: map[promQuery]int64{}}
	settings := pluginSettings(proxy.URL, f.Spacing, false)
	for _, c := range cases(from, to) {
		if s.cfg.only != nil && !s.cfg.only[c.Name] {
			continue
		}
		r := row{Fleet: f, Case: c.Name}
		if err := s.measureCase(ctx, c, api, proxy, settings, &r); err != nil {
			r.Err = err.Error()
			logf("%s: %v", c.Name, err)
		}
		s.rows = append(s.rows, r)
	}
	if s.cfg.only == nil || s.cfg.only[dashboardLoad] {
		r := row{Fleet: f, Case: dashboardLoad}
		if err := s.measureDashboard(ctx, from, to, api, proxy, pluginSettings(proxy.URL, f.Spacing, true), &r); err != nil {
			r.Err = err.Error()
			logf("%s: %v", r.Case, err)
		}
		s.rows = append(s.rows, r)
	}
	info.LoadAfter = loadAverage()
	s.fleets = append(s.fleets, info)
	return nil
}

// runs is the number of timed runs of each measurement on fleet f.
func (s *session) runs(f fleetSize) int {
	if f.Runs >= 0 {
		return f.Runs
	}
	return s.cfg.runs
}

// queryTimeout is generous: the point is to measure, not to time out.
const queryTimeout = 10 * time.Minute

// pluginSettings is the data source as its user would set it up for this Prometheus: the scrape interval the
// history has, a timeout long enough for 1000 models, and the fleet cache off (every run reads Prometheus)
// unless cache says to keep its default (a dashboard load: a fresh process, so nothing is cached before it).
func pluginSettings(url string, scrape time.Duration, cache bool) testhost.Settings {
	js := map[string]any{"scrapeInterval": scrape.String(), "timeoutSeconds": queryTimeout.Seconds()}
	if !cache {
		js["cacheTTLSeconds"] = 0
	}
	b, _ := json.Marshal(js)
	return testhost.Settings{URL: url, JSONData: b}
}

// measureCase times the floor, the hand-written query and the plugin for one case, interleaved run by run so
// that a change in the machine's load touches all three alike. The plugin is a fresh process, so its peak RSS
// is this case's.
func (s *session) measureCase(ctx context.Context, c benchCase, api promAPI, proxy *countingProxy, settings testhost.Settings, r *row) error {
	p, err := testhost.Launch(s.cfg.plugin)
	if p != nil {
		defer p.Kill()
	}
	if err != nil {
		return err
	}
	// A first run (not timed) warms the plugin's discovery of the metric mapping and gives the queries it runs.
	floor, err := queryPlugin(ctx, p, settings, c)
	if err != nil {
		return err
	}
	if len(floor) == 0 {
		return fmt.Errorf("the plugin reported no executed queries")
	}
	r.Queries = len(floor)
	i := slices.IndexFunc(floor, func(q promQuery) bool { return q.Step > 0 })
	if i < 0 {
		return fmt.Errorf("the plugin ran no range query")
	}
	grid := floor[i]
	hand := promQuery{Name: "hand-written", PromQL: handWritten(grid.Step, r.Fleet.Spacing), Start: grid.Start, End: grid.End, Step: grid.Step}
	if r.SamplesRead, err = api.samplesRead(ctx, floor); err != nil {
		return err
	}
	if r.SamplesStored, err = api.samplesStored(ctx, floor); err != nil {
		return err
	}
	if r.HandSamples, err = api.samplesRead(ctx, []promQuery{hand}); err != nil {
		return err
	}
	proxy.take()
	var floors, hands, plugins []time.Duration
	for range s.runs(r.Fleet) {
		began := time.Now()
		if err := api.runAll(ctx, floor, s.cfg.concurrency); err != nil {
			return err
		}
		floors = append(floors, time.Since(began))
		r.FloorBytes = proxy.take()

		began = time.Now()
		if _, err := api.run(ctx, hand, nil); err != nil {
			return err
		}
		hands = append(hands, time.Since(began))
		r.HandWrittenBytes = proxy.take()

		began = time.Now()
		if _, err := queryPlugin(ctx, p, settings, c); err != nil {
			return err
		}
		plugins = append(plugins, time.Since(began))
		r.PluginBytes = proxy.take()
	}
	r.Floor, r.HandWritten, r.Plugin = median(floors), median(hands), median(plugins)
	// Without timed runs the untimed first request's peak stands.
	r.PeakRSS, err = peakRSS(p.Pid())
	logf("%d models, %s: floor %s, hand-written %s, plugin %s, peak RSS %d MB", r.Fleet.Models, c.Name, r.Floor, r.HandWritten, r.Plugin, r.PeakRSS>>20)
	return err
}

const dashboardLoad = "dashboard load"

// measureDashboard times loads of the provisioned dashboard, each in a fresh plugin process, and counts the
// samples its queries read. Run by run, it also times one request of the costliest single query type measured
// on the fleet in a fresh process (cold, like the load: discovery included) with the same settings.
func (s *session) measureDashboard(ctx context.Context, from, to time.Time, api promAPI, proxy *countingProxy, settings testhost.Settings, r *row) error {
	requests, err := dashboardPanels(s.cfg.dashboards, from, to)
	if err != nil {
		return err
	}
	r.Panels = len(requests)
	var costliest *benchCase
	if worst := s.costliestSingle(r.Fleet); worst != nil {
		i := slices.IndexFunc(cases(from, to), func(c benchCase) bool { return c.Name == worst.Case })
		costliest = &cases(from, to)[i]
	}
	var loads, colds []time.Duration
	var executed []promQuery
	proxy.take()
	// A dashboard is loaded at least once: its peak RSS and samples are measured without timed runs too.
	for range max(s.runs(r.Fleet), 1) {
		took, qs, rss, err := loadDashboard(ctx, s.cfg.plugin, settings, requests)
		if err != nil {
			return err
		}
		loads, executed, r.PeakRSS = append(loads, took), qs, max(r.PeakRSS, rss)
		r.PluginBytes = proxy.take()
		logf("%d models, %s of %d panels: %s, peak RSS %d MB", r.Fleet.Models, r.Case, r.Panels, took, rss>>20)
		if costliest != nil {
			took, _, _, err := loadDashboard(ctx, s.cfg.plugin, settings, [][]testhost.Query{costliest.Queries})
			if err != nil {
				return fmt.Errorf("%s, cold: %w", costliest.Name, err)
			}
			colds = append(colds, took)
			proxy.take()
			logf("%d models, %s in a fresh process: %s", r.Fleet.Models, costliest.Name, took)
		}
	}
	r.Plugin, r.Queries, r.ColdSingle = median(loads), len(executed), median(colds)
	if r.SamplesRead, err = api.samplesRead(ctx, executed); err != nil {
		return err
	}
	r.SamplesStored, err = api.samplesStored(ctx, executed)
	return err
}

// queryPlugin sends the case's request and returns the queries the plugin ran for it, each once (query types
// reading the same window share one read); any query's error fails the run.
func queryPlugin(ctx context.Context, p *testhost.Plugin, settings testhost.Settings, c benchCase) ([]promQuery, error) {
	resp, err := p.QueryData(ctx, settings, nil, c.Queries...)
	if err != nil {
		return nil, err
	}
	var executed []promQuery
	for _, q := range c.Queries {
		res, ok := resp.Responses[q.RefID]
		switch {
		case !ok:
			return nil, fmt.Errorf("no answer for %s", q.QueryType)
		case res.Error != nil:
			return nil, fmt.Errorf("%s answered %s", q.QueryType, firstLine(res.Error.Error()))
		case len(res.Frames) == 0 || res.Frames[0].Meta == nil:
			return nil, fmt.Errorf("%s answered no frame with metadata", q.QueryType)
		}
		qs, err := parseExecuted(executedOf(res))
		if err != nil {
			return nil, err
		}
		for _, q := range qs {
			if !slices.Contains(executed, q) {
				executed = append(executed, q)
			}
		}
	}
	return executed, nil
}

func executedOf(res backend.DataResponse) string { return res.Frames[0].Meta.ExecutedQueryString }

// handWritten is the correct J/token per model as a user writes it in Grafana's Prometheus data source: every
// power sample of each GPU averaged per step (the range a millisecond short of the step, so a sample on a step
// boundary counts once), joined to the model its pod serves at the step's end, summed per model, over the
// model's prompt + generation token rate at Grafana's $__rate_interval.
func handWritten(step, scrape time.Duration) string {
	rateInterval := fmt.Sprintf("%ds", int((max(step+scrape, 4*scrape)).Seconds()))
	return fmt.Sprintf(`sum by (model_name) (avg_over_time(DCGM_FI_DEV_POWER_USAGE[%[2]s]) * on (namespace, pod) group_left (model_name) group by (namespace, pod, model_name) (vllm:generation_tokens_total)) / sum by (model_name) (rate(vllm:prompt_tokens_total[%[1]s]) + rate(vllm:generation_tokens_total[%[1]s]))`, rateInterval, fmt.Sprintf("%dms", step.Milliseconds()-1))
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// fleetDir is where a fleet's Prometheus keeps its files: under -data, kept and reused; else removed after.
func (s *session) fleetDir(f fleetSize) (string, func(), error) {
	if s.cfg.dataRoot != "" {
		dir := filepath.Join(s.cfg.dataRoot, fmt.Sprintf("fleet-%d-models-%dd-%s-seed%d", f.Models, s.cfg.days, f.Spacing, s.cfg.seed))
		return dir, func() {}, os.MkdirAll(dir, 0o755)
	}
	dir, err := os.MkdirTemp("", "fleetbench-")
	return dir, func() { _ = os.RemoveAll(dir) }, err
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format(time.TimeOnly)}, args...)...)
}
