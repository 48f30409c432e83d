package source

import (
	"fmt"
	"math"

	"github.com/prometheus/common/model"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

// placementKey is the grain of fleet.Placement. Model "" is the GPUs no pod holds.
type placementKey struct {
	Model, Host, GPUType string
}

// placementOf reads a placement from a result's labels: the host is the first host label present.
func (s schema) placementOf(m model.Metric) (placementKey, bool) {
	k := placementKey{Model: string(m[model.LabelName(s.modelLabel())]), GPUType: string(m[model.LabelName(s.m.GPUTypeLabel)])}
	for _, l := range s.m.HostLabels {
		if h := m[model.LabelName(l)]; h != "" {
			k.Host = string(h)
			break
		}
	}
	return k, true
}

// tokenModelOf reads the model of a token result; series without a model label cannot be attributed.
func (s schema) tokenModelOf(m model.Metric) (string, bool) {
	name := string(m[model.LabelName(s.m.ModelLabel)])
	return name, name != ""
}

// decodeSeries places a range query's matrix on the grid, one series per key. Series with the same key (a
// host label renamed mid-window, duplicates) add up; NaN and infinite samples and samples off the grid are
// missing steps.
func decodeSeries[K comparable](v model.Value, grid fleet.Grid, key func(model.Metric) (K, bool)) (map[K]fleet.Series, int, error) {
	if v == nil {
		return map[K]fleet.Series{}, 0, nil
	}
	matrix, ok := v.(model.Matrix)
	if !ok {
		return nil, 0, fmt.Errorf("expected a range result (matrix), got a %s", v.Type())
	}
	out := make(map[K]fleet.Series, len(matrix))
	dropped := 0
	for _, ss := range matrix {
		k, ok := key(ss.Metric)
		if !ok {
			dropped++
			continue
		}
		s, seen := out[k]
		if !seen {
			s = fleet.NewSeries(grid.N)
			out[k] = s
		}
		for _, p := range ss.Values {
			i, ok := grid.Index(p.Timestamp.Time())
			if !ok || !finite(float64(p.Value)) {
				continue
			}
			s[i] = nanAdd(s[i], float64(p.Value))
		}
	}
	return out, dropped, nil
}

// decodeValues reads an instant query's vector, one value per key, adding duplicates.
func decodeValues[K comparable](v model.Value, key func(model.Metric) (K, bool)) (map[K]float64, int, error) {
	if v == nil {
		return map[K]float64{}, 0, nil
	}
	vector, ok := v.(model.Vector)
	if !ok {
		return nil, 0, fmt.Errorf("expected an instant result (vector), got a %s", v.Type())
	}
	out := make(map[K]float64, len(vector))
	dropped := 0
	for _, smp := range vector {
		k, ok := key(smp.Metric)
		if !ok {
			dropped++
			continue
		}
		if !finite(float64(smp.Value)) {
			continue
		}
		prev, seen := out[k]
		if !seen {
			prev = math.NaN()
		}
		out[k] = nanAdd(prev, float64(smp.Value))
	}
	return out, dropped, nil
}

// namespacesOf collects the namespaces of each model's token series.
func (s schema) namespacesOf(v model.Value) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	matrix, _ := v.(model.Matrix)
	for _, ss := range matrix {
		name, ok := s.tokenModelOf(ss.Metric)
		ns := string(ss.Metric[namespaceLabel])
		if !ok || ns == "" {
			continue
		}
		if out[name] == nil {
			out[name] = map[string]bool{}
		}
		out[name][ns] = true
	}
	return out
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// nanAdd adds b to a, where a NaN a means nothing yet.
func nanAdd(a, b float64) float64 {
	if math.IsNaN(a) {
		return b
	}
	return a + b
}
