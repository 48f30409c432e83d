package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/promtest"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

// usableGB is what one GPU holds for a model: vLLM's 90% of the card.
func usableGB(typ sim.GPUType) float64 { return 0.9 * typ.MemoryGB }

func TestRightSizingAndConsolidationOnTheDefaultFleet(t *testing.T) {
	t.Parallel()
	got, truth := analyses(t, week, fleetSim, weekStart, weekEnd, carbonSettings, models.QueryRightSizing, models.QueryConsolidation)
	sizing := rows(t, got[models.QueryRightSizing][0])

	t.Run("Qwen3.5-397B keeps its 8 A100", func(t *testing.T) {
		// fp8 weights: 397 GB x 1.2 = 476.4 GB > 4 x 72 GB = 288 GB usable: only 8 x 72 GB = 576 GB holds it.
		qwen, _ := truth.Model("Qwen3.5-397B-A17B-FP8")
		need := 397 * 1.0 * sim.KVHeadroom
		require.Greater(t, need, 4*usableGB(sim.A100SXM80))
		require.LessOrEqual(t, need, 8*usableGB(sim.A100SXM80))
		row := sizing[qwen.Model]
		assert.InDelta(t, need, row["memory_need_gb"], 1e-6)
		assert.Equal(t, 8.0, row["min_gpus_by_memory"])
		assert.Equal(t, false, row["oversized"])
		assert.Equal(t, 8.0, row["recommended_gpus"])
		assert.Zero(t, row["saving_w"])
		assert.Contains(t, row["reason"], "fits no fewer than 8x A100-SXM4-80GB")
	})
	for _, model := range []string{"gpt-oss-120b", "gemma-4-31B"} {
		t.Run(model+" keeps its 2 A6000", func(t *testing.T) {
			// gpt-oss: 61 GB (MXFP4 on disk) x 1.2 = 73 GB; gemma: 31B x 2 B x 1.2 = 74 GB; one A6000 holds 43 GB.
			row := sizing[model]
			assert.Greater(t, row["memory_need_gb"], usableGB(sim.RTXA6000))
			assert.Equal(t, false, row["oversized"])
			assert.Equal(t, 2.0, row["recommended_gpus"])
		})
	}
	t.Run("Llama-3.1-8B is oversized", func(t *testing.T) {
		// 8B x 2 B x 1.2 = 19.2 GB fits one L40 (43.2 GB usable), and 2 x 50 tok/s is far from its capacity.
		llama, _ := truth.Model("Llama-3.1-8B-Instruct")
		row := sizing[llama.Model]
		assert.Equal(t, true, row["oversized"])
		assert.Equal(t, 1.0, row["recommended_gpus"])
		// The freed GPU's parked power less what it draws back in the pool (the fit adds nothing more: the
		// simulated p0 is exactly the parked power).
		wantW := float64(llama.GPUs-1) * (llama.ParkedWPerGPU - poolIdleW(truth, llama.GPUType))
		assert.InEpsilon(t, wantW, row["saving_w"], 0.05)
		assert.InEpsilon(t, wantW*86400/3.6e6*siteGPerKWh[sim.HostTACCL40]*pue/1000, row["saving_kgco2_per_day"], 0.05, "at TACC's intensity")
	})

	t.Run("spin-down candidates save their whole power", func(t *testing.T) {
		actions := rowsBy(t, got[models.QueryConsolidation][0], "models")
		idle := map[string]bool{}
		for _, m := range truth.Models {
			if m.Idle {
				idle[m.Model] = true
				a := actions[m.Model]
				require.NotNil(t, a, "%s idles %.1f%% of its steps: a spin-down candidate", m.Model, 100*m.IdleShare)
				assert.Equal(t, fleet.ActionSpinDown, a["action"])
				// Its power less what its GPUs draw back in the pool.
				assert.InEpsilon(t, m.MeanPowerW-float64(m.GPUs)*poolIdleW(truth, m.GPUType), a["saving_w"], 0.05, m.Model)
				assert.Zero(t, a["gpus_after"])
			}
			// No model idles between half and 95% of its steps, so nothing is co-located.
			assert.False(t, m.IdleShare >= fleet.CoLocateMinIdleShare && !m.Idle, m.Model)
		}
		assert.Equal(t, map[string]bool{"Kimi-K2.5": true, "MiniMax-M2.5": true, "Olmo-2-32B": true}, idle)
		assert.Len(t, actions, len(idle), "spin-downs only")
	})
}

