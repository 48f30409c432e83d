package plugin

import (
	"context"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/grafana/dataplane/sdata/numeric"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/source"
)

// sizingSource answers every read with three days at 10-minute steps of A100s parked at 90 W:
//   - tiny-chat-7B on 4 GPUs at 2-4 tok/s with a 100 tok/s burst every 5 hours (3% of steps: p95 4): one GPU
//     holds its 16.8 GB, and its fit says one GPU serves (400 - 95) / 1 = 305 tok/s >= p95 / 0.7;
//   - Kimi-K2.5 parked on 8;
//   - house-assistant on 2 at ~50 tok/s, a name without a size;
//   - helper-3B and helper-8B on one GPU each, idle two steps in three.
//
// Busy steps draw GPUs x 90 W + 20 W + 1 J x tokens/s.
type sizingSource struct{}

const sizingSteps = 3 * 24 * 6

func (sizingSource) Fleet(context.Context, source.Request) (*fleet.Fleet, error) {
	g := fleet.Grid{Start: time.Date(2026, 11, 17, 12, 0, 0, 0, time.UTC), Step: 10 * time.Minute, N: sizingSteps}
	model := func(name, host string, gpus float64, rate func(i int) float64) fleet.Model {
		p := fleet.Placement{Host: host, GPUType: "NVIDIA A100-SXM4-80GB", GPUs: fleet.NewSeries(g.N), PowerW: fleet.NewSeries(g.N), EnergyJ: math.NaN()}
		gen, prompt := fleet.NewSeries(g.N), fleet.NewSeries(g.N)
		for i := range g.N {
			r := rate(i)
			p.GPUs[i], gen[i], prompt[i], p.PowerW[i] = gpus, r, 0, gpus*90
			if r > 0 {
				p.PowerW[i] += 20 + r
			}
		}
		return fleet.Model{Name: name, Placements: []fleet.Placement{p}, GenerationTokensPerS: gen, PromptTokensPerS: prompt,
			PromptTokens: math.NaN(), GenerationTokens: math.NaN()}
	}
	oneInThree := func(i int) float64 {
		if i%3 == 0 {
			return 2
		}
		return 0
	}
	return &fleet.Fleet{Grid: g, Models: []fleet.Model{
		model("acme/tiny-chat-7B", "gpu-1.unl.edu", 4, func(i int) float64 {
			if i%30 == 0 {
				return 100
			}
			return 2 + float64(i%3)
		}),
		model("Kimi-K2.5", "gpu-2.sdsc.optiputer.net", 8, func(int) float64 { return 0 }),
		model("house-assistant", "gpu-3.sdsc.optiputer.net", 2, func(i int) float64 { return 45 + float64(i%10) }),
		model("acme/helper-3B", "gpu-4.sdsc.optiputer.net", 1, oneInThree),
		model("acme/helper-8B", "gpu-4.sdsc.optiputer.net", 1, oneInThree),
	}}, nil
}

func (sizingSource) Values(context.Context, source.ValueKind) ([]string, error) { return nil, nil }
func (sizingSource) Health(context.Context) source.Health                       { return source.Health{OK: true} }

// sizingQuery runs one query through QueryData against sizingSource.
func sizingQuery(t *testing.T, settings string, fromAlert bool, queryType, json string) data.Frames {
	t.Helper()
	return queryFrom(t, sizingSource{}, settings, fromAlert, queryType, json)
}

func TestRightSizingHandler(t *testing.T) {
	frames := sizingQuery(t, demoSettings, false, models.QueryRightSizing, `{}`)
	require.Len(t, frames, 2, "the table, then saving_w by model")
	tiny := rowOf(t, frames[0], "acme/tiny-chat-7B")
	assert.Equal(t, 4.0, tiny["gpus"])
	assert.Equal(t, 1.0, tiny["recommended_gpus"])
	assert.True(t, *tiny["oversized"].(*bool))
	// 3 GPUs freed, back in the pool at the catalog's 64 W bare idle (no unallocated A100 to measure): 3 x
	// (90 W measured floor - 64 W) + the fit's 20 W serving overhead x 3/4 (busy at every step).
	wantW := 3*(90-64) + 20*0.75
	assert.InDelta(t, wantW, tiny["saving_w"], 1e-6)
	assert.InDelta(t, wantW*24/1000*531/1000, tiny["saving_kgco2_per_day"], 1e-6, "Nebraska's 531 g/kWh from the default sites")
	assert.Equal(t, "name", tiny["size_source"])

	house := rowOf(t, frames[0], "house-assistant")
	assert.Nil(t, house["oversized"])
	assert.Contains(t, house["reason"], "add it under Model sizes in the data source settings")
	assert.Equal(t, data.FrameTypeNumericLong, frames[1].Meta.Type)
}

