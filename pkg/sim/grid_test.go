package sim_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

func TestGridIntensityHistoryIsTheTruthWithItsGap(t *testing.T) {
	s := defaultSim(t, true)
	epoch := s.Spec().Epoch
	gap := s.Spec().Grid[1].Gaps[0]
	o := sim.HistoryOptions{Start: gap.Start.Add(-2 * time.Hour), End: gap.Start.Add(gap.Duration + 2*time.Hour), Step: time.Minute, Metrics: []string{sim.MetricGridIntensity}}
	samples, _, _ := history(t, s, o)
	hostOf := map[string]string{sim.RegionCalifornia: sim.HostSDSCA100, sim.RegionTexas: sim.HostTACCL40, sim.RegionNewYork: sim.HostNYUA100}
	perRegion := map[string]int{}
	for _, smp := range samples {
		require.Equal(t, sim.MetricGridIntensity, smp.name)
		region := smp.labels["region"]
		perRegion[region]++
		want, ok := s.GridGPerKWh(hostOf[region], time.UnixMilli(smp.tMS))
		require.True(t, ok, "%s at %s", region, time.UnixMilli(smp.tMS))
		require.Equal(t, want, smp.value)
	}
	steps := int(o.End.Sub(o.Start)/o.Step) + 1
	assert.Equal(t, map[string]int{sim.RegionCalifornia: steps, sim.RegionNewYork: steps, sim.RegionTexas: steps - int(gap.Duration/o.Step)}, perRegion,
		"every region at every step but Texas in its exporter's outage")
	_, ok := s.GridGPerKWh(sim.HostUNLA100, epoch.Add(time.Hour))
	assert.False(t, ok, "UNL has no live intensity")
}

func TestGridIntensityFollowsTheDay(t *testing.T) {
	s := defaultSim(t, false)
	day := s.Spec().Epoch.Add(48 * time.Hour)
	for _, g := range s.Spec().Grid {
		var sum, dirtiest float64
		dirtiestAt := time.Time{}
		for m := range 24 * 60 {
			at := day.Add(time.Duration(m+1) * time.Minute)
			v, ok := s.GridGPerKWh(g.Hosts[0], at)
			require.True(t, ok)
			sum += v
			if v > dirtiest {
				dirtiest, dirtiestAt = v, at
			}
		}
		assert.InDelta(t, g.MeanGPerKWh, sum/(24*60), 1e-6*g.MeanGPerKWh, "%s: the day's mean", g.Region)
		assert.InDelta(t, g.MeanGPerKWh*(1+g.Amplitude), dirtiest, 1e-6*g.MeanGPerKWh, "%s: its peak", g.Region)
		assert.InDelta(t, g.DirtiestHourUTC, math.Mod(float64(dirtiestAt.Sub(day))/float64(time.Hour), 24), 1.0/60, "%s: at its dirtiest hour", g.Region)
	}
}
