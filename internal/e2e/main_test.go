// Package e2e drives the built plugin binary through the go-plugin handshake, as Grafana does, against a real
// Prometheus holding a week of the simulated NRP fleet, and checks what comes back against the simulator's
// ground truth.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/promtest"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/testhost"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

// The week the tests look at: the default fleet's last seven days up to the current hour, with its pod restart and
// scrape gap. It ends now because the health check and the editors' lists look at the recent past, as in a cluster.
var (
	weekEnd    = time.Now().UTC().Truncate(time.Hour)
	epoch      = weekEnd.Add(-7 * 24 * time.Hour)
	scrapeStep = time.Minute
	fleetSim   = mustSim()
	week       = promtest.NewFixture(writeWeek)
)

func mustSim() *sim.Sim {
	s, err := sim.New(sim.DefaultFleet(epoch, true), sim.DefaultSeed)
	if err != nil {
		panic(err)
	}
	return s
}

func writeWeek(dir string) (promtest.Options, error) {
	path := filepath.Join(dir, "week.om")
	f, err := os.Create(path)
	if err != nil {
		return promtest.Options{}, err
	}
	defer f.Close()
	if _, err := fleetSim.WriteHistory(f, sim.HistoryOptions{Start: epoch, End: weekEnd, Step: scrapeStep}); err != nil {
		return promtest.Options{}, err
	}
	return promtest.Options{Backfill: path}, f.Close()
}

func TestMain(m *testing.M) {
	code := m.Run()
	week.Close()
	vmWeek.Close()
	os.Exit(code)
}

// settingsFor is the data source as a user would configure it for this Prometheus: the URL and the scrape
// interval the history was written with; everything else default.
func settingsFor(url string, jsonData map[string]any) testhost.Settings {
	if jsonData == nil {
		jsonData = map[string]any{}
	}
	if _, ok := jsonData["scrapeInterval"]; !ok {
		jsonData["scrapeInterval"] = scrapeStep.String()
	}
	b, err := json.Marshal(jsonData)
	if err != nil {
		panic(err)
	}
	return testhost.Settings{URL: url, JSONData: b}
}

// query is a panel query over [from, to] with the given type and options JSON.
func query(refID, queryType, options string, from, to time.Time) testhost.Query {
	return testhost.Query{RefID: refID, QueryType: queryType, JSON: fmt.Sprintf(`{"queryType":%q%s}`, queryType, options), From: from, To: to}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func startPlugin(t *testing.T) *testhost.Plugin {
	t.Helper()
	p := testhost.Start(t, testhost.Binary(t))
	t.Cleanup(func() { require.False(t, p.Exited(), "the plugin process died:\n%s", p.Logs()) })
	return p
}
