package sim_test

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/promtest"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

// TestDemoStackPrometheus runs what the demo stack's prometheus service runs (provisioning/prometheus:
// entrypoint.sh and prometheus.yml) against a fleet that wrote its history and then serves live, as
// `fleetsim serve --history-out` does: the live scrapes continue the history's series without a reset.
func TestDemoStackPrometheus(t *testing.T) {
	t.Parallel()
	now := time.Now()
	epoch := now.Add(-2 * time.Hour).Truncate(time.Hour)
	s, err := sim.New(sim.DefaultFleet(epoch, false), sim.DefaultSeed)
	require.NoError(t, err)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: s.Handler(sim.Naming{}, time.Now)}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	target := l.Addr().String()

	dir := t.TempDir()
	path := filepath.Join(dir, "history.om")
	f, err := os.Create(path)
	require.NoError(t, err)
	end := now.Truncate(time.Minute)
	_, err = s.WriteHistory(f, sim.HistoryOptions{Start: epoch, End: end, Step: time.Minute, Instance: target})
	require.NoError(t, err)
	require.NoError(t, f.Close())

	raw, err := os.ReadFile("../../provisioning/prometheus/prometheus.yml")
	require.NoError(t, err)
	cfg := strings.ReplaceAll(strings.ReplaceAll(string(raw), "fleetsim:9400", target), "scrape_interval: 30s", "scrape_interval: 1s")
	prom := promtest.Start(t, promtest.Options{
		Entrypoint: "../../provisioning/prometheus/entrypoint.sh", Backfill: path, Config: cfg,
	})

	require.Eventually(t, func() bool {
		n := prom.QueryVector(t, `count(count_over_time(vllm:generation_tokens_total[5s]) >= 3)`, time.Now(), "")
		return n[""] == float64(len(s.Spec().Models))
	}, 30*time.Second, 250*time.Millisecond, "three live scrapes of every model")

	at := time.Now()
	history := prom.QueryVector(t, `count by (model_name) (count_over_time(vllm:generation_tokens_total[3h] @ `+unix(end)+`))`, at, "model_name")
	series := prom.QueryVector(t, `count by (model_name) (count_over_time(vllm:generation_tokens_total[3h]))`, at, "model_name")
	resets := prom.QueryVector(t, `sum by (model_name) (resets(vllm:generation_tokens_total[3h]))`, at, "model_name")
	energyResets := prom.QueryVector(t, `sum(resets(DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION[3h]))`, at, "")
	for _, m := range s.Models() {
		assert.Equal(t, 1.0, history[m], "%s: history was imported", m)
		assert.Equal(t, 1.0, series[m], "%s: history and live scrapes are one series", m)
		assert.Zero(t, resets[m], "%s: live counters continue the history's", m)
	}
	assert.Zero(t, energyResets[""], "energy counters continue the history's")
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
