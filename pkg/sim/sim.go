package sim

import (
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sim is a fleet resolved from a Spec and a seed: physical GPUs, pods and their GPUs over time, and the
// physics. It is safe for concurrent use.
type Sim struct {
	spec          Spec
	seed          uint64
	tickMS        int64
	e0            int64 // tick index of the first tick after the epoch
	models        []model
	replicas      []replica
	byName        map[string]int // model name -> index
	gpus          []gpu
	pods          []pod
	gaps          [][2]int64 // [start, end) in Unix ms
	cache         *blockCache
	rowOf         [nQuantities]int // first row of each quantity in cache
	servingCaches sync.Map         // replica -> func() *blockCache, see servingCache
}

type model struct {
	spec        ModelSpec
	key         uint64
	promptShare float64
	replicas    []int // indices into Sim.replicas
	pods        []int // every pod of every replica, in order of creation
}

// replica is one replica of a model: its GPUs' physics and its pods over time (one after each restart).
type replica struct {
	model     int
	spec      ReplicaSpec
	typ       GPUType
	jPerToken float64
	// parkedW is what each GPU of the replica draws parked: its type's, plus the model's ParkedExtraW.
	parkedW float64
	// saturationTokensPerS is the most the replica's GPUs serve within their power limit (see servedTokensPerS).
	saturationTokensPerS float64
	pods                 []int
}

type gpu struct {
	host string
	// hostLabel and noEnergy are the node's naming overrides.
	hostLabel string
	noEnergy  bool
	index     int
	typ       GPUType
	uuid      string
	pciBusID  string
	key       uint64
	// timeline covers [e0, forever) with the pod holding the GPU (-1: none), in tick order.
	timeline []holding
}

type holding struct {
	k0, k1 int64 // ticks [k0, k1)
	pod    int
}

type pod struct {
	model   int
	replica int // index into Sim.replicas
	name    string
	gpus    []int
	k0, k1  int64 // alive ticks [k0, k1); k1 is forever for the last pod
}

const forever = math.MaxInt64 / 4

// New resolves spec with seed. Its errors name the part of the spec at fault.
func New(spec Spec, seed int64) (*Sim, error) {
	if err := spec.validate(); err != nil {
		return nil, fmt.Errorf("the fleet spec is not valid: %w", err)
	}
	s := &Sim{spec: spec, seed: uint64(seed), tickMS: spec.Tick.Milliseconds(), byName: map[string]int{}}
	s.e0 = spec.Epoch.UnixMilli() / s.tickMS
	for _, n := range spec.Nodes {
		typ, _ := spec.gpuType(n.GPUType)
		for i := range n.GPUs {
			g := gpu{host: n.Host, hostLabel: n.HostLabel, noEnergy: n.NoEnergyCounter, index: i, typ: typ, key: hashString(n.Host + "/" + strconv.Itoa(i))}
			g.uuid = uuidFrom(g.key ^ s.seed)
			g.pciBusID = pciBusID(i)
			s.gpus = append(s.gpus, g)
		}
	}
	for mi, ms := range spec.Models {
		ms.Container = ms.ContainerName()
		s.byName[ms.Name] = mi
		s.models = append(s.models, model{spec: ms, key: hashString(ms.Name), promptShare: ms.PromptPerGeneration / (1 + ms.PromptPerGeneration)})
		for _, rs := range ms.ReplicaSpecs() {
			typ, _ := spec.gpuType(rs.GPUType)
			r := replica{model: mi, spec: rs, typ: typ, jPerToken: ms.MarginalJPerToken, parkedW: typ.ParkedW + ms.ParkedExtraW}
			if rs.MarginalJPerToken > 0 {
				r.jPerToken = rs.MarginalJPerToken
			}
			r.saturationTokensPerS = saturationTokensPerS(r, spec.PowerNoiseW)
			s.models[mi].replicas = append(s.models[mi].replicas, len(s.replicas))
			s.replicas = append(s.replicas, r)
			if err := s.addPod(len(s.replicas)-1, rs.Hosts, s.e0, forever); err != nil {
				return nil, err
			}
		}
	}
	restarts := slices.Clone(spec.Mess.Restarts)
	sort.SliceStable(restarts, func(i, j int) bool { return restarts[i].At.Before(restarts[j].At) })
	for _, r := range restarts {
		if err := s.restart(r); err != nil {
			return nil, err
		}
	}
	for _, g := range spec.Mess.Gaps {
		s.gaps = append(s.gaps, [2]int64{g.Start.UnixMilli(), g.Start.Add(g.Duration).UnixMilli()})
	}
	for gi := range s.gpus {
		s.gpus[gi].timeline = s.timeline(gi)
	}
	s.cache = newPhysicsCache(s)
	return s, nil
}

// addPod starts a pod of replica ri on the first GPUs of hosts free over ticks [k0, k1). Pods are named by
// their model's pod count, so a one-replica model keeps the names it had before replicas existed.
func (s *Sim) addPod(ri int, hosts []string, k0, k1 int64) error {
	r := &s.replicas[ri]
	m := &s.models[r.model]
	p := pod{model: r.model, replica: ri, k0: k0, k1: k1, name: podName(m.spec.Container, m.key^s.seed, len(m.pods))}
	for _, h := range hosts {
		for gi := range s.gpus {
			g := &s.gpus[gi]
			if len(p.gpus) == r.spec.GPUs || g.host != h || g.typ.Name != r.typ.Name || !s.gpuFree(gi, k0, k1) {
				continue
			}
			p.gpus = append(p.gpus, gi)
		}
	}
	if len(p.gpus) < r.spec.GPUs {
		return fmt.Errorf("the fleet spec is not valid: model %q needs %d free %s GPUs on %s, found %d",
			m.spec.Name, r.spec.GPUs, r.typ.Name, strings.Join(hosts, ", "), len(p.gpus))
	}
	m.pods = append(m.pods, len(s.pods))
	r.pods = append(r.pods, len(s.pods))
	s.pods = append(s.pods, p)
	return nil
}

func (s *Sim) gpuFree(gi int, k0, k1 int64) bool {
	for _, p := range s.pods {
		if p.k0 < k1 && k0 < p.k1 && slices.Contains(p.gpus, gi) {
			return false
		}
	}
	return true
}

// restart ends the current pod of each restarting replica at r.At and starts a new one after r.Down, on tick
// boundaries.
func (s *Sim) restart(r Restart) error {
	m := &s.models[s.byName[r.Model]]
	which := r.Replicas
	if len(which) == 0 {
		for i := range m.replicas {
			which = append(which, i)
		}
	}
	end := r.At.UnixMilli() / s.tickMS
	start := end + (r.Down.Milliseconds()+s.tickMS-1)/s.tickMS
	for _, i := range which {
		rep := &s.replicas[m.replicas[i]]
		old := &s.pods[rep.pods[len(rep.pods)-1]]
		if end <= old.k0 {
			return fmt.Errorf("the fleet spec is not valid: restart of %q at %s is before its pod started", r.Model, r.At.UTC().Format(time.RFC3339))
		}
		k1 := old.k1
		old.k1 = end
		hosts := r.ToHosts
		if len(hosts) == 0 {
			hosts = rep.spec.Hosts
		}
		if err := s.addPod(m.replicas[i], hosts, start, k1); err != nil {
			return err
		}
	}
	return nil
}

// timeline lists who holds GPU gi from the epoch on, unheld stretches included.
func (s *Sim) timeline(gi int) []holding {
	var held []holding
	for pi, p := range s.pods {
		if slices.Contains(p.gpus, gi) {
			held = append(held, holding{k0: p.k0, k1: p.k1, pod: pi})
		}
	}
	sort.Slice(held, func(i, j int) bool { return held[i].k0 < held[j].k0 })
	var out []holding
	k := s.e0
	for _, h := range held {
		if h.k0 > k {
			out = append(out, holding{k0: k, k1: h.k0, pod: -1})
		}
		out = append(out, h)
		k = h.k1
	}
	if k < forever {
		out = append(out, holding{k0: k, k1: forever, pod: -1})
	}
	return out
}

// Spec is the spec the fleet was built from.
func (s *Sim) Spec() Spec { return s.spec }

// tickOf is the tick whose interval (kτ, (k+1)τ] contains t (Unix ms).
func (s *Sim) tickOf(tMS int64) int64 { return floorDiv(tMS-1, s.tickMS) }

// inGap reports whether scrapes at t (Unix ms) are missing.
func (s *Sim) inGap(tMS int64) bool {
	for _, g := range s.gaps {
		if tMS >= g[0] && tMS < g[1] {
			return true
		}
	}
	return false
}

// Stream identifiers keep the hashes of different quantities independent.
const (
	streamNoise = iota + 1
	streamQuiet
	streamBurst
	streamBurstAt
	streamPower
)

// trafficTokensPerS is the model's total token rate over tick k if it serves then.
func (s *Sim) trafficTokensPerS(m *model, k int64) float64 {
	tr := m.spec.Traffic
	tickS := float64(s.tickMS) / 1000
	mid := (float64(k) + 0.5) * tickS // Unix seconds
	r := 0.0
	if tr.BaseTokensPerS > 0 && !(tr.QuietShare > 0 && u01(s.seed, m.key, streamQuiet, int64(mid/1800)) < tr.QuietShare) {
		hour := math.Mod(mid, 86400) / 3600
		cycle := 1 + tr.DailyAmplitude*math.Cos(2*math.Pi*(hour-tr.PeakHourUTC)/24)
		noise := 1 + tr.Noise*(2*u01(s.seed, m.key, streamNoise, k)-1)
		r = tr.BaseTokensPerS * cycle * noise
	}
	if tr.BurstsPerDay > 0 {
		hour := int64(mid / 3600)
		for h := hour - 1; h <= hour; h++ {
			if u01(s.seed, m.key, streamBurst, h) >= tr.BurstsPerDay/24 {
				continue
			}
			start := float64(h)*3600 + u01(s.seed, m.key, streamBurstAt, h)*3600
			if mid >= start && mid < start+tr.BurstMinutes*60 {
				r += tr.BurstTokensPerS
			}
		}
	}
	return math.Max(r, 0)
}

// alive reports whether a pod of replica ri is alive over tick k.
func (s *Sim) alive(ri int, k int64) bool {
	for _, pi := range s.replicas[ri].pods {
		if p := &s.pods[pi]; k >= p.k0 && k < p.k1 {
			return true
		}
	}
	return false
}

// demandTokensPerS is the token rate demanded of replica ri over tick k: the model's traffic split evenly
// across its replicas alive then (0 when ri is not).
func (s *Sim) demandTokensPerS(ri int, k int64) float64 {
	if !s.alive(ri, k) {
		return 0
	}
	m := &s.models[s.replicas[ri].model]
	n := 0
	for _, rj := range m.replicas {
		if s.alive(rj, k) {
			n++
		}
	}
	return s.trafficTokensPerS(m, k) / float64(n)
}

// saturationTokensPerS is the token rate at which a replica's GPUs reach their power limit: a power-capped
// GPU throttles, so it serves no more than its power allows. The limit is approached to within the power
// noise, so that a throttled GPU's noisy reading stays at or under its limit and power stays parked plus
// marginal J/token x tokens/s at every tick (with zero-mean noise), capped or not. +Inf for a replica whose
// tokens cost nothing.
func saturationTokensPerS(r replica, noiseW float64) float64 {
	if r.jPerToken <= 0 {
		return math.Inf(1)
	}
	return float64(r.spec.GPUs) * (r.typ.PowerCapW - r.parkedW - noiseW) / r.jPerToken
}

// servedTokensPerS is the token rate replica ri serves over tick k: its demand, up to what its GPUs can
// serve at their power limit.
func (s *Sim) servedTokensPerS(ri int, k int64) float64 {
	return math.Min(s.demandTokensPerS(ri, k), s.replicas[ri].saturationTokensPerS)
}

// rates is replica ri's prompt and generation rate over tick k, in milli-tokens per second.
func (s *Sim) rates(ri int, k int64) (promptMilli, genMilli int64) {
	r := s.servedTokensPerS(ri, k) * 1000
	share := s.models[s.replicas[ri].model].promptShare
	return int64(math.Round(r * share)), int64(math.Round(r * (1 - share)))
}

// powerMW is the power of GPU gi over tick k, in milliwatts, held by pod (-1: none) whose replica serves
// tokensPerS over that tick: parked power plus the marginal energy of its share of the tokens, plus noise.
// The served rate never takes a GPU over its limit (see saturationTokensPerS); the clamp only guards specs
// whose noise exceeds the headroom.
func (s *Sim) powerMW(gi int, k int64, pi int, tokensPerS float64) int64 {
	g := &s.gpus[gi]
	noise := s.spec.PowerNoiseW * (2*u01(s.seed, g.key, streamPower, k) - 1)
	var w float64
	if pi < 0 {
		w = g.typ.BareIdleW + noise
	} else {
		r := &s.replicas[s.pods[pi].replica]
		w = r.parkedW + r.jPerToken*tokensPerS/float64(r.spec.GPUs) + noise
	}
	w = math.Min(math.Max(w, 0), g.typ.PowerCapW)
	return int64(math.Round(w * 1000))
}

// holderAt is the pod holding GPU gi over tick k, -1 when none.
func (g *gpu) holderAt(k int64) int {
	for _, h := range g.timeline {
		if k >= h.k0 && k < h.k1 {
			return h.pod
		}
	}
	return -1
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// u01 is a uniform number in [0, 1) determined by its arguments (splitmix64 finalizer).
func u01(seed, key uint64, stream, i int64) float64 {
	x := seed ^ key*0x9E3779B97F4A7C15 ^ uint64(stream)*0xBF58476D1CE4E5B9 ^ uint64(i)*0x94D049BB133111EB
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}
