package fleet

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// SLO is the latency a serving engineer promises at the p95; a zero field is not checked.
type SLO struct {
	TTFTP95 time.Duration
	ITLP95  time.Duration
}

func (s SLO) set() bool { return s.TTFTP95 > 0 || s.ITLP95 > 0 }

// Saturation thresholds: a model queued at its peaks when requests waited on at least 1% of its busy steps
// (the 99th percentile of waiting requests is 1 or more); its KV cache filled when its fullest replica's
// usage reached 95% on 1% of them, or a request was preempted.
const (
	SaturationQuantile = 0.99
	KVFullShare        = 0.95
)

// servingEvidence is what the serving engine's own signals tell.
type servingEvidence struct {
	present    bool
	atCapacity bool
	// queueRate is the median counted rate of the steps where requests waited: what the model served when
	// it was at capacity.
	queueRate float64
	// kvUsed is the fullest replica's KV usage at the p95 (95th percentile over busy steps); kvTokens the KV
	// cache of one replica of the current allocation in tokens, measured (cache_config_info) or from physics.
	kvUsed, kvTokens float64
	kvMeasured       bool
	// running is the 95th percentile of running requests over busy steps.
	running float64
	// ttft and itl are the 95th percentile over busy steps of each step's p95 latency, in seconds.
	ttft, itl float64
	// said is what the signals showed; missing what was not exported.
	said, missing []string
}

func (e *evidence) gatherServing(m *Model, busy []bool) {
	s := &e.serving
	s.queueRate, s.kvUsed, s.running, s.ttft, s.itl = math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()
	sv := m.Serving
	if sv == nil {
		s.missing = append(s.missing, "saturation not checked (no serving-engine metrics: requests running and waiting, KV cache)")
		return
	}
	s.present = true
	overBusy := func(series Series, q float64) float64 {
		var vals []float64
		for i, b := range busy {
			if v := at(series, i); b && !math.IsNaN(v) {
				vals = append(vals, v)
			}
		}
		return Quantile(vals, q)
	}
	tokens := m.TokensPerS(e.tokens)
	if sv.RequestsWaiting != nil {
		var queued []float64
		for i, b := range busy {
			if b && at(sv.RequestsWaiting, i) >= 1 {
				queued = append(queued, at(tokens, i))
			}
		}
		if overBusy(sv.RequestsWaiting, SaturationQuantile) >= 1 {
			s.atCapacity = true
			s.queueRate = Quantile(queued, 0.5)
			s.said = append(s.said, fmt.Sprintf("requests queued on %d busy steps, at ~%s tok/s", len(queued), formatRate(s.queueRate)))
		} else {
			s.said = append(s.said, "never queued at its peaks")
		}
	} else {
		s.missing = append(s.missing, "no waiting-request gauge")
	}
	if sv.KVCacheUsage != nil {
		s.kvUsed = overBusy(sv.KVCacheUsage, 0.95)
		full := overBusy(sv.KVCacheUsage, SaturationQuantile) >= KVFullShare
		if full {
			s.atCapacity = true
		}
		s.said = append(s.said, fmt.Sprintf("KV cache %.0f%% full at the p95", 100*s.kvUsed))
	} else {
		s.missing = append(s.missing, "no KV-cache usage gauge")
	}
	if sv.Preemptions > 0 {
		s.atCapacity = true
		s.said = append(s.said, fmt.Sprintf("%.0f requests preempted for KV room", sv.Preemptions))
	}
	s.running = overBusy(sv.RequestsRunning, 0.95)
	s.ttft = overBusy(sv.TTFTP95S, 0.95)
	s.itl = overBusy(sv.ITLP95S, 0.95)
	s.kvTokens = sv.KVCacheTokensPerReplica
	s.kvMeasured = s.kvTokens > 0
	if !s.kvMeasured {
		if p := ReplicaPhysics(e.size, e.spec, e.current.GPUsPerReplica, e.context); p.KVRoomGB > 0 && e.size.KVBytesPerToken > 0 {
			s.kvTokens = p.KVRoomGB * 1e9 / e.size.KVBytesPerToken
		}
	}
}

// kvTokensPerReplica is one replica's KV cache in tokens at tp GPUs: the current replica's, scaled by the KV
// room physics gives each size (the room shrinks faster than the GPUs: the weights stay whole).
func (e *evidence) kvTokensPerReplica(tp int) float64 {
	s := &e.serving
	if tp == e.current.GPUsPerReplica {
		return s.kvTokens
	}
	now := ReplicaPhysics(e.size, e.spec, e.current.GPUsPerReplica, e.context).KVRoomGB
	then := ReplicaPhysics(e.size, e.spec, tp, e.context).KVRoomGB
	if !(now > 0) || then <= 0 {
		return 0
	}
	return s.kvTokens * then / now
}

