package frames

import (
	"flag"
	"math"
	"regexp"
	"testing"
	"time"

	"github.com/grafana/dataplane/sdata/numeric"
	"github.com/grafana/dataplane/sdata/reader"
	"github.com/grafana/dataplane/sdata/timeseries"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	a6000 = "NVIDIA RTX A6000"
	a100  = "NVIDIA A100-SXM4-80GB"
)

// testFleet is 30 one-minute steps: gpt-oss-120b on 2 A6000 at 210 W + 0.16 J/token with rates rising to
// 2400 tok/s (the last steps at the 600 W cap); Kimi-K2.5 parked on 8 A100 at 90 W with a two-step scrape gap;
// 4 unallocated A100 at 60 W in Nebraska.
func testFleet() *fleet.Fleet {
	const n = 30
	series := func(v func(i int) float64) fleet.Series {
		s := make(fleet.Series, n)
		for i := range s {
			s[i] = v(i)
		}
		return s
	}
	rate := func(i int) float64 { return 100 + 80*float64(i) }
	gptPower := series(func(i int) float64 { return math.Min(210+0.16*rate(i), 590) })
	kimiPower := series(func(int) float64 { return 720 })
	kimiPower[12], kimiPower[13] = math.NaN(), math.NaN()
	return &fleet.Fleet{
		Grid:            fleet.Grid{Start: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), Step: time.Minute, N: n},
		EnergySource:    fleet.EnergyFromGauge,
		RateWindow:      5 * time.Minute,
		ExecutedQueries: []string{`sum by (model_name) (rate(vllm:generation_tokens_total[5m]))`, `sum by (namespace, pod) (DCGM_FI_DEV_POWER_USAGE)`},
		Notices:         []string{"the energy counter is not exported: energy is integrated from the power gauge"},
		Models: []fleet.Model{{
			Name:                 "gpt-oss-120b",
			Namespace:            "nrp-llm",
			Placements:           []fleet.Placement{{Host: "gpu-7.sdsc.optiputer.net", GPUType: a6000, GPUs: series(func(int) float64 { return 2 }), PowerW: gptPower, EnergyJ: math.NaN()}},
			PromptTokensPerS:     series(func(i int) float64 { return 0.8 * rate(i) }),
			GenerationTokensPerS: series(func(i int) float64 { return 0.2 * rate(i) }),
			PromptTokens:         math.NaN(), GenerationTokens: math.NaN(),
		}, {
			Name:                 "Kimi-K2.5",
			Namespace:            "nrp-llm",
			Placements:           []fleet.Placement{{Host: "gpu-3.sdsc.optiputer.net", GPUType: a100, GPUs: series(func(int) float64 { return 8 }), PowerW: kimiPower, EnergyJ: math.NaN()}},
			PromptTokensPerS:     series(func(int) float64 { return 0 }),
			GenerationTokensPerS: series(func(int) float64 { return 0 }),
			PromptTokens:         math.NaN(), GenerationTokens: math.NaN(),
		}, {
			Name: "unallocated", Unallocated: true,
			Placements:   []fleet.Placement{{Host: "c1.unl.edu", GPUType: a100, GPUs: series(func(int) float64 { return 4 }), PowerW: series(func(int) float64 { return 240 }), EnergyJ: math.NaN()}},
			PromptTokens: math.NaN(), GenerationTokens: math.NaN(),
		}},
	}
}

func testOptions() fleet.Options {
	o := fleet.DefaultOptions()
	o.Carbon.Sites = []fleet.CarbonSite{{Name: "UNL", Host: regexp.MustCompile(`unl\.edu`), GPerKWh: 531}}
	return o
}

