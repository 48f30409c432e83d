package models

import (
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCostSettingsAreReadWithThePricesOfTheSites(t *testing.T) {
	cfg, err := LoadSettings(backend.DataSourceInstanceSettings{URL: "http://p:9090", JSONData: []byte(`{
		"carbon": {"sites": [{"name": "UNL", "hostPattern": "unl\\.edu", "intensity": 531, "pricePerKWh": 0.09}]},
		"cost": {"currency": "EUR", "defaultPricePerKWh": 0.2, "gpus": [{"gpuType": "NVIDIA L40", "costPerHour": 1.1}]}}`)})
	require.NoError(t, err)
	assert.Equal(t, "EUR", cfg.Cost.Currency)
	assert.Equal(t, ptr(0.2), cfg.Cost.DefaultPricePerKWh)
	assert.Equal(t, []GPUPrice{{GPUType: "NVIDIA L40", CostPerHr: 1.1}}, cfg.Cost.GPUs)
	assert.Equal(t, ptr(0.09), cfg.Carbon.Sites[0].PricePerKWh)
}

func TestNoCostSettingsMeanNoPrices(t *testing.T) {
	cfg, err := LoadSettings(backend.DataSourceInstanceSettings{URL: "http://p:9090"})
	require.NoError(t, err)
	assert.Equal(t, CostSettings{}, cfg.Cost, "no made-up default price or currency")
	for _, s := range cfg.Carbon.Sites {
		assert.Nil(t, s.PricePerKWh, s.Name)
	}
}

func TestBadCostSettingsNameTheField(t *testing.T) {
	for json, want := range map[string]string{
		`{"cost":{"currency":"usd","gpus":[{"gpuType":"L40","costPerHour":1}]}}`:                           `cost.currency "usd" is not an ISO 4217`,
		`{"cost":{"currency":"XYZ"}}`:                                                                      `cost.currency "XYZ" is not an ISO 4217`,
		`{"cost":{"gpus":[{"gpuType":"L40","costPerHour":1}]}}`:                                            "cost.currency is empty",
		`{"cost":{"currency":"USD","defaultPricePerKWh":-0.1}}`:                                            "cost.defaultPricePerKWh -0.1 is outside",
		`{"cost":{"currency":"USD","gpus":[{"gpuType":"","costPerHour":1}]}}`:                              "cost.gpus[0]: needs a GPU type",
		`{"cost":{"currency":"USD","gpus":[{"gpuType":"L40","costPerHour":-2}]}}`:                          "cost.gpus[0]: needs a GPU type and costPerHour",
		`{"carbon":{"sites":[{"name":"A","hostPattern":"a","pricePerKWh":0.1}]}}`:                          "cost.currency is empty",
		`{"cost":{"currency":"USD"},"carbon":{"sites":[{"name":"A","hostPattern":"a","pricePerKWh":-1}]}}`: "carbon.sites[0] (A): pricePerKWh -1 is outside",
	} {
		_, err := LoadSettings(backend.DataSourceInstanceSettings{URL: "http://p:9090", JSONData: []byte(json)})
		require.Error(t, err, json)
		assert.Contains(t, err.Error(), want, json)
	}
}
