package sim

import (
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The grid's carbon intensity as the Green Web Foundation's grid-intensity-exporter exports it (the gauge of
// Electricity Maps' or carbonintensity.org.uk's figure for a region, in gCO2/kWh), under its own job.
const (
	MetricGridIntensity = "grid_intensity_carbon_actual"
	JobGrid             = "grid-intensity"
	PathGrid            = "/grid/metrics"
	// GridProvider is the provider label of the simulated series.
	GridProvider = "simulated"
)

// GridSite is the power grid of some nodes: its carbon intensity follows the day, dirtiest at DirtiestHourUTC
// and cleanest twelve hours later (solar at noon, gas in the evening), constant over each tick.
type GridSite struct {
	// Region is the exporter's region label (an Electricity Maps zone).
	Region string
	// Hosts are the nodes on this grid.
	Hosts           []string
	MeanGPerKWh     float64
	Amplitude       float64 // relative swing of the daily cycle (0..1)
	DirtiestHourUTC float64
	// Gaps are stretches where the exporter has no series (its upstream API was down).
	Gaps []Gap
}

// Regions of the default fleet's grids; the UNL and Hawaii nodes have no live intensity.
const (
	RegionCalifornia = "US-CAL-CISO"
	RegionTexas      = "US-TEX-ERCO"
	RegionNewYork    = "US-NY-NYIS"
)

// DefaultGridGapAfter and DefaultGridGapDuration place the Texas exporter's outage from the epoch.
const (
	DefaultGridGapAfter    = 36 * time.Hour
	DefaultGridGapDuration = 3 * time.Hour
)

// DefaultGrid are the grids of the default fleet's nodes (their means near the sites' eGRID figures, their
// daily swings and dirtiest hours made up, so that each differs), with the Texas exporter down for
// DefaultGridGapDuration when mess is set.
func DefaultGrid(epoch time.Time, mess bool) []GridSite {
	g := []GridSite{
		{Region: RegionCalifornia, Hosts: []string{HostSDSCA6000, HostSDSCA100, HostUCSDA6000, HostCalit2, HostSDSCA100b},
			MeanGPerKWh: 210, Amplitude: 0.4, DirtiestHourUTC: 3},
		{Region: RegionTexas, Hosts: []string{HostTACCL40}, MeanGPerKWh: 390, Amplitude: 0.2, DirtiestHourUTC: 23},
		{Region: RegionNewYork, Hosts: []string{HostNYUA100}, MeanGPerKWh: 180, Amplitude: 0.12, DirtiestHourUTC: 17},
	}
	if mess {
		g[1].Gaps = []Gap{{Start: epoch.Add(DefaultGridGapAfter), Duration: DefaultGridGapDuration}}
	}
	return g
}

// gridGPerKWh is the site's intensity over tick k: the cycle at the tick's end.
func (s *Sim) gridGPerKWh(g *GridSite, k int64) float64 {
	hour := float64(((k+1)*s.tickMS)%(24*3600*1000)) / 3600e3
	return g.MeanGPerKWh * (1 + g.Amplitude*math.Cos(2*math.Pi*(hour-g.DirtiestHourUTC)/24))
}

// gridDown reports whether the site's exporter has no series at tMS: one of its gaps, or a scrape gap (the
// live handler answers 503 then).
func (s *Sim) gridDown(g *GridSite, tMS int64) bool {
	for _, gap := range g.Gaps {
		if tMS >= gap.Start.UnixMilli() && tMS < gap.Start.Add(gap.Duration).UnixMilli() {
			return true
		}
	}
	return s.inGap(tMS)
}

// GridGPerKWh is the true carbon intensity (gCO2/kWh) of host's grid over the tick containing t; false when
// the host is on no simulated grid or its exporter has no series then (a gap).
func (s *Sim) GridGPerKWh(host string, t time.Time) (float64, bool) {
	for i := range s.spec.Grid {
		g := &s.spec.Grid[i]
		if slices.Contains(g.Hosts, host) {
			tMS := t.UnixMilli()
			return s.gridGPerKWh(g, s.tickOf(tMS)), !s.gridDown(g, tMS) && s.tickOf(tMS) >= s.e0
		}
	}
	return 0, false
}

func gridLabels(g *GridSite) []Label {
	return []Label{{"provider", GridProvider}, {"region", g.Region}}
}

// visitGrid writes the grid intensity family of the history: one series per site, sampled like the others.
func (s *Sim) visitGrid(o HistoryOptions, firstMS, endMS, stepMS int64, family func(name string, f family),
	series func(name string, labels []Label, samples func(fn func(tMS int64, v float64)))) {
	if len(s.spec.Grid) == 0 || (len(o.Metrics) > 0 && !slices.Contains(o.Metrics, MetricGridIntensity)) {
		return
	}
	family(MetricGridIntensity, gridFamily)
	for i := range s.spec.Grid {
		g := &s.spec.Grid[i]
		labels := append(gridLabels(g), Label{"job", JobGrid}, Label{"instance", o.Instance})
		series(MetricGridIntensity, labels, func(fn func(tMS int64, v float64)) {
			s.sampleTimes(firstMS, endMS, stepMS, s.e0, forever, func(t int64) {
				if !s.gridDown(g, t) {
					fn(t, s.gridGPerKWh(g, s.tickOf(t)))
				}
			})
		})
	}
}

var gridFamily = family{name: MetricGridIntensity, help: "Actual carbon intensity for the electricity grid in this region.", kind: gauge}

// gridHandler serves the grid intensity live, as the exporter would: no series for a site in its gap.
func (s *Sim) gridHandler(now func() time.Time) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(&gridCollector{s: s, now: now})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError})
}

type gridCollector struct {
	s   *Sim
	now func() time.Time
}

var gridDesc = prometheus.NewDesc(MetricGridIntensity, gridFamily.help, []string{"provider", "region"}, nil)

func (c *gridCollector) Describe(ch chan<- *prometheus.Desc) { ch <- gridDesc }

func (c *gridCollector) Collect(ch chan<- prometheus.Metric) {
	t := c.now().UnixMilli()
	k := c.s.tickOf(t)
	if k < c.s.e0 {
		return
	}
	for i := range c.s.spec.Grid {
		g := &c.s.spec.Grid[i]
		if !c.s.gridDown(g, t) {
			ch <- prometheus.MustNewConstMetric(gridDesc, prometheus.GaugeValue, c.s.gridGPerKWh(g, k), GridProvider, g.Region)
		}
	}
}
