package source

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/promclient"
)

const (
	// maxConcurrentQueries bounds the queries one fleet read runs at a time.
	maxConcurrentQueries = 4
	// rateWindowScrapes is the number of scrape intervals a rate window spans at least, like Grafana's
	// $__rate_interval: enough samples for rate() to survive a missed scrape.
	rateWindowScrapes = 4
	// maxSeriesPerQuery bounds one answer (see limited).
	maxSeriesPerQuery = 50000
	// maxPointsPerQuery bounds the floats one range answer fills (series x steps): 80 MB.
	maxPointsPerQuery = 10_000_000
	// UnallocatedModel names the group of GPUs that no pod holds.
	UnallocatedModel = "unallocated"
)

// RateWindow is the window of rate() for a step: the step, but never fewer than four scrapes, so a missed
// scrape leaves enough samples (Grafana's $__rate_interval serves the same purpose).
func RateWindow(step, scrape time.Duration) time.Duration {
	return max(step, rateWindowScrapes*scrape)
}

// GridOf is the grid of a planned request: Start, Start+Step, ..., End.
func GridOf(req Request) fleet.Grid {
	n := 1
	if req.Step > 0 && req.End.After(req.Start) {
		n = int(req.End.Sub(req.Start)/req.Step) + 1
	}
	return fleet.Grid{Start: req.Start, Step: req.Step, N: n}
}

// read reads every model over the request's window with a fixed set of queries, whatever the fleet's size:
// per-step power, GPU count and power limit per placement and token rates per model (range queries), and
// energy and token totals over the whole window (instant queries at its end). They run concurrently, at most
// maxConcurrentQueries at a time.
func (p *Prometheus) read(ctx context.Context, req Request) (*fleet.Fleet, error) {
	if req.Step <= 0 || req.End.Before(req.Start) {
		return nil, backend.PluginErrorf("the fleet was asked for an empty grid (start %s, end %s, step %s)", req.Start, req.End, req.Step)
	}
	grid := GridOf(req)
	// The window the grid covers: each step t stands for (t-step, t].
	window := grid.Span()
	d, notices, err := p.discover(ctx, req.Start.Add(-req.Step), req.End)
	if err != nil {
		return nil, err
	}
	// The rate window follows the token series' real scrape interval: a setting that says 30s where
	// Prometheus scrapes every 2m would leave rate() a single sample.
	rateWindow := RateWindow(req.Step, d.intervals.or(p.cfg.Scrape()).Tokens)
	s := newSchema(p.cfg, d.join, d.hasEnergy, d.hasLimit)
	s.engine, s.serving = d.engine, d.serving
	var q quantities = s
	useRecorded, recordedNotices, err := p.useRecorded(ctx, d, req)
	if err != nil {
		return nil, err
	}
	if useRecorded {
		grid = recordedGrid(grid)
		window = grid.Span()
		q, rateWindow = recorded{s: s, names: p.recordedNames()}, grid.Step
	}
	needs := req.Needs
	if needs == 0 {
		needs = NeedAll
	}
	if needs&(NeedWindowTotals|NeedGPUs) != 0 {
		// Energy comes from the steps' power, and the raw read counts the GPUs in the power's answer.
		needs |= NeedPowerW
	}
	plan := s.plan(q, grid, rateWindow, window, needs)
	if needs.Has(NeedIntensity) {
		plan = append(plan, intensityPlan(p.cfg.Carbon)...)
	}
	for i := range plan {
		plan[i].params = d.engine.Params(grid.Step, plan[i].instant, req.FromAlert)
		plan[i].recorded = useRecorded
	}
	res, err := p.run(ctx, plan, grid)
	if err != nil {
		return nil, err
	}
	if useRecorded {
		res.totalsFromSteps(grid.Step)
	} else if needs.Has(NeedWindowTotals) {
		res.energyFromSteps(grid.Step)
	}
	f := &fleet.Fleet{
		Grid:         grid,
		Models:       res.models(grid),
		EnergySource: fleet.EnergyFromGauge,
		RateWindow:   rateWindow,
		Notices:      append(append(notices, recordedNotices...), res.notices...),
		Intensity:    res.intensity,
	}
	if d.hasEnergy {
		f.EnergySource = fleet.EnergyFromCounter
	}
	f.Notices = append(f.Notices, s.emptiness(f.Models)...)
	for _, q := range plan {
		f.ExecutedQueries = append(f.ExecutedQueries, q.executed(grid))
	}
	if res.warned {
		// Never kept as if it were the whole answer.
		f.Notices = append(f.Notices, d.engine.PartialNotice())
		return f, nil
	}
	p.fleets.put(req, f, p.now())
	return f, nil
}

