package sim

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Paths of the two live exporters on Handler.
const (
	PathDCGM = "/dcgm/metrics"
	PathVLLM = "/vllm/metrics"
)

// Handler serves the fleet live as two exporters, dcgm-exporter at PathDCGM and vLLM at PathVLLM, and the grid
// intensity exporter at PathGrid, with the values at now() of each scrape. During a scrape gap both answer 503, as an unreachable exporter would.
func (s *Sim) Handler(n Naming, now func() time.Time) http.Handler {
	mux := http.NewServeMux()
	for path, gpu := range map[string]bool{PathDCGM: true, PathVLLM: false} {
		reg := prometheus.NewRegistry()
		reg.MustRegister(&collector{s: s, naming: n, gpu: gpu, now: now})
		mux.Handle(path, s.unlessInGap(now, promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError})))
	}
	mux.Handle(PathGrid, s.unlessInGap(now, s.gridHandler(now)))
	return mux
}

// unlessInGap answers 503 during a scrape gap, as an unreachable exporter would, and with h otherwise.
func (s *Sim) unlessInGap(now func() time.Time, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.inGap(now().UnixMilli()) {
			http.Error(w, "simulated scrape gap", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// collector emits the series of one exporter as const metrics. It describes nothing (an unchecked
// collector): label sets change as pods come and go.
type collector struct {
	s      *Sim
	naming Naming
	gpu    bool
	now    func() time.Time
	descs  sync.Map // name + label names -> *prometheus.Desc
}

func (c *collector) Describe(chan<- *prometheus.Desc) {}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	t := c.now().UnixMilli()
	k := s.tickOf(t)
	if k < s.e0 {
		return
	}
	for _, f := range families {
		if f.gpu != c.gpu {
			continue
		}
		if f.gpu {
			for gi := range s.gpus {
				c.emit(ch, f, gi, s.gpuLabels(c.naming, gi, s.gpus[gi].holderAt(k)), t)
			}
			continue
		}
		for pi, p := range s.pods {
			if k >= p.k0 && k < p.k1 {
				c.emit(ch, f, pi, s.podLabels(c.naming, f, pi), t)
			}
		}
	}
}

func (c *collector) emit(ch chan<- prometheus.Metric, f family, idx int, labels []Label, tMS int64) {
	names := make([]string, len(labels))
	values := make([]string, len(labels))
	for i, l := range labels {
		names[i], values[i] = l.Name, l.Value
	}
	name, ok := c.s.seriesName(c.naming, f, idx)
	if !ok {
		return
	}
	key := name + "\xff" + strings.Join(names, "\xff")
	d, ok := c.descs.Load(key)
	if !ok {
		d, _ = c.descs.LoadOrStore(key, prometheus.NewDesc(name, f.help, names, nil))
	}
	var m prometheus.Metric
	var err error
	switch f.kind {
	case histogramKind:
		h := f.hist(c.s, idx, tMS)
		buckets := make(map[float64]uint64, len(f.bounds))
		for j, le := range f.bounds {
			buckets[le] = h.buckets[j]
		}
		m, err = prometheus.NewConstHistogram(d.(*prometheus.Desc), h.count, h.sum, buckets, values...)
	case counter:
		m, err = prometheus.NewConstMetric(d.(*prometheus.Desc), prometheus.CounterValue, f.value(c.s, idx, tMS), values...)
	default:
		m, err = prometheus.NewConstMetric(d.(*prometheus.Desc), prometheus.GaugeValue, f.value(c.s, idx, tMS), values...)
	}
	if err != nil {
		m = prometheus.NewInvalidMetric(d.(*prometheus.Desc), err)
	}
	ch <- m
}