// responses are the frames of every query type on the test fleet, as the handlers build them.
func responses(t *testing.T) map[string]data.Frames {
	f, o := testFleet(), testOptions()
	floors := fleet.MeasureIdleFloors(f, o)
	atts := fleet.AttributeFleet(f, floors, o)
	ctx := NewContext(f, floors, []string{a6000, a100})
	var series []ModelSeries
	var curves []fleet.Curve
	for i := range f.Models {
		m := &f.Models[i]
		s, err := fleet.StepSeries(m, f.Grid, floors, o, fleet.MetricJPerToken)
		require.NoError(t, err)
		series = append(series, ModelSeries{Model: m.Name, GPUType: m.GPUType(), Values: s})
		curves = append(curves, fleet.EfficiencyCurve(m, floors, o))
	}
	// Priced in EUR, with no price for the SDSC hosts' electricity nor for the A6000.
	po := testOptions()
	po.Prices = fleet.Prices{Currency: "EUR", PerKWh: map[string]float64{"UNL": 0.3}, GPUPerH: map[string]float64{a100: 2.5}}
	patts := fleet.AttributeFleet(f, floors, po)
	ms := []*fleet.Model{&f.Models[0], &f.Models[1], &f.Models[2]}
	pctx := ctx.WithCost(po.Prices, po.Carbon, ms)
	byNamespace := fleet.GroupAttributions(patts, fleet.GroupNamespace, f.Grid, po)
	return map[string]data.Frames{
		"idle-attribution-by-namespace": GroupTable(byNamespace, fleet.GroupNamespace, pctx),
		"fleet-summary-by-namespace":    GroupSummary(byNamespace, fleet.GroupNamespace, pctx),
		"fleet-summary-priced":          FleetSummary(fleet.Summarize(patts, f.Grid, po), pctx),
		"fleet-timeseries":              TimeSeries(f.Grid, fleet.MetricJPerToken, series, ctx),
		"idle-attribution":              IdleAttribution(atts, ctx.WithGaps(atts)),
		"efficiency-curve":              EfficiencyCurves(f.Grid, curves[:2], ctx),
		"fleet-summary":                 FleetSummary(fleet.Summarize(atts, f.Grid, o), ctx.WithGaps(atts)),
		"annotations":                   Annotations(fleet.Events(f, fleet.EventKinds, func(string) bool { return true }, fleet.MeasureIdleFloors(f, o), o, fleet.DefaultSizingOptions()), ctx),
	}
}

func TestFramesMatchGoldenFiles(t *testing.T) {
	for name, frames := range responses(t) {
		t.Run(name, func(t *testing.T) {
			experimental.CheckGoldenJSONResponse(t, "testdata", name, &backend.DataResponse{Frames: frames}, *update)
		})
	}
}

func TestIdleAttributionTableHasTheContractFields(t *testing.T) {
	frames := responses(t)["idle-attribution"]
	require.Len(t, frames, 2)
	var names []string
	for _, f := range frames[0].Fields {
		names = append(names, f.Name)
	}
	assert.Equal(t, []string{"model", "namespace", "gpu_type", "gpus", "replicas", "gpus_per_replica", "power_w", "idle_w", "productive_w", "idle_fraction", "idle_floor_w", "idle_source",
		"tokens_per_s", "j_per_token", "marginal_j_per_token", "fit_k_j_per_token", "co2_g_per_h", "co2_idle_g_per_h", "co2_mg_per_token",
		"intensity_source", "live_intensity_share", "idle_dirty_share", "embodied_gco2_per_h", "sci_mg_per_token",
		"cost_per_h", "energy_cost_per_h", "gpu_cost_per_h", "idle_cost_per_h", "cost_per_million_tokens"}, names)
	jPerToken, _ := frames[0].FieldByName("j_per_token")
	assert.Nil(t, jPerToken.At(1), "Kimi served nothing: null J/token")
	cost, _ := frames[0].FieldByName("cost_per_h")
	assert.Nil(t, cost.At(0), "no prices: null cost, never 0")
	idle, _ := frames[0].FieldByName("idle_fraction")
	assert.Equal(t, 1.0, *idle.At(1).(*float64))
	assert.Equal(t, "percentunit", idle.Config.Unit)
}

