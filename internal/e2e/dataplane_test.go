package e2e

import (
	"fmt"
	"testing"

	"github.com/grafana/dataplane/sdata/numeric"
	"github.com/grafana/dataplane/sdata/reader"
	"github.com/grafana/dataplane/sdata/timeseries"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/testhost"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// everyQuery is one query of each type that answers numbers over the week, fleet-timeseries once per metric,
// keyed by refID. Annotations answer events, no numbers (annotations_test.go).
func everyQuery() []testhost.Query {
	var out []testhost.Query
	for _, qt := range models.QueryTypes {
		if qt == models.QueryAnnotations {
			continue
		}
		if qt == models.QueryFleetTimeseries {
			for _, metric := range models.TimeseriesMetrics {
				out = append(out, query(qt+"/"+metric, qt, fmt.Sprintf(`,"metric":%q`, metric), weekStart, weekEnd))
			}
			continue
		}
		out = append(out, query(qt, qt, "", weekStart, weekEnd))
	}
	return out
}

// readDataplane reads frames of one dataplane type the way Grafana's alerting does and returns the value of
// each item by model (the metric name checked against metric, "" for any).
func readDataplane(t *testing.T, frames data.Frames, metric string) map[string]*float64 {
	t.Helper()
	typ, err := reader.CanReadBasedOnMeta(frames)
	require.NoError(t, err)
	out := map[string]*float64{}
	switch typ.Kind() {
	case data.KindTimeSeries:
		r, err := timeseries.CollectionReaderFromFrames(frames)
		require.NoError(t, err)
		coll, err := r.GetCollection(false)
		require.NoError(t, err)
		require.NoError(t, coll.Warning)
		for _, ref := range coll.Refs {
			n, err := ref.Len()
			require.NoError(t, err)
			require.Positive(t, n)
			last, err := ref.NullableFloat64Value(n - 1)
			require.NoError(t, err)
			assert.Equal(t, metric, ref.GetMetricName())
			assert.Contains(t, ref.GetLabels(), "gpu_type")
			out[ref.GetLabels()["model"]] = last
		}
	case data.KindNumeric:
		r, err := numeric.CollectionReaderFromFrames(frames)
		require.NoError(t, err)
		coll, err := r.GetCollection(false)
		require.NoError(t, err)
		require.NoError(t, coll.Warning)
		for _, ref := range coll.Refs {
			v, _, err := ref.NullableFloat64Value()
			require.NoError(t, err)
			if metric != "" {
				assert.Equal(t, metric, ref.GetMetricName())
			}
			out[ref.GetLabels()["model"]+ref.GetMetricName()] = v
		}
	default:
		t.Fatalf("frames of kind %s", typ.Kind())
	}
	return out
}

// typed are the frames that declare a dataplane type.
func typed(frames data.Frames) data.Frames {
	var out data.Frames
	for _, f := range frames {
		if f.Meta != nil && f.Meta.Type != "" {
			out = append(out, f)
		}
	}
	return out
}

func TestEveryDataplaneFrameIsReadByGrafanasReaders(t *testing.T) {
	t.Parallel()
	prom := week.Server(t)
	p := startPlugin(t)
	queries := everyQuery()
	got := answer(t, p, settingsFor(prom.URL, nil), nil, queries...)
	for _, q := range queries {
		t.Run(q.RefID, func(t *testing.T) {
			frames := typed(got[q.RefID])
			if q.QueryType == models.QueryEfficiencyCurve {
				assert.Empty(t, frames, "tables and XY chart frames only")
				return
			}
			require.NotEmpty(t, frames)
			metric := ""
			if q.QueryType == models.QueryFleetTimeseries {
				metric = q.RefID[len(q.QueryType)+1:]
			}
			values := readDataplane(t, frames, metric)
			assert.NotEmpty(t, values)
		})
	}
}

func TestAlertRequestsGetOnlyAlertableFrames(t *testing.T) {
	t.Parallel()
	prom := week.Server(t)
	p := startPlugin(t)
	queries := everyQuery()
	panel := answer(t, p, settingsFor(prom.URL, nil), nil, queries...)
	alert := answer(t, p, settingsFor(prom.URL, nil), fromAlert, queries...)
	want := map[string]struct {
		typ    data.FrameType
		metric string
		// table is the panel frame holding the same values by model ("" for none).
		table string
	}{
		models.QueryEfficiencyCurve: {data.FrameTypeNumericLong, "k_j_per_token", "efficiency-fit"},
		models.QueryIdleAttribution: {data.FrameTypeNumericLong, "idle_fraction", "idle-attribution"},
		models.QueryRightSizing:     {data.FrameTypeNumericLong, "saving_w", "right-sizing"},
		models.QueryConsolidation:   {data.FrameTypeNumericLong, "idle_hours", "idle-gaps"},
		models.QueryFleetSummary:    {data.FrameTypeNumericWide, "", ""},
		models.QueryFleetTimeseries: {data.FrameTypeTimeSeriesMulti, "", ""},
	}
	for _, q := range queries {
		t.Run(q.RefID, func(t *testing.T) {
			w := want[q.QueryType]
			frames := alert[q.RefID]
			require.NotEmpty(t, frames)
			for _, f := range frames {
				require.NotNil(t, f.Meta, f.Name)
				assert.Equal(t, w.typ, f.Meta.Type, "%s: only alertable frames", f.Name)
			}
			metric := w.metric
			if q.QueryType == models.QueryFleetTimeseries {
				metric = q.RefID[len(q.QueryType)+1:]
				assert.Len(t, frames, len(panel[q.RefID]), "a series per model, as for a panel")
			}
			values := readDataplane(t, frames, metric)
			if w.table == "" {
				return
			}
			// The alert instance of each model carries the value its panel row shows.
			var table *data.Frame
			for _, f := range panel[q.RefID] {
				if f.Name == w.table {
					table = f
				}
			}
			require.NotNil(t, table, w.table)
			byModel := rows(t, table)
			require.Len(t, values, len(alertable(t, byModel, w.metric)))
			for model, v := range values {
				row := byModel[model[:len(model)-len(w.metric)]]
				require.NotNil(t, row, model)
				if v == nil {
					assert.Nil(t, row[w.metric], model)
					continue
				}
				// Alert reads bypass the caches: Prometheus may sum the same samples in another order.
				assert.InDelta(t, *v, row[w.metric], 1e-9*max(1, *v), model)
			}
		})
	}
}

// alertable are the table rows that have an alert instance: every row, except that idle_hours is for models
// still running and k_j_per_token is null where the model has no fit.
func alertable(t *testing.T, byModel map[string]map[string]any, metric string) map[string]map[string]any {
	t.Helper()
	if metric != "idle_hours" {
		return byModel
	}
	out := map[string]map[string]any{}
	for model, row := range byModel {
		if row[metric] != nil {
			out[model] = row
		}
	}
	return out
}
