package sim_test

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

func TestDefaultFleetReproducesNRPTable(t *testing.T) {
	tr := weekTruth(t)
	// NRP's measured fleet: W, total tok/s, J/token (0 tok/s: idle). The busy
	// A6000 models sit near their 2 x 300 W cap, where a GPU throttles: 597 W at 2341 tok/s would be capped all
	// day, so their power and rate come out a few percent lower at the table's J/token (see DefaultFleet).
	for _, tc := range []struct {
		model                 string
		powerW, tokensPerS, j float64
		gpus                  int
	}{
		{"gpt-oss-120b", 597, 2341, 0.26, 2},
		{"gemma-4-31B", 577, 360, 1.60, 2},
		{"Qwen3.5-397B-A17B-FP8", 783, 18, 43.5, 8},
		{"Kimi-K2.5", 670, 0, 0, 8},
		{"MiniMax-M2.5", 447, 0, 0, 4},
	} {
		t.Run(tc.model, func(t *testing.T) {
			m, ok := tr.Model(tc.model)
			require.True(t, ok)
			assert.Equal(t, tc.gpus, m.GPUs)
			if tc.tokensPerS == 0 {
				assert.InEpsilon(t, tc.powerW, m.MeanPowerW, 0.01, "mean power W")
				assert.True(t, m.Idle)
				assert.Zero(t, m.MeanTokensPerS)
				assert.True(t, math.IsNaN(m.JPerToken), "an idle model has no J/token")
				// Idle power is exactly the parked floor of its GPU type, up to the zero-mean noise.
				assert.InDelta(t, float64(m.GPUs)*m.ParkedWPerGPU, m.MeanPowerW, 0.5)
				return
			}
			assert.False(t, m.Idle)
			assert.InEpsilon(t, tc.j, m.JPerToken, 0.02, "J/token")
			assert.InEpsilon(t, tc.powerW, m.MeanPowerW, 0.05, "mean power W")
			assert.InEpsilon(t, tc.tokensPerS, m.MeanTokensPerS, 0.05, "tok/s")
			assert.InEpsilon(t, m.EnergyJ/(m.PromptTokens+m.GenerationTokens), m.JPerToken, 1e-12, "J/token is a ratio of sums")
		})
	}
	olmo, _ := tr.Model("Olmo-2-32B")
	assert.True(t, olmo.Idle, "Olmo idles with rare bursts")
	assert.Less(t, olmo.IdleShare, 1.0, "Olmo has bursts")
	assert.Positive(t, olmo.GenerationTokens)
	// Truth memory need = params x bytes/param x 1.2.
	qwen, _ := tr.Model("Qwen3.5-397B-A17B-FP8")
	assert.InDelta(t, 397*1*1.2, qwen.MemoryNeedGB, 1e-9)
	gpt, _ := tr.Model("gpt-oss-120b")
	assert.InDelta(t, 117*0.5*1.2, gpt.MemoryNeedGB, 1e-9)
	assert.Equal(t, map[string]int{sim.L40.Name: 2, sim.RTXA6000.Name: 2}, tr.Unallocated.GPUs)
}

