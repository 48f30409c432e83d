package promclient

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

func TestVictoriaMetricsPartialAnswersAreWarned(t *testing.T) {
	body := `{"status":"success","isPartial":true,"data":{"resultType":"vector","result":[]}}`
	warnings, _, err := DecodeStream(strings.NewReader(body), model.ValVector, func(m model.Metric) (PointSink, error) { return nil, nil })
	require.NoError(t, err)
	assert.Equal(t, []string{"the answer is partial (isPartial): some storage nodes did not answer"}, []string(warnings))
}

func TestEngineParamsOnlyForThanos(t *testing.T) {
	for _, kind := range []models.Engine{models.EnginePrometheus, models.EngineMimir, models.EngineVictoriaMetrics} {
		assert.Nil(t, Engine{Kind: kind}.Params(time.Hour, false, false), kind)
	}
	alert := Engine{Kind: models.EngineThanos}.Params(5*time.Minute, false, true)
	assert.Equal(t, "false", alert.Get("partial_response"), "alert rules never take a partial answer")
}