// kvUsedTokens is the KV cache the model's requests held at the p95, over all replicas; NaN when unknown.
func (e *evidence) kvUsedTokens() float64 {
	s := &e.serving
	switch {
	case !math.IsNaN(s.kvUsed) && s.kvTokens > 0:
		return s.kvUsed * s.kvTokens * float64(e.current.Replicas)
	case !math.IsNaN(s.running):
		return s.running * e.context
	}
	return math.NaN()
}

// capacity is the saturation bound of candidate c in counted tokens/s: a model at capacity serves no more
// than where it queued (in proportion to GPUs); one that is not serves until its KV cache fills, KV use
// growing with traffic (Little's law). NaN without the signals.
func (s servingEvidence) capacity(e *evidence, c Candidate) float64 {
	if !s.present {
		return math.NaN()
	}
	if s.atCapacity {
		rate := s.queueRate
		if math.IsNaN(rate) {
			rate = e.p95
		}
		return rate * float64(c.GPUs()) / float64(e.current.GPUs())
	}
	used := e.kvUsedTokens()
	if !(used > 0) {
		return math.NaN()
	}
	return e.p95 * e.kvTokensPerReplica(c.GPUsPerReplica) * float64(c.Replicas) / used
}

// latency is the projected p95 latency of a candidate and whether it keeps the SLO.
type latency struct {
	checked       bool
	ttftS, itlS   float64
	breach, about string
}

// projectLatency projects the p95 latencies at the p95 traffic onto candidate c: the inter-token latency
// scales with the bytes a decode step reads per GPU (active weights and the replica's share of the KV cache in
// use, over its GPUs); the time to first token with the prefill work per GPU and with queueing as in an
// M/M/1 queue, 1 / (1 - utilization), utilization being the p95 rate over capacity.
func (e *evidence) projectLatency(slo SLO, c Candidate, capNow, capC float64) latency {
	l := latency{ttftS: math.NaN(), itlS: math.NaN()}
	if !slo.set() {
		return l
	}
	s := &e.serving
	var lacks []string
	if slo.ITLP95 > 0 && math.IsNaN(s.itl) {
		lacks = append(lacks, "inter-token latency")
	}
	if slo.TTFTP95 > 0 && math.IsNaN(s.ttft) {
		lacks = append(lacks, "time-to-first-token")
	}
	if len(lacks) > 0 {
		l.about = "latency not checked (no " + strings.Join(lacks, " or ") + " histogram)"
		return l
	}
	l.checked = true
	used := e.kvUsedTokens()
	if math.IsNaN(used) {
		used = 0
	}
	stepGB := func(k Candidate) float64 {
		return (e.size.ActiveWeightsGB() + used/float64(k.Replicas)*e.size.KVBytesPerToken/1e9) / float64(k.GPUsPerReplica)
	}
	if slo.ITLP95 > 0 {
		l.itlS = s.itl * stepGB(c) / stepGB(e.current)
		if l.itlS > slo.ITLP95.Seconds() {
			l.breach = fmt.Sprintf("projected inter-token latency p95 %s > SLO %s", seconds(l.itlS), seconds(slo.ITLP95.Seconds()))
		}
	}
	if slo.TTFTP95 > 0 {
		rho, rhoC := math.Min(e.p95/capNow, 0.99), e.p95/capC
		l.ttftS = math.Inf(1)
		if rhoC < 1 {
			l.ttftS = s.ttft * float64(e.current.GPUsPerReplica) / float64(c.GPUsPerReplica) * (1 - rho) / (1 - rhoC)
		}
		if l.ttftS > slo.TTFTP95.Seconds() && l.breach == "" {
			l.breach = fmt.Sprintf("projected time to first token p95 %s > SLO %s", seconds(l.ttftS), seconds(slo.TTFTP95.Seconds()))
		}
	}
	l.about = "latency checked"
	return l
}

func seconds(s float64) string {
	switch {
	case math.IsInf(s, 1):
		return "unbounded (over capacity)"
	case s < 1:
		return fmt.Sprintf("%.0f ms", s*1000)
	}
	return fmt.Sprintf("%.2g s", s)
}