func TestRightSizingHandlerReadsSettingsAndOptions(t *testing.T) {
	cases := []struct {
		name, settings, json string
		model                string
		oversized            *bool
		recommended          any
		reason               string
	}{
		{
			// 13B x 2 bytes x 1.2 = 31.2 GB fits one A100. Its fit, 200 W + 1 J x tokens/s on 2 GPUs, reaches an
			// A100's 400 W at (400 - 100) / 1 = 300 tok/s per GPU: one GPU serves its p95 of 54 with room.
			// Saves 90 - 64 W idle + the 20 W serving overhead x 1/2.
			name: "a model size from the settings", settings: `{"mode":"demo","modelSizes":[{"model":"house-assistant","paramsB":13,"dtype":"bf16"}]}`,
			json: `{}`, model: "house-assistant", oversized: ptr(true), recommended: 1.0,
			reason: "needs ~31 GB at bf16 (13B from the setting): fits 1x A100-SXM4-80GB; 1x would serve ~300 tok/s (power-headroom decided; physics ~747, power ~300)",
		},
		{
			name: "minHistoryHours above the window's 72 h", settings: demoSettings, json: `{"minHistoryHours": 100}`,
			model: "acme/tiny-chat-7B", recommended: nil, reason: "only 72 h of traffic history, a verdict needs 100 h",
		},
		{
			// 16.8 GB x (1 + 4) / 1.2 = 70 GB still fits one A100.
			name: "kvHeadroom", settings: demoSettings, json: `{"kvHeadroom": 4}`,
			model: "acme/tiny-chat-7B", oversized: ptr(true), recommended: 1.0, reason: "needs ~70 GB at bf16",
		},
		{
			// With a 90% margin one GPU's 300 tok/s leaves 30 for a p95 of 54: it keeps its 2.
			name: "trafficMargin", settings: `{"mode":"demo","modelSizes":[{"model":"house-assistant","paramsB":13,"dtype":"bf16"}]}`,
			json: `{"trafficMargin": 0.9}`, model: "house-assistant", oversized: ptr(false), recommended: 2.0,
			reason: "fits 1x A100-SXM4-80GB, but 1x would serve ~300 tok/s (power-headroom decided; physics ~747, power ~300), too little for the p95 with a 90% margin",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			row := rowOf(t, sizingQuery(t, c.settings, false, models.QueryRightSizing, c.json)[0], c.model)
			if c.oversized == nil {
				assert.Nil(t, row["oversized"])
			} else {
				assert.Equal(t, *c.oversized, *row["oversized"].(*bool), row["reason"])
			}
			assert.Equal(t, c.recommended, row["recommended_gpus"])
			assert.Contains(t, row["reason"], c.reason)
		})
	}
}

func TestConsolidationHandler(t *testing.T) {
	t.Run("freed GPUs back in the pool", func(t *testing.T) {
		// Back in the pool at the catalog's 64 W bare idle: Kimi saves 8 x (90 - 64) W, the helpers' freed
		// GPU 90 - 64 W.
		actions := sizingQuery(t, demoSettings, false, models.QueryConsolidation, `{}`)[0]
		assert.InDelta(t, 8*(90-64), rowOf(t, renamed(actions, "models", "model"), "Kimi-K2.5")["saving_w"], 1e-9)
		assert.InDelta(t, 90-64, rowOf(t, renamed(actions, "models", "model"), "acme/helper-3B, acme/helper-8B")["saving_w"], 1e-9)
	})
	frames := sizingQuery(t, demoSettings, false, models.QueryConsolidation, `{"freedGPUs":"powered-off"}`)
	require.Len(t, frames, 3, "actions, idle gaps, idle_hours by model")
	actions := frames[0]
	require.Equal(t, 2, actions.Rows())
	kimi := rowOf(t, renamed(actions, "models", "model"), "Kimi-K2.5")
	assert.Equal(t, "spin-down", kimi["action"])
	assert.InDelta(t, 720, kimi["saving_w"], 1e-9, "all of its power, powered off")
	helpers := rowOf(t, renamed(actions, "models", "model"), "acme/helper-3B, acme/helper-8B")
	assert.Equal(t, "co-locate", helpers["action"])
	assert.Equal(t, 2.0, helpers["gpus_now"])
	assert.Equal(t, 1.0, helpers["gpus_after"])
	assert.InDelta(t, 90, helpers["saving_w"], 1e-9, "one GPU freed and powered off: its 90 W floor")

	gaps := rowOf(t, frames[1], "acme/helper-3B")
	assert.InDelta(t, 2.0/3, gaps["idle_share"], 1e-9)
	assert.InDelta(t, 20.0/60, gaps["typical_idle_gap_h"], 1e-9, "two idle 10-minute steps between requests")
	assert.InDelta(t, 48, gaps["wakeups_per_day"], 1e-9, "a request every 30 minutes")
}

