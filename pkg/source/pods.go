package source

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/prometheus/common/model"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

// podKey is one serving pod of a model: the values of the join's workload labels (namespace, pod), or "" where
// the read cannot tell pods apart (a model label on the GPU series, recorded series).
type podKey struct{ Model, Pod string }

func labelValues(m model.Metric, labels []string) string {
	vals := make([]string, len(labels))
	for i, l := range labels {
		vals[i] = string(m[model.LabelName(l)])
	}
	return strings.Join(vals, "\x00")
}

// tokenPodOf reads the model and pod of a token result.
func (s schema) tokenPodOf(m model.Metric) (podKey, bool) {
	name, ok := s.tokenModelOf(m)
	return podKey{Model: name, Pod: labelValues(m, s.join.TokenLabels)}, ok
}

// PodGPUTypes is, at each step, the GPU type of every serving pod's GPUs: what splits a model served on two GPU
// types into one model per type. Plain selectors on both sides read one sample per series and step: the types
// are counted over the steps, and a pod seen at most of them decides.
func (s schema) PodGPUTypes() string {
	return fmt.Sprintf("group by %s (%s * on %s group_left (%s) %s)", by(append([]string{s.m.ModelLabel, s.m.GPUTypeLabel}, s.join.GPULabels...)),
		s.selector(s.m.PowerMetric), by(s.join.GPULabels), s.m.ModelLabel, s.models(s.selector(s.m.GenerationTokensMetric)))
}

// podTypesReader counts, per pod, the steps its GPUs were of each type.
func (s schema) podTypesReader(fleet.Grid) (seriesSink, func(*fetched)) {
	out := map[podKey]map[string]int{}
	return func(m model.Metric) (pointSink, error) {
			name, typ := string(m[model.LabelName(s.m.ModelLabel)]), string(m[model.LabelName(s.m.GPUTypeLabel)])
			if name == "" {
				return nil, nil
			}
			k := podKey{Model: name, Pod: labelValues(m, s.join.GPULabels)}
			if out[k] == nil {
				out[k] = map[string]int{}
			}
			return func(int64, float64) { out[k][typ]++ }, nil
		}, func(f *fetched) {
			f.podTypes = out
		}
}

// podTokens are one model's token rates per pod.
type podTokens struct {
	prompt, generation map[string]fleet.Series
}

// byModel groups the per-pod token rates by model.
func (f *fetched) byModel() map[string]*podTokens {
	out := map[string]*podTokens{}
	add := func(rates map[podKey]fleet.Series, pick func(*podTokens) *map[string]fleet.Series) {
		for k, s := range rates {
			if out[k.Model] == nil {
				out[k.Model] = &podTokens{prompt: map[string]fleet.Series{}, generation: map[string]fleet.Series{}}
			}
			(*pick(out[k.Model]))[k.Pod] = s
		}
	}
	add(f.promptPerPod, func(p *podTokens) *map[string]fleet.Series { return &p.prompt })
	add(f.generationPerPod, func(p *podTokens) *map[string]fleet.Series { return &p.generation })
	return out
}

// withPods gives m the token rates and replicas of the pods keep selects; nil keep selects them all.
func (p *podTokens) withPods(m *fleet.Model, n int, countPods bool, keep func(pod string) bool) {
	m.PromptTokensPerS, m.GenerationTokensPerS = fleet.NewSeries(n), fleet.NewSeries(n)
	if countPods {
		m.Replicas = fleet.NewSeries(n)
	}
	if p == nil {
		return
	}
	for _, side := range []struct {
		rates map[string]fleet.Series
		into  fleet.Series
		count bool
	}{{p.prompt, m.PromptTokensPerS, false}, {p.generation, m.GenerationTokensPerS, countPods}} {
		for pod, s := range side.rates {
			if keep != nil && !keep(pod) {
				continue
			}
			for i, v := range s {
				if math.IsNaN(v) {
					continue
				}
				side.into[i] = nanPlus(side.into[i], v)
				if side.count {
					m.Replicas[i] = nanPlus(m.Replicas[i], 1)
				}
			}
		}
	}
}

func nanPlus(a, b float64) float64 {
	if math.IsNaN(a) {
		return b
	}
	return a + b
}

// splitByGPUType makes one model per GPU type of a model served on several, each with its placements, the
// token rates and replicas of the pods on that type, and its share of the window's token totals: a model's
// figures are never blended across GPU types. Pods whose GPUs were not seen go with the type of most GPU-steps.
func splitByGPUType(m fleet.Model, pods *podTokens, podTypes map[podKey]map[string]int, n int, countPods bool) []fleet.Model {
	steps := map[string]float64{}
	for _, pl := range m.Placements {
		for _, g := range pl.GPUs {
			if !math.IsNaN(g) {
				steps[pl.GPUType] += g
			}
		}
	}
	types := make([]string, 0, len(steps))
	for t := range steps {
		types = append(types, t)
	}
	known := false
	for k := range podTypes {
		known = known || k.Model == m.Name
	}
	if len(types) < 2 || pods == nil || !known {
		pods.withPods(&m, n, countPods, nil)
		return []fleet.Model{m}
	}
	slices.Sort(types)
	main := slices.MaxFunc(types, func(a, b string) int { return cmp.Compare(steps[a], steps[b]) })
	typeOf := func(pod string) string {
		best, bestSteps := main, 0
		for t, c := range podTypes[podKey{Model: m.Name, Pod: pod}] {
			if c > bestSteps || (c == bestSteps && t < best) {
				best, bestSteps = t, c
			}
		}
		return best
	}
	var whole fleet.Model
	pods.withPods(&whole, n, false, nil)
	total := stepTotal(whole.PromptTokensPerS) + stepTotal(whole.GenerationTokensPerS)
	out := make([]fleet.Model, 0, len(types))
	for _, t := range types {
		part := m
		part.Placements = slices.DeleteFunc(slices.Clone(m.Placements), func(pl fleet.Placement) bool { return pl.GPUType != t })
		pods.withPods(&part, n, countPods, func(pod string) bool { return typeOf(pod) == t })
		share := 0.0
		if total > 0 {
			share = (stepTotal(part.PromptTokensPerS) + stepTotal(part.GenerationTokensPerS)) / total
		}
		part.PromptTokens, part.GenerationTokens = m.PromptTokens*share, m.GenerationTokens*share
		out = append(out, part)
	}
	return out
}

// stepTotal is the sum of a series' values (a rate's integral over the steps, in steps).
func stepTotal(s fleet.Series) float64 {
	sum := 0.0
	for _, v := range s {
		if !math.IsNaN(v) {
			sum += v
		}
	}
	return sum
}
