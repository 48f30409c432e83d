package fleet_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

func TestParseNameSize(t *testing.T) {
	cases := []struct {
		name    string
		paramsB float64 // 0: no size
		reason  string  // substring of the reason when there is none
	}{
		{"gpt-oss-120b", 120, ""},
		{"gemma-4-31B", 31, ""},
		{"openai/gpt-oss-20b", 20, ""},
		{"Qwen2.5-1.5B-Instruct", 1.5, ""},
		{"mistralai/Mixtral-8x7B-Instruct-v0.1", 56, ""},
		{"Qwen3-235B-A22B-Thinking-2507", 235, ""},
		{"Qwen/Qwen3.5-397B-A17B-FP8", 397, ""},
		{"acme/moe-480b-a32b", 480, ""},
		{"SmolLM2-135M", 0.135, ""},
		{"acme-1T-int4", 1000, ""},
		{"OLMo-2-0325-32B-Instruct", 32, ""},
		{"Qwen1.5-MoE-A2.7B", 0, ""},
		{"Kimi-K2.5", 0, ""},
		{"Llama-4-Scout-17B-16E-Instruct", 0, "active size"},
		{"merge-7b-13b", 0, "several sizes (7B, 13B)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := fleet.ParseNameSize(c.name)
			assert.Equal(t, c.paramsB > 0, got.OK)
			assert.InDelta(t, c.paramsB, got.ParamsB, 1e-9)
			if c.reason != "" {
				assert.Contains(t, got.Reason, c.reason)
			}
		})
	}
}

func TestParseDtype(t *testing.T) {
	cases := map[string]fleet.Dtype{
		"FP8": fleet.DtypeFP8, "bfloat16": fleet.DtypeBF16, "AWQ": fleet.DtypeINT4, "w4a16": fleet.DtypeINT4,
		"MXFP4": fleet.DtypeMXFP4, " int8 ": fleet.DtypeINT8, "fp16": fleet.DtypeFP16,
	}
	for in, want := range cases {
		got, ok := fleet.ParseDtype(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	_, ok := fleet.ParseDtype("fp6")
	assert.False(t, ok)
}

func TestModelSizesLookup(t *testing.T) {
	sizes := fleet.NewModelSizes(fleet.DefaultModelSizes, []fleet.SizeOverride{
		{Model: "acme/house-model", ParamsB: 12, Dtype: "fp8"},
		{Model: "gemma-4-31B", ParamsB: 30},
		{Model: "weird-model", ParamsB: 5, Dtype: "fp6"},
	})
	cases := []struct {
		served      string
		source      fleet.SizeSource
		paramsB     float64
		dtype       fleet.Dtype
		dtypeSource fleet.SizeSource
		weightsGB   float64
	}{
		// The catalog's on-disk figure: 117B at ~0.5 B/param plus scales and unquantized layers.
		{"gpt-oss-120b", fleet.SizeCatalog, 117, fleet.DtypeMXFP4, fleet.SizeCatalog, 61},
		{"openai/GPT-OSS-120B", fleet.SizeCatalog, 117, fleet.DtypeMXFP4, fleet.SizeCatalog, 61},
		// Qwen3.5-397B is served as FP8 on NRP: all 397B experts at 1 byte.
		{"Qwen3.5-397B", fleet.SizeCatalog, 397, fleet.DtypeFP8, fleet.SizeCatalog, 397},
		{"Qwen/Qwen3.5-397B-A17B-FP8", fleet.SizeCatalog, 397, fleet.DtypeFP8, fleet.SizeName, 397},
		{"Kimi-K2.5", fleet.SizeCatalog, 1000, fleet.DtypeINT4, fleet.SizeCatalog, 500},
		{"MiniMaxAI/MiniMax-M2.5", fleet.SizeCatalog, 230, fleet.DtypeFP8, fleet.SizeCatalog, 230},
		{"allenai/OLMo-2-1124-13B-Instruct", fleet.SizeCatalog, 13, fleet.DtypeBF16, fleet.SizeCatalog, 26},
		// A dtype in the name wins over the catalog's, and the on-disk figure (for mxfp4) no longer applies.
		{"gpt-oss-120b-bf16", fleet.SizeCatalog, 117, fleet.DtypeBF16, fleet.SizeName, 234},
		// The catalog knows the total of a name that carries only the active size.
		{"meta-llama/Llama-4-Scout-17B-16E-Instruct", fleet.SizeCatalog, 109, fleet.DtypeBF16, fleet.SizeCatalog, 218},
		// "DeepSeek-R1" matches the words, but 32B is not 671B: the name's size wins.
		{"deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", fleet.SizeName, 32, fleet.DtypeBF16, fleet.DtypeAssumed, 64},
		{"TheBloke/Foo-70B-AWQ", fleet.SizeName, 70, fleet.DtypeINT4, fleet.SizeName, 35},
		{"Foo-70B-GPTQ-Int8", fleet.SizeName, 70, fleet.DtypeINT8, fleet.SizeName, 70},
		{"acme/house-model", fleet.SizeSetting, 12, fleet.DtypeFP8, fleet.SizeSetting, 12},
		// A setting without dtype keeps the catalog's.
		{"google/gemma-4-31B-it", fleet.SizeSetting, 30, fleet.DtypeBF16, fleet.SizeCatalog, 60},
	}
	for _, c := range cases {
		t.Run(c.served, func(t *testing.T) {
			got := sizes.Lookup(c.served)
			require.True(t, got.Known, got.Reason)
			assert.Equal(t, c.source, got.Source)
			assert.InDelta(t, c.paramsB, got.ParamsB, 1e-9)
			assert.Equal(t, c.dtype, got.Dtype)
			assert.Equal(t, c.dtypeSource, got.DtypeSource)
			assert.InDelta(t, c.weightsGB, got.WeightsGB, 1e-9)
		})
	}

	unknown := []struct{ served, reason string }{
		{"house-llm", "not in the model catalog and its name has no size"},
		{"acme/Scout-17B-16E", "active size of a mixture of experts"},
		{"weird-model", `dtype "fp6", which is not one of`},
	}
	for _, c := range unknown {
		t.Run(c.served, func(t *testing.T) {
			got := sizes.Lookup(c.served)
			assert.False(t, got.Known)
			assert.Contains(t, got.Reason, c.reason)
		})
	}
}

func TestMinTensorParallel(t *testing.T) {
	a100 := fleet.UsableGB(fleet.GPUSpec{MemoryGB: 80})
	require.InDelta(t, 72, a100, 1e-9)
	cases := []struct {
		name   string
		needGB float64
		want   int
	}{
		{"7B bf16 + 20%: 16.8 GB", 16.8, 1},
		{"exactly one GPU", 72, 1},
		{"MiniMax-M2.5 fp8 + 20%: 276 GB", 276, 4},
		// Qwen3.5-397B at fp8: 397 x 1.2 = 476.4 GB > 4 x 72 = 288 GB, <= 8 x 72 = 576 GB.
		{"Qwen3.5-397B fp8 + 20%", 476.4, 8},
		// Kimi-K2.5 at int4: 500 x 1.2 = 600 GB > 8 x 72 = 576 GB.
		{"Kimi-K2.5 int4 + 20%", 600, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, fleet.MinTensorParallel(c.needGB, a100))
		})
	}
	assert.InDelta(t, 476.4, fleet.MemoryNeedGB(fleet.DefaultSizes().Lookup("Qwen3.5-397B"), 0.2), 1e-9)
}
