package frames

import (
	"math"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

type curve = fleet.Curve

// EfficiencyCurves is the efficiency-curve response: the fit table first (a table panel shows the first
// frame), then for each model its binned curve and its points. Grafana's XY chart plots these as they come:
// in each frame the first number field (tokens_per_s) is x and every other number field not hidden from the
// visualization is a y series: J/token points per model, and per model a line through the bins' medians and
// the fitted J/token = p0_w / r + k. Its dashboard panel hides the fit table's number fields by override.
func EfficiencyCurves(g fleet.Grid, curves []fleet.Curve, c Context) data.Frames {
	frames := data.Frames{FitTable(curves)}
	for i := range curves {
		frames = append(frames, CurveBins(curves[i]), CurvePoints(g, curves[i]))
	}
	return c.Apply(frames)
}

// FitTable is one row per model: the robust fit power_w = p0_w + k_j_per_token x tokens_per_s, above which
// rate doubling the traffic lowers J/token by less than 10% (within capacity), the rate where the GPUs hit their power cap, and why a model has no fit; then
// the split of the per-token energy between prompt and generated tokens where both vary.
func FitTable(curves []fleet.Curve) *data.Frame {
	return data.NewFrame("efficiency-fit",
		text("model", curves, func(c curve) string { return c.Model }, config("Model", "")),
		text("gpu_type", curves, func(c curve) string { return c.GPUType }, config("GPU type", "")),
		number("p0_w", curves, func(c curve) float64 { return c.Fit.P0W }, config("Power at zero traffic (fit)", UnitWatts)),
		number("k_j_per_token", curves, func(c curve) float64 { return c.Fit.KJPerToken }, config("Marginal J/token (fit)", UnitJPerToken)),
		number("diminishing_returns_tokens_per_s", curves, func(c curve) float64 { return c.Fit.DiminishingReturnsTokensPerS }, config("Doubling traffic saves < 10% above", UnitTokensPerS)),
		number("r2", curves, func(c curve) float64 { return c.Fit.R2 }, config("R²", UnitCount)),
		number("cap_starts_tokens_per_s", curves, func(c curve) float64 { return c.Fit.CapStartsTokensPerS }, config("Power-capped above", UnitTokensPerS)),
		number("busy_steps", curves, func(c curve) float64 { return float64(c.Fit.BusySteps) }, config("Busy steps", UnitCount)),
		number("capped_steps", curves, func(c curve) float64 { return float64(c.Fit.CappedSteps) }, config("Capped steps", UnitCount)),
		text("reason", curves, func(c curve) string { return c.Fit.Reason }, config("No fit because", "")),
		number("k_prompt_j_per_token", curves, func(c curve) float64 { return c.Slopes.KPromptJPerToken }, config("J per prompt token (fit)", UnitJPerToken)),
		number("k_gen_j_per_token", curves, func(c curve) float64 { return c.Slopes.KGenJPerToken }, config("J per generated token (fit)", UnitJPerToken)),
		text("slopes_reason", curves, func(c curve) string { return c.Slopes.Reason }, config("No prompt/generation split because", "")),
	).SetMeta(tableMeta())
}

// FitLong is a dataplane NumericLong (v0.1) frame of the fitted k_j_per_token by model, for alert rules
// (NaN, so null, where a model has no fit).
func FitLong(curves []fleet.Curve) *data.Frame {
	return numericLong("k_j_per_token", curves, func(c curve) (string, string, float64) {
		k := c.Fit.KJPerToken
		if !c.Fit.OK {
			k = math.NaN()
		}
		return c.Model, c.GPUType, k
	}, config("Marginal J/token (fit)", UnitJPerToken))
}

// CurveBins is one row per throughput bin of a model: tokens_per_s (the bin's geometric center, x), the median
// j_per_token drawn as a line, its p10 and p90, the fitted J/token there when the model has a fit, and the
// number of steps in the bin.
func CurveBins(c fleet.Curve) *data.Frame {
	labels := modelLabels(c.Model, c.GPUType)
	bins := c.Bins
	fields := []*data.Field{
		number("tokens_per_s", bins, func(b fleet.CurveBin) float64 { return b.TokensPerS }, config("Tokens/s", UnitTokensPerS)),
		withLabels(number("j_per_token", bins, func(b fleet.CurveBin) float64 { return b.JPerTokenMedian },
			xyStyle(&data.FieldConfig{DisplayNameFromDS: c.Model + " median", Unit: UnitJPerToken}, "lines")), labels),
		number("j_per_token_p10", bins, func(b fleet.CurveBin) float64 { return b.JPerTokenP10 }, hiddenFromViz(config("J/token p10", UnitJPerToken))),
		number("j_per_token_p90", bins, func(b fleet.CurveBin) float64 { return b.JPerTokenP90 }, hiddenFromViz(config("J/token p90", UnitJPerToken))),
	}
	if c.Fit.OK {
		fields = append(fields, withLabels(number("j_per_token_fit", bins, func(b fleet.CurveBin) float64 {
			return c.Fit.P0W/b.TokensPerS + c.Fit.KJPerToken
		}, xyStyle(&data.FieldConfig{DisplayNameFromDS: c.Model + " fit", Unit: UnitJPerToken}, "lines")), labels))
	}
	fields = append(fields, number("count", bins, func(b fleet.CurveBin) float64 { return float64(b.Count) }, hiddenFromViz(config("Steps", UnitCount))))
	return data.NewFrame(c.Model+" bins", fields...).SetMeta(tableMeta())
}

// CurvePoints is one row per step of a model with data: tokens_per_s (x), j_per_token drawn as points (null
// below the idle threshold), power_w, whether the step was power-capped, and its time. Values are written in
// place into the fields (PointerAt), not built in slices and copied.
func CurvePoints(g fleet.Grid, c fleet.Curve) *data.Frame {
	steps := make([]int32, 0, c.Points.Len())
	for i := range c.Points.Len() {
		if p := c.Points.At(i); !math.IsNaN(p.TokensPerS) && !math.IsNaN(p.PowerW) {
			steps = append(steps, int32(i))
		}
	}
	n := len(steps)
	tokens := data.NewFieldFromFieldType(data.FieldTypeFloat64, n)
	jPerToken := make([]float64, n)
	power := data.NewFieldFromFieldType(data.FieldTypeFloat64, n)
	capped := data.NewFieldFromFieldType(data.FieldTypeBool, n)
	times := data.NewFieldFromFieldType(data.FieldTypeTime, n)
	for row, i := range steps {
		p := c.Points.At(int(i))
		*tokens.PointerAt(row).(*float64) = p.TokensPerS
		jPerToken[row] = p.JPerToken
		*power.PointerAt(row).(*float64) = p.PowerW
		*capped.PointerAt(row).(*bool) = p.Capped
		*times.PointerAt(row).(*time.Time) = g.At(int(i))
	}
	tokens.Name, power.Name, capped.Name, times.Name = "tokens_per_s", "power_w", "capped", "time"
	return data.NewFrame(c.Model+" points",
		tokens.SetConfig(config("Tokens/s", UnitTokensPerS)),
		nullable("j_per_token", modelLabels(c.Model, c.GPUType), jPerToken).
			SetConfig(xyStyle(&data.FieldConfig{DisplayNameFromDS: c.Model, Unit: UnitJPerToken}, "points")),
		power.SetConfig(hiddenFromViz(config("Power", UnitWatts))),
		capped.SetConfig(config("Power-capped", "")),
		times,
	).SetMeta(tableMeta())
}

// xyStyle sets how the XY chart draws a y field: "points" or "lines".
func xyStyle(cfg *data.FieldConfig, show string) *data.FieldConfig {
	cfg.Custom = map[string]any{"show": show}
	return cfg
}

func withLabels(f *data.Field, l data.Labels) *data.Field {
	f.Labels = l
	return f
}