// emptiness says why a fleet has nothing to show, so an empty panel is not a mystery.
func (s schema) emptiness(models []fleet.Model) []string {
	within := ""
	if s.filter != "" {
		within = fmt.Sprintf(" matching the label filter {%s}", s.filter)
	}
	if len(models) == 0 {
		return []string{fmt.Sprintf("Prometheus holds no series of %s or %s%s in this time range.", s.m.PowerMetric, s.m.GenerationTokensMetric, within)}
	}
	for _, m := range models {
		if !m.Unallocated && len(m.Placements) > 0 {
			return nil
		}
	}
	return []string{fmt.Sprintf("No GPU series of %s joins a model in this time range: check the join labels (%s) of the metric mapping, or that dcgm-exporter maps GPUs to pods.", s.m.PowerMetric, s.join.Describe())}
}

// fleetQuery is one PromQL query of a fleet read and where its answer goes.
type fleetQuery struct {
	// quantity names the query for users: "the power_w query".
	quantity string
	promql   string
	// instant queries are evaluated once at the end of the grid; the others over the grid.
	instant bool
	// optional queries may fail: the fleet is read without them, with a notice.
	optional bool
	// provides is the quantity the query reads.
	provides Quantities
	read     reader
	// params are the engine's own query parameters (Thanos' dedup, partial_response, max_source_resolution).
	params url.Values
	// recorded says the PromQL reads the recorded series of the recording rules, for logs and spans.
	recorded bool
	// setting names the setting a user wrote the PromQL in; empty for the plugin's own.
	setting string
}

// executed is the query as it ran, with its range, pasteable into Explore (PromQL ignores # comments).
func (q fleetQuery) executed(grid fleet.Grid) string {
	if q.instant {
		return fmt.Sprintf("# %s: instant query at %s%s\n%s", q.quantity, grid.End().UTC().Format(time.RFC3339), promclient.DescribeParams(q.params), q.promql)
	}
	return fmt.Sprintf("# %s: range query from %s to %s, step %s%s\n%s", q.quantity,
		grid.Start.UTC().Format(time.RFC3339), grid.End().UTC().Format(time.RFC3339), promDuration(grid.Step), promclient.DescribeParams(q.params), q.promql)
}

// fetched holds the decoded answers of one fleet read.
type fetched struct {
	powerW, gpus, powerLimitW map[placementKey]fleet.Series
	energyJ                   map[placementKey]float64
	// The token rates per serving pod; countPods says the pods are told apart (the join's workload labels), so
	// they count each model's replicas.
	promptPerPod, generationPerPod map[podKey]fleet.Series
	countPods                      bool
	// podTypes are the steps each pod's GPUs were of each type (PodGPUTypes).
	podTypes                       map[podKey]map[string]int
	serving                        ServingReads
	promptTokens, generationTokens map[string]float64
	namespaces                     map[string]map[string]bool
	notices                        []string
	// warned says the engine attached warnings to an answer: it may be partial.
	warned bool
	// intensity is the grid's carbon intensity per site (intensity.go).
	intensity map[string]fleet.Series
}

// reader makes, for one attempt, the sink an answer's series go to and the step that stores what it kept.
type reader = func(grid fleet.Grid) (seriesSink, func(*fetched))

// quantities is the PromQL of each per-step quantity of a fleet read: from the raw series (schema) or from the
// recorded ones (recorded).
type quantities interface {
	PowerLimitW(step, joinWindow time.Duration) string
	TokensPerS(metric string, rateWindow time.Duration) string
}

// perGPU reads the power of each GPU (schema): the placements' power and GPU counts come from one answer.
type perGPU interface {
	GPUPowerW(step, joinWindow time.Duration) string
}

// perPlacement reads the power and GPU count of each placement with a query each (recorded).
type perPlacement interface {
	PowerW(step, joinWindow time.Duration) string
	GPUs(step, joinWindow time.Duration) string
}

// windowTotals is the PromQL of the window totals, where they do not follow from the steps.
type windowTotals interface {
	EnergyJ(window, step time.Duration) string
	Tokens(metric string, window, step time.Duration) string
}

