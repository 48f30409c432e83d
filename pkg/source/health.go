package source

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/promclient"
)

// family is one metric family of the mapping as the health check names it.
type family struct {
	what, metric string
	// ifMissing says what happens without it; empty for the families the plugin cannot work without.
	ifMissing string
}

func (p *Prometheus) families() []family {
	m := p.cfg.Mapping
	return []family{
		{what: "GPU power", metric: m.PowerMetric},
		{what: "prompt tokens", metric: m.PromptTokensMetric},
		{what: "generation tokens", metric: m.GenerationTokensMetric},
		{what: "energy counter", metric: m.EnergyMetric, ifMissing: "energy comes from the power gauge"},
		{what: "power limit", metric: m.PowerLimitMetric, ifMissing: "the catalog TDP stands in"},
	}
}

// Health reaches the engine (build info, where it has one), then checks in one query which metric families of
// the mapping have series in the last day, and how the GPU series are labelled. Missing power or token
// counters, or labels that make the join impossible, are an error; missing optional families are noted.
func (p *Prometheus) Health(ctx context.Context) Health {
	m := p.cfg.Mapping
	details := map[string]any{"url": p.client.URL()}
	var msg []string
	bi, err := p.client.BuildInfo(ctx)
	if err != nil {
		return Health{Message: err.Error(), Details: details}
	}
	e := promclient.Identify(p.cfg.Engine, bi)
	details["engine"], details["engineSource"] = string(e.Kind), e.How
	details["version"] = bi.Version
	switch {
	case !bi.Served:
		details["version"] = "unknown (the engine serves no build info)"
		msg = append(msg, fmt.Sprintf("Connected to %s (engine %s: %s).", p.client.URL(), promclient.EngineName(e.Kind), e.How))
	default:
		msg = append(msg, fmt.Sprintf("Connected to %s (%s).", e.Name(), e.How))
	}
	if looks := promclient.Identify(models.EngineAuto, bi); p.cfg.Engine != models.EngineAuto && bi.Served && looks.Kind != e.Kind {
		msg = append(msg, fmt.Sprintf("Its build info looks like %s, not %s as set in the settings.", promclient.EngineName(looks.Kind), promclient.EngineName(e.Kind)))
	}
	msg = append(msg, promclient.EngineNotes(e, p.cfg.TenantID)...)

	end := p.now()
	start := end.Add(-valuesLookback)
	s := newSchema(p.cfg, join{}, false, false)
	fams := p.families()
	metrics := make([]string, len(fams))
	for i, f := range fams {
		metrics[i] = f.metric
	}
	var (
		present                  promclient.Result[[]string]
		powerLabels, tokenLabels promclient.Result[map[string]bool]
		intervals                promclient.Result[ScrapeIntervals]
	)
	err = runAll(ctx, 3, []func(context.Context) error{
		func(ctx context.Context) (err error) {
			present, err = p.client.LabelValues(ctx, "the lookup of the mapping's metrics", "__name__", s.familiesSelector(metrics...), start, end)
			return err
		},
		func(ctx context.Context) (err error) {
			powerLabels, err = p.client.LabelNames(ctx, "the lookup of the power metric's labels", s.selector(m.PowerMetric), start, end)
			return err
		},
		func(ctx context.Context) (err error) {
			tokenLabels, err = p.client.LabelNames(ctx, "the lookup of the token counters' labels", s.selector(m.GenerationTokensMetric), start, end)
			return err
		},
		func(ctx context.Context) (err error) {
			intervals, err = p.scrapeIntervals(ctx, s, e.Params(intervalProbe, true, false), end)
			return err
		},
	})
	if err != nil {
		return Health{Message: strings.Join(append(msg, err.Error()), " "), Details: details}
	}

	found, missing := []string{}, []string{}
	var foundWhat, noted, problems []string
	for _, f := range fams {
		name := fmt.Sprintf("%s (%s)", f.what, f.metric)
		switch {
		case slices.Contains(present.Value, f.metric):
			found = append(found, f.metric)
			foundWhat = append(foundWhat, f.what)
		case f.ifMissing == "":
			missing = append(missing, f.metric)
			problems = append(problems, name)
		default:
			missing = append(missing, f.metric)
			noted = append(noted, fmt.Sprintf("No %s: %s.", name, f.ifMissing))
		}
	}
	details["found"], details["missing"] = found, missing
	if s.filter != "" {
		details["labelFilter"] = s.filter
	}
	within := "in the last 24h"
	if s.filter != "" {
		within += fmt.Sprintf(" matching the label filter {%s}", s.filter)
	}
	if len(problems) > 0 {
		msg = append(msg, fmt.Sprintf("Found no series of %s %s: check that dcgm-exporter and the model servers are scraped, or correct the metric mapping.", strings.Join(problems, ", "), within))
	}

	if len(problems) == 0 {
		msg = append(msg, fmt.Sprintf("Found %s.", strings.Join(foundWhat, ", ")))
	}
	if slices.Contains(found, m.PowerMetric) && slices.Contains(found, m.GenerationTokensMetric) {
		msg = append(msg, p.checkLabels(powerLabels.Value, tokenLabels.Value, details, &problems, &noted)...)
	}
	energy := fleet.EnergyFromGauge
	if slices.Contains(found, m.EnergyMetric) {
		energy = fleet.EnergyFromCounter
	}
	details["energySource"] = energy
	msg = append(msg, p.checkIntervals(intervals.Value, details)...)
	if p.cfg.Carbon.LiveIntensity() {
		said, failed := p.checkIntensity(ctx, e, end, details)
		msg = append(msg, said...)
		if len(failed) > 0 {
			problems = append(problems, failed...)
			msg = append(msg, failed...)
		}
	}
	msg = append(msg, noted...)
	if n := append(present.Notices, append(powerLabels.Notices, tokenLabels.Notices...)...); len(n) > 0 {
		details["notices"] = n
	}
	return Health{OK: len(problems) == 0, Message: strings.Join(msg, " "), Details: details}
}

