package source

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/promclient"
)

// exportedPrefix is what Prometheus puts before a target's own label name when it scrapes with
// honor_labels: false and the exporter already set that label (dcgm-exporter's pod mapping).
const exportedPrefix = "exported_"

// join says how GPU series find their model.
type join struct {
	// GPUModelLabel, when set, is a label on the GPU series that names the model: no join.
	GPUModelLabel string
	// GPULabels are the workload labels on the GPU series (namespace, pod or exported_namespace, exported_pod);
	// TokenLabels the same labels, in the same order, on the token series.
	GPULabels, TokenLabels []string
	// Exported says GPULabels are the exported_* ones.
	Exported bool
}

// resolveJoin picks the join from the mapping and the label names present on the power metric.
func resolveJoin(m models.Mapping, powerLabels map[string]bool) join {
	if m.GPUModelLabel != "" {
		return join{GPUModelLabel: m.GPUModelLabel}
	}
	exported := make([]string, len(m.JoinLabels))
	allExported := true
	for i, l := range m.JoinLabels {
		exported[i] = exportedPrefix + l
		allExported = allExported && powerLabels[exported[i]]
	}
	if m.JoinMode == "exported" || (m.JoinMode == "auto" && allExported) {
		return join{GPULabels: exported, TokenLabels: m.JoinLabels, Exported: true}
	}
	return join{GPULabels: m.JoinLabels, TokenLabels: m.JoinLabels}
}

// Describe says in a few words which labels carry the join, for the health check and notices.
func (j join) Describe() string {
	switch {
	case j.GPUModelLabel != "":
		return fmt.Sprintf("the GPU series' own %s label", j.GPUModelLabel)
	case j.Exported:
		return fmt.Sprintf("%s of the GPU series = %s of the token series", strings.Join(j.GPULabels, ", "), strings.Join(j.TokenLabels, ", "))
	}
	return strings.Join(j.GPULabels, ", ")
}

// schema is what the queries need to know: the mapping with its label filter tidied, how GPUs join models, and
// which optional metric families exist.
type schema struct {
	m         models.Mapping
	filter    string
	join      join
	hasEnergy bool
	hasLimit  bool
	scrape    time.Duration
	// engine decides the ranges of counters.
	engine promclient.Engine
	// keep are labels every sum keeps besides the placement's (recording rules keep the label filter's).
	keep []string
	// serving are the serving engine's signals that have series (discovery).
	serving ServingMetrics
	// offGrid says the queries are evaluated at times that are not multiples of their step (recording rules):
	// they read raw samples (see pointEvery).
	offGrid bool
}

func newSchema(cfg *models.Settings, j join, hasEnergy, hasLimit bool) schema {
	return schema{m: cfg.Mapping, filter: tidyFilter(cfg.Mapping.LabelFilter), join: j, hasEnergy: hasEnergy, hasLimit: hasLimit, scrape: cfg.Scrape()}
}

// tidyFilter accepts the label filter with or without braces and trailing commas, as people paste it.
func tidyFilter(f string) string {
	f = strings.TrimSpace(f)
	f = strings.TrimPrefix(f, "{")
	f = strings.TrimSuffix(f, "}")
	return strings.Trim(strings.TrimSpace(f), ",")
}

// modelLabel is the label that names the model in placement results.
func (s schema) modelLabel() string {
	if s.join.GPUModelLabel != "" {
		return s.join.GPUModelLabel
	}
	return s.m.ModelLabel
}

// placementBy groups by model, node and GPU type: the grain of fleet.Placement. Every host label is kept, so
// series named either way (Hostname, hostname) land on the same host after decoding.
func (s schema) placementBy() []string {
	by := []string{s.modelLabel()}
	by = append(by, s.m.HostLabels...)
	return append(append(by, s.m.GPUTypeLabel), s.keep...)
}

// gpuBy groups by placement and GPU, so one GPU counts once per step whatever its pod labels did.
func (s schema) gpuBy() []string { return append(s.placementBy(), s.m.GPULabels...) }

// selector is metric{matchers..., label filter}.
func (s schema) selector(metric string, matchers ...string) string {
	if s.filter != "" {
		matchers = append(matchers, s.filter)
	}
	if len(matchers) == 0 {
		return metric
	}
	return metric + "{" + strings.Join(matchers, ", ") + "}"
}

