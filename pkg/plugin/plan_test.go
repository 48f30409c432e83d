package plugin

import (
	"context"
	"sync"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/source"
)

// recordingSource answers every read with an empty fleet and keeps the requests.
type recordingSource struct {
	countingSource
	mu   sync.Mutex
	reqs []source.Request
}

func (s *recordingSource) Fleet(ctx context.Context, r source.Request) (*fleet.Fleet, error) {
	s.mu.Lock()
	s.reqs = append(s.reqs, r)
	s.mu.Unlock()
	return s.countingSource.Fleet(ctx, r)
}

// A request reads each window once, for every quantity its queries need and no more: a J/token panel alone
// costs Prometheus power and token rates, a dashboard with the tables too costs everything once.
func TestARequestReadsTheQuantitiesItsQueriesNeed(t *testing.T) {
	perStep := source.NeedPowerW | source.NeedTokenRates
	tests := []struct {
		name    string
		queries []backend.DataQuery
		want    source.Quantities
	}{
		{"J/token", []backend.DataQuery{dataQuery("A", models.QueryFleetTimeseries, `{"metric":"j_per_token"}`)}, perStep},
		{"power", []backend.DataQuery{dataQuery("A", models.QueryFleetTimeseries, `{"metric":"power_w"}`)}, perStep},
		{"CO2 follows the grid's intensity", []backend.DataQuery{dataQuery("A", models.QueryFleetTimeseries, `{"metric":"co2_g_per_h"}`)}, perStep | source.NeedIntensity},
		{"idle fraction measures idle floors", []backend.DataQuery{dataQuery("A", models.QueryFleetTimeseries, `{"metric":"idle_fraction"}`)}, perStep | source.NeedGPUs},
		{"efficiency curve", []backend.DataQuery{dataQuery("A", models.QueryEfficiencyCurve, `{}`)}, perStep | source.NeedGPUs | source.NeedPowerLimits},
		{"J/token and curves together", []backend.DataQuery{
			dataQuery("A", models.QueryFleetTimeseries, `{}`), dataQuery("B", models.QueryEfficiencyCurve, `{}`),
		}, perStep | source.NeedGPUs | source.NeedPowerLimits},
		{"a table needs everything but the serving signals", []backend.DataQuery{
			dataQuery("A", models.QueryFleetTimeseries, `{}`), dataQuery("B", models.QueryIdleAttribution, `{}`),
		}, source.NeedAll &^ source.NeedServing},
		{"right-sizing weighs the serving signals too", []backend.DataQuery{dataQuery("A", models.QueryRightSizing, `{}`)}, source.NeedAll},
		{"annotations: idle stretches and moves", []backend.DataQuery{dataQuery("A", models.QueryAnnotations, `{"events":["idle","restart"]}`)}, perStep | source.NeedGPUs},
		{"annotations: verdicts as right-sizing takes them, on parts of the window", []backend.DataQuery{dataQuery("A", models.QueryAnnotations, `{}`)},
			source.NeedAll &^ source.NeedWindowTotals},
		{"a broken query changes nothing", []backend.DataQuery{
			dataQuery("A", models.QueryFleetTimeseries, `{}`), dataQuery("B", models.QueryRightSizing, `{"kvHeadroom":`),
		}, perStep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &recordingSource{}
			d := newTestDatasource(t, src)
			_, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: tt.queries})
			require.NoError(t, err)
			require.Len(t, src.reqs, 1, "one read per window")
			assert.Equal(t, tt.want, src.reqs[0].Needs)
		})
	}
}

// Users whose credentials Grafana forwards read apart: the source shares reads only within one identity, and
// the identity is a digest that holds no credential.
func TestReadsCarryADigestOfTheForwardedCredentials(t *testing.T) {
	readAs := func(headers map[string]string) source.Request {
		src := &recordingSource{}
		d := newTestDatasource(t, src)
		_, err := d.QueryData(context.Background(), &backend.QueryDataRequest{
			Headers: headers, Queries: []backend.DataQuery{dataQuery("A", models.QueryFleetTimeseries, `{}`)},
		})
		require.NoError(t, err)
		require.Len(t, src.reqs, 1)
		return src.reqs[0]
	}
	anonymous := readAs(nil)
	alice := readAs(map[string]string{backend.OAuthIdentityTokenHeaderName: "Bearer alice-secret"})
	aliceAgain := readAs(map[string]string{backend.OAuthIdentityTokenHeaderName: "Bearer alice-secret"})
	bob := readAs(map[string]string{backend.OAuthIdentityTokenHeaderName: "Bearer bob-secret"})
	bobsCookie := readAs(map[string]string{backend.CookiesHeaderName: "session=bob"})

	assert.Empty(t, anonymous.Identity, "without credentials every request shares")
	assert.Equal(t, alice.Identity, aliceAgain.Identity)
	assert.NotEqual(t, alice.Identity, bob.Identity)
	assert.NotEqual(t, bob.Identity, bobsCookie.Identity)
	assert.NotEmpty(t, bobsCookie.Identity)
	for _, r := range []source.Request{alice, bob, bobsCookie} {
		assert.NotContains(t, r.Identity, "secret")
		assert.NotContains(t, r.Identity, "session")
	}
}
