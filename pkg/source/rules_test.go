package source

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/promtest"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// TestRuleFilesGolden pins the rule file of each golden mapping and checks it with promtool, the check
// Prometheus, Thanos Ruler and Mimir's ruler make of a rule file.
func TestRuleFilesGolden(t *testing.T) {
	for _, g := range goldenMappings {
		if g.engine != "" || (g.recorded && g.mutate == nil) {
			continue // the same rules as the default mapping's: they depend on the settings and the join only
		}
		t.Run(g.name, func(t *testing.T) {
			s := g.schema(t)
			cfg := testSettings(t, "http://prometheus:9090", g.mutate)
			var b bytes.Buffer
			require.NoError(t, rulesOf(cfg, s.join).Write(&b))
			path := filepath.Join("testdata", "rules", g.name+".yml")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./pkg/source -run TestRuleFilesGolden -update to write the golden files")
			assert.Equal(t, string(want), b.String())
			promtoolCheckRules(t, path)
		})
	}
}

func promtoolCheckRules(t *testing.T, path string) {
	t.Helper()
	if err := promtest.Binaries(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	out, err := exec.Command("promtool", "check", "rules", path).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "SUCCESS: 7 rules found")
}

func TestRuleFileProperties(t *testing.T) {
	byName := map[string]RuleFile{}
	for _, g := range goldenMappings {
		byName[g.name] = rulesOf(testSettings(t, "http://prometheus:9090", g.mutate), g.schema(t).join)
	}
	exprOf := func(f RuleFile, record string) string {
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				if r.Record == record {
					return r.Expr
				}
			}
		}
		t.Fatalf("no rule records %s", record)
		return ""
	}
	n := recordedNamesOf("fleet")

	t.Run("a group evaluated every minute, and the GPU counts every 5 minutes", func(t *testing.T) {
		f := byName["default"]
		require.Len(t, f.Groups, 2)
		assert.Equal(t, "1m", f.Groups[0].Interval)
		assert.Equal(t, "5m", f.Groups[1].Interval)
		var records []string
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				records = append(records, r.Record)
			}
		}
		assert.ElementsMatch(t, n.all(), records)
		s := goldenMappings[0].schema(t)
		s.offGrid = true
		assert.Equal(t, s.GPUs(5*time.Minute, 5*time.Minute), f.Groups[1].Rules[0].Expr, "the GPUs that reported within 5 minutes")
		assert.NotContains(t, f.Groups[1].Rules[0].Expr, ":300s]", "rules are evaluated off the grid: raw samples, no subquery")
	})
	t.Run("the join is the data source's own, done once in the rule", func(t *testing.T) {
		s := goldenMappings[0].schema(t)
		s.hasEnergy = false // the rules record the gauge's minute mean; the counter's energy is recorded apart
		s.offGrid = true
		assert.Equal(t, s.PowerW(time.Minute, 2*time.Minute), exprOf(byName["default"], n.powerW), "30 s scrapes: a two-minute join window")
		assert.Contains(t, exprOf(byName["exported"], n.energyJ), "on (exported_namespace, exported_pod) group_left (model_name)")
		assert.NotContains(t, exprOf(byName["gpu-model-label"], n.powerW), "group_left", "a model label on the GPU series needs no join")
	})
	t.Run("counters: the increase since the sample a minute earlier, resets counted, no whole count for a new series", func(t *testing.T) {
		assert.Equal(t, "sum by (model_name, namespace) (((last_over_time(vllm:prompt_tokens_total[59999ms]) - vllm:prompt_tokens_total offset 60s) >= 0 or (last_over_time(vllm:prompt_tokens_total[59999ms]) and vllm:prompt_tokens_total offset 60s)))",
			exprOf(byName["default"], n.promptTokens))
	})
	t.Run("the label filter applies and its labels are kept, so the data source selects the recorded series with it", func(t *testing.T) {
		expr := exprOf(byName["label-filter"], n.generationTokens)
		assert.True(t, strings.HasPrefix(expr, "sum by (model_name, namespace, cluster, region) ("), expr)
		assert.Contains(t, expr, `vllm:generation_tokens_total{cluster="nrp", region=~"us-.*"}`)
		assert.Contains(t, exprOf(byName["label-filter"], n.powerW), "sum by (model_name, Hostname, hostname, modelName, cluster, region) (")
	})
	t.Run("the gauge's mean over the minute is its energy, whatever the scrape interval", func(t *testing.T) {
		assert.Contains(t, exprOf(byName["renamed"], n.energyJ), "or avg_over_time(gpu_power_watts[59999ms]) * 60)")
		assert.NotContains(t, exprOf(byName["renamed"], n.energyJ), "sum_over_time")
	})
}

func TestFilterLabels(t *testing.T) {
	tests := []struct {
		filter string
		want   []string
	}{
		{``, nil},
		{`cluster="nrp"`, []string{"cluster"}},
		{`cluster="nrp", region=~"us-.*", cluster!="x"`, []string{"cluster", "region"}},
		{`note="a, b=\"c\"", zone !~ "z"`, []string{"note", "zone"}},
		{`__name__=~"x.*"`, nil},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, filterLabels(tt.filter), tt.filter)
	}
}

