package frames

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/grafana/dataplane/sdata/numeric"
	"github.com/grafana/dataplane/sdata/reader"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

// sizingTestFleet is 60 one-minute steps on A100s parked at 90 W: chat-7B on 4 GPUs at 2-4 tok/s with bursts
// to 40 (one GPU holds it and serves the p95); Kimi-K2.5 parked on 8; house-llm (no size) busy on 2; two
// helpers on one GPU each, idle two steps in three; and a model whose data stopped 20 steps ago (gone: no
// action, no alert).
func sizingTestFleet() *fleet.Fleet {
	const n = 60
	model := func(name, host string, gpus float64, rate func(i int) float64) fleet.Model {
		p := fleet.Placement{Host: host + ".sdsc.optiputer.net", GPUType: a100, GPUs: fleet.NewSeries(n), PowerW: fleet.NewSeries(n), EnergyJ: math.NaN()}
		gen, prompt := fleet.NewSeries(n), fleet.NewSeries(n)
		for i := range n {
			r := rate(i)
			if math.IsNaN(r) {
				continue
			}
			p.GPUs[i], gen[i], prompt[i] = gpus, r, 0
			p.PowerW[i] = gpus * 90
			if r > 0 {
				p.PowerW[i] += 20 + 2*r
			}
		}
		return fleet.Model{Name: name, Placements: []fleet.Placement{p}, GenerationTokensPerS: gen, PromptTokensPerS: prompt,
			PromptTokens: math.NaN(), GenerationTokens: math.NaN()}
	}
	oneInThree := func(i int) float64 {
		if i%3 == 0 {
			return 1 + float64(i%5)
		}
		return 0
	}
	return &fleet.Fleet{
		Grid: fleet.Grid{Start: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), Step: time.Minute, N: n},
		Models: []fleet.Model{
			model("acme/chat-7B", "gpu-1", 4, func(i int) float64 {
				if i%30 == 7 {
					return 40
				}
				return 2 + float64(i%3)
			}),
			model("Kimi-K2.5", "gpu-2", 8, func(int) float64 { return 0 }),
			model("house-llm", "gpu-3", 2, func(i int) float64 { return 50 + float64(i%7) }),
			model("acme/helper-3B", "gpu-4", 1, oneInThree),
			model("acme/helper-8B", "gpu-4", 1, oneInThree),
			model("acme/retired-7B", "gpu-5", 1, func(i int) float64 {
				if i >= 40 {
					return math.NaN()
				}
				return 0
			}),
		},
	}
}

func sizingResponses(t *testing.T) map[string]data.Frames {
	t.Helper()
	f, o := sizingTestFleet(), testOptions()
	so := fleet.DefaultSizingOptions()
	so.MinHistory = 30 * time.Minute
	floors := fleet.MeasureIdleFloors(f, o)
	ctx := NewContext(f, floors, []string{a100})
	return map[string]data.Frames{
		"right-sizing":  RightSizing(fleet.RightSizeFleet(f, nil, floors, o, so), ctx),
		"consolidation": Consolidation(fleet.Consolidate(f, nil, floors, o, so), ctx),
	}
}

func TestSizingFramesMatchGoldenFiles(t *testing.T) {
	for name, frames := range sizingResponses(t) {
		t.Run(name, func(t *testing.T) {
			experimental.CheckGoldenJSONResponse(t, "testdata", name, &backend.DataResponse{Frames: frames}, *update)
		})
	}
}

