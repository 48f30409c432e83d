package sim

import "sync"

// blockTicks is how many ticks one cached block of physics holds (a day at the default 60 s tick).
const blockTicks = 1440

// quantity names what a block holds per tick. Rates are in milli-units per second (milli-tokens/s, mW), so a
// rate times a duration in ms is an integer in micro-units (micro-tokens, µJ) and sums are exact in any order.
type quantity int

const (
	qPrompt     quantity = iota // per replica, milli-tokens/s
	qGeneration                 // per replica, milli-tokens/s
	qModelPower                 // per model, mW summed over the GPUs its pods hold
	qGPUPower                   // per GPU, mW
	nQuantities
)

// block is the physics of ticks [k0, k0+blockTicks): values per tick and their running sums within the block.
type block struct {
	k0   int64
	vals [nQuantities][][]int64 // [q][model or GPU][i]
	cum  [nQuantities][][]int64 // [q][model or GPU][i]: sum of vals over [0, i) times the tick in ms
}

// blockCache computes blocks on demand, keeps the recent ones, and keeps the sums of all blocks since the
// epoch so a counter at any time costs at most one block.
type blockCache struct {
	s      *Sim
	mu     sync.Mutex
	prefix [][nQuantities][]int64 // prefix[b]: sums over blocks [0, b)
	blocks map[int64]*block
	order  []int64 // least recently computed first
	max    int
}

func newBlockCache(s *Sim) *blockCache {
	perBlock := (2*len(s.replicas) + len(s.models) + len(s.gpus) + 1) * blockTicks * 8 * 2
	return &blockCache{s: s, blocks: map[int64]*block{}, max: max(4, 512<<20/perBlock)}
}

// get is block b (0 is the first block after the epoch).
func (c *blockCache) get(b int64) *block {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.getLocked(b)
}

func (c *blockCache) getLocked(b int64) *block {
	if bl, ok := c.blocks[b]; ok {
		return bl
	}
	bl := c.s.computeBlock(c.s.e0 + b*blockTicks)
	if len(c.order) >= c.max {
		delete(c.blocks, c.order[0])
		c.order = c.order[1:]
	}
	c.blocks[b] = bl
	c.order = append(c.order, b)
	return bl
}

// sumsBefore are the totals of every quantity over blocks [0, b).
func (c *blockCache) sumsBefore(b int64) [nQuantities][]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.prefix) == 0 {
		c.prefix = append(c.prefix, c.s.zeroSums())
	}
	for int64(len(c.prefix)) <= b {
		n := int64(len(c.prefix)) - 1
		bl := c.getLocked(n)
		prev := c.prefix[n]
		next := c.s.zeroSums()
		for q := range nQuantities {
			for i, cum := range bl.cum[q] {
				next[q][i] = prev[q][i] + cum[blockTicks]
			}
		}
		c.prefix = append(c.prefix, next)
	}
	return c.prefix[b]
}

func (s *Sim) zeroSums() [nQuantities][]int64 {
	var z [nQuantities][]int64
	for q := range nQuantities {
		z[q] = make([]int64, s.width(q))
	}
	return z
}

// width is how many series of quantity q there are.
func (s *Sim) width(q quantity) int {
	switch q {
	case qGPUPower:
		return len(s.gpus)
	case qModelPower:
		return len(s.models)
	}
	return len(s.replicas)
}

// computeBlock runs the physics over ticks [k0, k0+blockTicks).
func (s *Sim) computeBlock(k0 int64) *block {
	bl := &block{k0: k0}
	for q := range nQuantities {
		bl.vals[q] = make([][]int64, s.width(q))
		bl.cum[q] = make([][]int64, s.width(q))
		for i := range bl.vals[q] {
			bl.vals[q][i] = make([]int64, blockTicks)
		}
	}
	for ri := range s.replicas {
		p, g := bl.vals[qPrompt][ri], bl.vals[qGeneration][ri]
		for i := range blockTicks {
			p[i], g[i] = s.rates(ri, k0+int64(i))
		}
	}
	for gi := range s.gpus {
		power := bl.vals[qGPUPower][gi]
		for _, h := range s.gpus[gi].timeline {
			lo, hi := max(h.k0, k0), min(h.k1, k0+blockTicks)
			for k := lo; k < hi; k++ {
				i := k - k0
				if h.pod < 0 {
					power[i] = s.powerMW(gi, k, -1, 0)
					continue
				}
				p := &s.pods[h.pod]
				tokensPerS := float64(bl.vals[qPrompt][p.replica][i]+bl.vals[qGeneration][p.replica][i]) / 1000
				power[i] = s.powerMW(gi, k, h.pod, tokensPerS)
				bl.vals[qModelPower][p.model][i] += power[i]
			}
		}
	}
	for q := range nQuantities {
		for j, v := range bl.vals[q] {
			cum := make([]int64, blockTicks+1)
			for i, x := range v {
				cum[i+1] = cum[i] + x*s.tickMS
			}
			bl.cum[q][j] = cum
		}
	}
	return bl
}

// value is quantity q of series idx over tick k; 0 before the epoch.
func (s *Sim) value(q quantity, idx int, k int64) int64 {
	if k < s.e0 {
		return 0
	}
	b := (k - s.e0) / blockTicks
	return s.cache.get(b).vals[q][idx][k-s.e0-b*blockTicks]
}

// cumulative is the integral of quantity q of series idx from the epoch to t (Unix ms), in micro-units.
func (s *Sim) cumulative(q quantity, idx int, tMS int64) int64 {
	kb := floorDiv(tMS, s.tickMS) // ticks [e0, kb) lie wholly before t
	if kb < s.e0 {
		return 0
	}
	b := (kb - s.e0) / blockTicks
	i := kb - s.e0 - b*blockTicks
	total := s.cache.sumsBefore(b)[q][idx]
	if i > 0 {
		total += s.cache.get(b).cum[q][idx][i]
	}
	if part := tMS - kb*s.tickMS; part > 0 {
		total += s.value(q, idx, kb) * part
	}
	return total
}
