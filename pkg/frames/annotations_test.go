package frames

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

func TestAnnotationTextsNameWhatHappened(t *testing.T) {
	at := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	events := []fleet.Event{
		{Kind: fleet.EventIdle, Model: "gemma", Start: at, End: at.Add(3*time.Hour + 10*time.Minute), Duration: 3*time.Hour + 10*time.Minute, GPUs: 2, PowerW: 211.4},
		{Kind: fleet.EventIdle, Model: "kimi", Start: at, End: at.Add(2 * time.Hour), Duration: 2 * time.Hour, GPUs: 8, PowerW: math.NaN(), Ongoing: true},
		{Kind: fleet.EventRestart, Model: "gemma", Start: at, End: at.Add(5 * time.Minute),
			From: []fleet.Holding{{Host: "a", GPUType: a6000, GPUs: 2}}, To: []fleet.Holding{{Host: "b", GPUType: a6000, GPUs: 2}}},
		{Kind: fleet.EventRestart, Model: "qwen", Start: at, End: at,
			From: []fleet.Holding{{Host: "a", GPUType: a100, GPUs: 2}}, To: []fleet.Holding{{Host: "a", GPUType: a100, GPUs: 4}}},
		{Kind: fleet.EventVerdict, Model: "olmo", Start: at, End: at, GPUs: 4,
			Verdict: &fleet.VerdictChange{GPUType: a100, Held: 4, From: 4, To: 1, Reason: "fits 1x"}},
	}
	f := Annotations(events, Context{})[0]
	require.Equal(t, 5, f.Rows())
	col := func(name string) []string {
		field, _ := f.FieldByName(name)
		require.NotNil(t, field, name)
		out := make([]string, f.Rows())
		for i := range out {
			out[i] = field.At(i).(string)
		}
		return out
	}
	assert.Equal(t, []string{"gemma idle", "kimi idle", "gemma restarted onto other GPUs", "qwen changed its GPU count", "olmo right-sizing: 4 → 1 A100-SXM4-80GB"}, col("title"))
	assert.Equal(t, []string{
		"gemma idle for 3h10m (2 GPUs, 211 W)",
		"kimi idle for 2h so far (8 GPUs, power unknown)",
		"gemma moved from 2 x NVIDIA RTX A6000 on a to 2 x NVIDIA RTX A6000 on b",
		"qwen moved from 2 x NVIDIA A100-SXM4-80GB on a to 4 x NVIDIA A100-SXM4-80GB on a",
		"olmo holds 4 A100-SXM4-80GB; right-sizing now recommends 1 (was 4): fits 1x",
	}, col("text"))
	assert.Equal(t, "right-sizing,olmo", col("tags")[4])
	assert.Equal(t, "restart,qwen", col("tags")[3], "Grafana splits tags on commas")
	end, _ := f.FieldByName("timeEnd")
	assert.Equal(t, at.Add(5*time.Minute), end.At(2), "a move that took steps is a region")
}

func TestDurationTexts(t *testing.T) {
	for d, want := range map[time.Duration]string{
		45 * time.Minute: "45m", 2 * time.Hour: "2h", 26*time.Hour + 5*time.Minute: "26h5m", 30 * time.Second: "30s",
	} {
		assert.Equal(t, want, duration(d))
	}
}