func TestRightSizingTableHasTheContractFields(t *testing.T) {
	frames := sizingResponses(t)["right-sizing"]
	require.Len(t, frames, 2)
	table := frames[0]
	names := fieldNames(table)
	assert.Equal(t, []string{"model", "gpu_type", "gpus", "recommended_gpus", "oversized", "saving_w", "saving_kgco2_per_day", "reason"}, names[:8])
	assert.Subset(t, names, []string{"size_source", "memory_need_gb", "p95_tokens_per_s", "projected_j_per_token", "saving_kwh_per_day"})

	row := func(model string) int {
		for i := range table.Rows() {
			if table.Fields[0].At(i) == model {
				return i
			}
		}
		t.Fatalf("no row for %s", model)
		return -1
	}
	field := func(name string) *data.Field {
		f, _ := table.FieldByName(name)
		require.NotNil(t, f, name)
		return f
	}
	chat, house := row("acme/chat-7B"), row("house-llm")
	assert.True(t, *field("oversized").At(chat).(*bool))
	assert.Equal(t, 1.0, *field("recommended_gpus").At(chat).(*float64))
	// 3 GPUs freed, each back in the pool at the catalog's 64 W bare idle (the fleet has no unallocated A100):
	// 3 x (90 - 64) W + the fit's 20 W overhead x 3/4 on its busy steps (all of them).
	assert.InDelta(t, 3*(90-64)+20*0.75, *field("saving_w").At(chat).(*float64), 1e-6)
	assert.Equal(t, 3.0, *field("gpus_freed").At(chat).(*float64))
	assert.Equal(t, "pool", field("saving_baseline").At(chat))
	assert.Nil(t, field("gpus_freed").At(house), "no verdict: null")
	assert.Equal(t, "name", field("size_source").At(chat))
	assert.Nil(t, field("oversized").At(house), "no verdict without a size: null, not false")
	assert.Nil(t, field("recommended_gpus").At(house))
	assert.Contains(t, field("reason").At(house), "add it under Model sizes")

	for name, unit := range map[string]string{
		"saving_w": "watt", "saving_kgco2_per_day": "kg/day", "saving_kwh_per_day": "kWh/day", "memory_need_gb": "decgbytes",
		"p95_tokens_per_s": "tok/s", "projected_j_per_token": "J/token", "projected_itl_p95_s": "s",
		"physics_capacity_tokens_per_s": "tok/s", "power_headroom_share": "percentunit", "pool_idle_w": "watt",
	} {
		assert.Equal(t, unit, field(name).Config.Unit, name)
	}
}

func TestConsolidationFramesHaveTheContractFields(t *testing.T) {
	frames := sizingResponses(t)["consolidation"]
	require.Len(t, frames, 3)
	actions := frames[0]
	assert.Equal(t, []string{"action", "models", "gpu_type", "gpus_now", "gpus_after", "saving_w", "saving_kgco2_per_day", "reason"}, fieldNames(actions)[:8])
	got := map[string]string{}
	for i := range actions.Rows() {
		got[actions.Fields[1].At(i).(string)] = actions.Fields[0].At(i).(string)
	}
	assert.Equal(t, map[string]string{
		"Kimi-K2.5":                      fleet.ActionSpinDown,
		"acme/helper-3B, acme/helper-8B": fleet.ActionCoLocate,
	}, got)

	idle := frames[2]
	assert.Equal(t, "idle_hours", idle.Name)
	var models []string
	for i := range idle.Rows() {
		models = append(models, idle.Fields[0].At(i).(string))
	}
	assert.NotContains(t, models, "acme/retired-7B", "a model no longer running raises no idle alert")
	assert.Contains(t, models, "Kimi-K2.5")
}

// Grafana's alerting reads the alert frames with the dataplane numeric reader.
func TestSizingAlertFramesAreReadByTheDataplaneNumericReader(t *testing.T) {
	all := sizingResponses(t)
	cases := []struct {
		name     string
		frame    *data.Frame
		wantRefs int
	}{
		{"saving_w by model", all["right-sizing"][1], 6},
		{"idle_hours by running model", all["consolidation"][2], 5},
		{"idle_hours when no model runs", IdleHoursLong(nil), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			frames := data.Frames{c.frame}
			typ, err := reader.CanReadBasedOnMeta(frames)
			require.NoError(t, err)
			require.Equal(t, data.KindNumeric, typ.Kind())
			r, err := numeric.CollectionReaderFromFrames(frames)
			require.NoError(t, err)
			coll, err := r.GetCollection(false)
			require.NoError(t, err)
			require.NoError(t, coll.Warning)
			assert.Len(t, coll.Refs, c.wantRefs)
			for _, ref := range coll.Refs {
				assert.Equal(t, []string{"gpu_type", "model"}, sortedKeys(ref.GetLabels()))
			}
		})
	}
}

func fieldNames(f *data.Frame) []string {
	out := make([]string, len(f.Fields))
	for i, field := range f.Fields {
		out[i] = field.Name
	}
	return out
}

func sortedKeys(l data.Labels) []string {
	var keys []string
	for k := range l {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
