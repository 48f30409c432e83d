package source

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

func TestServingQueriesReadEveryEngineVersion(t *testing.T) {
	cfg := testSettings(t, "http://p:9090", func(s *models.Settings) { s.Mapping.LabelFilter = `cluster="nrp"` })
	qs := newSchema(cfg, join{}, false, false).ServingQueries(VLLMServing, 5*time.Minute, 5*time.Minute, 24*time.Hour)
	got := map[string]ServingQuery{}
	for _, q := range qs {
		got[q.Quantity] = q
	}
	require.Len(t, got, 8)
	// Both names of the KV gauge and of the inter-token histogram (vLLM before and after v0.10), the filter
	// on every selector, a step's maximum for the gauges that show saturation.
	assert.Equal(t, `max by (model_name) (max_over_time({__name__=~"vllm:kv_cache_usage_perc|vllm:gpu_cache_usage_perc", cluster="nrp"}[299999ms]))`, got[ServingKVUsage].PromQL)
	assert.Equal(t, `histogram_quantile(0.95, sum by (model_name, le) (rate({__name__=~"vllm:inter_token_latency_seconds_bucket|vllm:time_per_output_token_seconds_bucket", cluster="nrp"}[300001ms])))`, got[ServingITLP95].PromQL)
	assert.Equal(t, `sum by (model_name) (max_over_time(vllm:num_requests_waiting{cluster="nrp"}[299999ms]))`, got[ServingWaiting].PromQL)
	assert.True(t, got[ServingPreemptions].Instant)
	assert.True(t, got[ServingCacheConfig].Instant)
	assert.False(t, got[ServingTTFTP95].Instant)

	sglang := newSchema(cfg, join{}, false, false).ServingQueries(SGLangServing, time.Minute, time.Minute, time.Hour)
	assert.Len(t, sglang, 5, "SGLang exports no preemption or request counter and no cache config")
}

func TestServingReadsAssembleAModelsSignals(t *testing.T) {
	var r ServingReads
	assert.Nil(t, r.Serving("m"), "nothing read: no Serving, so right-sizing says the evidence is missing")
	r.AddSeries(ServingWaiting, "m", fleet.Series{0, 1})
	r.AddTotal(ServingRequests, "m", 120, nil)
	r.AddTotal(ServingCacheConfig, "m", 1, map[string]string{"num_gpu_blocks": "1000", "block_size": "16"})
	r.AddTotal(ServingCacheConfig, "m", 1, map[string]string{"num_gpu_blocks": "900", "block_size": "16"})
	r.AddTotal(ServingCacheConfig, "m", 1, map[string]string{"num_gpu_blocks": "many", "block_size": "16"})
	sv := r.Serving("m")
	require.NotNil(t, sv)
	assert.Equal(t, fleet.Series{0, 1}, sv.RequestsWaiting)
	assert.Equal(t, 120.0, sv.Requests)
	assert.True(t, math.IsNaN(sv.Preemptions), "not exported: unknown, not 0")
	assert.Equal(t, 16000.0, sv.KVCacheTokensPerReplica, "the largest replica's blocks x block size")
	assert.Nil(t, r.Serving("other"))
}

func TestServingMetricsFollowTheTokenCounters(t *testing.T) {
	assert.Equal(t, VLLMServing, ServingMetricsFor(models.DefaultMapping()))
	assert.Equal(t, SGLangServing, ServingMetricsFor(models.SGLangMapping()))
}
