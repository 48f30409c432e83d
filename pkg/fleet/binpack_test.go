package fleet_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

func TestPackFirstFitDecreasingKnownPackings(t *testing.T) {
	cases := []struct {
		name     string
		items    []fleet.PackItem
		nodeGPUs int
		wantGPUs int
		optGPUs  int        // the exhaustive optimum
		wantNode [][]string // GPUs' items per node, when the layout matters
	}{
		{
			name:     "two small models share one GPU",
			items:    []fleet.PackItem{{"a", 30, 1}, {"b", 40, 1}},
			nodeGPUs: 8, wantGPUs: 1, optGPUs: 1,
		},
		{
			name:     "largest first: 50+20, 40+30 on two GPUs where first-fit in given order needs three",
			items:    []fleet.PackItem{{"a", 20, 1}, {"b", 30, 1}, {"c", 40, 1}, {"d", 50, 1}},
			nodeGPUs: 8, wantGPUs: 2, optGPUs: 2,
			wantNode: [][]string{{"d,a", "c,b"}},
		},
		{
			name:     "a tensor-parallel model fills the free room on its GPUs with small ones",
			items:    []fleet.PackItem{{"big", 100, 2}, {"s1", 20, 1}, {"s2", 20, 1}},
			nodeGPUs: 8, wantGPUs: 2, optGPUs: 2,
			wantNode: [][]string{{"big,s1", "big,s2"}},
		},
		{
			name: "a 4-GPU model never straddles nodes of 4 GPUs",
			items: []fleet.PackItem{
				{"t2", 140, 2}, {"t4", 280, 4},
			},
			nodeGPUs: 4, wantGPUs: 6, optGPUs: 6,
			wantNode: [][]string{{"t4", "t4", "t4", "t4"}, {"t2", "t2"}},
		},
		{
			// Sizes 5, 4, 4, 3, 2, 2 tenths of 72 GB: {5,3,2} and {4,4,2} fill two GPUs exactly, but FFD puts
			// 5+4 together and needs a third GPU for the last 2.
			name: "the textbook instance where first-fit decreasing misses the optimum",
			items: []fleet.PackItem{
				{"a", 36, 1}, {"b", 28.8, 1}, {"c", 28.8, 1}, {"d", 21.6, 1}, {"e", 14.4, 1}, {"f", 14.4, 1},
			},
			nodeGPUs: 8, wantGPUs: 3, optGPUs: 2,
		},
		{
			name:     "a model that fills a GPU exactly fits",
			items:    []fleet.PackItem{{"a", 36, 1}, {"b", 36, 1}},
			nodeGPUs: 1, wantGPUs: 1, optGPUs: 1,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := fleet.PackFirstFitDecreasing(c.items, 72, c.nodeGPUs)
			require.NoError(t, err)
			assert.Equal(t, c.wantGPUs, p.GPUs)
			assert.Equal(t, c.optGPUs, exhaustiveOptimum(c.items, 72, c.nodeGPUs))
			assertValidPacking(t, c.items, p, 72, c.nodeGPUs)
			if c.wantNode != nil {
				got := make([][]string, len(p.Nodes))
				for n, gpus := range p.Nodes {
					for _, g := range gpus {
						got[n] = append(got[n], strings.Join(g.Items, ","))
					}
				}
				assert.Equal(t, c.wantNode, got)
			}
		})
	}
}

func TestPackFirstFitDecreasingRefusesWhatCannotFit(t *testing.T) {
	_, err := fleet.PackFirstFitDecreasing([]fleet.PackItem{{"huge", 100, 1}}, 72, 8)
	assert.ErrorContains(t, err, "huge puts 100.0 GB on each of its 1 GPUs; one holds 72.0 GB")
	_, err = fleet.PackFirstFitDecreasing([]fleet.PackItem{{"wide", 100, 8}}, 72, 4)
	assert.ErrorContains(t, err, "wide needs 8 GPUs of one node; nodes have 4")
}

// On random small instances, first-fit decreasing is never better than the exhaustive optimum and never worse
// than the FFD bound 11/9 OPT + 6/9: proven for one-GPU models (classic bin packing), checked here also with
// tensor-parallel models on nodes of 4 GPUs.
func TestPackFirstFitDecreasingAgainstExhaustiveOptimum(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const gpuGB = 72.0
	worse := 0
	for trial := range 300 {
		oneGPU := trial < 200
		n := 4 + rng.IntN(7)
		nodeGPUs := 8
		tps := []int{1}
		if !oneGPU {
			nodeGPUs, tps = 4, []int{1, 1, 2, 4}
		}
		items := make([]fleet.PackItem, n)
		for i := range items {
			items[i] = randomItem(rng, fmt.Sprintf("m%d", i), tps)
		}
		t.Run(fmt.Sprintf("trial %d", trial), func(t *testing.T) {
			p, err := fleet.PackFirstFitDecreasing(items, gpuGB, nodeGPUs)
			require.NoError(t, err)
			assertValidPacking(t, items, p, gpuGB, nodeGPUs)
			opt := exhaustiveOptimum(items, gpuGB, nodeGPUs)
			assert.GreaterOrEqual(t, p.GPUs, opt, "FFD cannot beat the optimum")
			if p.GPUs > opt {
				worse++
			}
			assert.LessOrEqual(t, float64(p.GPUs), 11.0/9*float64(opt)+6.0/9, "FFD bound, OPT %d", opt)
		})
	}
	t.Logf("first-fit decreasing used more GPUs than the optimum in %d of 300 instances", worse)
}

