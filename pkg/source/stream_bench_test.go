package source

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/promclient"
)

// BenchmarkDecodeStream decodes a range answer of 1000 placements x 1000 steps onto the grid, as the power
// query of a 1000-model fleet over 30 days answers it.
func BenchmarkDecodeStream(b *testing.B) {
	grid := fleet.Grid{Start: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), Step: 2592 * time.Second, N: 1001}
	var sb strings.Builder
	sb.WriteString(`{"status":"success","data":{"resultType":"matrix","result":[`)
	for i := range 1000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"metric":{"model_name":"model-%04d","Hostname":"node-%d.example.edu","modelName":"NVIDIA A100-SXM4-80GB"},"values":[`, i, i/8)
		for j := range grid.N {
			if j > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `[%d,"%.3f"]`, grid.At(j).Unix(), 250+float64(j%97)/7)
		}
		sb.WriteString(`]}`)
	}
	sb.WriteString(`]}}`)
	body := sb.String()
	s := newSchema(testSettings(b, "http://prometheus:9090", nil), join{GPULabels: []string{"namespace", "pod"}, TokenLabels: []string{"namespace", "pod"}}, false, false)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		out, dropped := map[placementKey]fleet.Series{}, 0
		if _, _, err := promclient.DecodeStream(strings.NewReader(body), model.ValMatrix, seriesInto(grid, s.placementOf, out, &dropped)); err != nil {
			b.Fatal(err)
		}
		if len(out) != 1000 {
			b.Fatalf("%d series", len(out))
		}
	}
}
