package plugin

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// provisionedDemoSettings are the jsonData of the provisioned demo data source (with its example prices).
func provisionedDemoSettings(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../provisioning/datasources/fleetefficiency.yaml")
	require.NoError(t, err)
	var f struct {
		Datasources []struct {
			UID      string         `yaml:"uid"`
			JSONData map[string]any `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &f))
	for _, ds := range f.Datasources {
		if ds.UID == "fleet-efficiency-demo" {
			b, err := json.Marshal(ds.JSONData)
			require.NoError(t, err)
			return string(b)
		}
	}
	t.Fatal("no demo data source")
	return ""
}

// The team alert's query, evaluated as an alert, gets one alertable frame: idle_cost_per_day by namespace.
func TestTeamIdleCostAlertGetsIdleCostPerDayByNamespace(t *testing.T) {
	raw, err := os.ReadFile("../../provisioning/alerting/fleet-efficiency-alerts.yaml")
	require.NoError(t, err)
	var rf ruleFile
	require.NoError(t, yaml.Unmarshal(raw, &rf))
	var model map[string]any
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.UID == "fleet-team-idle-cost" {
				model = r.Data[0].Model
			}
		}
	}
	require.NotNil(t, model)
	body, err := json.Marshal(model)
	require.NoError(t, err)

	frames := query(t, provisionedDemoSettings(t), true, models.QueryFleetSummary, string(body))
	require.Len(t, frames, 1)
	f := frames[0]
	assert.Equal(t, data.FrameTypeNumericLong, f.Meta.Type)
	require.Len(t, f.Fields, 2)
	assert.Equal(t, "namespace", f.Fields[0].Name)
	assert.Equal(t, "idle_cost_per_day", f.Fields[1].Name)
	assert.Equal(t, "currencyUSD", f.Fields[1].Config.Unit)
	require.Positive(t, f.Rows())
	for i := range f.Rows() {
		v, ok := f.Fields[1].ConcreteAt(i)
		require.True(t, ok, "the example prices price every GPU of the demo fleet: row %d", i)
		assert.GreaterOrEqual(t, v.(float64), 0.0)
	}
}

// Grouped idle attribution: a row per namespace for panels, idle_fraction by namespace for alerts.
func TestIdleAttributionByNamespace(t *testing.T) {
	settings := provisionedDemoSettings(t)
	table := query(t, settings, false, models.QueryIdleAttribution, `{"groupBy":"namespace"}`)
	require.Len(t, table, 1)
	keys, _ := table[0].FieldByName("namespace")
	require.NotNil(t, keys)
	count, _ := table[0].FieldByName("models")
	total := 0.0
	for i := range table[0].Rows() {
		v, _ := count.ConcreteAt(i)
		total += v.(float64)
	}
	perModel := query(t, settings, false, models.QueryIdleAttribution, `{}`)
	assert.Equal(t, float64(perModel[0].Rows()), total, "every model in one namespace")

	alert := query(t, settings, true, models.QueryIdleAttribution, `{"groupBy":"namespace"}`)
	require.Len(t, alert, 1)
	assert.Equal(t, data.FrameTypeNumericLong, alert[0].Meta.Type)
	assert.Equal(t, []string{"namespace", "idle_fraction"}, []string{alert[0].Fields[0].Name, alert[0].Fields[1].Name})
	assert.Equal(t, table[0].Rows(), alert[0].Rows())
}
