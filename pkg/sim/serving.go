package sim

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"time"
)

// The serving model. Each replica is a server of capacity C tokens/s, its saturation rate (what its GPUs
// serve at their power limit), scaled by GPUs. Over each tick, with demand D tokens/s (the model's traffic
// split over its live replicas) and served rate X = min(D, C):
//
//   - requests arrive at X / (P + G) per second, P and G the prompt and generation tokens per request
//     (G = ModelSpec.GenerationTokensPerRequest, default 200; P = G x PromptPerGeneration);
//   - utilization rho = D / C, at most MaxUtilization (demand beyond capacity queues, it is not carried over);
//   - waiting requests L = rho^sqrt(2(c+1)) / (1 - rho), Sakasegawa's approximation of an M/M/c queue with
//     c = MaxNumSeqs slots, so requests queue only near capacity; the wait is L over the request rate
//     (Little's law);
//   - time to first token = the prompt at full capacity (P / C) plus the wait;
//   - inter-token latency = DecodeBatch / C x (1 + rho): a lone request decodes at C / DecodeBatch tokens/s,
//     twice as slow in a full batch;
//   - running requests = request rate x (P / C + G x inter-token latency) (Little's law);
//   - KV-cache usage = running x (P + G/2) tokens over the KV capacity, at most 1: num_gpu_blocks of
//     KVBlockSize tokens fill GPUMemoryUtilization of the replica's memory less the weights, at
//     ModelSpec.KVBytesPerToken (default 128 KiB, Llama-3-8B's 32 layers x 8 KV heads x 128 x 2 x bf16);
//   - preemptions = the request rate x the share of the running requests' KV that does not fit.
//
// It is the simulator's model of serving, for tests to know when an allocation is at capacity or would miss a
// latency SLO; it is not a rule the plugin may use.
const (
	MaxUtilization       = 0.99
	MaxNumSeqs           = 256
	DecodeBatch          = 16
	KVBlockSize          = 16
	GPUMemoryUtilization = 0.9
	defaultGenTokens     = 200
	defaultKVBytes       = 128 << 10
)

// servingState is one replica's serving over one tick.
type servingState struct {
	demand, served, capacity float64 // tokens/s
	rho                      float64
	requestsPerS, genPerS    float64
	waiting, running         float64
	ttftS, itlS              float64
	kvUsage                  float64
	preemptionsPerS          float64
}

// genTokensPerRequest is the model's generation tokens per request.
func genTokensPerRequest(m ModelSpec) float64 {
	if m.GenerationTokensPerRequest > 0 {
		return m.GenerationTokensPerRequest
	}
	return defaultGenTokens
}

// kvBlocks is vLLM's num_gpu_blocks for the model on gpus GPUs of typ; 0 when the weights leave no room.
func kvBlocks(m ModelSpec, typ GPUType, gpus int) int {
	kvBytes := m.KVBytesPerToken
	if kvBytes <= 0 {
		kvBytes = defaultKVBytes
	}
	free := (float64(gpus)*typ.MemoryGB*GPUMemoryUtilization - m.ParamsB*m.BytesPerParam) * 1e9
	return max(0, int(free/(KVBlockSize*kvBytes)))
}

// servingAt is replica ri's serving over tick k on gpus GPUs (its own count, or fewer for a projection).
func (s *Sim) servingAt(ri int, k int64, gpus int) servingState {
	r := &s.replicas[ri]
	ms := s.models[r.model].spec
	st := servingState{demand: s.demandTokensPerS(ri, k), capacity: r.saturationTokensPerS * float64(gpus) / float64(r.spec.GPUs)}
	st.served = math.Min(st.demand, st.capacity)
	if st.served <= 0 || math.IsInf(st.capacity, 1) {
		return st
	}
	gen := genTokensPerRequest(ms)
	prompt := gen * ms.PromptPerGeneration
	st.requestsPerS = st.served / (prompt + gen)
	st.genPerS = st.requestsPerS * gen
	st.rho = math.Min(st.demand/st.capacity, MaxUtilization)
	st.waiting = math.Pow(st.rho, math.Sqrt(2*(MaxNumSeqs+1))) / (1 - st.rho)
	st.ttftS = prompt/st.capacity + st.waiting/st.requestsPerS
	st.itlS = DecodeBatch / st.capacity * (1 + st.rho)
	st.running = st.requestsPerS * (prompt/st.capacity + gen*st.itlS)
	kvTokens := float64(max(1, kvBlocks(ms, r.typ, gpus)) * KVBlockSize)
	need := st.running * (prompt + gen/2)
	st.kvUsage = math.Min(1, need/kvTokens)
	if need > kvTokens {
		st.preemptionsPerS = st.requestsPerS * (1 - kvTokens/need)
	}
	return st
}

