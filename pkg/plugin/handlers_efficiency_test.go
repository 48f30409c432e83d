package plugin

import (
	"context"
	"math"
	"testing"

	"github.com/grafana/dataplane/sdata/reader"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/source"
)

// truth is one model of truthSource: its GPUs draw gpus x parkedW + kJPerToken x rate(step), all tokens are
// generation tokens.
type truth struct {
	name, gpuType, host string
	gpus, parkedW       float64
	kJPerToken          float64
	rate                func(step int) float64
	unallocated         bool
}

var truths = []truth{
	{name: "gpt-oss-120b", gpuType: "NVIDIA RTX A6000", host: "gpu-7.sdsc.optiputer.net", gpus: 2, parkedW: 105, kJPerToken: 0.16,
		rate: func(i int) float64 { return 1000 + 800*math.Sin(float64(i)/16) }},
	{name: "Qwen3.5-397B", gpuType: "NVIDIA A100-SXM4-80GB", host: "gpu-3.sdsc.optiputer.net", gpus: 8, parkedW: 90, kJPerToken: 3.5,
		rate: func(i int) float64 { return 22 + 17*math.Sin(float64(i)/7) }},
	{name: "Kimi-K2.5", gpuType: "NVIDIA A100-SXM4-80GB", host: "gpu-4.sdsc.optiputer.net", gpus: 8, parkedW: 90,
		rate: func(int) float64 { return 0 }},
	{name: "unallocated", gpuType: "NVIDIA A100-SXM4-80GB", host: "c1.UNL.edu", gpus: 4, parkedW: 60, unallocated: true},
}

// truthSource answers every read with the truths on the requested grid.
type truthSource struct{}

func (truthSource) Fleet(_ context.Context, r source.Request) (*fleet.Fleet, error) {
	g := fleet.Grid{Start: r.Start, Step: r.Step, N: int(r.End.Sub(r.Start)/r.Step) + 1}
	f := &fleet.Fleet{Grid: g, ExecutedQueries: []string{"sum by (model_name) (rate(vllm:generation_tokens_total[5m]))"}}
	for _, tr := range truths {
		pl := fleet.Placement{Host: tr.host, GPUType: tr.gpuType, GPUs: fleet.NewSeries(g.N), PowerW: fleet.NewSeries(g.N), EnergyJ: math.NaN()}
		m := fleet.Model{Name: tr.name, Unallocated: tr.unallocated, PromptTokens: math.NaN(), GenerationTokens: math.NaN()}
		if !tr.unallocated {
			m.PromptTokensPerS, m.GenerationTokensPerS = make(fleet.Series, g.N), make(fleet.Series, g.N)
		}
		for i := range g.N {
			pl.GPUs[i], pl.PowerW[i] = tr.gpus, tr.gpus*tr.parkedW
			if !tr.unallocated {
				m.GenerationTokensPerS[i] = tr.rate(i)
				pl.PowerW[i] += tr.kJPerToken * tr.rate(i)
			}
		}
		m.Placements = []fleet.Placement{pl}
		f.Models = append(f.Models, m)
	}
	return f, nil
}

func (truthSource) Values(context.Context, source.ValueKind) ([]string, error) { return nil, nil }
func (truthSource) Health(context.Context) source.Health                       { return source.Health{OK: true} }

// query runs one query through QueryData against truthSource.
func query(t *testing.T, settings string, fromAlert bool, queryType, json string) data.Frames {
	t.Helper()
	return queryFrom(t, truthSource{}, settings, fromAlert, queryType, json)
}

// queryFrom runs one query through QueryData as Grafana sends it (settings as jsonData), answered from src, and
// returns its frames.
func queryFrom(t *testing.T, src source.Source, settings string, fromAlert bool, queryType, json string) data.Frames {
	t.Helper()
	inst, err := NewDatasource(context.Background(), backend.DataSourceInstanceSettings{JSONData: []byte(settings)})
	require.NoError(t, err)
	d := inst.(*Datasource)
	require.NoError(t, d.settingsErr)
	d.source = src
	req := &backend.QueryDataRequest{Queries: []backend.DataQuery{dataQuery("A", queryType, json)}}
	if fromAlert {
		req.Headers = map[string]string{backend.FromAlertHeaderName: "true"}
	}
	resp, err := d.QueryData(context.Background(), req)
	require.NoError(t, err)
	require.NoError(t, resp.Responses["A"].Error)
	return resp.Responses["A"].Frames
}