// Grafana's alerting reads typed frames with the dataplane readers; what they reject cannot be alerted on.
func TestTypedFramesAreReadByTheDataplaneReaders(t *testing.T) {
	all := responses(t)
	f, o := testFleet(), testOptions()
	floors := fleet.MeasureIdleFloors(f, o)
	var curves []fleet.Curve
	for i := range f.Models {
		curves = append(curves, fleet.EfficiencyCurve(&f.Models[i], floors, o))
	}
	cases := []struct {
		name     string
		frames   data.Frames
		kind     data.FrameTypeKind
		wantRefs int
	}{
		{"fleet-timeseries", all["fleet-timeseries"], data.KindTimeSeries, 3},
		{"fleet-timeseries without models", TimeSeries(f.Grid, fleet.MetricPowerW, nil, Context{}), data.KindTimeSeries, 0},
		{"idle_fraction by model", data.Frames{all["idle-attribution"][1]}, data.KindNumeric, 3},
		{"k_j_per_token by model", data.Frames{FitLong(curves)}, data.KindNumeric, 3},
		{"fleet-summary", all["fleet-summary"], data.KindNumeric, 16},
		// 2 namespaces (nrp-llm and the unallocated GPUs' "") x 12 figures.
		{"fleet-summary by namespace", all["fleet-summary-by-namespace"], data.KindNumeric, 24},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			typ, err := reader.CanReadBasedOnMeta(c.frames)
			require.NoError(t, err)
			require.Equal(t, c.kind, typ.Kind())
			if c.kind == data.KindTimeSeries {
				r, err := timeseries.CollectionReaderFromFrames(c.frames)
				require.NoError(t, err)
				coll, err := r.GetCollection(false)
				require.NoError(t, err)
				require.NoError(t, coll.Warning)
				assert.Len(t, coll.Refs, c.wantRefs)
				for _, ref := range coll.Refs {
					assert.Contains(t, ref.GetLabels(), "model")
					assert.Contains(t, ref.GetLabels(), "gpu_type")
				}
				return
			}
			r, err := numeric.CollectionReaderFromFrames(c.frames)
			require.NoError(t, err)
			coll, err := r.GetCollection(false)
			require.NoError(t, err)
			require.NoError(t, coll.Warning)
			assert.Len(t, coll.Refs, c.wantRefs)
		})
	}
}

func TestNoticesSayWhereTheNumbersAreWeak(t *testing.T) {
	f, o := testFleet(), testOptions()
	floors := fleet.MeasureIdleFloors(f, o)
	c := NewContext(f, floors, []string{a6000, a100, "Acme X1", a6000}).WithGaps(fleet.AttributeFleet(f, floors, o))

	var texts []string
	for _, n := range c.Notices {
		texts = append(texts, n.Severity.String()+": "+n.Text)
	}
	assert.Equal(t, []string{
		"warning: the energy counter is not exported: energy is integrated from the power gauge",
		`warning: GPU type "Acme X1" is in no GPU catalog: its idle floor is assumed to be 90 W per GPU. Add it to the GPU types or idle floors in the data source settings.`,
		"info: Idle floor of NVIDIA RTX A6000 is the catalog's 105 W per GPU: no model on it sat parked (no tokens for 5 steps or more) in this window.",
		"warning: Steps without power or token data inside the window (scrape gaps), left out of the rates: Kimi-K2.5 (2).",
	}, texts, "A100 is measured on Kimi's parked steps: no notice")
	assert.Equal(t, "sum by (model_name) (rate(vllm:generation_tokens_total[5m]))\nsum by (namespace, pod) (DCGM_FI_DEV_POWER_USAGE)", c.ExecutedQueryString)

	frames := c.Apply(data.Frames{data.NewFrame("a"), data.NewFrame("b")})
	assert.Equal(t, c.ExecutedQueryString, frames[0].Meta.ExecutedQueryString)
	assert.Len(t, frames[0].Meta.Notices, 4)
	assert.Nil(t, frames[1].Meta, "the context goes on the first frame only")
}

func TestCurveFramesPlotInTheXYChartWithoutTransformations(t *testing.T) {
	frames := responses(t)["efficiency-curve"]
	require.Len(t, frames, 5, "fit table, then bins and points of two models")
	for _, f := range frames[1:] {
		// The XY chart takes the first number field as x and every other visible number field as a y series.
		var numbers, visible []string
		for _, field := range f.Fields {
			if !field.Type().Numeric() {
				continue
			}
			numbers = append(numbers, field.Name)
			if hide, _ := field.Config.Custom["hideFrom"].(map[string]bool); !hide["viz"] {
				visible = append(visible, field.Name)
			}
		}
		require.NotEmpty(t, numbers, f.Name)
		assert.Equal(t, "tokens_per_s", numbers[0], f.Name)
		assert.Subset(t, []string{"tokens_per_s", "j_per_token", "j_per_token_fit"}, visible, f.Name)
	}
	points := frames[2]
	assert.Equal(t, "gpt-oss-120b points", points.Name)
	assert.Equal(t, 30, points.Rows())
	capped, _ := points.FieldByName("capped")
	assert.Equal(t, true, capped.At(29), "590 W on a 600 W pair of A6000 is at the cap")
	assert.Equal(t, false, capped.At(0))
}
