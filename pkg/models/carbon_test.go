package models

import (
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGridCarbonSettingsAreOptional(t *testing.T) {
	cfg, err := LoadSettings(backend.DataSourceInstanceSettings{URL: "http://p:9090"})
	require.NoError(t, err)
	assert.False(t, cfg.Carbon.LiveIntensity())
	assert.Equal(t, DefaultIntensitySiteLabel, cfg.Carbon.IntensitySiteLabel)
	assert.Empty(t, cfg.Carbon.Embodied)

	cfg, err = LoadSettings(backend.DataSourceInstanceSettings{URL: "http://p:9090", JSONData: []byte(`{"carbon":{
		"intensityQuery":" grid_intensity_carbon_actual ","intensitySiteLabel":"region",
		"sites":[{"name":"TACC","hostPattern":"tacc","intensity":393,"pue":1.4,"intensityQuery":"x{region=\"US-TEX-ERCO\"}"}],
		"embodied":[{"gpuType":"NVIDIA L40","kgCO2e":900}],"serviceLifeYears":4}}`)})
	require.NoError(t, err)
	assert.True(t, cfg.Carbon.LiveIntensity())
	assert.Equal(t, "grid_intensity_carbon_actual", cfg.Carbon.IntensityQuery, "trimmed")
	assert.Equal(t, 1.4, cfg.Carbon.Sites[0].PUE)
	assert.Equal(t, []EmbodiedGPU{{GPUType: "NVIDIA L40", KgCO2e: 900}}, cfg.Carbon.Embodied)
}

func TestBadGridCarbonSettingsNameTheField(t *testing.T) {
	for json, want := range map[string]string{
		`{"carbon":{"intensitySiteLabel":"the site"}}`:                                                              "carbon.intensitySiteLabel",
		`{"carbon":{"sites":[{"name":"A","hostPattern":"a","intensity":1,"pue":0.5}]}}`:                             "carbon.sites[0] (A): pue 0.5",
		`{"carbon":{"embodied":[{"gpuType":"NVIDIA L40","kgCO2e":900}]}}`:                                           "carbon.serviceLifeYears is not",
		`{"carbon":{"embodied":[{"gpuType":"","kgCO2e":900}],"serviceLifeYears":4}}`:                                "carbon.embodied[0]",
		`{"carbon":{"serviceLifeYears":-1}}`:                                                                        "carbon.serviceLifeYears -1",
		`{"carbon":{"intensityQuery":"q","sites":[{"name":"A","hostPattern":"a"},{"name":"a","hostPattern":"b"}]}}`: "both named",
	} {
		_, err := LoadSettings(backend.DataSourceInstanceSettings{URL: "http://p:9090", JSONData: []byte(json)})
		require.Error(t, err, json)
		assert.Contains(t, err.Error(), want, json)
	}
}
