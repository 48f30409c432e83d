package plugin

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/source"
)

// fixedSource answers every read with the same fleet, as a source that has it already.
type fixedSource struct{ f *fleet.Fleet }

func (s fixedSource) Fleet(context.Context, source.Request) (*fleet.Fleet, error) { return s.f, nil }
func (fixedSource) Values(context.Context, source.ValueKind) ([]string, error)    { return nil, nil }
func (fixedSource) Health(context.Context) source.Health                          { return source.Health{OK: true} }

// scaledFleet is n models on the grid of a 30-day panel 1000 points wide (1001 steps of 2592 s): a fifth parked,
// the others busy with diurnal traffic, on 1 to 8 GPUs of four types, named with sizes the catalog reads.
func scaledFleet(n int) *fleet.Fleet {
	g := fleet.Grid{Start: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), Step: 2592 * time.Second, N: 1001}
	types := []string{"NVIDIA A100-SXM4-80GB", "NVIDIA RTX A6000", "NVIDIA L40S", "NVIDIA H100 80GB HBM3"}
	f := &fleet.Fleet{Grid: g, EnergySource: fleet.EnergyFromCounter, RateWindow: g.Step}
	for i := range n {
		gpus := float64(int(1) << (i % 4))
		pl := fleet.Placement{
			Host: fmt.Sprintf("gpu-%04d.sdsc.optiputer.net", i/2), GPUType: types[i%len(types)],
			GPUs: make(fleet.Series, g.N), PowerW: make(fleet.Series, g.N), PowerLimitW: make(fleet.Series, g.N),
		}
		m := fleet.Model{
			Name:             fmt.Sprintf("llama-3.1-%db-%04d", []int{8, 70, 8, 405}[i%4], i),
			PromptTokensPerS: make(fleet.Series, g.N), GenerationTokensPerS: make(fleet.Series, g.N),
		}
		peak := 50 + 40*float64(i%50)
		for s := range g.N {
			rate := 0.0
			if i%5 != 0 {
				rate = peak * (0.55 + 0.45*math.Sin(2*math.Pi*float64(s)*g.Step.Hours()/24+float64(i)))
			}
			m.GenerationTokensPerS[s], m.PromptTokensPerS[s] = rate, 2*rate
			pl.GPUs[s], pl.PowerLimitW[s] = gpus, 300*gpus
			pl.PowerW[s] = gpus*90 + 0.4*3*rate
			pl.EnergyJ += pl.PowerW[s] * g.Step.Seconds()
			m.GenerationTokens += rate * g.Step.Seconds()
			m.PromptTokens += 2 * rate * g.Step.Seconds()
		}
		m.Placements = []fleet.Placement{pl}
		f.Models = append(f.Models, m)
	}
	return f
}

// BenchmarkQueryTypes is the plugin's own work per query type once the fleet is read (analyses and frames), at
// 100 and 1000 models on a 30-day dashboard's grid: what the end-to-end benchmark (bench/) adds to Prometheus.
func BenchmarkQueryTypes(b *testing.B) {
	types := []struct{ name, queryType, json string }{
		{"fleet-timeseries", models.QueryFleetTimeseries, `{"metric":"j_per_token"}`},
		{"efficiency-curve", models.QueryEfficiencyCurve, `{}`},
		{"idle-attribution", models.QueryIdleAttribution, `{}`},
		{"right-sizing", models.QueryRightSizing, `{}`},
		{"consolidation", models.QueryConsolidation, `{}`},
		{"annotations", models.QueryAnnotations, `{}`},
	}
	for _, n := range []int{100, 1000} {
		f := scaledFleet(n)
		d := newTestDatasource(b, fixedSource{f})
		from := f.Grid.Start
		query := func(refID, queryType, json string) backend.DataQuery {
			return backend.DataQuery{
				RefID: refID, QueryType: queryType, JSON: []byte(json), MaxDataPoints: 1000, Interval: 30 * time.Minute,
				TimeRange: backend.TimeRange{From: from, To: f.Grid.End()},
			}
		}
		run := func(b *testing.B, queries ...backend.DataQuery) {
			b.ReportAllocs()
			for b.Loop() {
				resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: queries})
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range resp.Responses {
					if r.Error != nil {
						b.Fatal(r.Error)
					}
				}
			}
		}
		var all []backend.DataQuery
		for i, t := range types {
			b.Run(fmt.Sprintf("%d-models/%s", n, t.name), func(b *testing.B) { run(b, query("A", t.queryType, t.json)) })
			all = append(all, query(string(rune('A'+i)), t.queryType, t.json))
		}
		b.Run(fmt.Sprintf("%d-models/all", n), func(b *testing.B) { run(b, all...) })
	}
}
