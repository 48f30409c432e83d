package source

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

func TestIntensityQueriesAverageEachSite(t *testing.T) {
	c := models.CarbonSettings{Sites: []models.Site{{Name: "TACC", IntensityQuery: `grid_intensity_carbon_actual{region="US-TEX-ERCO"}`}, {Name: "UNL"}}}
	c.IntensityQuery, c.IntensitySiteLabel = "grid_intensity_carbon_actual", "region"
	assert.Equal(t, []IntensityQuery{
		{PromQL: "avg by (region) (grid_intensity_carbon_actual)"},
		{Site: "TACC", PromQL: `avg(grid_intensity_carbon_actual{region="US-TEX-ERCO"})`},
	}, IntensityQueries(c))
	assert.Empty(t, IntensityQueries(models.CarbonSettings{Sites: models.DefaultSites()}), "no setting, no query")
}
