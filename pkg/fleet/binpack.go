package fleet

import (
	"cmp"
	"fmt"
	"slices"
)

// PackItem is a model to place by memory: NeedGB split evenly over TP GPUs, all of one node (a model's shards
// talk over NVLink/PCIe inside a node, never across nodes).
type PackItem struct {
	Name   string
	NeedGB float64
	TP     int
}

// shareGB is what the item puts on each of its GPUs.
func (it PackItem) shareGB() float64 { return it.NeedGB / float64(it.TP) }

// PackedGPU is one GPU in use and the items it holds.
type PackedGPU struct {
	UsedGB float64
	Items  []string
}

// Packing places items on as few GPUs as it can.
type Packing struct {
	// GPUs is the number of GPUs holding at least one item.
	GPUs int
	// Nodes are the nodes opened, each with its GPUs in use (a node has at most NodeGPUs GPUs).
	Nodes [][]PackedGPU
}

// packFit is how much over a GPU's usable memory rounding may put it: needs and capacities are in GB with
// decimals, and a model that exactly fills a GPU must fit.
const packFit = 1e-9

// PackFirstFitDecreasing places items by first-fit decreasing on GPUs of gpuGB usable memory, nodes of
// nodeGPUs GPUs: items in decreasing order of need (ties by name, so the result is deterministic); each goes
// onto the first GPUs in use with room for its share; failing that, onto GPUs in use plus unused GPUs of the
// first node with room for it; failing that, onto a new node. For items of one GPU each this is classic FFD,
// which uses at most 11/9 OPT + 6/9 GPUs (Dósa, 2007).
func PackFirstFitDecreasing(items []PackItem, gpuGB float64, nodeGPUs int) (Packing, error) {
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	for _, it := range items {
		if it.TP < 1 || it.TP > nodeGPUs {
			return Packing{}, fmt.Errorf("%s needs %d GPUs of one node; nodes have %d", it.Name, it.TP, nodeGPUs)
		}
		if it.shareGB() > gpuGB+packFit {
			return Packing{}, fmt.Errorf("%s puts %.1f GB on each of its %d GPUs; one holds %.1f GB", it.Name, it.shareGB(), it.TP, gpuGB)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmp.Compare(items[b].NeedGB, items[a].NeedGB); c != 0 {
			return c
		}
		return cmp.Compare(items[a].Name, items[b].Name)
	})

	p := packer{gpuGB: gpuGB, nodeGPUs: nodeGPUs}
	for _, i := range order {
		p.place(items[i])
	}
	return p.result(), nil
}

type packNode struct {
	usedGB  []float64 // per GPU in use
	items   [][]string
	maxFree float64 // the most room on one GPU in use, or gpuGB while the node has unused GPUs
}

type packer struct {
	gpuGB    float64
	nodeGPUs int
	nodes    []packNode
	pick     []int // scratch: GPU indexes chosen on one node
}

func (p *packer) place(it PackItem) {
	share := it.shareGB()
	for _, fresh := range []bool{false, true} {
		for n := range p.nodes {
			if p.nodes[n].maxFree+packFit >= share && p.tryNode(n, it, share, fresh) {
				return
			}
		}
	}
	p.nodes = append(p.nodes, packNode{maxFree: p.gpuGB})
	p.tryNode(len(p.nodes)-1, it, share, true)
}

// tryNode puts it on node n: on the first TP GPUs in use with room, topped up with unused GPUs when fresh.
func (p *packer) tryNode(n int, it PackItem, share float64, fresh bool) bool {
	nd := &p.nodes[n]
	p.pick = p.pick[:0]
	for g, used := range nd.usedGB {
		if len(p.pick) < it.TP && used+share <= p.gpuGB+packFit {
			p.pick = append(p.pick, g)
		}
	}
	unused := 0
	if fresh {
		unused = min(it.TP-len(p.pick), p.nodeGPUs-len(nd.usedGB))
	}
	if len(p.pick)+unused < it.TP {
		return false
	}
	for _, g := range p.pick {
		nd.usedGB[g] += share
		nd.items[g] = append(nd.items[g], it.Name)
	}
	for range unused {
		nd.usedGB = append(nd.usedGB, share)
		nd.items = append(nd.items, []string{it.Name})
	}
	nd.maxFree = 0
	if len(nd.usedGB) < p.nodeGPUs {
		nd.maxFree = p.gpuGB
	}
	for _, used := range nd.usedGB {
		nd.maxFree = max(nd.maxFree, p.gpuGB-used)
	}
	return true
}

func (p *packer) result() Packing {
	out := Packing{Nodes: make([][]PackedGPU, len(p.nodes))}
	for n, nd := range p.nodes {
		gpus := make([]PackedGPU, len(nd.usedGB))
		for g := range nd.usedGB {
			gpus[g] = PackedGPU{UsedGB: nd.usedGB[g], Items: nd.items[g]}
		}
		out.Nodes[n] = gpus
		out.GPUs += len(gpus)
	}
	return out
}
