package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestExplore(t *testing.T) {
	prom := week.Server(t)
	p := startPlugin(t)
	resp, err := p.QueryData(ctx(t), settingsFor(prom.URL, nil), nil,
		query("A", "idle-attribution", "", epoch, weekEnd), query("B", "right-sizing", "", epoch, weekEnd), query("C", "consolidation", "", epoch, weekEnd), query("D", "efficiency-curve", "", epoch, weekEnd))
	require.NoError(t, err)
	for _, r := range []string{"A", "B", "C", "D"} {
		require.NoError(t, resp.Responses[r].Error)
		for _, f := range resp.Responses[r].Frames {
			s, _ := f.StringTable(40, 20)
			fmt.Println(f.Name, f.Meta.Notices)
			fmt.Println(s)
		}
	}
	tr := fleetSim.Truth(epoch, weekEnd, time.Minute)
	for _, m := range tr.Models {
		fmt.Printf("%-25s %s gpus=%d parked=%.1f marg=%.3f jpt=%.3f P=%.1f r=%.1f idle=%v mem=%.0f\n", m.Model, m.GPUType, m.GPUs, m.ParkedWPerGPU, m.MarginalJPerToken, m.JPerToken, m.MeanPowerW, m.MeanTokensPerS, m.Idle, m.MemoryNeedGB)
	}
}