// Power and tokens are one physics: the energy above the parked floor is the marginal J/token times the tokens
// served, capped or not, so the week's realized marginal J/token is the spec's up to the power noise.
func TestRealizedMarginalIsThePhysics(t *testing.T) {
	tr := weekTruth(t)
	noiseW := defaultSim(t, true).Spec().PowerNoiseW
	for _, m := range tr.Models {
		t.Run(m.Model, func(t *testing.T) {
			tokens := m.PromptTokens + m.GenerationTokens
			if tokens == 0 {
				assert.True(t, math.IsNaN(m.RealizedMarginalJPerToken))
				assert.InDelta(t, 0, m.ProductiveEnergyJ/m.ParkedEnergyJ, 1e-4, "an idle model draws its parked power")
				return
			}
			// The zero-mean noise summed over the GPU-minutes held: uniform of half-width noiseW, so a standard
			// deviation of noiseW/sqrt(3) per GPU-minute. Four of those over the tokens bound the realized error.
			gpuMinutes := m.ParkedEnergyJ / m.ParkedWPerGPU / 60
			noiseJ := noiseW / math.Sqrt(3) * 60 * math.Sqrt(gpuMinutes)
			assert.InDelta(t, m.MarginalJPerToken, m.RealizedMarginalJPerToken, 4*noiseJ/tokens+1e-3*m.MarginalJPerToken)
			assert.InEpsilon(t, m.EnergyJ, m.ParkedEnergyJ+m.ProductiveEnergyJ, 1e-12)
			hosts := 0.0
			for _, j := range m.EnergyJByHost {
				hosts += j
			}
			assert.InEpsilon(t, m.EnergyJ, hosts, 1e-9, "energy per host adds up")
		})
	}
	gemma, _ := tr.Model("gemma-4-31B")
	assert.Len(t, gemma.EnergyJByHost, 2, "gemma moved hosts at its restart")
}

func TestServedRateSaturatesAtThePowerCap(t *testing.T) {
	typ := sim.GPUType{Name: "GPU", MemoryGB: 80, ParkedW: 100, BareIdleW: 50, PowerCapW: 300}
	const noiseW, marginal = 0.5, 2.0
	// Two GPUs reach 2 x 300 W at (600 - 200 - 2 x noise) / 2 J/token.
	saturation := 2 * (typ.PowerCapW - typ.ParkedW - noiseW) / marginal
	for _, tc := range []struct {
		name                       string
		demand, served             float64
		throttled                  bool
		wantPowerW, powerTolerance float64
	}{
		{"under the cap: serves the demand", 150, 150, false, 2*typ.ParkedW + marginal*150, 0.01},
		{"over the cap: throttles", 1000, saturation, true, 2*typ.PowerCapW - 2*noiseW, 0.01},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := sim.Spec{
				Epoch: testEpoch, Tick: time.Minute, GPUTypes: []sim.GPUType{typ}, PowerNoiseW: noiseW,
				Nodes: []sim.Node{{Host: "node", GPUType: typ.Name, GPUs: 2}},
				Models: []sim.ModelSpec{{Name: "m", GPUType: typ.Name, GPUs: 2, Hosts: []string{"node"}, MarginalJPerToken: marginal,
					Traffic: sim.Traffic{BaseTokensPerS: tc.demand}, PromptPerGeneration: 1, ParamsB: 1, BytesPerParam: 2}},
			}
			s, err := sim.New(spec, 1)
			require.NoError(t, err)
			from, to := testEpoch.Add(time.Hour), testEpoch.Add(3*time.Hour)
			tr := s.Truth(from, to, time.Minute)
			m, _ := tr.Model("m")
			assert.InEpsilon(t, saturation, m.SaturationTokensPerS, 1e-12)
			assert.InDelta(t, tc.served, m.MeanTokensPerS, 0.01, "served tok/s")
			// Zero-mean noise of 2 GPUs x 0.5 W over 120 ticks: the mean is well within 0.1 W.
			assert.InDelta(t, tc.wantPowerW, m.MeanPowerW, 0.1, "mean power")
			assert.InEpsilon(t, marginal, m.RealizedMarginalJPerToken, 1e-3)
			assert.Equal(t, map[bool]float64{false: 0, true: 1}[tc.throttled], m.ThrottledShare)
			for at := from.Add(time.Minute); !at.After(to); at = at.Add(time.Minute) {
				require.LessOrEqual(t, s.ModelPowerW("m", at), 2*typ.PowerCapW, "never over the cap at %s", at)
			}
		})
	}
}

