package frames

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

func TestCarbonNoticesSayWhichIntensityAndWhyEmbodiedIsEmpty(t *testing.T) {
	texts := func(c Context) []string {
		var out []string
		for _, n := range c.Notices {
			out = append(out, n.Text)
		}
		return out
	}
	assert.Empty(t, texts(Context{}.WithIntensity(false, 0)), "no live setting: the table, as always, unsaid")
	assert.Empty(t, texts(Context{}.WithIntensity(true, math.NaN())), "no steps: nothing to say")
	assert.Equal(t, []string{"CO2 follows the grid's live intensity at every step."}, texts(Context{}.WithIntensity(true, 1)))
	assert.Contains(t, texts(Context{}.WithIntensity(true, 0.875))[0], "at 88% of steps")
	assert.Contains(t, texts(Context{}.WithIntensity(true, 0))[0], "answered no series")

	assert.Contains(t, texts(Context{}.WithEmbodied(false, nil))[0], "set carbon.embodied")
	missing := []fleet.Attribution{{GridCarbon: fleet.GridCarbon{EmbodiedMissing: []string{"NVIDIA L40"}}}, {GridCarbon: fleet.GridCarbon{EmbodiedMissing: []string{"NVIDIA L40", "NVIDIA A10"}}}}
	assert.Equal(t, []string{"Embodied CO2 and SCI per token are empty for models on GPU types without a figure under carbon.embodied: NVIDIA A10, NVIDIA L40."},
		texts(Context{}.WithEmbodied(true, missing)))
	assert.Empty(t, texts(Context{}.WithEmbodied(true, []fleet.Attribution{{}})))
}
