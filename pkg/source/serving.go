package source

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// ServingMetrics name a serving engine's load signals, the evidence right-sizing reads saturation and latency
// from (docs/right-sizing.md). A list holds the names of one signal across engine versions; a histogram is
// named without its _bucket suffix. An empty name is a signal the engine does not export.
type ServingMetrics struct {
	Running, Waiting string
	KVCacheUsage     []string
	Preemptions      string
	Requests         string
	TTFT, ITL        []string
	// CacheConfig is an info metric whose num_gpu_blocks and block_size labels size one replica's KV cache.
	CacheConfig string
}

// VLLMServing are vLLM's names (vllm/v1/metrics/loggers.py): the KV gauge was gpu_cache_usage_perc before
// v0.9, the inter-token histogram time_per_output_token_seconds before v0.11.
var VLLMServing = ServingMetrics{
	Running: "vllm:num_requests_running", Waiting: "vllm:num_requests_waiting",
	KVCacheUsage: []string{"vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"},
	Preemptions:  "vllm:num_preemptions_total", Requests: "vllm:request_success_total",
	TTFT:        []string{"vllm:time_to_first_token_seconds"},
	ITL:         []string{"vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds"},
	CacheConfig: "vllm:cache_config_info",
}

// SGLangServing are SGLang's names (python/sglang/srt/metrics/collector.py): token_usage is its KV-cache share.
var SGLangServing = ServingMetrics{
	Running: "sglang:num_running_reqs", Waiting: "sglang:num_queue_reqs",
	KVCacheUsage: []string{"sglang:token_usage"},
	TTFT:         []string{"sglang:time_to_first_token_seconds"},
	ITL:          []string{"sglang:inter_token_latency_seconds", "sglang:time_per_output_token_seconds"},
}

// families are the metric families behind sm, histograms by their _bucket series.
func (sm ServingMetrics) families() []string {
	out := []string{sm.Running, sm.Waiting, sm.Preemptions, sm.Requests, sm.CacheConfig}
	out = append(out, sm.KVCacheUsage...)
	for _, h := range append(slices.Clone(sm.TTFT), sm.ITL...) {
		out = append(out, h+"_bucket")
	}
	return slices.DeleteFunc(out, func(n string) bool { return n == "" })
}

// present is sm without the names the engine holds no series of, so a read asks only for what exists.
func (sm ServingMetrics) present(has map[string]bool) ServingMetrics {
	one := func(n string) string {
		if has[n] {
			return n
		}
		return ""
	}
	some := func(names []string, suffix string) []string {
		return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return !has[n+suffix] })
	}
	return ServingMetrics{
		Running: one(sm.Running), Waiting: one(sm.Waiting), Preemptions: one(sm.Preemptions),
		Requests: one(sm.Requests), CacheConfig: one(sm.CacheConfig),
		KVCacheUsage: some(sm.KVCacheUsage, ""), TTFT: some(sm.TTFT, "_bucket"), ITL: some(sm.ITL, "_bucket"),
	}
}

// ServingMetricsFor are the serving signals of the engine the mapping's token counters name: SGLang's where
// they are SGLang's (the SGLang preset), vLLM's otherwise.
func ServingMetricsFor(m models.Mapping) ServingMetrics {
	if strings.HasPrefix(m.GenerationTokensMetric, "sglang:") {
		return SGLangServing
	}
	return VLLMServing
}

// Serving quantities, the names of ServingQuery.Quantity.
const (
	ServingRunning     = "requests_running"
	ServingWaiting     = "requests_waiting"
	ServingKVUsage     = "kv_cache_usage"
	ServingTTFTP95     = "ttft_p95_s"
	ServingITLP95      = "itl_p95_s"
	ServingPreemptions = "preemptions"
	ServingRequests    = "requests"
	ServingCacheConfig = "cache_config"
)

