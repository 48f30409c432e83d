package fleet_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

// A model whose prompts and generations vary independently: power = 4 x 90 W + 0.05 J x prompt tokens/s +
// 0.6 J x generation tokens/s + uniform noise of +-5 W. The two slopes come back within 5% (the noise over
// 2000 steps spread over hundreds of tok/s moves a least-squares slope by well under 1%), and 2% of steps
// with a 300 W spike (a restart's burst) do not move them.
func TestTwoSlopesSeparatePromptFromGeneration(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m := servingModel{name: "acme/chat-8B", gpuType: gpuA100, host: hostSDSC, gpus: 4, parkedW: 90, tdpW: 400, rates: make([]float64, sizingSteps)}.model()
	for i := range sizingSteps {
		prompt, gen := 100+900*rng.Float64(), 20+200*rng.Float64()
		m.PromptTokensPerS[i], m.GenerationTokensPerS[i] = prompt, gen
		w := 360 + 0.05*prompt + 0.6*gen + 10*(rng.Float64()-0.5)
		if i%50 == 0 {
			w += 300
		}
		m.Placements[0].PowerW[i] = w
	}
	f := &fleet.Fleet{Grid: sizingGrid(), Models: []fleet.Model{m}}
	o := sizingOptions()
	c := fleet.EfficiencyCurve(&f.Models[0], fleet.MeasureIdleFloors(f, o), o)
	require.True(t, c.Slopes.OK, c.Slopes.Reason)
	assert.InEpsilon(t, 0.05, c.Slopes.KPromptJPerToken, 0.05)
	assert.InEpsilon(t, 0.6, c.Slopes.KGenJPerToken, 0.05)
	assert.InEpsilon(t, 360, c.Slopes.P0W, 0.01)
	assert.Greater(t, c.Slopes.R2, 0.9)
}

func TestTwoSlopesNeedIndependentRates(t *testing.T) {
	m := servingModel{name: "acme/chat-8B", gpuType: gpuA100, host: hostSDSC, gpus: 4, parkedW: 90, kJPerToken: 0.5, tdpW: 400, rates: textbookRates()}.model()
	f := &fleet.Fleet{Grid: sizingGrid(), Models: []fleet.Model{m}}
	o := sizingOptions()
	c := fleet.EfficiencyCurve(&f.Models[0], fleet.MeasureIdleFloors(f, o), o)
	assert.False(t, c.Slopes.OK)
	assert.Contains(t, c.Slopes.Reason, "does not vary", "no prompt tokens at all")

	for i, g := range m.GenerationTokensPerS {
		m.PromptTokensPerS[i] = 2 * g // a fixed prompt-to-generation ratio
	}
	c = fleet.EfficiencyCurve(&f.Models[0], fleet.MeasureIdleFloors(f, o), o)
	assert.False(t, c.Slopes.OK)
	assert.Contains(t, c.Slopes.Reason, "move together (correlation 1.00)")
	assert.True(t, math.IsNaN(c.Slopes.KGenJPerToken))
}
