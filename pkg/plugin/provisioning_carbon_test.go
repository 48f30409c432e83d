package plugin

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// The demo stack restates NRP's site table to add the live intensity queries: it must load, and stay the
// default table otherwise.
func TestProvisionedSitesAreTheDefaultTableWithLiveQueries(t *testing.T) {
	raw, err := os.ReadFile("../../provisioning/datasources/fleetefficiency.yaml")
	require.NoError(t, err)
	var f struct {
		Datasources []struct {
			UID      string         `yaml:"uid"`
			URL      string         `yaml:"url"`
			JSONData map[string]any `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &f))
	for _, ds := range f.Datasources {
		if ds.UID != provisionedDatasourceUID {
			continue
		}
		b, err := json.Marshal(ds.JSONData)
		require.NoError(t, err)
		cfg, err := models.LoadSettings(backend.DataSourceInstanceSettings{URL: ds.URL, JSONData: b})
		require.NoError(t, err)
		require.True(t, cfg.Carbon.LiveIntensity())
		var sites []models.Site
		for _, s := range cfg.Carbon.Sites {
			s.IntensityQuery = ""
			sites = append(sites, s)
		}
		assert.ElementsMatch(t, models.DefaultSites(), sites)
		return
	}
	t.Fatalf("no provisioned data source %s", provisionedDatasourceUID)
}