// ServingQuery is the PromQL of one serving quantity per model (the model label). Range queries give one
// value per step; Instant ones are evaluated once at the window's end.
type ServingQuery struct {
	Quantity string
	PromQL   string
	Instant  bool
}

// ServingQueries are the queries of the serving signals sm for steps of step, latency rates over rateWindow
// and window totals over window. Over a step, running requests are averaged, waiting requests and KV usage
// take their maximum (a queue that formed and drained within the step is still a queue); running and waiting
// add up over replicas, KV usage is the fullest replica's. The p95 latencies are histogram_quantile of the
// buckets' rates summed over replicas.
func (s schema) ServingQueries(sm ServingMetrics, step, rateWindow, window time.Duration) []ServingQuery {
	model := s.m.ModelLabel
	gauge := func(fn, agg string, names ...string) string {
		return fmt.Sprintf("%s by (%s) (%s(%s[%s]))", agg, model, fn, s.anyOf(names...), promDuration(gaugeRange(step)))
	}
	p95 := func(names []string) string {
		buckets := make([]string, len(names))
		for i, n := range names {
			buckets[i] = n + "_bucket"
		}
		return fmt.Sprintf("histogram_quantile(0.95, sum by (%s, le) (rate(%s[%s])))", model, s.anyOf(buckets...), promDuration(s.engine.CounterRange(rateWindow)))
	}
	total := func(name string) string {
		return fmt.Sprintf("sum by (%s) (increase(%s[%s]))", model, s.selector(name), promDuration(s.engine.CounterRange(window)))
	}
	var out []ServingQuery
	add := func(quantity, promql string, instant bool) {
		out = append(out, ServingQuery{Quantity: quantity, PromQL: promql, Instant: instant})
	}
	if sm.Running != "" {
		add(ServingRunning, gauge("avg_over_time", "sum", sm.Running), false)
	}
	if sm.Waiting != "" {
		add(ServingWaiting, gauge("max_over_time", "sum", sm.Waiting), false)
	}
	if len(sm.KVCacheUsage) > 0 {
		add(ServingKVUsage, gauge("max_over_time", "max", sm.KVCacheUsage...), false)
	}
	if len(sm.TTFT) > 0 {
		add(ServingTTFTP95, p95(sm.TTFT), false)
	}
	if len(sm.ITL) > 0 {
		add(ServingITLP95, p95(sm.ITL), false)
	}
	if sm.Preemptions != "" {
		add(ServingPreemptions, total(sm.Preemptions), true)
	}
	if sm.Requests != "" {
		add(ServingRequests, total(sm.Requests), true)
	}
	if sm.CacheConfig != "" {
		add(ServingCacheConfig, fmt.Sprintf("max by (%s, num_gpu_blocks, block_size) (last_over_time(%s[%s]))",
			model, s.selector(sm.CacheConfig), promDuration(gaugeRange(window))), true)
	}
	return out
}

