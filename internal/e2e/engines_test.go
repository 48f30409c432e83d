package e2e

import (
	"math"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/testhost"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/vmtest"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/source"
)

// vmWeek is VictoriaMetrics holding the same week as the Prometheus of week, through its import API.
var vmWeek = vmtest.NewFixture(func(dir string) (vmtest.Options, error) {
	o, err := writeWeek(dir)
	return vmtest.Options{Import: o.Backfill}, err
})

// engineUnderTest is a Prometheus-compatible engine holding the week.
type engineUnderTest struct {
	name string
	url  func(t *testing.T) string
}

var engines = []engineUnderTest{
	{"prometheus", func(t *testing.T) string { return week.Server(t).URL }},
	{"victoriametrics", func(t *testing.T) string { return vmWeek.Server(t).URL }},
}

func TestHealthNamesTheEngine(t *testing.T) {
	p := startPlugin(t)
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			h, err := p.CheckHealth(ctx(t), settingsFor(e.url(t), nil))
			require.NoError(t, err)
			assert.Equal(t, backend.HealthStatusOk, h.Status, h.Message)
			assert.Contains(t, string(h.JSONDetails), `"engine":"`+e.name+`"`)
		})
	}
}

// TestEnginesAgreeWithTheTruth runs a dashboard's queries over the week on each engine through the plugin
// binary: per-model power and token rates step by step, idle attribution and J/token over the window, and the
// right-sizing verdicts, within the tolerances of the Prometheus source's integration tests.
func TestEnginesAgreeWithTheTruth(t *testing.T) {
	p := startPlugin(t)
	from, to := epoch.Add(time.Hour), weekEnd
	// A panel 2100 points wide: 5-minute steps over the week.
	const step, width = 5 * time.Minute, 2100
	req, err := source.Plan(from, to, step, width, scrapeStep)
	require.NoError(t, err)
	require.Equal(t, step, req.Step)
	truth := fleetSim.Truth(req.Start.Add(-req.Step), req.End, req.Step)
	verdicts := map[string]map[string]bool{}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			queries := []struct{ refID, queryType, options string }{
				{"power", "fleet-timeseries", `,"metric":"power_w"`},
				{"tokens", "fleet-timeseries", `,"metric":"tokens_per_s"`},
				{"idle", "idle-attribution", ""},
				{"sizing", "right-sizing", ""},
			}
			var qs []testhost.Query
			for _, q := range queries {
				dq := query(q.refID, q.queryType, q.options, from, to)
				dq.Interval, dq.MaxDataPoints = step, width
				qs = append(qs, dq)
			}
			resp, err := p.QueryData(ctx(t), settingsFor(e.url(t), nil), nil, qs...)
			require.NoError(t, err)
			for _, q := range queries {
				require.NoError(t, resp.Responses[q.refID].Error, q.refID)
			}

			checked := 0
			for _, f := range resp.Responses["power"].Frames {
				model, times, values := series(t, f)
				if _, ok := truth.Model(model); !ok {
					continue // the unallocated GPUs: checked by the source's tests
				}
				for i, at := range times {
					if values[i] == nil || !fleetSim.Defined(at.Add(-step), at) {
						continue
					}
					checked++
					require.InEpsilon(t, fleetSim.MeanPowerW(model, at.Add(-step), at), *values[i], 0.02, "%s power at %s", model, at)
				}
			}
			assert.Greater(t, checked, len(truth.Models)*2000*9/10, "power steps checked")
			checked = 0
			for _, f := range resp.Responses["tokens"].Frames {
				model, times, values := series(t, f)
				if _, ok := truth.Model(model); !ok {
					continue
				}
				for i, at := range times {
					want := fleetSim.MeanTokensPerS(model, fleet.TokensTotal, at.Add(-step), at)
					if values[i] == nil || !fleetSim.Defined(at.Add(-step), at) || want < 1 {
						continue
					}
					checked++
					require.InEpsilon(t, want, *values[i], 0.02, "%s tok/s at %s", model, at)
				}
			}
			assert.Positive(t, checked, "token steps checked")

			idle := rows(t, resp.Responses["idle"].Frames[0])
			for _, mt := range truth.Models {
				r, ok := idle[mt.Model]
				require.True(t, ok, mt.Model)
				assert.InEpsilon(t, mt.MeanPowerW, r["power_w"], 0.01, "%s power", mt.Model)
				if !math.IsNaN(mt.JPerToken) && !mt.Idle {
					assert.InEpsilon(t, mt.JPerToken, r["j_per_token"], 0.01, "%s J/token", mt.Model)
					assert.InEpsilon(t, mt.MeanTokensPerS, r["tokens_per_s"], 0.01, "%s tok/s", mt.Model)
				}
				if mt.Idle {
					assert.Greater(t, r["idle_fraction"], 0.99, "%s is parked: all of its power is idle", mt.Model)
					assert.InEpsilon(t, float64(mt.GPUs)*mt.ParkedWPerGPU, r["idle_w"], 0.02, "%s idle W", mt.Model)
				}
			}

			sizing := resp.Responses["sizing"].Frames[0]
			verdicts[e.name] = oversized(t, sizing)
			assert.True(t, verdicts[e.name]["Llama-3.1-8B-Instruct"], "8B at bf16 fits one of its two L40s and its traffic too")
		})
	}
	assert.Equal(t, verdicts["prometheus"], verdicts["victoriametrics"], "the same right-sizing verdicts on both engines")
}

// series reads a TimeSeriesMulti frame: its model label, times and values.
func series(t *testing.T, f *data.Frame) (string, []time.Time, []*float64) {
	t.Helper()
	require.Len(t, f.Fields, 2)
	times := make([]time.Time, f.Rows())
	values := make([]*float64, f.Rows())
	for i := range times {
		times[i] = f.Fields[0].At(i).(time.Time)
		values[i] = f.Fields[1].At(i).(*float64)
	}
	return f.Fields[1].Labels["model"], times, values
}

// rows reads a table's number columns per model; null is NaN.
func rows(t *testing.T, f *data.Frame) map[string]map[string]float64 {
	t.Helper()
	out := map[string]map[string]float64{}
	for i := range f.Rows() {
		r := map[string]float64{}
		var model string
		for _, field := range f.Fields {
			switch v := field.At(i).(type) {
			case string:
				if field.Name == "model" {
					model = v
				}
			case *float64:
				r[field.Name] = math.NaN()
				if v != nil {
					r[field.Name] = *v
				}
			}
		}
		out[model] = r
	}
	return out
}

// oversized is the right-sizing verdict per model: true oversized, false not, absent when there is none.
func oversized(t *testing.T, f *data.Frame) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	model, over := fieldOf(t, f, "model"), fieldOf(t, f, "oversized")
	for i := range f.Rows() {
		if v, ok := over.At(i).(*bool); ok && v != nil {
			out[model.At(i).(string)] = *v
		}
	}
	return out
}

func fieldOf(t *testing.T, f *data.Frame, name string) *data.Field {
	t.Helper()
	field, _ := f.FieldByName(name)
	require.NotNil(t, field, name)
	return field
}
