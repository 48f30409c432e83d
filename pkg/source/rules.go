package source

import (
	"context"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/promclient"
)

// Recording rules precompute, once a minute, what a fleet read needs per placement and per model, with the
// GPU-to-model join done once, in the rule. Reading them instead of the raw series reads a few series per model
// instead of several per GPU, and no join: see docs/scaling.md for the figures.

const (
	// RecordInterval is the resolution of the recorded series: the rules' evaluation interval.
	RecordInterval = time.Minute
	// gpuRollupInterval is the resolution of a second recording of the GPU counts, for long steps: GPU counts
	// change with deployments, not by the minute, and a 30-day read needs no count per minute.
	gpuRollupInterval = 5 * time.Minute
	// gpuRollupFrom is the least step that reads the 5-minute GPU counts: three of them or more per step, so
	// their evaluation lag (up to 5 minutes) is a small part of the step.
	gpuRollupFrom = 15 * time.Minute
)

// recordedNames are the recorded series of one prefix.
type recordedNames struct {
	powerW, gpus, gpus5m, powerLimitW, energyJ, promptTokens, generationTokens string
}

func recordedNamesOf(prefix string) recordedNames {
	return recordedNames{
		powerW:           prefix + ":gpu_power_watts:avg1m",
		gpus:             prefix + ":gpus:count1m",
		gpus5m:           prefix + ":gpus:count5m",
		powerLimitW:      prefix + ":gpu_power_limit_watts:avg1m",
		energyJ:          prefix + ":gpu_energy_joules:increase1m",
		promptTokens:     prefix + ":prompt_tokens:increase1m",
		generationTokens: prefix + ":generation_tokens:increase1m",
	}
}

func (p *Prometheus) recordedNames() recordedNames { return recordedNamesOf(p.cfg.RecordedPrefix) }

// all are the names the rules record.
func (n recordedNames) all() []string {
	return []string{n.powerW, n.gpus, n.gpus5m, n.energyJ, n.promptTokens, n.generationTokens, n.powerLimitW}
}

// gpusAt is the GPU count a read at step reads.
func (n recordedNames) gpusAt(step time.Duration) string {
	if step >= gpuRollupFrom {
		return n.gpus5m
	}
	return n.gpus
}

// read are the names a read at step needs: the mean power is recorded for dashboards and alert rules, a read
// takes the steps' power from their energy.
func (n recordedNames) read(hasLimit bool, step time.Duration) []string {
	names := []string{n.gpusAt(step), n.energyJ, n.promptTokens, n.generationTokens}
	if hasLimit {
		names = append(names, n.powerLimitW)
	}
	return names
}

// tokens is the recorded name of a token counter of the mapping.
func (n recordedNames) tokens(s schema, metric string) string {
	if metric == s.m.PromptTokensMetric {
		return n.promptTokens
	}
	return n.generationTokens
}

// recorded reads the recorded series: the same quantities as schema's, with the same labels, so answers decode
// alike. Every recorded sample stands for the minute before it and the grid's steps are whole minutes
// (recordedGrid), so a step's window holds its minutes exactly: power and token rates are the minutes' energy
// and tokens over the step, and the window totals are the steps' sums, with no query of their own. Each
// recorded sample is read once: see docs/scaling.md.
type recorded struct {
	// s is not embedded: the raw window totals must not become the recorded ones'.
	s     schema
	names recordedNames
}