// plan is the fixed list of queries of one fleet read of the needed quantities, their PromQL from q: its length
// does not depend on the fleet. Their answers decode by s's labels. Each power sample is read once: the power
// answer gives power, GPU counts and, summed over the steps, the energy of placements without the counter; the
// joins and window totals read the token and energy counters once per few minutes where that is cheaper
// (see pointEvery).
func (s schema) plan(q quantities, grid fleet.Grid, rateWindow, window time.Duration, needs Quantities) []fleetQuery {
	step := grid.Step
	placements := func(dst func(*fetched) *map[placementKey]fleet.Series) reader {
		return func(grid fleet.Grid) (seriesSink, func(*fetched)) {
			out, dropped := map[placementKey]fleet.Series{}, 0
			return seriesInto(grid, s.placementOf, out, &dropped), func(f *fetched) { *dst(f) = out }
		}
	}
	gpuPower := func(grid fleet.Grid) (seriesSink, func(*fetched)) {
		power, gpus := map[placementKey]fleet.Series{}, map[placementKey]fleet.Series{}
		return gpusInto(grid, s.placementOf, power, gpus), func(f *fetched) { f.powerW, f.gpus = power, gpus }
	}
	tokenRates := func(dst func(*fetched) *map[podKey]fleet.Series) reader {
		return func(grid fleet.Grid) (seriesSink, func(*fetched)) {
			out, dropped, namespaces := map[podKey]fleet.Series{}, 0, map[string]map[string]bool{}
			return s.namespacesOf(seriesInto(grid, s.tokenPodOf, out, &dropped), namespaces), func(f *fetched) {
				*dst(f) = out
				f.countPods = len(s.join.TokenLabels) > 0
				for m, ns := range namespaces {
					if f.namespaces[m] == nil {
						f.namespaces[m] = map[string]bool{}
					}
					for n := range ns {
						f.namespaces[m][n] = true
					}
				}
				if dropped > 0 {
					f.notices = append(f.notices, fmt.Sprintf("%d token series without a %s label were left out.", dropped, s.m.ModelLabel))
				}
			}
		}
	}
	totals := func(key func(model.Metric) (string, bool), dst func(*fetched) *map[string]float64) reader {
		return func(fleet.Grid) (seriesSink, func(*fetched)) {
			out, dropped := map[string]float64{}, 0
			return valuesInto(key, out, &dropped), func(f *fetched) { *dst(f) = out }
		}
	}
	energy := func(fleet.Grid) (seriesSink, func(*fetched)) {
		out, dropped := map[placementKey]float64{}, 0
		return valuesInto(s.placementOf, out, &dropped), func(f *fetched) { f.energyJ = out }
	}
	var qs []fleetQuery
	switch p := q.(type) {
	case perGPU:
		qs = append(qs, fleetQuery{quantity: "power_w", provides: NeedPowerW, promql: p.GPUPowerW(step, rateWindow), read: gpuPower})
	case perPlacement:
		qs = append(qs,
			fleetQuery{quantity: "power_w", provides: NeedPowerW, promql: p.PowerW(step, rateWindow), read: placements(func(f *fetched) *map[placementKey]fleet.Series { return &f.powerW })},
			fleetQuery{quantity: "gpus", provides: NeedGPUs, promql: p.GPUs(step, rateWindow), read: placements(func(f *fetched) *map[placementKey]fleet.Series { return &f.gpus })})
	}
	qs = append(qs,
		fleetQuery{quantity: "prompt_tokens_per_s", provides: NeedTokenRates, promql: q.TokensPerS(s.m.PromptTokensMetric, rateWindow), read: tokenRates(func(f *fetched) *map[podKey]fleet.Series { return &f.promptPerPod })},
		fleetQuery{quantity: "generation_tokens_per_s", provides: NeedTokenRates, promql: q.TokensPerS(s.m.GenerationTokensMetric, rateWindow), read: tokenRates(func(f *fetched) *map[podKey]fleet.Series { return &f.generationPerPod })},
	)
	if t, ok := q.(windowTotals); ok {
		if s.hasEnergy {
			qs = append(qs, fleetQuery{quantity: "energy_j", provides: NeedWindowTotals, promql: t.EnergyJ(window, step), instant: true, read: energy})
		}
		qs = append(qs,
			fleetQuery{quantity: "prompt_tokens", provides: NeedWindowTotals, promql: t.Tokens(s.m.PromptTokensMetric, window, step), instant: true, read: totals(s.tokenModelOf, func(f *fetched) *map[string]float64 { return &f.promptTokens })},
			fleetQuery{quantity: "generation_tokens", provides: NeedWindowTotals, promql: t.Tokens(s.m.GenerationTokensMetric, window, step), instant: true, read: totals(s.tokenModelOf, func(f *fetched) *map[string]float64 { return &f.generationTokens })},
		)
	}
	if s.hasLimit {
		qs = append(qs, fleetQuery{quantity: "power_limit_w", provides: NeedPowerLimits, promql: q.PowerLimitW(step, rateWindow), optional: true,
			read: placements(func(f *fetched) *map[placementKey]fleet.Series { return &f.powerLimitW })})
	}
	if _, raw := q.(schema); raw && len(s.join.TokenLabels) > 0 {
		qs = append(qs, fleetQuery{quantity: "pod_gpu_types", provides: NeedTokenRates | NeedGPUs, promql: s.PodGPUTypes(), optional: true, read: s.podTypesReader})
	}
	if needs.Has(NeedServing) {
		qs = append(qs, s.servingPlan(s.serving, step, rateWindow, window)...)
	}
	return slices.DeleteFunc(qs, func(q fleetQuery) bool { return !needs.Has(q.provides) })
}

