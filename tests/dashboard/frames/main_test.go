package main

import (
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPanelQueriesAreWhatGrafanaSends(t *testing.T) {
	week := backend.TimeRange{From: time.Date(2026, 11, 13, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)}
	cases := []struct {
		name      string
		dashboard string
		want      []backend.DataQuery
		err       string
	}{
		{
			name: "rows are skipped; the model variable is at All; the data source reference is Grafana's",
			dashboard: `{"panels": [
				{"type": "row", "id": 1, "title": "Fleet summary"},
				{"type": "stat", "id": 2, "targets": [{"refId": "A", "datasource": {"uid": "${datasource}"},
					"queryType": "fleet-summary", "modelRegex": "$model", "trafficMargin": 0.3}]}]}`,
			want: []backend.DataQuery{{
				RefID: "2", QueryType: "fleet-summary", JSON: []byte(`{"modelRegex":".*","queryType":"fleet-summary","trafficMargin":0.3}`),
				TimeRange: week, Interval: 10 * time.Minute, MaxDataPoints: 1008,
			}},
		},
		{
			name:      "a panel with two queries is refused: the preview has one response per panel",
			dashboard: `{"panels": [{"type": "table", "id": 9, "targets": [{"refId": "A"}, {"refId": "B"}]}]}`,
			err:       "panel 9 has 2 queries",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := panelQueries([]byte(c.dashboard), week)
			if c.err != "" {
				require.ErrorContains(t, err, c.err)
				return
			}
			require.NoError(t, err)
			require.Len(t, got, len(c.want))
			for i := range c.want {
				assert.JSONEq(t, string(c.want[i].JSON), string(got[i].JSON))
				got[i].JSON = c.want[i].JSON
			}
			assert.Equal(t, c.want, got)
		})
	}
}
