package plugin

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

type dashboard struct {
	Panels []struct {
		Type            string            `json:"type"`
		Title           string            `json:"title"`
		Targets         []json.RawMessage `json:"targets"`
		Transformations []struct {
			ID      string `json:"id"`
			Options struct {
				Include struct {
					Names []string `json:"names"`
				} `json:"include"`
				Binary struct {
					Left  string `json:"left"`
					Right string `json:"right"`
				} `json:"binary"`
			} `json:"options"`
		} `json:"transformations"`
		FieldConfig struct {
			Overrides []struct {
				Matcher struct {
					ID      string `json:"id"`
					Options string `json:"options"`
				} `json:"matcher"`
			} `json:"overrides"`
		} `json:"fieldConfig"`
	} `json:"panels"`
	Annotations struct {
		List []struct {
			Name   string         `json:"name"`
			Target map[string]any `json:"target"`
		} `json:"list"`
	} `json:"annotations"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile("../../provisioning/dashboards/fleet-efficiency.json")
	require.NoError(t, err)
	var d dashboard
	require.NoError(t, json.Unmarshal(b, &d))
	return d
}

// names are the names and display names of a frame's fields: what panel transformations and overrides match.
func names(f *data.Frame) map[string]bool {
	out := map[string]bool{}
	for _, field := range f.Fields {
		out[field.Name] = true
		if field.Config != nil && field.Config.DisplayName != "" {
			out[field.Config.DisplayName] = true
		}
	}
	return out
}

// Every panel's query runs as Grafana sends it (the model variable at "All", i.e. its allValue ".*"), and the
// fields its transformations and overrides name are in the frames it gets.
func TestDashboardPanelsGetTheFieldsTheyUse(t *testing.T) {
	d := readDashboard(t)
	var rows []string
	for _, p := range d.Panels {
		if p.Type == "row" {
			rows = append(rows, p.Title)
			continue
		}
		t.Run(p.Title, func(t *testing.T) {
			require.Len(t, p.Targets, 1)
			var target map[string]any
			require.NoError(t, json.Unmarshal(p.Targets[0], &target))
			assert.Equal(t, "$model", target["modelRegex"], "every panel follows the model variable")
			target["modelRegex"] = ".*"
			delete(target, "datasource")
			queryType, _ := target["queryType"].(string)
			require.Contains(t, models.QueryTypes, queryType)
			body, err := json.Marshal(target)
			require.NoError(t, err)

			frames := query(t, demoSettings, false, queryType, string(body))
			require.NotEmpty(t, frames)
			first := names(frames[0])
			for _, tr := range p.Transformations {
				for _, n := range append(tr.Options.Include.Names, tr.Options.Binary.Left, tr.Options.Binary.Right) {
					if n != "" && n != "Productive CO2" {
						assert.True(t, first[n], "%s: no field %q in %v", tr.ID, n, first)
					}
				}
			}
			for _, o := range p.FieldConfig.Overrides {
				if o.Matcher.ID != "byRegexp" {
					continue
				}
				// The XY chart's override hides the fit table's y candidates: all its numbers but the first.
				re := regexp.MustCompile(o.Matcher.Options)
				var numeric []string
				for _, f := range frames[0].Fields {
					if f.Type().Numeric() {
						numeric = append(numeric, f.Config.DisplayName)
					}
				}
				for _, n := range numeric[1:] {
					assert.True(t, re.MatchString(n), "override misses %q", n)
				}
			}
		})
	}
	assert.Equal(t, []string{"Fleet summary", "Energy per token", "Idle power", "Efficiency curves", "Right-sizing", "Consolidation", "Cost and carbon by team"}, rows)
}

func TestDashboardVariables(t *testing.T) {
	d := readDashboard(t)
	plugin, err := os.ReadFile("../../plugin.json")
	require.NoError(t, err)
	var meta struct{ ID string }
	require.NoError(t, json.Unmarshal(plugin, &meta))

	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type + " " + strings.Trim(string(v.Query), `"`)
	}
	assert.Equal(t, "datasource "+meta.ID, vars["datasource"])
	assert.JSONEq(t, `{"refId": "ModelVariable", "resource": "models"}`, strings.TrimPrefix(vars["model"], "query "))
}

// The dashboard's annotation runs as Grafana sends it and gets the fields Grafana makes events of.
func TestDashboardAnnotationGetsEventFields(t *testing.T) {
	d := readDashboard(t)
	require.Len(t, d.Annotations.List, 1)
	target := d.Annotations.List[0].Target
	assert.Equal(t, "$model", target["modelRegex"], "the annotation follows the model variable")
	assert.Equal(t, models.QueryAnnotations, target["queryType"])
	target["modelRegex"] = ".*"
	body, err := json.Marshal(target)
	require.NoError(t, err)
	frames := query(t, demoSettings, false, models.QueryAnnotations, string(body))
	require.Len(t, frames, 1)
	got := names(frames[0])
	for _, n := range []string{"time", "timeEnd", "title", "text", "tags"} {
		assert.True(t, got[n], "no field %q", n)
	}
	assert.Positive(t, frames[0].Rows(), "Kimi-K2.5 sits idle all window")
}