func TestPhysicsPowerFollowsTheServedTokens(t *testing.T) {
	s := defaultSim(t, false)
	spec := s.Spec()
	tr := weekTruth(t)
	from := testEpoch.Add(24 * time.Hour)
	for _, ms := range spec.Models {
		t.Run(ms.Name, func(t *testing.T) {
			typ := gpuType(t, spec, ms.GPUType)
			truth, _ := tr.Model(ms.Name)
			gpus := float64(ms.GPUs)
			throttled, free := 0, 0
			// A day, every 5 minutes: across the daily peak, where the A6000 models throttle.
			for at := from.Add(5 * time.Minute); !at.After(from.Add(24 * time.Hour)); at = at.Add(5 * time.Minute) {
				rate := s.MeanTokensPerS(ms.Name, sim.TokensTotal, at.Add(-time.Minute), at)
				require.LessOrEqual(t, rate, truth.SaturationTokensPerS+1e-3, "served at most the saturation rate at %s", at)
				power := s.ModelPowerW(ms.Name, at)
				noise := gpus * (spec.PowerNoiseW + 0.001)
				require.InDelta(t, gpus*typ.ParkedW+ms.MarginalJPerToken*rate, power, noise, "at %s", at)
				require.LessOrEqual(t, power, gpus*typ.PowerCapW, "at %s", at)
				if rate >= truth.SaturationTokensPerS-1e-3 {
					throttled++
					require.InDelta(t, gpus*typ.PowerCapW, power, 2*noise, "a throttled GPU draws its cap, at %s", at)
				} else {
					free++
				}
				// Within one tick power is constant, so the instantaneous and the mean agree.
				require.InDelta(t, power, s.MeanPowerW(ms.Name, at.Add(-time.Minute), at), 1e-6)
			}
			assert.Positive(t, free)
			if truth.ThrottledShare > 0 {
				assert.Positive(t, throttled, "the daily peak throttles")
			}
		})
	}
}

func gpuType(t *testing.T, spec sim.Spec, name string) sim.GPUType {
	for _, g := range spec.GPUTypes {
		if g.Name == name {
			return g
		}
	}
	t.Fatalf("no GPU type %q", name)
	return sim.GPUType{}
}

func TestHistoryFileIsWhatPromtoolNeeds(t *testing.T) {
	s := defaultSim(t, true)
	gap := s.Spec().Mess.Gaps[0]
	o := sim.HistoryOptions{Start: gap.Start.Add(-20 * time.Minute), End: gap.Start.Add(gap.Duration + 20*time.Minute), Step: 30 * time.Second}
	samples, comments, st := history(t, s, o)

	assert.Equal(t, "# EOF", comments[len(comments)-1])
	counts := map[string]int{}
	lastT := map[string]int64{}
	done := map[string]bool{} // series and families already left behind must not come back
	var split, unordered, inGap []string
	prevSeries, prevName := "", ""
	for _, smp := range samples {
		key := smp.series
		if key != prevSeries {
			if done[key] {
				split = append(split, key)
			}
			done[prevSeries] = true
		}
		if smp.name != prevName {
			if done["family "+smp.name] {
				split = append(split, "family "+smp.name)
			}
			done["family "+prevName] = true
		}
		prevSeries, prevName = key, smp.name
		if smp.tMS <= lastT[key] {
			unordered = append(unordered, key)
		}
		lastT[key] = smp.tMS
		if smp.tMS >= gap.Start.UnixMilli() && smp.tMS < gap.Start.Add(gap.Duration).UnixMilli() {
			inGap = append(inGap, key)
		}
		counts[smp.name]++
	}
	assert.Empty(t, split, "each series and family is written in one piece")
	assert.Empty(t, unordered, "samples of each series ascend")
	assert.Empty(t, inGap, "no sample in the gap")
	assert.Equal(t, st.Samples, counts, "stats count every written sample")
	// Every series has one sample per step outside the gap: the GPU series, held or not, and the pods.
	steps := int(o.End.Sub(o.Start)/o.Step) + 1 - int(gap.Duration/o.Step)
	gpus := 0
	for _, n := range s.Spec().Nodes {
		gpus += n.GPUs
	}
	assert.Equal(t, gpus*steps, counts[sim.MetricPower], "every GPU")
	assert.Equal(t, len(s.Spec().Models)*steps, counts[sim.MetricPromptTokens], "a pod per model")
}