func BenchmarkPackFirstFitDecreasing1000Models(b *testing.B) {
	items := randomItems(1000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fleet.PackFirstFitDecreasing(items, 72, 8); err != nil {
			b.Fatal(err)
		}
	}
}

// The best of five runs, so that other processes on a shared machine do not decide the verdict.
func TestPackFirstFitDecreasing1000ModelsIsFast(t *testing.T) {
	items := randomItems(1000)
	best := time.Hour
	for range 5 {
		start := time.Now()
		p, err := fleet.PackFirstFitDecreasing(items, 72, 8)
		best = min(best, time.Since(start))
		require.NoError(t, err)
		assertValidPacking(t, items, p, 72, 8)
	}
	assert.Less(t, best, 50*time.Millisecond)
}

func randomItems(n int) []fleet.PackItem {
	rng := rand.New(rand.NewPCG(3, 4))
	items := make([]fleet.PackItem, n)
	for i := range items {
		items[i] = randomItem(rng, fmt.Sprintf("m%04d", i), []int{1, 1, 1, 1, 2, 4, 8})
	}
	return items
}

// randomItem puts between 5% and 100% of a 72 GB GPU on each of its GPUs; a multi-GPU item more than half of
// each, as the smallest tensor-parallel size that holds a model always does.
func randomItem(rng *rand.Rand, name string, tps []int) fleet.PackItem {
	tp := tps[rng.IntN(len(tps))]
	lo := 0.05
	if tp > 1 {
		lo = 0.5
	}
	return fleet.PackItem{Name: name, NeedGB: 72 * (lo + (1-lo)*rng.Float64()) * float64(tp), TP: tp}
}

// assertValidPacking checks that every item sits on exactly TP GPUs of one node, with its share on each, and
// that no GPU holds more than its usable memory.
func assertValidPacking(t *testing.T, items []fleet.PackItem, p fleet.Packing, gpuGB float64, nodeGPUs int) {
	t.Helper()
	byName := map[string]fleet.PackItem{}
	for _, it := range items {
		byName[it.Name] = it
	}
	seen := map[string]int{}
	total := 0
	for _, gpus := range p.Nodes {
		assert.LessOrEqual(t, len(gpus), nodeGPUs)
		onNode := map[string]int{}
		for _, g := range gpus {
			sum := 0.0
			for _, name := range g.Items {
				it := byName[name]
				sum += it.NeedGB / float64(it.TP)
				onNode[name]++
			}
			assert.InDelta(t, sum, g.UsedGB, 1e-6)
			assert.LessOrEqual(t, g.UsedGB, gpuGB+1e-6)
			assert.NotEmpty(t, g.Items)
		}
		for name, k := range onNode {
			assert.Equal(t, byName[name].TP, k, "%s on one node", name)
			seen[name]++
		}
		total += len(gpus)
	}
	assert.Equal(t, total, p.GPUs)
	for _, it := range items {
		assert.Equal(t, 1, seen[it.Name], "%s placed once", it.Name)
	}
}

// exhaustiveOptimum is the fewest GPUs that hold items, by depth-first search over every placement (every
// node in use, every set of its GPUs in use with room, topped up with unused GPUs; or a new node), pruned by
// the best found so far and a memory lower bound.
func exhaustiveOptimum(items []fleet.PackItem, gpuGB float64, nodeGPUs int) int {
	sorted := slices.Clone(items)
	slices.SortFunc(sorted, func(a, b fleet.PackItem) int { return int(math.Copysign(1, b.NeedGB-a.NeedGB)) })
	remaining := make([]float64, len(sorted)+1)
	for i := len(sorted) - 1; i >= 0; i-- {
		remaining[i] = remaining[i+1] + sorted[i].NeedGB
	}
	best := math.MaxInt
	var nodes [][]float64
	var dfs func(i, used int)
	dfs = func(i, used int) {
		free := 0.0
		for _, nd := range nodes {
			for _, u := range nd {
				free += gpuGB - u
			}
		}
		lower := used + int(math.Ceil((remaining[i]-free)/gpuGB-1e-9))
		if max(used, lower) >= best {
			return
		}
		if i == len(sorted) {
			best = used
			return
		}
		it := sorted[i]
		share := it.NeedGB / float64(it.TP)
		for n := range nodes {
			nd := nodes[n]
			for mask := 0; mask < 1<<len(nd); mask++ {
				k, ok := 0, true
				for g := range nd {
					if mask&(1<<g) != 0 {
						k++
						ok = ok && nd[g]+share <= gpuGB+1e-9
					}
				}
				fresh := it.TP - k
				if !ok || fresh < 0 || len(nd)+fresh > nodeGPUs {
					continue
				}
				for g := range nd {
					if mask&(1<<g) != 0 {
						nd[g] += share
					}
				}
				for range fresh {
					nd = append(nd, share)
				}
				nodes[n] = nd
				dfs(i+1, used+fresh)
				nd = nd[:len(nd)-fresh]
				for g := range nd {
					if mask&(1<<g) != 0 {
						nd[g] -= share
					}
				}
				nodes[n] = nd
			}
		}
		fresh := make([]float64, it.TP)
		for g := range fresh {
			fresh[g] = share
		}
		nodes = append(nodes, fresh)
		dfs(i+1, used+it.TP)
		nodes = nodes[:len(nodes)-1]
	}
	dfs(0, 0)
	return best
}
