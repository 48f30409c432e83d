package models

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

// Query types: the stable contract dashboards and alert rules depend on.
const (
	QueryFleetTimeseries = "fleet-timeseries"
	QueryEfficiencyCurve = "efficiency-curve"
	QueryIdleAttribution = "idle-attribution"
	QueryRightSizing     = "right-sizing"
	QueryConsolidation   = "consolidation"
	QueryFleetSummary    = "fleet-summary"
	QueryAnnotations     = "annotations"
)

// QueryTypes lists every query type, in the order editors show them.
var QueryTypes = []string{
	QueryFleetTimeseries, QueryEfficiencyCurve, QueryIdleAttribution,
	QueryRightSizing, QueryConsolidation, QueryFleetSummary, QueryAnnotations,
}

// FreedGPUChoices are the savings baselines: freed GPUs return to the pool, or are powered off.
var FreedGPUChoices = []string{string(fleet.FreedToPool), string(fleet.FreedPoweredOff)}

// GroupByChoices are the groupings of idle-attribution, fleet-summary and fleet-timeseries (fleet.GroupKeys).
var GroupByChoices = []string{
	string(fleet.GroupModel), string(fleet.GroupNamespace), string(fleet.GroupGPUType), string(fleet.GroupSite), string(fleet.GroupNode),
}

// Metrics of fleet-timeseries.
var TimeseriesMetrics = []string{"power_w", "tokens_per_s", "j_per_token", "idle_fraction", "co2_g_per_h", "cost_per_h"}

// Query is one query's options, defaults applied. Every option has a default, so {} with a queryType is valid.
type Query struct {
	QueryType string `json:"queryType"`

	// Common options.
	Models        []string        `json:"models"`
	ModelRegex    string          `json:"modelRegex"`
	Tokens        fleet.TokenKind `json:"tokens"`
	IdleThreshold float64         `json:"idleThreshold"` // tok/s below which a step counts as idle

	// idle-attribution, fleet-summary and fleet-timeseries: rows or series per model, namespace, GPU type, site
	// or node (GroupByChoices).
	GroupBy string `json:"groupBy"`

	// fleet-timeseries.
	Metric string `json:"metric"`

	// right-sizing.
	KVHeadroom      float64 `json:"kvHeadroom"`      // fraction of weights kept free for the KV cache
	TrafficMargin   float64 `json:"trafficMargin"`   // fraction of headroom the smaller allocation must keep
	MinHistoryHours float64 `json:"minHistoryHours"` // less history than this gives no verdict
	ContextTokens   float64 `json:"contextTokens"`   // mean tokens a running request holds in the KV cache
	// Latency SLOs at the p95 in seconds; 0 keeps the data source's setting.
	TTFTP95Seconds float64 `json:"ttftP95Seconds"`
	ITLP95Seconds  float64 `json:"itlP95Seconds"`

	// right-sizing and consolidation: what a freed GPU draws afterwards (FreedGPUChoices).
	FreedGPUs string `json:"freedGPUs"`

	// consolidation.
	SpinDownIdleShare float64 `json:"spinDownIdleShare"` // share of steps idle that makes a spin-down candidate

	// annotations.
	Events []fleet.EventKind `json:"events"` // the kinds of events to mark

	modelRegex *regexp.Regexp
}

// Defaults of the query options.
const (
	DefaultIdleThreshold     = 0.1
	DefaultMetric            = "j_per_token"
	DefaultKVHeadroom        = 0.2
	DefaultTrafficMargin     = 0.3
	DefaultMinHistoryHours   = 48
	DefaultSpinDownIdleShare = 0.95
	DefaultContextTokens     = fleet.DefaultContextTokens
	// MaxModelsInFilter bounds the model list of one query.
	MaxModelsInFilter = 5000
)

// ParseQuery reads one query's JSON. Unknown fields are ignored (Grafana adds its own: refId, datasource,
// intervalMs...); wrong types, bad values and regexes that do not compile are errors naming the option.
func ParseQuery(dq backend.DataQuery) (Query, error) {
	// Options absent from the JSON keep their defaults; an explicit 0 stays 0.
	q := DefaultQuery()
	if err := decodeJSON(dq.JSON, &q); err != nil {
		return Query{}, fmt.Errorf("the query %w", err)
	}
	if q.QueryType == "" {
		q.QueryType = dq.QueryType
	}
	if err := q.validate(); err != nil {
		return Query{}, err
	}
	return q, nil
}

// DefaultQuery is a query with every option at its default.
func DefaultQuery() Query {
	return Query{
		Tokens:            fleet.TokensTotal,
		IdleThreshold:     DefaultIdleThreshold,
		Metric:            DefaultMetric,
		GroupBy:           string(fleet.GroupModel),
		KVHeadroom:        DefaultKVHeadroom,
		TrafficMargin:     DefaultTrafficMargin,
		MinHistoryHours:   DefaultMinHistoryHours,
		SpinDownIdleShare: DefaultSpinDownIdleShare,
		ContextTokens:     DefaultContextTokens,
		FreedGPUs:         string(fleet.FreedToPool),
		Events:            slices.Clone(fleet.EventKinds), // decoding a list reuses the slice it decodes into
	}
}

