package fleet

// Embodied is the carbon of making the GPUs, spread over their service life: the M of the Green Software
// Foundation's SCI ((E x I + M) per R).
type Embodied struct {
	// KgCO2ePerGPU is the embodied carbon of one GPU per GPU type; keys match loosely, like the idle floor
	// overrides.
	KgCO2ePerGPU map[string]float64
	// LifeYears is the GPUs' service life.
	LifeYears float64
}

// hoursPerYear counts the Julian year (365.25 days), as the SCI's time-share of embodied emissions does.
const hoursPerYear = 8766

// Set reports whether embodied carbon is configured at all.
func (e Embodied) Set() bool { return len(e.KgCO2ePerGPU) > 0 && e.LifeYears > 0 }

// GPerGPUHour is the embodied gCO2e one GPU of gpuType accounts for per hour it is held: kgCO2e x 1000 / (life
// in hours); false when the type has no figure.
func (e Embodied) GPerGPUHour(gpuType string) (float64, bool) {
	if !e.Set() {
		return 0, false
	}
	kg, ok := overrideFor(e.KgCO2ePerGPU, gpuType)
	if !ok {
		return 0, false
	}
	return kg * 1000 / (e.LifeYears * hoursPerYear), true
}
