package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

const end = "2026-11-01T00:00:00Z"

func TestHistoryAndTruthDescribeTheSameWindow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.om")
	args := []string{"--days", "0.25", "--end", end, "--step", "30s", "--no-energy", "--seed", "5"}
	require.NoError(t, history(append(args, "--out", path), nil))
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	om := string(raw)
	assert.True(t, strings.HasSuffix(om, "# EOF\n"))
	assert.False(t, strings.Contains(om, sim.MetricEnergy), "--no-energy")
	assert.True(t, strings.Contains(om, `instance="`+sim.DefaultInstance+`"`))
	// 6 hours at 30 s: the first sample a step after the start (the epoch), the last at the end.
	last, err := time.Parse(time.RFC3339, end)
	require.NoError(t, err)
	stamp := func(t time.Time) string { return " " + strconv.FormatInt(t.Unix(), 10) + "\n" }
	assert.True(t, strings.Contains(om, stamp(last)), "a sample at --end")
	assert.True(t, strings.Contains(om, stamp(last.Add(-6*time.Hour+30*time.Second))), "a sample one step after the start")
	assert.False(t, strings.Contains(om, stamp(last.Add(-6*time.Hour))), "nothing at the epoch, before counters start")

	var out bytes.Buffer
	require.NoError(t, truth(args, &out))
	var tr struct {
		Start, End time.Time
		Models     []struct {
			Model            string  `json:"model"`
			GenerationTokens float64 `json:"generation_tokens"`
		} `json:"models"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &tr))
	assert.Equal(t, 6*time.Hour, tr.End.Sub(tr.Start))
	s, err := sim.New(sim.DefaultFleet(tr.Start, true), 5)
	require.NoError(t, err)
	require.Len(t, tr.Models, len(s.Models()))
	for _, m := range tr.Models {
		assert.InDelta(t, s.Tokens(m.Model, sim.TokensGeneration, tr.Start, tr.End), m.GenerationTokens, 1e-6, m.Model)
	}
}

func TestHistoryMetricsFlag(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, history([]string{"--days", "0.01", "--end", end, "--metrics", sim.MetricPower + "," + sim.MetricPromptTokens}, &out))
	families := map[string]bool{}
	for _, line := range strings.Split(out.String(), "\n") {
		if name, _, ok := strings.Cut(line, "{"); ok {
			families[name] = true
		}
	}
	assert.Equal(t, map[string]bool{sim.MetricPower: true, sim.MetricPromptTokens: true}, families)
}

func TestScaledFleetFlag(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, truth([]string{"--models", "40", "--days", "0.1", "--end", end}, &out))
	var tr struct {
		Models []json.RawMessage `json:"models"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &tr))
	assert.Len(t, tr.Models, 40)
}

func TestNamingFlags(t *testing.T) {
	var ff fleetFlags
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	ff.register(fs)
	require.NoError(t, fs.Parse([]string{"--sglang", "--rename-label", "model_name=model", "--exported", "--host-label", "hostname"}))
	_, err := ff.build(time.Now())
	require.NoError(t, err)
	assert.True(t, ff.naming.Exported)
	assert.Equal(t, "hostname", ff.naming.HostLabel)
	assert.Equal(t, "sglang:prompt_tokens_total", ff.naming.Metrics[sim.MetricPromptTokens])
	assert.Equal(t, map[string]string{"model_name": "model"}, ff.naming.Labels)
	fs.SetOutput(io.Discard)
	assert.Error(t, fs.Parse([]string{"--rename-metric", "nonsense"}))
}

// The demo stack runs fleetsim with these flags; a typo would only show on a user's machine.
func TestComposeRunsValidFleetsimCommand(t *testing.T) {
	raw, err := os.ReadFile("../../docker-compose.yaml")
	require.NoError(t, err)
	var compose struct {
		Services map[string]struct {
			Command    []string `yaml:"command"`
			Entrypoint []string `yaml:"entrypoint"`
			Build      struct {
				Dockerfile string `yaml:"dockerfile"`
			} `yaml:"build"`
			Volumes []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &compose))
	fs := compose.Services["fleetsim"]
	require.Equal(t, "serve", fs.Command[0])
	c, err := parseServe(fs.Command[1:])
	require.NoError(t, err)
	assert.Equal(t, 14.0, c.win.days)
	assert.Equal(t, sim.DefaultInstance, c.instance, "history carries the instance Prometheus scrapes")
	assert.Equal(t, ":"+strings.Split(sim.DefaultInstance, ":")[1], c.listen)
	assert.FileExists(t, filepath.Join("../..", fs.Build.Dockerfile))
	assert.Contains(t, fs.Volumes, filepath.Dir(c.historyOut)[1:]+":"+filepath.Dir(c.historyOut))

	prom := compose.Services["prometheus"]
	assert.Equal(t, []string{"/bin/sh", "/etc/prometheus/entrypoint.sh"}, prom.Entrypoint)
	assert.FileExists(t, "../../provisioning/prometheus/entrypoint.sh")
	assert.Contains(t, prom.Volumes, "./provisioning/prometheus:/etc/prometheus:ro")
}

// --fleet sizing with --serving and --mixed writes the sizing fleet's serving signals under both vLLM
// generations' names, sampled every --scrape-interval; its truth has the replicas; an unknown fleet is an error.
func TestFleetAndServingFlags(t *testing.T) {
	var om bytes.Buffer
	args := []string{"--fleet", "sizing", "--days", "0.01", "--end", end}
	require.NoError(t, history(append(args, "--serving", "--mixed", "--scrape-interval", "15s"), &om))
	times := map[string]bool{}
	families := map[string]bool{}
	for _, line := range strings.Split(om.String(), "\n") {
		if name, rest, ok := strings.Cut(line, "{"); ok {
			families[name] = true
			times[rest[strings.LastIndexByte(rest, ' ')+1:]] = true
		}
	}
	for _, name := range []string{sim.MetricKVCacheUsage, sim.MetricGPUCacheUsage, sim.MetricITL + "_bucket", sim.MetricTimePerOutputToken + "_bucket",
		sim.MetricTTFT + "_count", sim.MetricRequestSuccess, sim.MetricCacheConfig} {
		assert.True(t, families[name], name)
	}
	// 0.01 days is 864 s: samples at the end and every 15 s back, 57 steps after the start.
	assert.Len(t, times, 864/15+1, "a sample every 15 s")
	assert.Contains(t, om.String(), `hostname="`+sim.HostSizingA100b+`"`, "--mixed: the second node labels hostname")

	var out bytes.Buffer
	require.NoError(t, truth(args, &out))
	var tr struct {
		Models []struct {
			Model          string `json:"model"`
			Replicas       int    `json:"replicas"`
			GPUsPerReplica int    `json:"gpus_per_replica"`
		} `json:"models"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &tr))
	require.Len(t, tr.Models, len(sim.SizingFleet(time.Time{}).Models))
	assert.Equal(t, sim.SizingReplicas, tr.Models[1].Model)
	assert.Equal(t, []int{2, 2}, []int{tr.Models[1].Replicas, tr.Models[1].GPUsPerReplica})

	assert.ErrorContains(t, truth([]string{"--fleet", "nope", "--days", "0.01", "--end", end}, io.Discard), `--fleet "nope"`)
}
