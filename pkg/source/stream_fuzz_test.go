package source

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/promclient"
)

// FuzzDecodeStream feeds the decoder of query answers, the plugin's parser of what the network sends, with
// arbitrary bodies. It runs over its seeds with every `go test`, and for a bounded time in scripts/test.sh.
// Properties: no body panics; a body that decodes leaves every series on the grid, with finite values.
func FuzzDecodeStream(f *testing.F) {
	grid := fleet.Grid{Start: time.Unix(1_700_000_000, 0), Step: time.Minute, N: 3}
	series := answerSeries{labels{"model_name": "m", "Hostname": "h"}, []string{"1", "NaN", "+Inf"}}
	for _, seed := range []struct {
		body    string
		instant bool
	}{
		{`{"status":"success","data":` + matrixJSON(grid, series, series) + `,"warnings":["w"],"infos":["i"]}`, false},
		{`{"status":"success","data":` + vectorJSON(grid.End(), series) + `}`, true},
		{`{"status":"success","data":{"resultType":"matrix","result":[{"values":[[1700000060,"2"]],"metric":{"a":"b"}}]}}`, false},
		{`{"status":"success","data":{"result":[],"resultType":"matrix"}}`, false},
		{`{"status":"error","errorType":"execution","error":"too many samples"}`, false},
		{`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]`, false},
		{`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,""]}]}}`, true},
		{`<html>Grafana</html>`, false},
	} {
		f.Add([]byte(seed.body), seed.instant)
	}
	key := func(m model.Metric) (string, bool) { return m.String(), len(m) > 0 }
	f.Fuzz(func(t *testing.T, body []byte, instant bool) {
		ranges, values, dropped := map[string]fleet.Series{}, map[string]float64{}, 0
		want, sink := model.ValMatrix, seriesInto(grid, key, ranges, &dropped)
		if instant {
			want, sink = model.ValVector, valuesInto(key, values, &dropped)
		}
		_, _, err := promclient.DecodeStream(bytes.NewReader(body), want, limited(sink, grid.N, "the query"))
		if err != nil {
			require.NotEmpty(t, err.Error())
			return
		}
		for k, s := range ranges {
			require.Len(t, s, grid.N, k)
			for _, v := range s {
				require.False(t, math.IsInf(v, 0), k)
			}
		}
		for k, v := range values {
			require.False(t, math.IsInf(v, 0), k)
		}
	})
}