// PromQL ranges are closed on the left in Prometheus 2 and open in Prometheus 3, so a sample exactly on a step
// boundary (backfilled history, targets scraped in step with the query) would count in one and not the other.
// A gauge's range is a millisecond short of its window, so (t-window, t] holds its samples in both; a counter's
// a millisecond long (promclient.Engine.CounterRange), so the sample at t-window starts the increase in both, and
// increase and rate are exact.
const boundary = promclient.Boundary

func gaugeRange(window time.Duration) time.Duration { return window - boundary }

// promDuration writes a duration in seconds, or milliseconds when it has a fraction of a second.
func promDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", int64(d/time.Second))
	}
	return fmt.Sprintf("%dms", d.Milliseconds())
}

func by(labels []string) string { return "(" + strings.Join(labels, ", ") + ")" }

// rangeFn is fn(metric{label filter}[window]).
func (s schema) rangeFn(fn, metric string, window time.Duration) string {
	return fmt.Sprintf("%s(%s[%s])", fn, s.selector(metric), promDuration(window))
}

// toModels labels each GPU series of expr with its model: joined to the models of the token series in models
// (see models), while the GPUs no pod holds (join labels empty) match vector(1), which has no labels, and keep no
// model label, so they decode as "unallocated". expr is evaluated once, each of its samples read once; a token
// series without join labels would match the unallocated GPUs too, so it joins none. With a model label on the
// GPU series no join is needed. expr must be usable as an operand of "*".
func (s schema) toModels(expr, models string) string {
	if s.join.GPUModelLabel != "" {
		return expr
	}
	on := by(s.join.GPULabels)
	return fmt.Sprintf("%s * on %s group_left (%s) ((%s unless on %s vector(1)) or vector(1))", expr, on, s.m.ModelLabel, models, on)
}

// modelsWithin are the models whose token series had a sample in the last window (see models): last_over_time
// keeps pods that are gone by the time of evaluation, so a GPU's power over a step is joined to the model of
// every pod it served within the step. Read at pointEvery(step) where that reads fewer samples.
func (s schema) modelsWithin(window, step time.Duration) string {
	return s.models(fmt.Sprintf("last_over_time(%s)", s.rangeOf(s.m.GenerationTokensMetric, window, step)))
}

// lookbackDelta is Prometheus' default lookback: an instant selector sees a series' last sample up to this old.
const lookbackDelta = 5 * time.Minute

// pointEvery is the resolution at which a subquery sees every series that has a sample in its range without
// reading every sample: the largest whole number of seconds within lookbackDelta that divides step, so the
// subquery has a point at every step's end (the grid is aligned to its step) and one within lookbackDelta
// after every sample. 0, the raw samples, where that reads no fewer samples than the scrape interval, where no
// such divisor of a minute or more exists, off the grid, and on VictoriaMetrics, whose lookback follows the
// scrape interval.
func (s schema) pointEvery(step time.Duration) time.Duration {
	if s.offGrid || s.engine.Kind == models.EngineVictoriaMetrics || step%time.Second != 0 {
		return 0
	}
	for r := min(step, lookbackDelta); r >= time.Minute; r -= time.Second {
		if step%r != 0 {
			continue
		}
		if r <= s.scrape {
			return 0
		}
		return r
	}
	return 0
}

// rangeOf is metric[window], or the subquery metric[window:pointEvery(step)] where that reads fewer samples.
func (s schema) rangeOf(metric string, window, step time.Duration) string {
	every := ""
	if r := s.pointEvery(step); r > 0 {
		every = ":" + promDuration(r)
	}
	return fmt.Sprintf("%s[%s%s]", s.selector(metric), promDuration(window), every)
}

// models is one series per (workload, model) of the token series in tokens, carrying the GPU side's join
// label names.
func (s schema) models(tokens string) string {
	labels := append(append([]string{}, s.join.TokenLabels...), s.m.ModelLabel)
	q := fmt.Sprintf("group by %s (%s)", by(labels), tokens)
	if !s.join.Exported {
		return q
	}
	for i, l := range s.join.TokenLabels {
		q = fmt.Sprintf(`label_replace(%s, "%s", "$1", "%s", "(.*)")`, q, s.join.GPULabels[i], l)
	}
	return q
}

// stepMean is the mean of a GPU metric over each step, one value per GPU and model: a GPU whose pod restarted
// within the step has two series of the same model, their mean is its value and it counts once.
func (s schema) stepMean(metric string, step, joinWindow time.Duration) string {
	return fmt.Sprintf("avg by %s (%s)", by(s.gpuBy()), s.toModels(s.rangeFn("avg_over_time", metric, gaugeRange(step)), s.modelsWithin(joinWindow, step)))
}

