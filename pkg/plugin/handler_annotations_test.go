package plugin

import (
	"context"
	"math"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/source"
)

const movedTo = "gpu-5.sdsc.optiputer.net"

// movingSource is truthSource with Qwen3.5-397B moved onto the 8 A100 of movedTo from the middle step on.
type movingSource struct{ truthSource }

func (s movingSource) Fleet(ctx context.Context, r source.Request) (*fleet.Fleet, error) {
	f, err := s.truthSource.Fleet(ctx, r)
	if err != nil {
		return nil, err
	}
	qwen := &f.Models[1]
	old := &qwen.Placements[0]
	moved := fleet.Placement{Host: movedTo, GPUType: old.GPUType, GPUs: fleet.NewSeries(f.Grid.N), PowerW: fleet.NewSeries(f.Grid.N), EnergyJ: math.NaN()}
	for i := f.Grid.N / 2; i < f.Grid.N; i++ {
		moved.GPUs[i], moved.PowerW[i] = old.GPUs[i], old.PowerW[i]
		old.GPUs[i], old.PowerW[i] = math.NaN(), math.NaN()
	}
	qwen.Placements = append(qwen.Placements, moved)
	return f, nil
}

func TestAnnotationsHandlerMarksIdleStretchesAndMoves(t *testing.T) {
	n := steps(t)
	column := func(f *data.Frame, name string) []any {
		field, _ := f.FieldByName(name)
		require.NotNil(t, field, name)
		out := make([]any, field.Len())
		for i := range out {
			out[i] = field.At(i)
		}
		return out
	}
	frames := queryFrom(t, movingSource{}, demoSettings, false, models.QueryAnnotations, `{}`)
	require.Len(t, frames, 1)
	f := frames[0]
	assert.Equal(t, []any{"idle", "restart"}, column(f, "kind"), "Kimi sat parked all window; Qwen moved; gpt-oss never idled")
	assert.Equal(t, []any{"Kimi-K2.5", "Qwen3.5-397B"}, column(f, "model"))
	start, end := column(f, "time"), column(f, "timeEnd")

	// The grid of the query: the move is between its middle step and the one before.
	dq := dataQuery("A", "", `{}`)
	r, err := source.Plan(dq.TimeRange.From, dq.TimeRange.To, dq.Interval, dq.MaxDataPoints, models.DefaultScrapeInterval)
	require.NoError(t, err)
	g := source.GridOf(r)
	require.Equal(t, n, g.N)
	assert.Equal(t, g.Start.Add(-g.Step), start[0], "Kimi idle from the start of the window's first step")
	assert.Equal(t, g.End(), end[0])
	assert.Equal(t, g.At(n/2-1), start[1])
	assert.Equal(t, g.At(n/2), end[1])
	assert.Contains(t, column(f, "text")[1], "to 8 x NVIDIA A100-SXM4-80GB on "+movedTo)

	only := queryFrom(t, movingSource{}, demoSettings, false, models.QueryAnnotations, `{"events":["idle"],"modelRegex":"Qwen.*"}`)
	assert.Equal(t, 0, only[0].Rows(), "Qwen never idled, and its move was not asked for")
}

func TestAnnotationsAreNotAlertable(t *testing.T) {
	d := newTestDatasource(t, movingSource{})
	req := &backend.QueryDataRequest{
		Headers: map[string]string{backend.FromAlertHeaderName: "true"},
		Queries: []backend.DataQuery{dataQuery("A", models.QueryAnnotations, `{}`)},
	}
	resp, err := d.QueryData(context.Background(), req)
	require.NoError(t, err)
	r := resp.Responses["A"]
	require.ErrorContains(t, r.Error, "nothing to alert on")
	assert.Equal(t, backend.ErrorSourceDownstream, r.ErrorSource, "the rule is the user's to change")
}