// The second fleet: what right-sizing must get right beyond the NRP fleet. Its history covers 3 days (a verdict
// needs 2) up to weekEnd.
var (
	sizingStart = weekEnd.Add(-3 * 24 * time.Hour)
	sizingSim   = mustSim(sizingFleet(sizingStart.Add(-historyMargin)), sim.DefaultSeed)
	sizingWeek  = promtest.NewFixture(historyOf(sizingSim, sizingStart, weekEnd))
)

// Hosts of the sizing fleet, at NRP sites.
const (
	hostSizingL40   = "sz-l40-01.tacc.utexas.edu"
	hostSizingL40b  = "sz-l40-02.tacc.utexas.edu"
	hostSizingA100  = "sz-a100-01.sdsc.optiputer.net"
	hostSizingA100b = "sz-a100-02.unl.edu"
	hostSizingH100  = "sz-h100-01.nyu.edu"
	hostSizingA6000 = "sz-a6000-01.ucsd.edu"
)

// sizingSiteGPerKWh are the sizing fleet's sites' intensities (NRP's default site table).
var sizingSiteGPerKWh = map[string]float64{
	hostSizingL40: 393, hostSizingL40b: 393, hostSizingA100: 198, hostSizingA100b: 531, hostSizingH100: 174, hostSizingA6000: 198,
}

// sizingFleet has small dense models on too many GPUs, a large model that cannot shrink, a model whose name has
// no size, mixture-of-experts names with active-parameter words, a small model whose traffic needs its GPUs, and
// an idle one. Quiet periods park the GPUs of each type, so every idle floor is measured.
func sizingFleet(epoch time.Time) sim.Spec {
	light := func(base float64) sim.Traffic {
		return sim.Traffic{BaseTokensPerS: base, DailyAmplitude: 0.5, PeakHourUTC: 20, Noise: 0.2, QuietShare: 0.3}
	}
	model := func(name, typ string, gpus int, host string, paramsB, bytes float64, traffic sim.Traffic, jPerToken float64) sim.ModelSpec {
		return sim.ModelSpec{Name: name, Namespace: "sizing", GPUType: typ, GPUs: gpus, Hosts: []string{host},
			ParamsB: paramsB, BytesPerParam: bytes, Traffic: traffic, PromptPerGeneration: 2, MarginalJPerToken: jPerToken}
	}
	return sim.Spec{
		Epoch: epoch, Tick: sim.DefaultTick, PowerNoiseW: 0.5, DriverVersion: "570.133.20",
		GPUTypes: []sim.GPUType{sim.L40, sim.A100SXM80, sim.H100SXM, sim.RTXA6000},
		Nodes: []sim.Node{
			{Host: hostSizingL40, GPUType: sim.L40.Name, GPUs: 8},
			{Host: hostSizingL40b, GPUType: sim.L40.Name, GPUs: 4},
			{Host: hostSizingA100, GPUType: sim.A100SXM80.Name, GPUs: 8},
			{Host: hostSizingA100b, GPUType: sim.A100SXM80.Name, GPUs: 8},
			{Host: hostSizingH100, GPUType: sim.H100SXM.Name, GPUs: 8},
			{Host: hostSizingA6000, GPUType: sim.RTXA6000.Name, GPUs: 4},
		},
		Models: []sim.ModelSpec{
			model("acme/tiny-chat-7B", sim.L40.Name, 4, hostSizingL40, 7, 2, light(60), 0.3),
			model("Orca-MoE-42B-a6b", sim.L40.Name, 4, hostSizingL40, 42, 2, light(40), 0.6),
			// Pushed to its power cap at the daily peak: one GPU could not serve it.
			model("acme/busy-chat-8B", sim.L40.Name, 2, hostSizingL40b, 8, 2,
				sim.Traffic{BaseTokensPerS: 800, DailyAmplitude: 0.3, PeakHourUTC: 20, Noise: 0.1}, 0.5),
			model("Llama-3.1-8B-Instruct", sim.A100SXM80.Name, 8, hostSizingA100, 8, 2, light(200), 0.2),
			model("Mixer-110B-A12B-FP8", sim.A100SXM80.Name, 4, hostSizingA100b, 110, 1, light(30), 2),
			model("Llama-3.1-405B-Instruct-FP8", sim.H100SXM.Name, 8, hostSizingH100, 405, 1, light(20), 3),
			model("house-assistant", sim.RTXA6000.Name, 2, hostSizingA6000, 13, 2, light(30), 1),
			model("acme/forgotten-13B", sim.RTXA6000.Name, 2, hostSizingA6000, 13, 2, sim.Traffic{}, 1),
		},
	}
}

