package sim

import "sync"

// blockTicks is how many ticks one cached block of physics holds (a day at the default 60 s tick).
const blockTicks = 1440

// quantity names what the physics holds per tick. Rates are in milli-units per second (milli-tokens/s, mW), so
// a rate times a duration in ms is an integer in micro-units (micro-tokens, µJ) and sums are exact in any order.
type quantity int

const (
	qPrompt     quantity = iota // per replica, milli-tokens/s
	qGeneration                 // per replica, milli-tokens/s
	qModelPower                 // per model, mW summed over the GPUs its pods hold
	qGPUPower                   // per GPU, mW
	nQuantities
)

// block is some rows of values over ticks [k0, k0+blockTicks), with their running sums within the block.
type block struct {
	vals [][]int64 // [row][i]
	cum  [][]int64 // [row][i]: sum of vals over [0, i) times the tick in ms
}

// blockCache computes the blocks of a set of rows on demand, keeps the recent ones, and keeps the sums of all
// blocks since the epoch so a counter at any time costs at most one block.
type blockCache struct {
	s       *Sim
	rows    int
	compute func(k0 int64) [][]int64 // the rows' values over ticks [k0, k0+blockTicks)
	mu      sync.Mutex
	prefix  [][]int64 // prefix[b][row]: sums over blocks [0, b)
	blocks  map[int64]*block
	order   []int64 // least recently computed first
	max     int
}

func newBlockCache(s *Sim, rows, maxBlocks int, compute func(k0 int64) [][]int64) *blockCache {
	return &blockCache{s: s, rows: rows, compute: compute, blocks: map[int64]*block{}, max: maxBlocks}
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
	bl := &block{vals: c.compute(c.s.e0 + b*blockTicks)}
	for _, v := range bl.vals {
		cum := make([]int64, blockTicks+1)
		for i, x := range v {
			cum[i+1] = cum[i] + x*c.s.tickMS
		}
		bl.cum = append(bl.cum, cum)
	}
	if len(c.order) >= c.max {
		delete(c.blocks, c.order[0])
		c.order = c.order[1:]
	}
	c.blocks[b] = bl
	c.order = append(c.order, b)
	return bl
}

// sumsBefore are the totals of every row over blocks [0, b).
func (c *blockCache) sumsBefore(b int64) []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.prefix) == 0 {
		c.prefix = append(c.prefix, make([]int64, c.rows))
	}
	for int64(len(c.prefix)) <= b {
		n := int64(len(c.prefix)) - 1
		bl := c.getLocked(n)
		next := make([]int64, c.rows)
		for i, cum := range bl.cum {
			next[i] = c.prefix[n][i] + cum[blockTicks]
		}
		c.prefix = append(c.prefix, next)
	}
	return c.prefix[b]
}

// value is row r over tick k; 0 before the epoch.
func (c *blockCache) value(r int, k int64) int64 {
	s := c.s
	if k < s.e0 {
		return 0
	}
	b := (k - s.e0) / blockTicks
	return c.get(b).vals[r][k-s.e0-b*blockTicks]
}

// cumulative is the integral of row r from the epoch to t (Unix ms), in micro-units.
func (c *blockCache) cumulative(r int, tMS int64) int64 {
	s := c.s
	kb := floorDiv(tMS, s.tickMS) // ticks [e0, kb) lie wholly before t
	if kb < s.e0 {
		return 0
	}
	b := (kb - s.e0) / blockTicks
	i := kb - s.e0 - b*blockTicks
	total := c.sumsBefore(b)[r]
	if i > 0 {
		total += c.get(b).cum[r][i]
	}
	if part := tMS - kb*s.tickMS; part > 0 {
		total += c.value(r, kb) * part
	}
	return total
}

// newPhysicsCache caches the physics: the rows of every quantity, one after the other.
func newPhysicsCache(s *Sim) *blockCache {
	rows := 0
	for q := range nQuantities {
		s.rowOf[q] = rows
		rows += s.width(q)
	}
	perBlock := (rows + 1) * blockTicks * 8 * 2
	return newBlockCache(s, rows, max(4, 512<<20/perBlock), s.computeBlock)
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
func (s *Sim) computeBlock(k0 int64) [][]int64 {
	vals := make([][]int64, s.rowOf[nQuantities-1]+s.width(nQuantities-1))
	for i := range vals {
		vals[i] = make([]int64, blockTicks)
	}
	row := func(q quantity, idx int) []int64 { return vals[s.rowOf[q]+idx] }
	for ri := range s.replicas {
		p, g := row(qPrompt, ri), row(qGeneration, ri)
		for i := range blockTicks {
			p[i], g[i] = s.rates(ri, k0+int64(i))
		}
	}
	for gi := range s.gpus {
		power := row(qGPUPower, gi)
		for _, h := range s.gpus[gi].timeline {
			lo, hi := max(h.k0, k0), min(h.k1, k0+blockTicks)
			for k := lo; k < hi; k++ {
				i := k - k0
				if h.pod < 0 {
					power[i] = s.powerMW(gi, k, -1, 0)
					continue
				}
				p := &s.pods[h.pod]
				tokensPerS := float64(row(qPrompt, p.replica)[i]+row(qGeneration, p.replica)[i]) / 1000
				power[i] = s.powerMW(gi, k, h.pod, tokensPerS)
				row(qModelPower, p.model)[i] += power[i]
			}
		}
	}
	return vals
}

// value is quantity q of series idx over tick k; 0 before the epoch.
func (s *Sim) value(q quantity, idx int, k int64) int64 { return s.cache.value(s.rowOf[q]+idx, k) }

// cumulative is the integral of quantity q of series idx from the epoch to t (Unix ms), in micro-units.
func (s *Sim) cumulative(q quantity, idx int, tMS int64) int64 {
	return s.cache.cumulative(s.rowOf[q]+idx, tMS)
}