func TestConsolidationHandlerFollowsTheModelFilter(t *testing.T) {
	frames := sizingQuery(t, demoSettings, false, models.QueryConsolidation, `{"modelRegex": "acme/helper-.*"}`)
	require.Equal(t, 1, frames[0].Rows(), "only the co-location of the helpers")
	assert.Equal(t, 2, frames[1].Rows())
}

func TestSizingAlertRulesGetOnlyAlertableFrames(t *testing.T) {
	cases := []struct {
		queryType, value string
		want             map[string]float64
	}{
		{models.QueryRightSizing, "saving_w", map[string]float64{
			"acme/tiny-chat-7B": 3*(90-64) + 20*0.75, "Kimi-K2.5": 0, "house-assistant": 0, "acme/helper-3B": 0, "acme/helper-8B": 0,
		}},
		// Idle for the whole 72 h window; the helpers were last busy 1 and 2 steps before its end.
		{models.QueryConsolidation, "idle_hours", map[string]float64{
			"acme/tiny-chat-7B": 0, "Kimi-K2.5": 72, "house-assistant": 0, "acme/helper-3B": 20.0 / 60, "acme/helper-8B": 20.0 / 60,
		}},
	}
	for _, c := range cases {
		t.Run(c.queryType, func(t *testing.T) {
			frames := sizingQuery(t, demoSettings, true, c.queryType, `{}`)
			require.Len(t, frames, 1)
			assert.Equal(t, data.FrameTypeNumericLong, frames[0].Meta.Type)
			r, err := numeric.CollectionReaderFromFrames(frames)
			require.NoError(t, err)
			coll, err := r.GetCollection(false)
			require.NoError(t, err)
			got := map[string]float64{}
			for _, ref := range coll.Refs {
				assert.Equal(t, c.value, ref.GetMetricName())
				v, empty, err := ref.NullableFloat64Value()
				require.NoError(t, err)
				require.False(t, empty)
				require.NotNil(t, v)
				got[ref.GetLabels()["model"]] = *v
			}
			require.Len(t, got, len(c.want))
			for model, want := range c.want {
				assert.InDelta(t, want, got[model], 1e-6, model)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// renamed is f with one field renamed (sharing its values), so rowOf can find a row by another column.
func renamed(f *data.Frame, from, to string) *data.Frame {
	out := data.NewFrame(f.Name)
	for _, field := range f.Fields {
		if field.Name == from {
			c := *field
			c.Name = to
			field = &c
		}
		out.Fields = append(out.Fields, field)
	}
	return out
}

// The right-sizing and consolidation panels sum, sort and size the fields the handlers answer, by the display
// names Grafana matches: the stat sums the three savings of the table and not the alert frame's saving_w.
func TestSizingDashboardPanelsMatchTheirFrames(t *testing.T) {
	var d struct {
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				QueryType string `json:"queryType"`
			} `json:"targets"`
			Options struct {
				ReduceOptions struct {
					Fields string `json:"fields"`
				} `json:"reduceOptions"`
				FrameIndex int `json:"frameIndex"`
				SortBy     []struct {
					DisplayName string `json:"displayName"`
				} `json:"sortBy"`
				Footer struct {
					Fields []string `json:"fields"`
				} `json:"footer"`
			} `json:"options"`
			FieldConfig struct {
				Overrides []struct {
					Matcher struct{ ID, Options string } `json:"matcher"`
				} `json:"overrides"`
			} `json:"fieldConfig"`
		} `json:"panels"`
	}
	readDashboardInto(t, &d)
	panels := map[string]int{}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 || (p.Targets[0].QueryType != models.QueryRightSizing && p.Targets[0].QueryType != models.QueryConsolidation) {
			continue
		}
		panels[p.Type]++
		t.Run(p.Title, func(t *testing.T) {
			frames := sizingQuery(t, demoSettings, false, p.Targets[0].QueryType, `{}`)
			if p.Type == "stat" {
				re := regexp.MustCompile(strings.Trim(p.Options.ReduceOptions.Fields, "/"))
				var summed []string
				for _, f := range frames {
					for n := range names(f) {
						if re.MatchString(n) {
							summed = append(summed, n)
						}
					}
				}
				assert.ElementsMatch(t, []string{"Saving", "Energy saving", "CO2 saving"}, summed)
				return
			}
			require.Less(t, p.Options.FrameIndex, len(frames))
			shown := names(frames[p.Options.FrameIndex])
			for _, n := range p.Options.Footer.Fields {
				assert.True(t, shown[n], "footer field %q", n)
			}
			for _, s := range p.Options.SortBy {
				assert.True(t, shown[s.DisplayName], "sort field %q", s.DisplayName)
			}
			for _, o := range p.FieldConfig.Overrides {
				assert.True(t, shown[o.Matcher.Options], "override of %q", o.Matcher.Options)
			}
		})
	}
	assert.Equal(t, map[string]int{"stat": 2, "table": 3}, panels)
}