const demoSettings = `{"mode":"demo"}`

// rowOf is the row of model in a table frame.
func rowOf(t *testing.T, f *data.Frame, model string) map[string]any {
	t.Helper()
	return rowWhere(t, f, "model", model)
}

// rowWhere is the row of a frame whose string field key is value.
func rowWhere(t *testing.T, f *data.Frame, key, value string) map[string]any {
	t.Helper()
	names, _ := f.FieldByName(key)
	require.NotNil(t, names)
	for i := range names.Len() {
		if names.At(i) == value {
			row := map[string]any{}
			for _, field := range f.Fields {
				v := field.At(i)
				if p, ok := v.(*float64); ok {
					if p == nil {
						v = nil
					} else {
						v = *p
					}
				}
				row[field.Name] = v
			}
			return row
		}
	}
	t.Fatalf("no row with %s %s", key, value)
	return nil
}

// windowJPerToken is the ground truth J/token of a truth over the n steps of a grid: energy / tokens.
func windowJPerToken(tr truth, n int) (jPerToken, tokensPerS float64) {
	var energy, tokens float64
	for i := range n {
		energy += tr.gpus*tr.parkedW + tr.kJPerToken*tr.rate(i)
		tokens += tr.rate(i)
	}
	return energy / tokens, tokens / float64(n)
}

// steps is the number of grid steps of the queries of dataQuery.
func steps(t *testing.T) int {
	dq := dataQuery("A", "", `{}`)
	r, err := source.Plan(dq.TimeRange.From, dq.TimeRange.To, dq.Interval, dq.MaxDataPoints, models.DefaultScrapeInterval)
	require.NoError(t, err)
	return int(r.End.Sub(r.Start)/r.Step) + 1
}

func TestIdleAttributionHandlerAnswersTheGroundTruth(t *testing.T) {
	n := steps(t)
	frames := query(t, demoSettings, false, models.QueryIdleAttribution, `{}`)
	require.Len(t, frames, 2)
	table := frames[0]
	require.Equal(t, 4, table.Rows())

	gpt, qwen := truths[0], truths[1]
	for _, c := range []struct {
		tr     truth
		source string
		idleW  float64
	}{
		{gpt, "catalog", 2 * 105},  // no A6000 sat parked: the catalog's 105 W
		{qwen, "measured", 8 * 90}, // measured on Kimi's parked A100s
	} {
		row := rowOf(t, table, c.tr.name)
		j, r := windowJPerToken(c.tr, n)
		assert.Equal(t, c.source, row["idle_source"], c.tr.name)
		assert.InDelta(t, c.idleW, row["idle_w"], 1e-9, c.tr.name)
		assert.InDelta(t, j, row["j_per_token"], 1e-9, c.tr.name)
		assert.InDelta(t, r, row["tokens_per_s"], 1e-9, c.tr.name)
		assert.InDelta(t, c.tr.kJPerToken, row["marginal_j_per_token"], 1e-9, c.tr.name)
		assert.InDelta(t, c.tr.gpus, row["gpus"], 0, c.tr.name)
	}
	for _, idle := range []string{"Kimi-K2.5", "unallocated"} {
		row := rowOf(t, table, idle)
		assert.Nil(t, row["j_per_token"], idle)
		assert.Equal(t, 1.0, row["idle_fraction"], idle)
		assert.Equal(t, row["power_w"], row["idle_w"], idle)
	}
	assert.Contains(t, table.Meta.Notices[0].Text, "Idle floor of NVIDIA RTX A6000 is the catalog's 105 W")
	assert.Equal(t, "sum by (model_name) (rate(vllm:generation_tokens_total[5m]))", table.Meta.ExecutedQueryString)
	assert.Equal(t, data.FrameTypeNumericLong, frames[1].Meta.Type)
}

func TestModelsAreFilteredAfterTheIdleFloorsArePooled(t *testing.T) {
	frames := query(t, demoSettings, false, models.QueryIdleAttribution, `{"models":["Qwen3.5-397B"]}`)
	require.Equal(t, 1, frames[0].Rows())
	row := rowOf(t, frames[0], "Qwen3.5-397B")
	assert.Equal(t, "measured", row["idle_source"], "Kimi is filtered out, but its parked steps still set the A100 floor")
	assert.InDelta(t, 720, row["idle_w"], 1e-9)

	series := query(t, demoSettings, false, models.QueryFleetTimeseries, `{"metric":"power_w","modelRegex":"gpt.*|Kimi.*"}`)
	require.Len(t, series, 2)
	for i, tr := range []truth{truths[0], truths[2]} {
		assert.Equal(t, tr.name, series[i].Fields[1].Labels["model"])
		assert.Equal(t, tr.gpuType, series[i].Fields[1].Labels["gpu_type"])
		assert.InDelta(t, tr.gpus*tr.parkedW+tr.kJPerToken*tr.rate(10), *series[i].Fields[1].At(10).(*float64), 1e-9)
	}
}