func TestRightSizingVerdictsOnTheSizingFleet(t *testing.T) {
	t.Parallel()
	got, truth := analyses(t, sizingWeek, sizingSim, sizingStart, weekEnd, nil, models.QueryRightSizing, models.QueryConsolidation)
	sizing := rows(t, got[models.QueryRightSizing][0])
	require.Len(t, sizing, len(truth.Models))

	for _, c := range []struct {
		model string
		// recommended is 0 where there is no verdict.
		recommended int
		why         string
	}{
		// 7B, no dtype in the name (bf16 assumed): 7 x 2 x 1.2 = 16.8 GB <= 43.2 GB of one L40; light traffic.
		{"acme/tiny-chat-7B", 1, "fits 1x L40"},
		// A mixture of experts: 42B total (not the 6B active) x 2 x 1.2 = 100.8 GB > 2 x 43.2 GB: 4 L40.
		{"Orca-MoE-42B-a6b", 4, "fits no fewer than 4x L40"},
		// 19.2 GB fits one L40, but it reaches its power cap at the peak: one GPU would serve half of that.
		{"acme/busy-chat-8B", 2, "too little for the p95"},
		// Catalog: 8B bf16, 19.2 GB <= 72 GB of one A100.
		{"Llama-3.1-8B-Instruct", 1, "fits 1x A100-SXM4-80GB"},
		// 110B total (not the 12B active) x 1 (FP8) x 1.2 = 132 GB > 72 GB, <= 2 x 72 GB.
		{"Mixer-110B-A12B-FP8", 2, "fits 2x A100-SXM4-80GB"},
		// 405 GB x 1.2 = 486 GB > 4 x 72 GB = 288 GB: it cannot shrink.
		{"Llama-3.1-405B-Instruct-FP8", 8, "fits no fewer than 8x H100"},
		// No size in the name, not in the catalog: no verdict, said plainly.
		{"house-assistant", 0, "unknown"},
		// Idle: 26 GB x 1.2 fits one A6000 (and consolidation spins it down).
		{"acme/forgotten-13B", 1, "consider a spin-down"},
	} {
		t.Run(c.model, func(t *testing.T) {
			m, ok := truth.Model(c.model)
			require.True(t, ok)
			row := sizing[c.model]
			require.NotNil(t, row)
			assert.Contains(t, row["reason"], c.why)
			if c.recommended == 0 {
				assert.Nil(t, row["recommended_gpus"])
				assert.Nil(t, row["oversized"])
				assert.Nil(t, row["memory_need_gb"])
				return
			}
			assert.InEpsilon(t, m.MemoryNeedGB, row["memory_need_gb"], 1e-9, "weights x 1.2 of its true size")
			assert.Equal(t, float64(c.recommended), row["recommended_gpus"])
			oversized := c.recommended < m.GPUs
			assert.Equal(t, oversized, row["oversized"])
			wantW := float64(m.GPUs-c.recommended) * (m.ParkedWPerGPU - poolIdleW(truth, m.GPUType))
			if !oversized {
				assert.Zero(t, row["saving_w"])
				return
			}
			// The freed GPUs' parked power less the pool's, and no more: the simulated p0 is exactly the parked
			// power.
			assert.InEpsilon(t, wantW, row["saving_w"], 0.05)
			assert.InEpsilon(t, wantW*86400/3.6e6*sizingSiteGPerKWh[hostOf(m)]/1000, row["saving_kgco2_per_day"], 0.05, "at its site, PUE 1")
		})
	}

	t.Run("the idle model is the one spin-down", func(t *testing.T) {
		actions := rowsBy(t, got[models.QueryConsolidation][0], "models")
		require.Len(t, actions, 1)
		forgotten, _ := truth.Model("acme/forgotten-13B")
		a := actions[forgotten.Model]
		require.NotNil(t, a)
		assert.Equal(t, fleet.ActionSpinDown, a["action"])
		assert.InEpsilon(t, forgotten.MeanPowerW-float64(forgotten.GPUs)*poolIdleW(truth, forgotten.GPUType), a["saving_w"], 0.05)
	})
}

