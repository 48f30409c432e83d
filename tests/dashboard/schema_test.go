// Package dashboard_test checks the provisioned dashboard as Grafana 12.4 reads it: against Grafana's dashboard
// schema (the Go types grafana-foundation-sdk generates from it, decoded strictly: unknown keys, wrong types and
// missing required fields fail, panel options by their panel's schema) and through the panel migrations Grafana
// runs on load.
package dashboard_test

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/xychart"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const dashboardPath = "../../provisioning/dashboards/fleet-efficiency.json"

func readDashboard(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile(dashboardPath)
	require.NoError(t, err)
	return raw
}

func TestDashboardMatchesGrafanasSchema(t *testing.T) {
	plugins.RegisterDefaultPlugins() // the panel option schemas (stat, timeseries, barchart, table, xychart)
	// The provisioned file is the classic dashboard JSON (schemaVersion 41) Grafana 12.4 provisions, not v2's.
	var d dashboard.Dashboard //nolint:staticcheck // v1 is the schema of that JSON; the SDK marks it deprecated for v2
	require.NoError(t, strict(d.UnmarshalJSONStrict(readDashboard(t))))
	require.NoError(t, d.Validate())
	require.NotEmpty(t, d.Panels)
}

// strict is the error of a strict decoding: the generated decoders return their list of errors even when it
// is empty.
func strict(err error) error {
	var list cog.BuildErrors
	if errors.As(err, &list) && len(list) == 0 {
		return nil
	}
	return err
}

// grafanaVersion is the Grafana the plugin requires and the demo stack runs (plugin.json's grafanaDependency).
func grafanaVersion(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../plugin.json")
	require.NoError(t, err)
	var p struct {
		Dependencies struct {
			GrafanaDependency string `json:"grafanaDependency"`
		} `json:"dependencies"`
	}
	require.NoError(t, json.Unmarshal(raw, &p))
	v, ok := strings.CutPrefix(p.Dependencies.GrafanaDependency, ">=")
	require.True(t, ok, "grafanaDependency %q is a lower bound", p.Dependencies.GrafanaDependency)
	return v
}

type panel struct {
	Type          string          `json:"type"`
	Title         string          `json:"title"`
	PluginVersion string          `json:"pluginVersion"`
	Options       json.RawMessage `json:"options"`
}

// Grafana runs a panel plugin's migration when the panel's pluginVersion differs from the plugin's, and the XY
// chart's (public/app/plugins/panel/xychart/migrations.ts) rewrites the options of a panel with no
// pluginVersion as if they were pre-10.4 ones: without `seriesMapping` it makes one manual series on frame 0,
// which for efficiency-curve is the fit table. Every panel therefore carries the version its options are
// written for.
func TestEveryPanelCarriesThePluginVersionOfItsOptions(t *testing.T) {
	var d struct{ Panels []panel }
	require.NoError(t, json.Unmarshal(readDashboard(t), &d))
	want := grafanaVersion(t)
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue // rows are no panel plugin: nothing migrates them
		}
		assert.Equal(t, want, p.PluginVersion, "%s (%s)", p.Title, p.Type)
	}
}

// The XY chart of efficiency curves plots every frame as it comes (one frame of points and one of binned
// medians per model, their number unknown in advance), so its mapping is auto with no frame matcher: x the
// first number field (tokens_per_s), y the others not hidden (the fit table's are, by override).
func TestXYChartMapsEveryFrameInTheCurrentOptionsShape(t *testing.T) {
	var d struct{ Panels []panel }
	require.NoError(t, json.Unmarshal(readDashboard(t), &d))
	var charts int
	for _, p := range d.Panels {
		if p.Type != "xychart" {
			continue
		}
		charts++
		require.NotEmpty(t, p.PluginVersion, "%s: an empty pluginVersion makes Grafana migrate the options", p.Title)
		var o xychart.Options
		require.NoError(t, strict(o.UnmarshalJSONStrict(p.Options)), "%s: options in the XY chart's schema (no pre-10.4 dims or seriesMapping)", p.Title)
		assert.Equal(t, xychart.SeriesMappingAuto, o.Mapping, p.Title)
		require.Len(t, o.Series, 1, p.Title)
		s := o.Series[0]
		assert.Nil(t, s.Frame, "%s: no frame matcher, every frame is plotted", p.Title)
		require.NotNil(t, s.X, p.Title)
		require.NotNil(t, s.Y, p.Title)
		assert.Equal(t, "byType", s.X.Matcher.Id, p.Title)
		assert.Equal(t, "number", s.X.Matcher.Options, p.Title)
		assert.Equal(t, "byType", s.Y.Matcher.Id, p.Title)
	}
	assert.Equal(t, 1, charts, "the efficiency-curve chart")
}