// GPUPowerW is the mean power of each GPU over each step, a series per GPU and placement: summed per placement
// it is the placement's power (and, summed over the steps, its energy), counted per placement its GPUs, so one
// read of the power samples gives all three. Where a GPU exports the energy counter its power comes from it,
// the step's exact energy: NVML's power gauge is an instantaneous reading on some GPUs (A100), so a scrape sees
// a sliver of each interval. The counter's series are summed per GPU (each counts for its own part of the
// step), the gauge's averaged (stepMean). A zero rate is no reading (VictoriaMetrics carries a counter's last
// sample into a scrape gap): a powered GPU's energy always grows, so the gauge, which has no sample there
// either, decides.
func (s schema) GPUPowerW(step, joinWindow time.Duration) string {
	perGPU := s.stepMean(s.m.PowerMetric, step, joinWindow)
	if !s.hasEnergy {
		return perGPU
	}
	fromCounter := fmt.Sprintf("(%s / 1000 > 0)", s.rangeFn("rate", s.m.EnergyMetric, s.engine.CounterRange(step)))
	return fmt.Sprintf("sum by %s (%s) or %s", by(s.gpuBy()), s.toModels(fromCounter, s.modelsWithin(joinWindow, step)), perGPU)
}

// PowerW is the mean power per placement over each step (GPUPowerW summed), for the recording rules.
func (s schema) PowerW(step, joinWindow time.Duration) string {
	return fmt.Sprintf("sum by %s (%s)", by(s.placementBy()), s.GPUPowerW(step, joinWindow))
}

// GPUs is the number of GPUs per placement that reported power within each step, for the recording rules.
func (s schema) GPUs(step, joinWindow time.Duration) string {
	return fmt.Sprintf("count by %s (%s)", by(s.placementBy()), s.stepMean(s.m.PowerMetric, step, joinWindow))
}

// PowerLimitW is the summed power limit per placement over each step.
func (s schema) PowerLimitW(step, joinWindow time.Duration) string {
	return fmt.Sprintf("sum by %s (%s)", by(s.placementBy()), s.stepMean(s.m.PowerLimitMetric, step, joinWindow))
}

// TokensPerS is the rate of one token counter per model and serving pod (the join's workload labels, so the
// replicas can be counted); rate() handles counter resets.
func (s schema) TokensPerS(metric string, rateWindow time.Duration) string {
	return fmt.Sprintf("sum by %s (%s)", by(s.tokenBy()), s.rangeFn("rate", metric, s.engine.CounterRange(rateWindow)))
}

// tokenBy are the labels a token rate keeps: the model, its namespace and the workload labels of the join.
func (s schema) tokenBy() []string {
	out := []string{s.m.ModelLabel, s.m.NamespaceLabel}
	for _, l := range s.join.TokenLabels {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// Window totals are instant queries at the window's end: a counter's increase across a scrape gap counts,
// which the steps' rates cannot see. On long steps they read the counters at pointEvery(step) (a subquery),
// once per few minutes rather than once per sample. The range is a window plus promclient.Engine.CounterRange's boundary:
// from the sample (or point) one step before the grid's start to its end, whatever the engine's range
// boundaries.

// EnergyJ is the energy per placement over the whole window from the energy counter (mJ), each series counting
// for its own time, so a GPU whose pod restarted is neither lost nor counted twice. Placements without the
// counter take their energy from the steps' power (fetched.energyFromSteps), which needs no scrape interval.
func (s schema) EnergyJ(window, step time.Duration) string {
	energy := fmt.Sprintf("(increase(%s) / 1000)", s.rangeOf(s.m.EnergyMetric, s.engine.CounterRange(window), step))
	return fmt.Sprintf("sum by %s (%s)", by(s.placementBy()), s.toModels(energy, s.modelsWithin(window, step)))
}

// Tokens is one token counter's increase per model over the whole window.
func (s schema) Tokens(metric string, window, step time.Duration) string {
	return fmt.Sprintf("sum by (%s) (increase(%s))", s.m.ModelLabel, s.rangeOf(metric, s.engine.CounterRange(window), step))
}

// familiesSelector matches every series of the given metric names, for the health check.
func (s schema) familiesSelector(metrics ...string) string {
	quoted := make([]string, len(metrics))
	for i, m := range metrics {
		quoted[i] = regexp.QuoteMeta(m)
	}
	return s.selector("", fmt.Sprintf(`__name__=~"%s"`, strings.Join(quoted, "|")))
}