// TTFTBucketsS and ITLBucketsS are vLLM's histogram boundaries for time to first token and inter-token latency
// (vllm/v1/metrics/loggers.py at v0.10 and v0.11: the ITL histogram has the boundaries of
// time_per_output_token_seconds, which it replaced).
var (
	TTFTBucketsS = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
		20.0, 40.0, 80.0, 160.0, 640.0, 2560.0}
	ITLBucketsS = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
		20.0, 40.0, 80.0}
)

// Rows of a replica's serving cache, in milli-units per second like the physics: the integrals behind the
// serving counters and histograms. Within a tick every request sees that tick's latencies.
const (
	sRequests = iota
	sPreemptions
	sTTFTSum    // requests x seconds
	sITLCount   // generation tokens
	sITLSum     // tokens x seconds
	sTTFTBucket // then one row per TTFT boundary, then one per ITL boundary
)

var sRows = sTTFTBucket + len(TTFTBucketsS) + len(ITLBucketsS)

// servingCache is replica ri's serving integrals, made on first use: fleets that never emit the serving
// signals never pay for them.
func (s *Sim) servingCache(ri int) *blockCache {
	c, _ := s.servingCaches.LoadOrStore(ri, sync.OnceValue(func() *blockCache {
		return newBlockCache(s, sRows, 2, func(k0 int64) [][]int64 { return s.servingBlock(ri, k0) })
	}))
	return c.(func() *blockCache)()
}

func (s *Sim) servingBlock(ri int, k0 int64) [][]int64 {
	vals := make([][]int64, sRows)
	for i := range vals {
		vals[i] = make([]int64, blockTicks)
	}
	milli := roundMilli
	gpus := s.replicas[ri].spec.GPUs
	for i := range blockTicks {
		st := s.servingAt(ri, k0+int64(i), gpus)
		req, gen := milli(st.requestsPerS), milli(st.genPerS)
		vals[sRequests][i], vals[sPreemptions][i] = req, milli(st.preemptionsPerS)
		vals[sTTFTSum][i], vals[sITLCount][i], vals[sITLSum][i] = milli(st.requestsPerS*st.ttftS), gen, milli(st.genPerS*st.itlS)
		for j, le := range TTFTBucketsS {
			if st.ttftS <= le {
				vals[sTTFTBucket+j][i] = req
			}
		}
		for j, le := range ITLBucketsS {
			if st.itlS <= le {
				vals[sTTFTBucket+len(TTFTBucketsS)+j][i] = gen
			}
		}
	}
	return vals
}

// podServing is row of pod pi's serving integrals since the pod started, in units.
func (s *Sim) podServing(row, pi int, tMS int64) float64 {
	p := &s.pods[pi]
	c := s.servingCache(p.replica)
	return float64(c.cumulative(row, tMS)-c.cumulative(row, p.k0*s.tickMS)) / 1e6
}

// histogram is a pod's histogram at one instant: cumulative bucket counts (without +Inf), count and sum.
type histogram struct {
	buckets []uint64
	count   uint64
	sum     float64
}

func (s *Sim) podHistogram(pi int, tMS int64, countRow, sumRow, firstBucket, n int) histogram {
	h := histogram{count: uint64(s.podServing(countRow, pi, tMS)), sum: s.podServing(sumRow, pi, tMS)}
	for j := range n {
		h.buckets = append(h.buckets, uint64(s.podServing(firstBucket+j, pi, tMS)))
	}
	return h
}

func (s *Sim) podTTFT(pi int, tMS int64) histogram {
	return s.podHistogram(pi, tMS, sRequests, sTTFTSum, sTTFTBucket, len(TTFTBucketsS))
}

func (s *Sim) podITL(pi int, tMS int64) histogram {
	return s.podHistogram(pi, tMS, sITLCount, sITLSum, sTTFTBucket+len(TTFTBucketsS), len(ITLBucketsS))
}