func TestSettingsReachTheAnalyses(t *testing.T) {
	settings := `{"mode":"demo",
		"carbon": {"pue": 1.2, "sites": [{"name": "UNL", "hostPattern": "unl\\.edu", "intensity": 531}]},
		"idleFloors": [{"gpuType": "RTX A6000", "watts": 80}]}`
	table := query(t, settings, false, models.QueryIdleAttribution, `{}`)[0]

	unallocated := rowOf(t, table, "unallocated")
	assert.InDelta(t, 240*1.2*531/1000, unallocated["co2_g_per_h"], 1e-9, "the host pattern matches whatever the case")
	qwen := rowOf(t, table, "Qwen3.5-397B")
	assert.InDelta(t, qwen["power_w"].(float64)*1.2*198/1000, qwen["co2_g_per_h"], 1e-9, "no site matches: the default 198 g/kWh")
	gpt := rowOf(t, table, "gpt-oss-120b")
	assert.Equal(t, "setting", gpt["idle_source"])
	assert.InDelta(t, 160, gpt["idle_w"], 1e-9)
}

func TestEfficiencyCurveAndSummaryHandlers(t *testing.T) {
	n := steps(t)
	curve := query(t, demoSettings, false, models.QueryEfficiencyCurve, `{}`)
	require.Len(t, curve, 1+2*4, "fit table, then bins and points per model")
	fit := rowOf(t, curve[0], "Qwen3.5-397B")
	assert.InDelta(t, 3.5, fit["k_j_per_token"], 1e-9)
	assert.InDelta(t, 720, fit["p0_w"], 1e-6)
	assert.Empty(t, fit["reason"])
	assert.Nil(t, rowOf(t, curve[0], "Kimi-K2.5")["k_j_per_token"])

	summary := query(t, demoSettings, false, models.QueryFleetSummary, `{}`)
	require.Len(t, summary, 1)
	var powerW, tokensPerS float64
	for _, tr := range truths[:2] { // the busy ones: mean power = J/token x tokens/s
		j, r := windowJPerToken(tr, n)
		powerW, tokensPerS = powerW+j*r, tokensPerS+r
	}
	for _, tr := range truths[2:] {
		powerW += tr.gpus * tr.parkedW
	}
	value := func(name string) float64 {
		f, _ := summary[0].FieldByName(name)
		require.NotNil(t, f, name)
		return *f.At(0).(*float64)
	}
	assert.InDelta(t, powerW, value("power_w"), 1e-6)
	assert.InDelta(t, tokensPerS, value("tokens_per_s"), 1e-9)
	assert.InDelta(t, powerW/tokensPerS, value("j_per_token"), 1e-9)
	assert.InDelta(t, 8+4, value("idle_gpus"), 1e-9, "Kimi's 8 and the 4 unallocated GPUs served nothing")
}

func TestAlertRulesGetOnlyAlertableFrames(t *testing.T) {
	cases := []struct {
		queryType, json string
		want            data.FrameType
		frames          int
	}{
		{models.QueryIdleAttribution, `{}`, data.FrameTypeNumericLong, 1},
		{models.QueryEfficiencyCurve, `{}`, data.FrameTypeNumericLong, 1},
		{models.QueryFleetTimeseries, `{"metric":"idle_fraction"}`, data.FrameTypeTimeSeriesMulti, 4},
		{models.QueryFleetSummary, `{}`, data.FrameTypeNumericWide, 1},
	}
	for _, c := range cases {
		t.Run(c.queryType, func(t *testing.T) {
			frames := query(t, demoSettings, true, c.queryType, c.json)
			require.Len(t, frames, c.frames)
			for _, f := range frames {
				assert.Equal(t, c.want, f.Meta.Type, f.Name)
			}
			typ, err := reader.CanReadBasedOnMeta(frames)
			require.NoError(t, err)
			assert.Equal(t, c.want, typ)
		})
	}
}
