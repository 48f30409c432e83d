package fleet_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

// FuzzModelSizeFromName runs over its seeds with every `go test`, and for a bounded time in scripts/test.sh.
// Properties: no served name panics; a size read from a name is a positive, finite parameter count; a size
// lookup either knows the weights or says why not.
func FuzzModelSizeFromName(f *testing.F) {
	for _, seed := range []string{
		"gpt-oss-120b", "openai/gpt-oss-20b", "gemma-4-31B", "Qwen/Qwen3.5-397B-A17B-FP8", "Qwen2.5-1.5B-Instruct",
		"mistralai/Mixtral-8x7B-Instruct-v0.1", "SmolLM2-135M", "acme-1T-int4", "Llama-4-Scout-17B-16E-Instruct",
		"merge-7b-13b", "Kimi-K2.5", "TheBloke/Llama-2-70B-GPTQ", "", "/", "-", "1.5.5b",
		"99999999999999999999x7b", "7b-w4a16-awq", "model-v2.5-7b-fp8-dynamic",
	} {
		f.Add(seed)
	}
	sizes := fleet.NewModelSizes(fleet.DefaultModelSizes, []fleet.SizeOverride{{Model: "acme/house-model", ParamsB: 12, Dtype: "fp8"}})
	f.Fuzz(func(t *testing.T, served string) {
		got := fleet.ParseNameSize(served)
		if got.OK {
			require.Greater(t, got.ParamsB, 0.0, "%q", served)
			require.False(t, math.IsInf(got.ParamsB, 0), "%q", served)
			assert.Empty(t, got.Reason)
		} else {
			assert.Zero(t, got.ParamsB)
		}
		size := sizes.Lookup(served)
		if size.Known {
			assert.Greater(t, size.WeightsGB, 0.0, "%q", served)
			assert.False(t, math.IsInf(size.WeightsGB, 0), "%q", served)
		} else {
			assert.NotEmpty(t, size.Reason, "an unknown size says why: %q", served)
		}
	})
}