func TestRecordedGridIsWholeMinutes(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 3, 56, 0, time.UTC)
	tests := []struct {
		step, want time.Duration
	}{
		{5 * time.Minute, 5 * time.Minute},
		{236 * time.Second, 4 * time.Minute},
		{30 * time.Second, time.Minute},
	}
	for _, tt := range tests {
		g := recordedGrid(fleet.Grid{Start: alignDown(start, tt.step), Step: tt.step, N: 1000})
		assert.Equal(t, tt.want, g.Step, tt.step)
		assert.Zero(t, g.Start.Unix()%int64(tt.want/time.Second), "aligned to its step")
		assert.GreaterOrEqual(t, g.End(), alignDown(start, tt.step).Add(999*tt.step).Add(-tt.want), "covers the window")
	}
}

// recordedFleet is plainFleet with the recorded series of the rule file beside the raw ones.
func recordedFleet(prefix string, leaveOut ...string) []labels {
	out := plainFleet()
	for _, name := range recordedNamesOf(prefix).all() {
		if !contains(leaveOut, name) {
			out = append(out, labels{"__name__": name, "model_name": "qwen", "Hostname": "node-a", "modelName": a100, "namespace": "llm"})
		}
	}
	return out
}

func TestFleetReadsRecordedSeries(t *testing.T) {
	// 90 s steps: the recorded read rounds them to two minutes.
	req := Request{Start: testNow.Add(-3 * time.Minute), End: testNow, Step: 90 * time.Second}
	n := recordedNamesOf("fleet")
	tests := []struct {
		name         string
		series       []labels
		off          bool
		wantRecorded bool
		wantNotice   string
	}{
		{"every recorded series present: read them", recordedFleet("fleet"), false, true, "Read the recorded series of the recording rules (fleet:gpus:count1m, fleet:gpu_energy_joules:increase1m"},
		{"one missing: raw, saying which", recordedFleet("fleet", n.energyJ), false, false, "Read the raw series: the recorded series fleet:gpu_energy_joules:increase1m are missing"},
		{"another prefix is not ours", recordedFleet("other"), false, false, ""},
		{"recordingRules off: raw, silently", recordedFleet("fleet"), true, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeProm{t: t, version: "2.42.0", series: tt.series}
			cfg := testSettings(t, f.start().URL, func(s *models.Settings) {
				if tt.off {
					s.RecordingRules = "off"
				}
			})
			grid := recordedGrid(GridOf(req))
			r := recorded{s: newSchema(cfg, resolveJoin(cfg.Mapping, nil), true, true), names: n}
			placement := answerSeries{labels: labels{"model_name": "qwen", "Hostname": "node-a", "modelName": a100}, values: []string{"500", "510", "520"}}
			tokens := answerSeries{labels: labels{"model_name": "qwen", "namespace": "llm"}, values: []string{"100", "", "300"}}
			gpus := answerSeries{labels: placement.labels, values: []string{"2", "2", "2"}}
			f.answers = map[string]string{
				r.PowerW(grid.Step, 0): matrixJSON(grid, placement), r.GPUs(grid.Step, 0): matrixJSON(grid, gpus),
				r.TokensPerS(prompt, grid.Step): matrixJSON(grid, tokens), r.TokensPerS(gen, grid.Step): matrixJSON(grid, tokens),
			}
			p, _ := newTestSource(t, cfg, testNow)

			got, err := p.Fleet(context.Background(), req)
			require.NoError(t, err)

			executed := strings.Join(got.ExecutedQueries, "\n")
			if tt.wantNotice != "" {
				assert.True(t, slicesContainsPrefix(got.Notices, tt.wantNotice), "%q in %q", tt.wantNotice, got.Notices)
			} else {
				assert.False(t, slicesContainsPrefix(got.Notices, "Read the"), got.Notices)
			}
			if !tt.wantRecorded {
				assert.NotContains(t, executed, "fleet:")
				assert.Equal(t, 90*time.Second, got.Grid.Step)
				return
			}
			assert.Equal(t, grid, got.Grid, "whole minutes")
			assert.NotContains(t, executed, "DCGM_FI_DEV", "no raw series")
			assert.NotContains(t, executed, "instant query", "the window totals follow from the steps")
			assert.Len(t, got.ExecutedQueries, 5, "power, GPUs, two token rates, power limit")
			require.Len(t, got.Models, 1)
			m := got.Models[0]
			assert.Equal(t, (500.0+510+520)*120, m.EnergyJ(), "the steps' energy")
			assert.Equal(t, 2*(100.0+300)*120, m.Tokens(fleet.TokensTotal), "the steps' tokens")
			assert.Equal(t, []float64{2, 2, 2}, []float64(m.GPUs()))
		})
	}
}

func slicesContainsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}