func TestLiveExportersAgreeWithHistory(t *testing.T) {
	s := defaultSim(t, true)
	restart := s.Spec().Mess.Restarts[0]
	o := sim.HistoryOptions{Start: restart.At.Add(-10 * time.Minute), End: restart.At.Add(20 * time.Minute), Step: 15 * time.Second}
	samples, _, _ := history(t, s, o)
	byTime := map[int64]map[string]float64{}
	for _, smp := range samples {
		if byTime[smp.tMS] == nil {
			byTime[smp.tMS] = map[string]float64{}
		}
		byTime[smp.tMS][smp.key()] = smp.value
	}
	// Before, at, during and after the restart, on and between ticks.
	for _, at := range []time.Duration{-5 * time.Minute, -15 * time.Second, 0, 2 * time.Minute, 4 * time.Minute, 4*time.Minute + 45*time.Second, 15 * time.Minute} {
		ts := restart.At.Add(at)
		want := byTime[ts.UnixMilli()]
		require.NotEmpty(t, want, "history has samples at %s", ts)
		got := map[string]float64{}
		for _, smp := range scrape(t, s, sim.Naming{}, ts) {
			got[smp.key()] = smp.value
		}
		require.Len(t, got, len(want), "same series at %s", at)
		for key, v := range want {
			require.Contains(t, got, key, "at %s", at)
			require.InDelta(t, v, got[key], 1e-6*math.Max(1, math.Abs(v)), "%s at %s", key, at)
		}
	}
}

func TestRestartResetsCountersAndMovesGPUs(t *testing.T) {
	s := defaultSim(t, true)
	r := s.Spec().Mess.Restarts[0]
	before := scrape(t, s, sim.Naming{}, r.At)
	during := scrape(t, s, sim.Naming{}, r.At.Add(2*time.Minute))
	firstAfter := r.At.Add(r.Down).Add(time.Minute)
	after := scrape(t, s, sim.Naming{}, firstAfter)

	pods := func(samples []sample) map[string]float64 {
		out := map[string]float64{}
		for _, smp := range samples {
			if smp.name == sim.MetricGenerationTokens && smp.labels["model_name"] == r.Model {
				out[smp.labels["pod"]] = smp.value
			}
		}
		return out
	}
	hosts := func(samples []sample, pod string) map[string]int {
		out := map[string]int{}
		for _, smp := range samples {
			if smp.name == sim.MetricPower && smp.labels["pod"] == pod {
				out[smp.labels["Hostname"]]++
			}
		}
		return out
	}
	require.Len(t, pods(before), 1)
	assert.Empty(t, pods(during), "no pod serves during the restart")
	require.Len(t, pods(after), 1)
	var oldPod, newPod string
	var oldCount, newCount float64
	for p, v := range pods(before) {
		oldPod, oldCount = p, v
	}
	for p, v := range pods(after) {
		newPod, newCount = p, v
	}
	assert.NotEqual(t, oldPod, newPod)
	assert.Greater(t, oldCount, 1e6, "the old pod counted days of tokens")
	// The new counter starts from 0: it holds the one minute served since the pod started.
	assert.InEpsilon(t, s.Tokens(r.Model, sim.TokensGeneration, firstAfter.Add(-time.Minute), firstAfter), newCount, 1e-9)
	assert.Equal(t, map[string]int{sim.HostSDSCA6000: 2}, hosts(before, oldPod))
	assert.Equal(t, map[string]int{r.ToHosts[0]: 2}, hosts(after, newPod))
	assert.Equal(t, 0, s.GPUsAt(r.Model, r.At.Add(2*time.Minute)))
	assert.Zero(t, s.MeanPowerW(r.Model, r.At.Add(time.Minute), r.At.Add(2*time.Minute)), "no GPU is the model's while it restarts")
	// The GPUs it left are unallocated, at bare idle power.
	for _, smp := range after {
		if smp.name == sim.MetricPower && smp.labels["Hostname"] == sim.HostSDSCA6000 && smp.labels["pod"] == "" {
			assert.InDelta(t, sim.RTXA6000.BareIdleW, smp.value, s.Spec().PowerNoiseW)
		}
	}
	assert.False(t, s.Defined(r.At.Add(-time.Minute), r.At))
	assert.False(t, s.Defined(r.At.Add(r.Down).Add(sim.LookbackPad), r.At.Add(r.Down).Add(sim.LookbackPad+time.Minute)))
	assert.True(t, s.Defined(r.At.Add(r.Down).Add(sim.LookbackPad+time.Minute), r.At.Add(time.Hour)))
}