func (r recorded) overStep(fn, name string, step time.Duration) string {
	return fmt.Sprintf("%s(%s[%s])", fn, r.s.selector(name), promDuration(gaugeRange(step)))
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

// PowerW is the step's energy over its length.
func (r recorded) PowerW(step, _ time.Duration) string {
	return fmt.Sprintf("sum by %s (%s) / %s", by(r.s.placementBy()), r.overStep("sum_over_time", r.names.energyJ, step), seconds(step))
}

// GPUs is the most GPUs a minute of the step counted: the GPUs that reported within the step, as from the raw
// series, a GPU that changed pods within it counted once. Long steps read the 5-minute counts: the GPUs that
// reported within the 5 minutes before each evaluation, so they may count a GPU that left up to 5 minutes
// before the step.
func (r recorded) GPUs(step, _ time.Duration) string {
	return fmt.Sprintf("sum by %s (%s)", by(r.s.placementBy()), r.overStep("max_over_time", r.names.gpusAt(step), step))
}

// PowerLimitW is the power limit of the step's last minute: limits change with a reconfiguration, not within
// minutes, and reading one minute per step keeps the read small.

func (r recorded) PowerLimitW(step, _ time.Duration) string {
	return fmt.Sprintf("sum by %s (%s)", by(r.s.placementBy()), r.overStep("last_over_time", r.names.powerLimitW, RecordInterval))
}

// TokensPerS is the step's tokens over its length.
func (r recorded) TokensPerS(metric string, rateWindow time.Duration) string {
	return fmt.Sprintf("sum by (%s, %s) (%s) / %s", r.s.m.ModelLabel, r.s.m.NamespaceLabel,
		r.overStep("sum_over_time", r.names.tokens(r.s, metric), rateWindow), seconds(rateWindow))
}

// recordedGrid is the grid on whole recorded minutes that covers grid: its step rounded up to a whole number
// of minutes, its ends aligned to it. Panels asking for steps under a minute get minutes.
func recordedGrid(grid fleet.Grid) fleet.Grid {
	step := (grid.Step + RecordInterval - 1).Truncate(RecordInterval)
	if step == grid.Step {
		return grid
	}
	start, end := alignDown(grid.Start, step), alignDown(grid.End(), step)
	return fleet.Grid{Start: start, Step: step, N: int(end.Sub(start)/step) + 1}
}

// totalsFromSteps fills the window totals with the steps' sums.
func (f *fetched) totalsFromSteps(step time.Duration) {
	f.energyJ = nil
	f.energyFromSteps(step)
	f.promptTokens, f.generationTokens = map[string]float64{}, map[string]float64{}
	for _, t := range []struct {
		rates  map[podKey]fleet.Series
		totals map[string]float64
	}{{f.promptPerPod, f.promptTokens}, {f.generationPerPod, f.generationTokens}} {
		for k, r := range t.rates {
			if n, ok := stepSum(r, step); ok {
				t.totals[k.Model] += n
			}
		}
	}
}

// energyFromSteps gives each placement without a counter energy the integral of its steps' power: the step
// means hold whatever the scrape interval, where the gauge's sample sum would need it.
func (f *fetched) energyFromSteps(step time.Duration) {
	if f.energyJ == nil {
		f.energyJ = map[placementKey]float64{}
	}
	for k, p := range f.powerW {
		if _, ok := f.energyJ[k]; ok {
			continue
		}
		if j, ok := stepSum(p, step); ok {
			f.energyJ[k] = j
		}
	}
}

// stepSum is the integral of a per-second series over its steps; false when no step has a value.
func stepSum(s fleet.Series, step time.Duration) (float64, bool) {
	sum, seen := 0.0, false
	for _, v := range s {
		if !math.IsNaN(v) {
			sum, seen = sum+v, true
		}
	}
	return sum * step.Seconds(), seen
}

// useRecorded says whether a read over the request's window can read the recorded series instead of the raw
// ones, with a notice either way when there are recorded series: they must exist for every quantity the raw
// read would have (the power limit only where it is exported) and hold samples at both ends of the window
// (rules record only forward from the day they were loaded, and stop when they are removed).
func (p *Prometheus) useRecorded(ctx context.Context, d discovered, req Request) (bool, []string, error) {
	if p.cfg.RecordingRules == "off" {
		return false, nil, nil
	}
	need := p.recordedNames().read(d.hasLimit, recordedGrid(GridOf(req)).Step)
	var found, missing []string
	for _, name := range need {
		if d.recorded[name] {
			found = append(found, name)
		} else {
			missing = append(missing, name)
		}
	}
	switch {
	case len(found) == 0:
		return false, nil, nil
	case len(missing) > 0:
		return false, []string{fmt.Sprintf("Read the raw series: the recorded series %s are missing (found %s). Load the whole rule file that fleetrules writes.",
			strings.Join(missing, ", "), strings.Join(found, ", "))}, nil
	}
	s := newSchema(p.cfg, join{}, false, false)
	edge := max(req.Step, 5*RecordInterval)
	var atStart, atEnd promclient.Result[[]string]
	err := runAll(ctx, 2, []func(context.Context) error{
		func(ctx context.Context) (err error) {
			atStart, err = p.client.LabelValues(ctx, "the lookup of the recorded series at the window's start", "__name__", s.familiesSelector(need...), req.Start.Add(-req.Step), req.Start.Add(-req.Step).Add(edge))
			return err
		},
		func(ctx context.Context) (err error) {
			atEnd, err = p.client.LabelValues(ctx, "the lookup of the recorded series at the window's end", "__name__", s.familiesSelector(need...), req.End.Add(-edge), req.End)
			return err
		},
	})
	if err != nil {
		return false, nil, err
	}
	notices := append(atStart.Notices, atEnd.Notices...)
	if len(atStart.Value) < len(need) || len(atEnd.Value) < len(need) {
		return false, append(notices, fmt.Sprintf("Read the raw series: the recorded series (%s) do not cover this window's start and end; the recording rules record only from the time they were loaded.", p.cfg.RecordedPrefix+":*")), nil
	}
	return true, append(notices, fmt.Sprintf("Read the recorded series of the recording rules (%s) instead of the raw GPU and token series.", strings.Join(need, ", "))), nil
}

// ruleSchema is the schema the rules are built with: their sums also keep the label filter's labels, so the
// recorded series can be selected with the same filter.
func ruleSchema(cfg *models.Settings, j join) schema {
	s := newSchema(cfg, j, false, false)
	s.keep = filterLabels(s.filter)
	return s
}

// filterMatcher is one matcher of a label filter.
var filterMatcher = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"`)

// filterLabels are the label names a label filter matches on.
func filterLabels(filter string) []string {
	var out []string
	for _, m := range filterMatcher.FindAllStringSubmatch(filter, -1) {
		if !strings.HasPrefix(m[1], "__") && !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// minuteIncrease is a counter's increase over the last minute, per series: from its last sample a minute
// earlier (within the lookback) to its last sample in the minute, so consecutive minutes add up to the
// counter's increase whatever the scrape timing. A reset counts the value since the reset. A series without a
// sample a minute earlier (new, or back from a gap) has none, rather than its whole count in one minute.
func (s schema) minuteIncrease(metric string) perSeries {
	return func(matchers ...string) string {
		sel := s.selector(metric, matchers...)
		now := fmt.Sprintf("last_over_time(%s[%s])", sel, promDuration(gaugeRange(RecordInterval)))
		before := fmt.Sprintf("%s offset %s", sel, promDuration(RecordInterval))
		return fmt.Sprintf("((%s - %s) >= 0 or (%s and %s))", now, before, now, before)
	}
}

// minuteEnergyJ is the energy per placement over the last minute: from the energy counter (mJ) where a GPU
// exports it, from the power gauge's mean over the minute otherwise. The mean needs no scrape interval, so the
// rules hold whatever the exporters' scrape interval is; a series counts for the whole minute it reported in.
func (s schema) minuteEnergyJ(joinWindow time.Duration) string {
	counter := s.minuteIncrease(s.m.EnergyMetric)
	gauge := s.rangeFn("avg_over_time", s.m.PowerMetric, gaugeRange(RecordInterval))
	energy := func(matchers ...string) string {
		return fmt.Sprintf("(%s / 1000 or %s * %s)", counter(matchers...), gauge(matchers...), seconds(RecordInterval))
	}
	return fmt.Sprintf("sum by %s (%s)", by(s.placementBy()), s.toModels(energy, joinWindow))
}

// minuteTokens is one token counter's increase per model over the last minute.
func (s schema) minuteTokens(metric string) string {
	return fmt.Sprintf("sum by %s (%s)", by(append([]string{s.m.ModelLabel, s.m.NamespaceLabel}, s.keep...)), s.minuteIncrease(metric)())
}

// Rule is one recording rule.
type Rule struct {
	Record string `yaml:"record"`
	Expr   string `yaml:"expr"`
}

// RuleGroup is a group of rules evaluated together.
type RuleGroup struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval"`
	Rules    []Rule `yaml:"rules"`
}

// RuleFile is a Prometheus rule file, as Prometheus, Thanos Ruler, Mimir's ruler (mimirtool rules load) and
// vmalert read it.
type RuleFile struct {
	Groups []RuleGroup `yaml:"groups"`
	// join is how the rules join GPUs to models, for the file's header.
	join join
}

// Rules are the recording rules of cfg's mapping, joining GPUs to models as j does.
func rulesOf(cfg *models.Settings, j join) RuleFile {
	s := ruleSchema(cfg, j)
	n := recordedNamesOf(cfg.RecordedPrefix)
	joinWindow := RateWindow(RecordInterval, s.scrape)
	m := s.m
	return RuleFile{join: j, Groups: []RuleGroup{{
		Name: "gpu-fleet-efficiency:" + cfg.RecordedPrefix, Interval: model.Duration(RecordInterval).String(),
		Rules: []Rule{
			{Record: n.powerW, Expr: s.PowerW(RecordInterval, joinWindow)},
			{Record: n.gpus, Expr: s.GPUs(RecordInterval, joinWindow)},
			{Record: n.powerLimitW, Expr: s.PowerLimitW(RecordInterval, joinWindow)},
			{Record: n.energyJ, Expr: s.minuteEnergyJ(joinWindow)},
			{Record: n.promptTokens, Expr: s.minuteTokens(m.PromptTokensMetric)},
			{Record: n.generationTokens, Expr: s.minuteTokens(m.GenerationTokensMetric)},
		},
	}, {
		Name: "gpu-fleet-efficiency:" + cfg.RecordedPrefix + ":5m", Interval: model.Duration(gpuRollupInterval).String(),
		Rules: []Rule{
			{Record: n.gpus5m, Expr: s.GPUs(gpuRollupInterval, RateWindow(gpuRollupInterval, s.scrape))},
		},
	}}}
}

// Rules are the recording rules of the data source's mapping. The join mode "auto" is resolved as reads
// resolve it: by the labels on the power metric over the last day.
func (p *Prometheus) Rules(ctx context.Context) (RuleFile, error) {
	end := p.now()
	d, _, err := p.discover(ctx, end.Add(-valuesLookback), end)
	if err != nil {
		return RuleFile{}, err
	}
	return rulesOf(p.cfg, d.join), nil
}

// RulesFor are the recording rules of cfg's mapping without asking an engine: the join mode "auto" joins on the
// join labels as they are (set joinMode to "exported" where dcgm-exporter is scraped with honor_labels: false).
func RulesFor(cfg *models.Settings) RuleFile {
	return rulesOf(cfg, resolveJoin(cfg.Mapping, nil))
}

// Write writes the file as YAML with a header saying what it records and how.
func (f RuleFile) Write(w io.Writer) error {
	header := fmt.Sprintf(`# Recording rules of the GPU Fleet Efficiency data source (fleetrules), from its metric mapping.
# Every minute, per placement (model, host, GPU type) and per model: power (mean W), GPUs, power limit,
# energy (J) and prompt and generation tokens of the minute; every 5 minutes the GPUs again, for long ranges.
# GPUs join models on %s.
# The data source reads these series instead of the raw ones where they cover a panel's window
# (settings: recordingRules, recordedPrefix). Load with: Prometheus rule_files, Thanos Ruler,
# mimirtool rules load, or vmalert -rule.
`, f.join.Describe())
	if _, err := io.WriteString(w, header); err != nil {
		return err
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return err
	}
	return enc.Close()
}
