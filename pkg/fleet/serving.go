package fleet

// Serving is what a model's serving engine (vLLM, SGLang) reports about its own load, per step over all
// replicas. A nil *Serving, or a nil series, means the engine does not export it: right-sizing then judges
// from physics and power alone and says which evidence was missing.
type Serving struct {
	// RequestsRunning and RequestsWaiting are the requests in the running batch and in the queue, summed over
	// replicas (vllm:num_requests_running, vllm:num_requests_waiting).
	RequestsRunning Series
	RequestsWaiting Series
	// KVCacheUsage is the fullest replica's share of its KV cache in use, 0..1 (vllm:gpu_cache_usage_perc,
	// vllm:kv_cache_usage_perc in the V1 engine).
	KVCacheUsage Series
	// TTFTP95S and ITLP95S are the 95th percentiles of time to first token and inter-token latency over each
	// step, in seconds (histogram_quantile of vllm:time_to_first_token_seconds and
	// vllm:time_per_output_token_seconds / vllm:inter_token_latency_seconds).
	TTFTP95S Series
	ITLP95S  Series
	// Preemptions is the window's count of requests preempted for lack of KV room (vllm:num_preemptions_total);
	// NaN when not exported.
	Preemptions float64
	// Requests is the window's count of finished requests (vllm:request_success_total); NaN when not exported.
	Requests float64
	// KVCacheTokensPerReplica is one replica's KV cache in tokens: num_gpu_blocks x block_size of
	// vllm:cache_config_info; 0 when not exported.
	KVCacheTokensPerReplica float64
}