func TestGapAnswers503(t *testing.T) {
	s := defaultSim(t, true)
	g := s.Spec().Mess.Gaps[0]
	for _, tc := range []struct {
		at   time.Time
		code int
	}{
		{g.Start.Add(-time.Second), 200},
		{g.Start, 503},
		{g.Start.Add(g.Duration - time.Second), 503},
		{g.Start.Add(g.Duration), 200},
	} {
		h := s.Handler(sim.Naming{}, func() time.Time { return tc.at })
		for _, path := range []string{sim.PathDCGM, sim.PathVLLM} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
			assert.Equal(t, tc.code, rec.Code, "%s at %s", path, tc.at)
		}
	}
}

func TestNamingOptions(t *testing.T) {
	s := defaultSim(t, false)
	at := testEpoch.Add(24 * time.Hour)
	gptPod := func(samples []sample) string {
		for _, smp := range samples {
			if strings.HasSuffix(smp.name, "generation_tokens_total") && smp.labels["model_name"] == "gpt-oss-120b" {
				return smp.labels["pod"]
			}
		}
		return ""
	}
	for _, tc := range []struct {
		name   string
		naming sim.Naming
		check  func(t *testing.T, held, unheld sample, names map[string]bool, gptPod string)
	}{
		{"standard", sim.Naming{}, func(t *testing.T, held, unheld sample, names map[string]bool, pod string) {
			assert.Equal(t, pod, held.labels["pod"], "the GPU series carries the workload's pod")
			assert.Equal(t, "nrp-llm", held.labels["namespace"])
			assert.Equal(t, "gpt-oss-120b", held.labels["container"])
			assert.Equal(t, sim.HostSDSCA6000, held.labels["Hostname"])
			for _, l := range []string{"namespace", "pod", "container"} {
				assert.NotContains(t, unheld.labels, l, "an unallocated GPU has no workload labels")
			}
			assert.True(t, names[sim.MetricEnergy])
		}},
		{"exported", sim.Naming{Exported: true}, func(t *testing.T, held, unheld sample, names map[string]bool, pod string) {
			assert.Equal(t, pod, held.labels["exported_pod"])
			assert.Equal(t, "nrp-llm", held.labels["exported_namespace"])
			assert.Equal(t, "gpt-oss-120b", held.labels["exported_container"])
			assert.Equal(t, sim.ExporterNamespace, held.labels["namespace"])
			assert.True(t, strings.HasPrefix(held.labels["pod"], sim.ExporterContainer), "pod is the exporter's")
			assert.Equal(t, sim.ExporterNamespace, unheld.labels["namespace"], "the exporter's labels are on every GPU")
			assert.NotContains(t, unheld.labels, "exported_pod")
		}},
		{"no energy counter, hostname", sim.Naming{NoEnergyCounter: true, HostLabel: "hostname"}, func(t *testing.T, held, _ sample, names map[string]bool, _ string) {
			assert.False(t, names[sim.MetricEnergy])
			assert.Equal(t, sim.HostSDSCA6000, held.labels["hostname"])
			assert.NotContains(t, held.labels, "Hostname")
		}},
		{"SGLang, model label renamed and on the GPU series", func() sim.Naming {
			n := sim.SGLang()
			n.Labels = map[string]string{"model_name": "model"}
			n.GPUModelLabel = "served_model"
			return n
		}(), func(t *testing.T, held, unheld sample, names map[string]bool, _ string) {
			assert.True(t, names["sglang:prompt_tokens_total"])
			assert.True(t, names["sglang:generation_tokens_total"])
			assert.False(t, names[sim.MetricPromptTokens])
			assert.Equal(t, "gpt-oss-120b", held.labels["served_model"])
			assert.NotContains(t, unheld.labels, "served_model")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			samples := scrape(t, s, tc.naming, at)
			names := map[string]bool{}
			var held, unheld sample
			for _, smp := range samples {
				names[smp.name] = true
				if smp.name != sim.MetricPower {
					continue
				}
				host := smp.labels["Hostname"] + smp.labels["hostname"]
				if host == sim.HostSDSCA6000 && smp.labels["gpu"] == "0" {
					held = smp
				}
				if host == sim.HostTACCL40 && smp.labels["gpu"] == "3" {
					unheld = smp
				}
			}
			require.NotNil(t, held.labels)
			require.NotNil(t, unheld.labels)
			pod := gptPod(samples)
			if tc.naming.Labels != nil {
				for _, smp := range samples {
					if smp.labels["model"] == "gpt-oss-120b" {
						pod = smp.labels["pod"]
					}
				}
			}
			require.NotEmpty(t, pod)
			tc.check(t, held, unheld, names, pod)
		})
	}
}