// poolIdleW is what a freed GPU of the type draws back in the pool under the stated baseline
// (docs/right-sizing.md): the simulated bare idle power of the fleet's unallocated GPUs where it has some of
// the type, else the catalog's bare idle figure from the docs.
func poolIdleW(truth sim.Truth, gpuType string) float64 {
	if truth.Unallocated.GPUs[gpuType] > 0 {
		return gpuTypeOf(truth, gpuType).BareIdleW
	}
	return map[string]float64{
		sim.A100SXM80.Name: 64, sim.A100PCIe80.Name: 48, sim.H100SXM.Name: 72, sim.L40.Name: 35, sim.RTXA6000.Name: 22,
	}[gpuType]
}

// hostOf is the one host of a model of the sizing fleet.
func hostOf(m sim.ModelTruth) string {
	for host := range m.EnergyJByHost {
		return host
	}
	return ""
}

// The provisioned rule "Model oversized for its traffic" fires where saving_w > 0 over the last 7 days
// (provisioning/alerting). On the default fleet that must be exactly the models the simulator says could run
// on fewer GPUs: a smaller tensor-parallel size whose usable memory (90%) holds weights x 1.2, on which its
// serving model neither queues nor misses the default SLOs (2 s to first token, 200 ms between tokens).
func TestTheOversizedAlertFiresForTheOversizedModelOnly(t *testing.T) {
	t.Parallel()
	prom := week.Server(t)
	p := startPlugin(t)
	got := answer(t, p, settingsFor(prom.URL, nil), fromAlert, query("A", models.QueryRightSizing, "", weekStart, weekEnd))["A"]
	require.Len(t, got, 1, "alert rules get the saving_w frame only")
	firing := map[string]bool{}
	for _, row := range rows(t, got[0]) {
		if v, ok := row["saving_w"].(float64); ok && v > 0 {
			firing[row["model"].(string)] = true
		}
	}

	g := gridOf(t, weekStart, weekEnd)
	truth := truthOver(fleetSim, g)
	want := map[string]bool{}
	for _, m := range truth.Models {
		typ := gpuTypeOf(truth, m.GPUType)
		for _, tp := range []int{1, 2, 4} {
			if tp >= m.GPUs || m.MemoryNeedGB > float64(tp)*usableGB(typ) {
				continue
			}
			proj, ok := fleetSim.ProjectServing(m.Model, tp, g.End().Add(-g.Span()), g.End())
			if ok && proj.Fits && !proj.Queued && proj.P95TTFTS <= 2 && proj.P95ITLS <= 0.2 {
				want[m.Model] = true
			}
			break
		}
	}
	require.NotEmpty(t, want, "the default fleet has an oversized model")
	assert.Equal(t, want, firing)
}

func gpuTypeOf(truth sim.Truth, name string) sim.GPUType {
	for _, typ := range truth.GPUTypes {
		if typ.Name == name {
			return typ
		}
	}
	return sim.GPUType{Name: name}
}
