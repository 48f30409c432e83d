package fleet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"
)

// benchFleet is 100 models over 30 days at 60 s steps (43,200 steps each, 4.3M model-steps): 75 busy models
// with diurnal traffic, 10 of them split over two hosts; 24 parked models; one group of unallocated GPUs.
var benchFleet = sync.OnceValue(func() *Fleet {
	const n = 30 * 24 * 60
	rng := rand.New(rand.NewPCG(11, 12))
	f := &Fleet{Grid: Grid{Start: t0, Step: time.Minute, N: n}}
	for mi := range 99 {
		gpuType, hosts, gpus := a100, []string{sdsc}, 8.0
		if mi%3 == 0 {
			gpuType, gpus = a6000, 2
		}
		if mi%10 == 1 {
			hosts = []string{unl, nyu}
		}
		peak := 50 + 2000*rng.Float64()
		rates := make([]float64, n)
		if mi%4 != 3 {
			for i := range rates {
				day := 0.5 + 0.5*math.Sin(2*math.Pi*float64(i)/1440)
				rates[i] = math.Max(0, peak*day*(0.8+0.4*rng.Float64()))
			}
		}
		m := served(fmt.Sprintf("model-%02d", mi), gpuType, hosts[0], gpus/float64(len(hosts)), 90, 0.5+3*rng.Float64(), rates)
		for i := range m.Placements[0].PowerW {
			m.Placements[0].PowerW[i] += 5 * rng.NormFloat64()
		}
		if len(hosts) == 2 {
			second := m.Placements[0]
			second.Host = hosts[1]
			m.Placements = append(m.Placements, second)
		}
		f.Models = append(f.Models, m)
	}
	f.Models = append(f.Models, unallocated(a100, sdsc, 16, 60, n))
	return f
})

// BenchmarkAnalyses runs what a dashboard load asks of a 100-model fleet over 30 days. Besides wall time it
// reports the process's CPU time per operation (cpu-ms/op, GC included), steadier than wall time on a
// shared machine.
func BenchmarkAnalyses(b *testing.B) {
	f := benchFleet()
	o := testOptions()
	floors := MeasureIdleFloors(f, o)
	b.Run("all", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			floors := MeasureIdleFloors(f, o)
			Summarize(AttributeFleet(f, floors, o), f.Grid, o)
			for i := range f.Models {
				EfficiencyCurve(&f.Models[i], floors, o)
				if _, err := StepSeries(&f.Models[i], f.Grid, floors, o, MetricJPerToken); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("idle-floors", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			MeasureIdleFloors(f, o)
		}
	})
	b.Run("attribution+summary", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			Summarize(AttributeFleet(f, floors, o), f.Grid, o)
		}
	})
	b.Run("efficiency-curves", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			for i := range f.Models {
				EfficiencyCurve(&f.Models[i], floors, o)
			}
		}
	})
	b.Run("verdict-changes", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			Events(f, []EventKind{EventVerdict}, func(string) bool { return true }, floors, o, DefaultSizingOptions())
		}
	})
	b.Run("timeseries-j_per_token", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			for i := range f.Models {
				if _, err := StepSeries(&f.Models[i], f.Grid, floors, o, MetricJPerToken); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// reportCPU starts measuring the process's CPU time; the function it returns reports it per operation.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op") }
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