func TestSameSeedSameFleet(t *testing.T) {
	o := sim.HistoryOptions{Start: testEpoch.Add(time.Hour), End: testEpoch.Add(2 * time.Hour), Step: time.Minute}
	write := func(seed int64) []byte {
		s, err := sim.New(sim.DefaultFleet(testEpoch, true), seed)
		require.NoError(t, err)
		var b bytes.Buffer
		_, err = s.WriteHistory(&b, o)
		require.NoError(t, err)
		return b.Bytes()
	}
	first := write(7)
	assert.Equal(t, first, write(7))
	assert.NotEqual(t, write(7), write(8))
}

func TestTruthJSON(t *testing.T) {
	tr := weekTruth(t)
	b, err := json.Marshal(tr)
	require.NoError(t, err)
	var back struct {
		Models []map[string]any `json:"models"`
		StepS  float64          `json:"step_s"`
	}
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, 60.0, back.StepS)
	require.Len(t, back.Models, len(tr.Models))
	for i, m := range back.Models {
		assert.Equal(t, tr.Models[i].Model, m["model"])
		if tr.Models[i].Idle && tr.Models[i].GenerationTokens == 0 {
			assert.Nil(t, m["j_per_token"], "no tokens: J/token is null")
		} else {
			assert.InDelta(t, tr.Models[i].JPerToken, m["j_per_token"], 1e-9)
		}
	}
}

func TestScaledFleet(t *testing.T) {
	spec := sim.ScaledFleet(1000, 3, testEpoch)
	s, err := sim.New(spec, 3)
	require.NoError(t, err)
	require.Len(t, spec.Models, 1000)
	types := map[string]bool{}
	idle := 0
	at := testEpoch.Add(time.Minute)
	for _, m := range spec.Models {
		typ := gpuType(t, spec, m.GPUType)
		types[m.GPUType] = true
		assert.LessOrEqual(t, m.MemoryNeedGB(), float64(m.GPUs)*typ.MemoryGB*0.9, "%s fits its GPUs", m.Name)
		assert.Contains(t, []int{1, 2, 4, 8}, m.GPUs)
		assert.Equal(t, m.GPUs, s.GPUsAt(m.Name, at), "%s holds its GPUs", m.Name)
		if m.Traffic.BaseTokensPerS == 0 {
			idle++
		}
	}
	assert.GreaterOrEqual(t, len(types), 5, "a mix of GPU types")
	assert.InDelta(t, 200, idle, 60, "about a fifth of the models idle")
	assert.Len(t, s.Models(), 1000)
}