// run executes the plan concurrently, at most maxConcurrentQueries at a time. Answers are decoded as they
// stream in, straight onto the grid.
func (p *Prometheus) run(ctx context.Context, plan []fleetQuery, grid fleet.Grid) (*fetched, error) {
	out := &fetched{namespaces: map[string]map[string]bool{}}
	var mu sync.Mutex
	tasks := make([]func(context.Context) error, len(plan))
	for i, q := range plan {
		tasks[i] = func(ctx context.Context) error {
			what := fmt.Sprintf("the %s query", q.quantity)
			rng, steps := v1.Range{Start: grid.Start, End: grid.End(), Step: grid.Step}, grid.N
			if q.instant {
				rng, steps = v1.Range{End: grid.End()}, 1
			}
			warned := false
			ctx, observed := p.obs.query(ctx, q)
			res, err := promclient.Call(ctx, p.client, what, func(ctx context.Context) (func(*fetched), v1.Warnings, v1.Infos, error) {
				sink, apply := q.read(grid)
				warnings, infos, err := p.client.StreamQuery(ctx, q.promql, rng, q.params, limited(observed.attempt(sink), steps, what))
				warned = len(warnings) > 0
				return apply, warnings, infos, err
			})
			observed.end(err)
			if q.setting != "" {
				err = userQueryFailure(what, q.setting, err)
			}
			mu.Lock()
			defer mu.Unlock()
			out.warned = out.warned || warned
			out.notices = append(out.notices, res.Notices...)
			switch {
			case err != nil && q.optional && ctx.Err() == nil:
				out.notices = append(out.notices, fmt.Sprintf("Left out %s: %v", q.quantity, err))
				return nil
			case err != nil:
				return err
			}
			res.Value(out)
			return nil
		}
	}
	return out, runAll(ctx, maxConcurrentQueries, tasks)
}

// models assembles the answers into models, sorted by name with the unallocated GPUs last. Every series is
// on the grid; what a query did not answer is missing (NaN), and a power limit nobody exports is nil.
func (f *fetched) models(grid fleet.Grid) []fleet.Model {
	byName := map[string]*fleet.Model{}
	get := func(name string) *fleet.Model {
		if m, ok := byName[name]; ok {
			return m
		}
		m := &fleet.Model{Name: name, PromptTokens: math.NaN(), GenerationTokens: math.NaN()}
		if name == "" {
			m.Name, m.Unallocated = UnallocatedModel, true
		}
		byName[name] = m
		return m
	}
	keys := map[placementKey]bool{}
	for _, series := range []map[placementKey]fleet.Series{f.powerW, f.gpus, f.powerLimitW} {
		for k := range series {
			keys[k] = true
		}
	}
	for k := range f.energyJ {
		keys[k] = true
	}
	for k := range keys {
		energy, ok := f.energyJ[k]
		if !ok {
			energy = math.NaN()
		}
		m := get(k.Model)
		m.Placements = append(m.Placements, fleet.Placement{
			Host: k.Host, GPUType: k.GPUType,
			GPUs:        orMissing(f.gpus[k], grid.N),
			PowerW:      orMissing(f.powerW[k], grid.N),
			PowerLimitW: f.powerLimitW[k],
			EnergyJ:     energy,
		})
	}
	pods := f.byModel()
	for name := range pods {
		get(name)
	}
	for _, totals := range []map[string]float64{f.promptTokens, f.generationTokens} {
		for name := range totals {
			get(name)
		}
	}
	models := make([]fleet.Model, 0, len(byName))
	for name, m := range byName {
		m.Serving = f.serving.Serving(name)
		if v, ok := f.promptTokens[name]; ok {
			m.PromptTokens = v
		}
		if v, ok := f.generationTokens[name]; ok {
			m.GenerationTokens = v
		}
		m.Namespace = strings.Join(sortedKeys(f.namespaces[name]), ",")
		slices.SortFunc(m.Placements, func(a, b fleet.Placement) int {
			return cmp.Or(cmp.Compare(a.Host, b.Host), cmp.Compare(a.GPUType, b.GPUType))
		})
		models = append(models, splitByGPUType(*m, pods[name], f.podTypes, grid.N, f.countPods)...)
	}
	slices.SortFunc(models, func(a, b fleet.Model) int {
		if a.Unallocated != b.Unallocated {
			if a.Unallocated {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.GPUType(), b.GPUType()))
	})
	return models
}

func orMissing(s fleet.Series, n int) fleet.Series {
	if s == nil {
		return fleet.NewSeries(n)
	}
	return s
}

func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