// unexpanded matches a dashboard variable Grafana did not replace: $model, ${model}, ${model:regex}, [[model]].
// A "$" that ends a regular expression is its anchor, not a variable.
var unexpanded = regexp.MustCompile(`\$\{?[A-Za-z_][A-Za-z0-9_]*|\[\[[A-Za-z_]`)

func (q *Query) validate() error {
	var errs []error
	if q.Tokens != fleet.TokensTotal && q.Tokens != fleet.TokensGeneration {
		errs = append(errs, fmt.Errorf("tokens %q is not %q or %q", q.Tokens, fleet.TokensTotal, fleet.TokensGeneration))
	}
	if !inRange(q.IdleThreshold, 0, 1e6) {
		errs = append(errs, fmt.Errorf("idleThreshold %v tok/s is outside 0..1e6", q.IdleThreshold))
	}
	if !contains(TimeseriesMetrics, q.Metric) {
		errs = append(errs, fmt.Errorf("metric %q is not one of %s", q.Metric, strings.Join(TimeseriesMetrics, ", ")))
	}
	if !contains(GroupByChoices, q.GroupBy) {
		errs = append(errs, fmt.Errorf("groupBy %q is not one of %s", q.GroupBy, strings.Join(GroupByChoices, ", ")))
	}
	if !inRange(q.KVHeadroom, 0, 10) {
		errs = append(errs, fmt.Errorf("kvHeadroom %v is outside 0..10 (a fraction of the weights)", q.KVHeadroom))
	}
	if !inRange(q.TrafficMargin, 0, 0.95) {
		errs = append(errs, fmt.Errorf("trafficMargin %v is outside 0..0.95", q.TrafficMargin))
	}
	if !inRange(q.MinHistoryHours, 0, 24*366) {
		errs = append(errs, fmt.Errorf("minHistoryHours %v is outside 0..8784", q.MinHistoryHours))
	}
	if !inRange(q.ContextTokens, 1, 1e7) {
		errs = append(errs, fmt.Errorf("contextTokens %v is outside 1..1e7", q.ContextTokens))
	}
	if !inRange(q.TTFTP95Seconds, 0, 3600) {
		errs = append(errs, fmt.Errorf("ttftP95Seconds %v is outside 0..3600 (0: the data source's SLO)", q.TTFTP95Seconds))
	}
	if !inRange(q.ITLP95Seconds, 0, 60) {
		errs = append(errs, fmt.Errorf("itlP95Seconds %v is outside 0..60 (0: the data source's SLO)", q.ITLP95Seconds))
	}
	if !contains(FreedGPUChoices, q.FreedGPUs) {
		errs = append(errs, fmt.Errorf("freedGPUs %q is not one of %s", q.FreedGPUs, strings.Join(FreedGPUChoices, ", ")))
	}
	if !inRange(q.SpinDownIdleShare, 0.5, 1) {
		errs = append(errs, fmt.Errorf("spinDownIdleShare %v is outside 0.5..1", q.SpinDownIdleShare))
	}
	for _, k := range q.Events {
		if !slices.Contains(fleet.EventKinds, k) {
			errs = append(errs, fmt.Errorf("events: %q is not one of %v", k, fleet.EventKinds))
		}
	}
	if len(q.Models) > MaxModelsInFilter {
		errs = append(errs, fmt.Errorf("models lists %d names; at most %d are accepted (use modelRegex)", len(q.Models), MaxModelsInFilter))
	}
	for _, m := range append(append([]string{}, q.Models...), q.ModelRegex) {
		if unexpanded.MatchString(m) {
			errs = append(errs, fmt.Errorf("%q looks like a dashboard variable that was not expanded: alert rules and API calls get no variables, so name the models themselves", m))
			break
		}
	}
	if q.ModelRegex != "" {
		re, err := regexp.Compile("^(?:" + q.ModelRegex + ")$")
		if err != nil {
			errs = append(errs, fmt.Errorf("modelRegex %q does not compile: %w", q.ModelRegex, err))
		}
		q.modelRegex = re
	}
	return errors.Join(errs...)
}

// Selects reports whether the query's model filter keeps model name.
func (q *Query) Selects(name string) bool {
	if len(q.Models) > 0 && !contains(q.Models, name) {
		return false
	}
	return q.modelRegex == nil || q.modelRegex.MatchString(name)
}

func inRange(v, lo, hi float64) bool { return !math.IsNaN(v) && v >= lo && v <= hi }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