// podState is pod pi's serving over the tick containing t.
func (s *Sim) podState(pi int, tMS int64) servingState {
	p := &s.pods[pi]
	return s.servingAt(p.replica, s.tickOf(tMS), s.replicas[p.replica].spec.GPUs)
}

// ServingTruth is the serving model's account of a model over a window (see the serving model above).
type ServingTruth struct {
	// GPUsPerReplica is the tensor-parallel size the account assumes for every replica (0: each its own).
	GPUsPerReplica int `json:"gpus_per_replica"`
	// Fits is whether the weights leave room for a KV cache on every replica.
	Fits        bool    `json:"fits"`
	Requests    float64 `json:"requests"`
	Preemptions float64 `json:"preemptions"`
	// P95TTFTS and P95ITLS are the 95th percentiles of time to first token over requests and of
	// inter-token latency over generated tokens; 0 when none.
	P95TTFTS float64 `json:"p95_ttft_s"`
	P95ITLS  float64 `json:"p95_itl_s"`
	// Queued is whether a replica ever had a request waiting (num_requests_waiting >= 1).
	Queued bool `json:"queued"`
	// PeakUtilization is the highest demand over capacity of a replica in a tick (above 1: demand was cut).
	PeakUtilization float64 `json:"peak_utilization"`
}

// ProjectServing is what the serving model says the model's serving over (from, to] would have been with
// gpusPerReplica GPUs in every replica (0: each replica its own): the same demand against a capacity scaled by
// the GPUs and a KV cache sized by their memory. It answers what a right-sized allocation would do to latency
// in this simulator; it is no rule for the plugin. Fits false (and no latencies) when the weights do not fit.
func (s *Sim) ProjectServing(model string, gpusPerReplica int, from, to time.Time) (ServingTruth, bool) {
	mi := s.modelIndex(model)
	if mi < 0 {
		return ServingTruth{}, false
	}
	return s.servingTruth(mi, gpusPerReplica, from, to), true
}

func (s *Sim) servingTruth(mi, gpusPerReplica int, from, to time.Time) ServingTruth {
	st := ServingTruth{GPUsPerReplica: gpusPerReplica, Fits: true}
	a, b := from.UnixMilli(), to.UnixMilli()
	n := int(s.tickOf(b)-floorDiv(a, s.tickMS)+1) * len(s.models[mi].replicas)
	ttft, itl := make([]weighted, 0, n), make([]weighted, 0, n)
	for _, ri := range s.models[mi].replicas {
		r := &s.replicas[ri]
		gpus := cmp.Or(gpusPerReplica, r.spec.GPUs)
		if kvBlocks(s.models[mi].spec, r.typ, gpus) == 0 {
			return ServingTruth{GPUsPerReplica: gpusPerReplica}
		}
		for k := floorDiv(a, s.tickMS); k <= s.tickOf(b); k++ {
			ms := min(b, (k+1)*s.tickMS) - max(a, k*s.tickMS)
			if ms <= 0 {
				continue
			}
			ss := s.servingAt(ri, k, gpus)
			if ss.capacity > 0 && ss.demand > 0 {
				st.PeakUtilization = max(st.PeakUtilization, ss.demand/ss.capacity)
			}
			st.Queued = st.Queued || ss.waiting >= 0.5
			// As the serving cache counts: milli-units per second times milliseconds.
			req := float64(roundMilli(ss.requestsPerS)*ms) / 1e6
			st.Requests += req
			st.Preemptions += float64(roundMilli(ss.preemptionsPerS)*ms) / 1e6
			ttft = append(ttft, weighted{ss.ttftS, req})
			itl = append(itl, weighted{ss.itlS, float64(roundMilli(ss.genPerS)*ms) / 1e6})
		}
	}
	st.P95TTFTS, st.P95ITLS = quantile(ttft, 0.95), quantile(itl, 0.95)
	return st
}

func roundMilli(v float64) int64 { return int64(math.Round(v * 1000)) }

type weighted struct{ v, w float64 }

// quantile is the smallest value below which at least q of the weight lies; 0 without weight.
func quantile(xs []weighted, q float64) float64 {
	slices.SortFunc(xs, func(a, b weighted) int { return cmp.Compare(a.v, b.v) })
	total := 0.0
	for _, x := range xs {
		total += x.w
	}
	acc := 0.0
	for _, x := range xs {
		if acc += x.w; x.w > 0 && acc >= q*total {
			return x.v
		}
	}
	return 0
}
