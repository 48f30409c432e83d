package vmtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const history = `# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).
# TYPE DCGM_FI_DEV_POWER_USAGE gauge
DCGM_FI_DEV_POWER_USAGE{Hostname="gpu-1",modelName="NVIDIA RTX A6000",gpu="0"} 105.5 1792975200
DCGM_FI_DEV_POWER_USAGE{Hostname="gpu-1",modelName="NVIDIA RTX A6000",gpu="0"} 250 1792975260.5
DCGM_FI_DEV_POWER_USAGE{Hostname="gpu-1",modelName="NVIDIA RTX A6000",gpu="1"} 80 1792975200
# TYPE vllm:generation_tokens counter
vllm:generation_tokens_total{model_name="gemma"} 1000 1792975200
vllm:generation_tokens_total{model_name="gemma"} 4000 1792975260
# EOF
`

func TestToPrometheusText(t *testing.T) {
	var b strings.Builder
	series, err := toPrometheusText(&b, strings.NewReader(history))
	require.NoError(t, err)
	assert.Equal(t, 3, series)
	assert.Equal(t, `DCGM_FI_DEV_POWER_USAGE{Hostname="gpu-1",modelName="NVIDIA RTX A6000",gpu="0"} 105.5 1792975200000
DCGM_FI_DEV_POWER_USAGE{Hostname="gpu-1",modelName="NVIDIA RTX A6000",gpu="0"} 250 1792975260500
DCGM_FI_DEV_POWER_USAGE{Hostname="gpu-1",modelName="NVIDIA RTX A6000",gpu="1"} 80 1792975200000
vllm:generation_tokens_total{model_name="gemma"} 1000 1792975200000
vllm:generation_tokens_total{model_name="gemma"} 4000 1792975260000
`, b.String())

	_, err = toPrometheusText(&b, strings.NewReader("up 1\n"))
	assert.ErrorContains(t, err, `not an OpenMetrics sample with a timestamp: "up 1"`)
}

func TestImportedHistoryIsQueryable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.om")
	require.NoError(t, os.WriteFile(path, []byte(history), 0o644))
	s := Start(t, Options{Import: path})

	resp, err := http.Get(s.URL + "/api/v1/query?" + url.Values{"query": {`sum_over_time(DCGM_FI_DEV_POWER_USAGE{gpu="0"}[2m])`}, "time": {"1792975261"}}.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	var answer struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&answer))
	require.Len(t, answer.Data.Result, 1)
	assert.Equal(t, "355.5", answer.Data.Result[0].Value[1], "both samples of the GPU, at their millisecond timestamps")
}
