package promtest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/promtest"
)

// Samples a month old: older than Prometheus' default 15-day retention, which the server must not apply.
var base = time.Now().Add(-30 * 24 * time.Hour).Truncate(time.Minute)

func writeBackfill(t *testing.T, dir string) string {
	t.Helper()
	om := "# TYPE tokens counter\n"
	for i := range 10 {
		om += "tokens_total{model_name=\"m\"} " + strconv.Itoa(100*i) + " " + strconv.Itoa(int(base.Unix())+60*i) + "\n"
	}
	om += "# EOF\n"
	path := filepath.Join(dir, "h.om")
	require.NoError(t, os.WriteFile(path, []byte(om), 0o644))
	return path
}

func TestBackfilledServerAnswersAndSurvivesRestart(t *testing.T) {
	srv := promtest.Start(t, promtest.Options{Backfill: writeBackfill(t, t.TempDir()), Flags: []string{"--query.max-samples=5"}})
	at := base.Add(9 * time.Minute)
	q := `sum by (model_name) (increase(tokens_total[3m]))`
	assert.Equal(t, map[string]float64{"m": 300}, srv.QueryVector(t, q, at, "model_name"))

	_, _, _, err := srv.API().Query(t.Context(), `count_over_time(tokens_total[9m])`, at)
	require.Error(t, err, "--query.max-samples=5 reached the server")

	srv.Restart(t)
	assert.Equal(t, map[string]float64{"m": 300}, srv.QueryVector(t, q, at, "model_name"), "data survives a restart")

	require.NoError(t, srv.Kill())
	_, _, _, err = srv.API().Query(t.Context(), q, at)
	assert.Error(t, err, "a killed server answers nothing")
}

// Blocks written into the data dir before the server starts are what it serves (here written by promtool, as a
// benchmark writes them with Prometheus' tsdb package); Launch runs the server without a test to stop it.
func TestLaunchServesTheBlocksWrittenBeforeIt(t *testing.T) {
	backfill := writeBackfill(t, t.TempDir())
	var dataDir string
	srv, err := promtest.Launch(t.TempDir(), promtest.Options{WriteBlocks: func(dir string) error {
		dataDir = dir
		return exec.Command("promtool", "tsdb", "create-blocks-from", "openmetrics", backfill, dir).Run()
	}})
	require.NoError(t, err)
	defer func() { assert.NoError(t, srv.Stop()) }()
	assert.Equal(t, srv.DataDir, dataDir)
	at := base.Add(9 * time.Minute)
	assert.Equal(t, map[string]float64{"m": 300}, srv.QueryVector(t, `sum by (model_name) (increase(tokens_total[3m]))`, at, "model_name"))

	// The samples a query read, as its stats say, are the samples in its range.
	inRange := srv.QueryVector(t, `sum by (model_name) (count_over_time(tokens_total[3m]))`, at, "model_name")["m"]
	require.Positive(t, inRange)
	resp, err := http.Get(srv.URL + "/api/v1/query?stats=all&query=sum_over_time(tokens_total[3m])&time=" + strconv.FormatInt(at.Unix(), 10))
	require.NoError(t, err)
	answer, err := io.ReadAll(resp.Body)
	require.NoError(t, errors.Join(err, resp.Body.Close()))
	samples, err := promtest.QueryableSamples(answer)
	require.NoError(t, err)
	assert.Equal(t, int64(inRange), samples)

	_, err = promtest.Launch(t.TempDir(), promtest.Options{WriteBlocks: func(string) error { return os.ErrPermission }})
	assert.ErrorIs(t, err, os.ErrPermission)
}

var shared = promtest.NewFixture(func(dir string) (promtest.Options, error) {
	return promtest.Options{Config: "global:\n  scrape_interval: 1s\n"}, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Close()
	os.Exit(code)
}

func TestFixtureSharesOneServer(t *testing.T) {
	a, b := shared.Server(t), shared.Server(t)
	assert.Same(t, a, b)
	assert.Equal(t, map[string]float64{"": 1}, a.QueryVector(t, "vector(1)", time.Now(), "x"))
}

func TestPausedServerAnswersNothingUntilResumed(t *testing.T) {
	srv := promtest.Start(t, promtest.Options{})
	require.NoError(t, srv.Pause())
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, _, _, err := srv.API().Query(ctx, "vector(1)", time.Now())
	require.ErrorIs(t, err, context.DeadlineExceeded, "a paused server holds the request")

	require.NoError(t, srv.Resume())
	assert.Equal(t, map[string]float64{"": 1}, srv.QueryVector(t, "vector(1)", time.Now(), "x"))

	require.NoError(t, srv.Pause())
	stopped := time.Now()
	require.NoError(t, srv.Stop())
	assert.Less(t, time.Since(stopped), 10*time.Second, "a paused server still stops")
}