// anyOf selects the series of any of the metric names (one name: the plain selector).
func (s schema) anyOf(names ...string) string {
	if len(names) == 1 {
		return s.selector(names[0])
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	return s.selector("", fmt.Sprintf(`__name__=~"%s"`, strings.Join(quoted, "|")))
}

// ServingReads collect the answers of the serving queries per model: the hook the fleet read fills, one call
// per decoded series, before it hands each model its Serving.
type ServingReads struct {
	series map[string]map[string]fleet.Series // quantity -> model -> series
	totals map[string]map[string]float64      // quantity -> model -> window total
	// kvTokens is one replica's KV cache in tokens per model (the largest a model's replicas report).
	kvTokens map[string]float64
}

// AddSeries records a range quantity's series of one model.
func (r *ServingReads) AddSeries(quantity, model string, s fleet.Series) {
	if r.series == nil {
		r.series = map[string]map[string]fleet.Series{}
	}
	if r.series[quantity] == nil {
		r.series[quantity] = map[string]fleet.Series{}
	}
	r.series[quantity][model] = s
}

// AddTotal records an instant quantity of one model: a window total, or for ServingCacheConfig the series'
// labels (num_gpu_blocks x block_size is the replica's KV cache in tokens).
func (r *ServingReads) AddTotal(quantity, model string, v float64, labels map[string]string) {
	if quantity == ServingCacheConfig {
		blocks, err1 := strconv.ParseFloat(labels["num_gpu_blocks"], 64)
		size, err2 := strconv.ParseFloat(labels["block_size"], 64)
		if err1 != nil || err2 != nil || !(blocks*size > 0) {
			return
		}
		if r.kvTokens == nil {
			r.kvTokens = map[string]float64{}
		}
		r.kvTokens[model] = math.Max(r.kvTokens[model], blocks*size)
		return
	}
	if r.totals == nil {
		r.totals = map[string]map[string]float64{}
	}
	if r.totals[quantity] == nil {
		r.totals[quantity] = map[string]float64{}
	}
	r.totals[quantity][model] = v
}

// Serving is what was read of the model's serving signals; nil when nothing was.
func (r *ServingReads) Serving(model string) *fleet.Serving {
	sv := &fleet.Serving{
		RequestsRunning: r.series[ServingRunning][model],
		RequestsWaiting: r.series[ServingWaiting][model],
		KVCacheUsage:    r.series[ServingKVUsage][model],
		TTFTP95S:        r.series[ServingTTFTP95][model],
		ITLP95S:         r.series[ServingITLP95][model],
		Preemptions:     math.NaN(), Requests: math.NaN(),
		KVCacheTokensPerReplica: r.kvTokens[model],
	}
	if v, ok := r.totals[ServingPreemptions][model]; ok {
		sv.Preemptions = v
	}
	if v, ok := r.totals[ServingRequests][model]; ok {
		sv.Requests = v
	}
	if sv.RequestsRunning == nil && sv.RequestsWaiting == nil && sv.KVCacheUsage == nil && sv.TTFTP95S == nil &&
		sv.ITLP95S == nil && math.IsNaN(sv.Preemptions) && math.IsNaN(sv.Requests) && sv.KVCacheTokensPerReplica == 0 {
		return nil
	}
	return sv
}

// servingPlan are the serving queries as optional queries of a fleet read: an engine that exports none of the
// signals, or a query that fails, leaves right-sizing to physics and power, and its reason says so.
func (s schema) servingPlan(sm ServingMetrics, step, rateWindow, window time.Duration) []fleetQuery {
	var out []fleetQuery
	for _, sq := range s.ServingQueries(sm, step, rateWindow, window) {
		q := fleetQuery{quantity: sq.Quantity, promql: sq.PromQL, instant: sq.Instant, optional: true, provides: NeedServing}
		if sq.Instant {
			q.read = func(fleet.Grid) (seriesSink, func(*fetched)) {
				var got []func(*ServingReads)
				return func(m model.Metric) (pointSink, error) {
						name, ok := s.tokenModelOf(m)
						if !ok {
							return nil, nil
						}
						labels := make(map[string]string, len(m))
						for k, v := range m {
							labels[string(k)] = string(v)
						}
						return func(_ int64, v float64) {
							got = append(got, func(r *ServingReads) { r.AddTotal(sq.Quantity, name, v, labels) })
						}, nil
					}, func(f *fetched) {
						for _, add := range got {
							add(&f.serving)
						}
					}
			}
		} else {
			q.read = func(grid fleet.Grid) (seriesSink, func(*fetched)) {
				out, dropped := map[string]fleet.Series{}, 0
				return seriesInto(grid, s.tokenModelOf, out, &dropped), func(f *fetched) {
					for name, series := range out {
						f.serving.AddSeries(sq.Quantity, name, series)
					}
				}
			}
		}
		out = append(out, q)
	}
	return out
}
