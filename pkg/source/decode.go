package source

import (
	"math"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/prometheus/common/model"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/promclient"
)

// seriesSink and pointSink are where the client's streamed answers go, by their short names here.
type (
	seriesSink = promclient.SeriesSink
	pointSink  = promclient.PointSink
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

// seriesInto places each series of a range answer on the grid under its key; series with the same key (a host
// label renamed mid-window, duplicates) add up. NaN and infinite samples and samples off the grid are missing
// steps; series key rejects are counted in dropped.
func seriesInto[K comparable](grid fleet.Grid, key func(model.Metric) (K, bool), out map[K]fleet.Series, dropped *int) seriesSink {
	startMS, stepMS := grid.Start.UnixMilli(), grid.Step.Milliseconds()
	return func(m model.Metric) (pointSink, error) {
		k, ok := key(m)
		if !ok {
			*dropped++
			return nil, nil
		}
		s, seen := out[k]
		if !seen {
			s = fleet.NewSeries(grid.N)
			out[k] = s
		}
		return func(tMS int64, v float64) {
			d := tMS - startMS
			if d < 0 || d%stepMS != 0 || d/stepMS >= int64(len(s)) || !finite(v) {
				return
			}
			s[d/stepMS] = nanAdd(s[d/stepMS], v)
		}, nil
	}
}

// valuesInto reads an instant answer, one value per key, adding duplicates.
func valuesInto[K comparable](key func(model.Metric) (K, bool), out map[K]float64, dropped *int) seriesSink {
	return func(m model.Metric) (pointSink, error) {
		k, ok := key(m)
		if !ok {
			*dropped++
			return nil, nil
		}
		return func(_ int64, v float64) {
			if !finite(v) {
				return
			}
			prev, seen := out[k]
			if !seen {
				prev = math.NaN()
			}
			out[k] = nanAdd(prev, v)
		}, nil
	}
}

// limited stops a read past its bound on series: a mapping that groups by a label with a value per request or
// per process could otherwise make the plugin decode millions of them. Each series of a range answer takes a
// slice of steps floats, so the bound is also on points: a long range at a fine step holds fewer series.
func limited(sink seriesSink, steps int, what string) seriesSink {
	bound := min(maxSeriesPerQuery, maxPointsPerQuery/max(steps, 1))
	n := 0
	return func(m model.Metric) (pointSink, error) {
		if n++; n <= bound {
			return sink(m)
		}
		if bound < maxSeriesPerQuery {
			return nil, backend.DownstreamErrorf("%s returned more than %d series of %d steps (at most %d points per query): shorten the time range or lower the resolution (max data points), or check that the model, host and GPU type labels of the metric mapping do not vary per request or per process", what, bound, steps, maxPointsPerQuery)
		}
		return nil, backend.DownstreamErrorf("%s returned more than %d series: check that the model, host and GPU type labels of the metric mapping do not vary per request or per process", what, bound)
	}
}

// namespacesOf notes the namespaces of each model's token series before passing them on.
func (s schema) namespacesOf(sink seriesSink, into map[string]map[string]bool) seriesSink {
	return func(m model.Metric) (pointSink, error) {
		ns := m[model.LabelName(s.m.NamespaceLabel)]
		if name, ok := s.tokenModelOf(m); ok && ns != "" {
			if into[name] == nil {
				into[name] = map[string]bool{}
			}
			into[name][string(ns)] = true
		}
		return sink(m)
	}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// nanAdd adds b to a, where a NaN a means nothing yet.
func nanAdd(a, b float64) float64 {
	if math.IsNaN(a) {
		return b
	}
	return a + b
}
