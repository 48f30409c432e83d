package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// storeDown is the warning a Thanos querier attaches when a store does not answer and partial_response is on.
const storeDown = `receive series from Addr: 10.2.0.17:10901 LabelSets: {cluster="nrp", replica="a"}: rpc error: code = Unavailable desc = connection error`

// thanosWithAStoreDown answers as a Thanos querier whose store of half the fleet is down: with
// partial_response the series of the stores that answered and a warning, without it an error. One model,
// qwen, on two A100s, serves 100 tokens/s at 500 W.
func thanosWithAStoreDown(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.NoError(t, r.ParseForm())
		w.Header().Set("Content-Type", "application/json")
		answer := func(data string) {
			fmt.Fprintf(w, `{"status":"success","data":%s,"warnings":[%q]}`, data, storeDown)
		}
		q := r.Form.Get("query")
		placement := `{"model_name":"qwen","Hostname":"gpu-1.sdsc.optiputer.net","modelName":"NVIDIA A100-SXM4-80GB"}`
		value := "100" // tokens per second
		if strings.HasPrefix(q, "sum by (model_name, Hostname") {
			value = "500"
		}
		switch r.URL.Path {
		case "/api/v1/status/buildinfo":
			fmt.Fprint(w, `{"status":"success","data":{"version":"0.34.1","revision":"x","branch":"HEAD","buildUser":"x","buildDate":"x","goVersion":"go1.21.7"}}`)
		case "/api/v1/labels":
			answer(`["Hostname","UUID","gpu","modelName","namespace","pod","model_name"]`)
		case "/api/v1/label/__name__/values":
			answer(`[]`)
		case "/api/v1/query_range", "/api/v1/query":
			if r.Form.Get("partial_response") != "true" {
				w.WriteHeader(http.StatusUnprocessableEntity)
				b, _ := json.Marshal(storeDown)
				fmt.Fprintf(w, `{"status":"error","errorType":"execution","error":%s}`, b)
				return
			}
			metric := placement
			if strings.Contains(q, "tokens") && !strings.Contains(q, "DCGM") {
				metric = `{"model_name":"qwen","namespace":"llm"}`
			}
			if r.URL.Path == "/api/v1/query" {
				at, _ := strconv.ParseFloat(r.Form.Get("time"), 64)
				answer(fmt.Sprintf(`{"resultType":"vector","result":[{"metric":%s,"value":[%v,"1e6"]}]}`, metric, at))
				return
			}
			start, _ := strconv.ParseFloat(r.Form.Get("start"), 64)
			end, _ := strconv.ParseFloat(r.Form.Get("end"), 64)
			step, _ := strconv.ParseFloat(r.Form.Get("step"), 64)
			var points []string
			for ts := start; ts <= end; ts += step {
				points = append(points, fmt.Sprintf(`[%v,%q]`, ts, value))
			}
			answer(fmt.Sprintf(`{"resultType":"matrix","result":[{"metric":%s,"values":[%s]}]}`, metric, strings.Join(points, ",")))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestAPartialThanosAnswerIsANoticeOnTheFramesNeverCompleteData(t *testing.T) {
	srv := thanosWithAStoreDown(t)
	inst, err := NewDatasource(context.Background(), backend.DataSourceInstanceSettings{URL: srv.URL, JSONData: []byte(`{"cacheTTLSeconds":60}`)})
	require.NoError(t, err)
	d := inst.(*Datasource)
	q := dataQuery("A", "idle-attribution", `{}`)
	q.TimeRange = backend.TimeRange{From: time.Now().Add(-6 * time.Hour), To: time.Now()}

	resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{q}})
	require.NoError(t, err)
	r := resp.Responses["A"]
	require.NoError(t, r.Error)
	require.NotEmpty(t, r.Frames)
	assert.Positive(t, r.Frames[0].Rows(), "the stores that answered")
	meta := r.Frames[0].Meta
	require.NotNil(t, meta)
	var partial, named bool
	for _, n := range meta.Notices {
		partial = partial || (n.Severity == data.NoticeSeverityWarning && strings.Contains(n.Text, "some stores did not answer: the numbers may miss their data and are not cached"))
		named = named || strings.Contains(n.Text, "10.2.0.17:10901")
	}
	assert.True(t, partial, "the frames say the answer is partial: %v", meta.Notices)
	assert.True(t, named, "the store that did not answer is named")
	assert.Contains(t, meta.ExecutedQueryString, "partial_response=true")

	// An alert rule asks for the whole answer and gets an error, never the partial numbers.
	resp, err = d.QueryData(context.Background(), &backend.QueryDataRequest{
		Headers: map[string]string{backend.FromAlertHeaderName: "true"}, Queries: []backend.DataQuery{q},
	})
	require.NoError(t, err)
	r = resp.Responses["A"]
	require.Error(t, r.Error)
	assert.Empty(t, r.Frames)
	assert.Equal(t, backend.ErrorSourceDownstream, r.ErrorSource)
	assert.Contains(t, r.Error.Error(), "rpc error: code = Unavailable")
}
