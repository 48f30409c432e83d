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

// perSeries is an expression with one result per GPU series, built with extra matchers on its selectors. It
// must be usable as an operand of "*" (compound expressions come parenthesised).
type perSeries func(matchers ...string) string

// rangeFn is fn(metric{matchers}[window]) as a perSeries.
func (s schema) rangeFn(fn, metric string, window time.Duration) perSeries {
	return func(matchers ...string) string {
		return fmt.Sprintf("%s(%s[%s])", fn, s.selector(metric, matchers...), promDuration(window))
	}
}

// toModels labels each GPU series of expr with its model: joined to the models of the token series present in
// the last joinWindow, plus the GPUs no pod holds (join labels empty) without a model label, which decode as
// "unallocated". With a model label on the GPU series no join is needed.
func (s schema) toModels(expr perSeries, joinWindow time.Duration) string {
	if s.join.GPUModelLabel != "" {
		return expr()
	}
	empty := make([]string, len(s.join.GPULabels))
	for i, l := range s.join.GPULabels {
		empty[i] = l + `=""`
	}
	return fmt.Sprintf("%s * on %s group_left (%s) %s or %s",
		expr(), by(s.join.GPULabels), s.m.ModelLabel, s.models(joinWindow), expr(empty...))
}

// models is one series per (workload, model) whose token series had a sample in the last window, carrying
// the GPU side's join label names. last_over_time keeps pods that are gone by the time of evaluation.
func (s schema) models(window time.Duration) string {
	labels := append(append([]string{}, s.join.TokenLabels...), s.m.ModelLabel)
	q := fmt.Sprintf("group by %s (%s)", by(labels), s.rangeFn("last_over_time", s.m.GenerationTokensMetric, window)())
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
	return fmt.Sprintf("avg by %s (%s)", by(s.gpuBy()), s.toModels(s.rangeFn("avg_over_time", metric, gaugeRange(step)), joinWindow))
}

// PowerW is the mean power per placement over each step: summed per step it gives the step's energy. Where a
// GPU exports the energy counter its power comes from it, the step's exact energy: NVML's power gauge is an
// instantaneous reading on some GPUs (A100), so a scrape sees a sliver of each interval. The counter's series
// are summed per GPU (each counts for its own part of the step), the gauge's averaged (stepMean). A zero rate
// is no reading (VictoriaMetrics carries a counter's last sample into a scrape gap): a powered GPU's energy
// always grows, so the gauge, which has no sample there either, decides.
func (s schema) PowerW(step, joinWindow time.Duration) string {
	perGPU := s.stepMean(s.m.PowerMetric, step, joinWindow)
	if s.hasEnergy {
		counter := s.rangeFn("rate", s.m.EnergyMetric, s.engine.CounterRange(step))
		fromCounter := func(matchers ...string) string { return fmt.Sprintf("(%s / 1000 > 0)", counter(matchers...)) }
		perGPU = fmt.Sprintf("sum by %s (%s) or %s", by(s.gpuBy()), s.toModels(fromCounter, joinWindow), perGPU)
	}
	return fmt.Sprintf("sum by %s (%s)", by(s.placementBy()), perGPU)
}

// GPUs is the number of GPUs per placement that reported power within each step.
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
	return fmt.Sprintf("sum by %s (%s)", by(s.tokenBy()), s.rangeFn("rate", metric, s.engine.CounterRange(rateWindow))())
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

// EnergyJ is the energy per placement over the whole window from the energy counter (mJ), evaluated at its
// end: exact between scrapes, and each series counts for its own time, so a GPU whose pod restarted is neither
// lost nor counted twice. Placements without the counter take their energy from the steps' power
// (fetched.energyFromSteps), which needs no scrape interval.
func (s schema) EnergyJ(window time.Duration) string {
	counter := s.rangeFn("increase", s.m.EnergyMetric, s.engine.CounterRange(window))
	energy := func(matchers ...string) string { return fmt.Sprintf("(%s / 1000)", counter(matchers...)) }
	return fmt.Sprintf("sum by %s (%s)", by(s.placementBy()), s.toModels(energy, window))
}

// Tokens is one token counter's increase per model over the whole window, evaluated at its end.
func (s schema) Tokens(metric string, window time.Duration) string {
	return fmt.Sprintf("sum by (%s) (%s)", s.m.ModelLabel, s.rangeFn("increase", metric, s.engine.CounterRange(window))())
}

// familiesSelector matches every series of the given metric names, for the health check.
func (s schema) familiesSelector(metrics ...string) string {
	quoted := make([]string, len(metrics))
	for i, m := range metrics {
		quoted[i] = regexp.QuoteMeta(m)
	}
	return s.selector("", fmt.Sprintf(`__name__=~"%s"`, strings.Join(quoted, "|")))
}