// checkIntervals reports the scrape intervals found in the last hour, and says when they differ from each
// other or from the setting: the setting only bounds the step and the rate windows, but a user reading it
// should know what the data says.
func (p *Prometheus) checkIntervals(found ScrapeIntervals, details map[string]any) []string {
	setting := p.cfg.Scrape()
	var msg []string
	for _, f := range []struct {
		what, key string
		d         time.Duration
	}{{"GPU metrics", "gpuScrapeInterval", found.GPU}, {"token counters", "tokenScrapeInterval", found.Tokens}} {
		if f.d <= 0 {
			continue
		}
		details[f.key] = f.d.String()
		if differs(f.d, setting) {
			msg = append(msg, fmt.Sprintf("The %s are scraped every %s, which differs from the setting (%s): the answers follow the data, but set it to %s so that panels' steps and rate windows fit.", f.what, f.d, setting, f.d))
		}
	}
	if found.GPU > 0 && found.Tokens > 0 && differs(found.GPU, found.Tokens) {
		msg = append(msg, fmt.Sprintf("The GPU metrics (every %s) and the token counters (every %s) are scraped at different intervals; rate windows follow the token counters'.", found.GPU, found.Tokens))
	}
	return msg
}

// differs says two intervals are more than 10% apart: scrape jitter and series that start within the probe's
// hour move the measured one by less.
func differs(a, b time.Duration) bool { return math.Abs(a.Seconds()-b.Seconds()) > 0.1*b.Seconds() }

// checkLabels checks that the labels the queries group and join on are on the series, and says which join is
// used. A join that cannot work is a problem; labels that only narrow what the analyses can say are noted.
func (p *Prometheus) checkLabels(power, tokens map[string]bool, details map[string]any, problems, noted *[]string) []string {
	m := p.cfg.Mapping
	var msg []string
	j := resolveJoin(m, power)
	details["joinLabels"] = j.GPULabels
	switch {
	case j.GPUModelLabel != "":
		details["joinMode"] = "model label on the GPU series"
		details["joinLabels"] = []string{j.GPUModelLabel}
	case j.Exported && m.JoinMode == "auto":
		details["joinMode"] = "exported (detected)"
	case j.Exported:
		details["joinMode"] = "exported"
	default:
		details["joinMode"] = "direct"
	}
	if j.GPUModelLabel != "" && !power[j.GPUModelLabel] {
		*problems = append(*problems, "model label")
		msg = append(msg, fmt.Sprintf("The power metric %s has no %s label, which the settings name as the model label on the GPU series.", m.PowerMetric, j.GPUModelLabel))
	}
	if lacking := missingLabels(power, j.GPULabels); len(lacking) > 0 {
		*problems = append(*problems, "join labels")
		msg = append(msg, fmt.Sprintf("The power metric %s has no %s labels, so no GPU can be joined to a model: enable dcgm-exporter's Kubernetes pod mapping, correct the join labels, or name a model label on the GPU series.", m.PowerMetric, strings.Join(lacking, ", ")))
	}
	if !tokens[m.ModelLabel] {
		*problems = append(*problems, "model label")
		msg = append(msg, fmt.Sprintf("The token counter %s has no %s label: set the model label of the token series in the metric mapping.", m.GenerationTokensMetric, m.ModelLabel))
	}
	if j.GPUModelLabel == "" {
		if lacking := missingLabels(tokens, j.TokenLabels); len(lacking) > 0 {
			*problems = append(*problems, "join labels")
			msg = append(msg, fmt.Sprintf("The token counter %s has no %s labels to join GPUs on: correct the join labels in the metric mapping.", m.GenerationTokensMetric, strings.Join(lacking, ", ")))
		}
	}
	if len(*problems) == 0 {
		how := j.Describe()
		if j.Exported && m.JoinMode == "auto" {
			how += " (detected: dcgm-exporter is scraped with honor_labels: false, so namespace, pod name the exporter)"
		}
		msg = append(msg, fmt.Sprintf("GPUs join models on %s.", how))
	}
	host := ""
	for _, l := range m.HostLabels {
		if power[l] {
			host = l
			break
		}
	}
	details["hostLabel"] = host
	if host == "" {
		*noted = append(*noted, fmt.Sprintf("No host label (%s) on the power metric: the default carbon intensity applies to every GPU.", strings.Join(m.HostLabels, ", ")))
	}
	if !power[m.GPUTypeLabel] {
		*noted = append(*noted, fmt.Sprintf("No GPU type label %s on the power metric: GPU types are unknown, so idle floors and right-sizing fall back to settings.", m.GPUTypeLabel))
	}
	return msg
}

func missingLabels(have map[string]bool, want []string) []string {
	var out []string
	for _, l := range want {
		if !have[l] {
			out = append(out, l)
		}
	}
	return out
}
