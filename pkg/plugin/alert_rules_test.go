package plugin

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// The provisioned data source uid the alert rules (and dashboards) point at.
const provisionedDatasourceUID = "fleet-efficiency"

// ruleFile is Grafana's alert-rule file provisioning format (apiVersion 1), the fields Grafana reads.
type ruleFile struct {
	APIVersion int `yaml:"apiVersion"`
	Groups     []struct {
		OrgID    int64  `yaml:"orgId"`
		Name     string `yaml:"name"`
		Folder   string `yaml:"folder"`
		Interval string `yaml:"interval"`
		Rules    []struct {
			UID       string `yaml:"uid"`
			Title     string `yaml:"title"`
			Condition string `yaml:"condition"`
			Data      []struct {
				RefID             string `yaml:"refId"`
				QueryType         string `yaml:"queryType"`
				RelativeTimeRange struct {
					From int64 `yaml:"from"`
					To   int64 `yaml:"to"`
				} `yaml:"relativeTimeRange"`
				DatasourceUID string         `yaml:"datasourceUid"`
				Model         map[string]any `yaml:"model"`
			} `yaml:"data"`
			DashboardUID string            `yaml:"dashboardUid"`
			PanelID      int64             `yaml:"panelId"`
			NoDataState  string            `yaml:"noDataState"`
			ExecErrState string            `yaml:"execErrState"`
			For          string            `yaml:"for"`
			Annotations  map[string]string `yaml:"annotations"`
			Labels       map[string]string `yaml:"labels"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

const expressionUID = "__expr__"

var (
	ruleUID         = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,40}$`)
	noDataStates    = []string{"NoData", "Alerting", "OK", "KeepLast"}
	execErrStates   = []string{"Alerting", "Error", "OK", "KeepLast"}
	reducers        = []string{"last", "mean", "min", "max", "sum", "count", "median"}
	evaluatorTypes  = []string{"gt", "lt", "within_range", "outside_range", "within_range_included", "outside_range_included"}
	expressionTypes = []string{"reduce", "threshold", "math", "resample", "classic_conditions"}
)

func TestProvisionedAlertRulesAreValid(t *testing.T) {
	files, err := filepath.Glob("../../provisioning/alerting/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files, "no alert rule files under provisioning/alerting")
	uids := map[string]bool{}
	queryTypes := map[string]bool{}
	dashUID, panelQueries := dashboardPanels(t)
	for _, file := range files {
		raw, err := os.ReadFile(file)
		require.NoError(t, err)
		var rf ruleFile
		require.NoError(t, yaml.Unmarshal(raw, &rf), file)
		assert.Equal(t, 1, rf.APIVersion, file)
		require.NotEmpty(t, rf.Groups, file)
		for _, g := range rf.Groups {
			assert.GreaterOrEqual(t, g.OrgID, int64(1))
			assert.NotEmpty(t, g.Name)
			assert.NotEmpty(t, g.Folder)
			interval, err := time.ParseDuration(g.Interval)
			assert.NoError(t, err, "group %s interval", g.Name)
			assert.Positive(t, interval)
			require.NotEmpty(t, g.Rules)
			for _, r := range g.Rules {
				t.Run(r.Title, func(t *testing.T) {
					assert.Regexp(t, ruleUID, r.UID)
					assert.False(t, uids[r.UID], "uid %s used twice", r.UID)
					uids[r.UID] = true
					assert.NotEmpty(t, r.Title)
					assert.Contains(t, noDataStates, r.NoDataState)
					assert.Contains(t, execErrStates, r.ExecErrState)
					_, err := time.ParseDuration(r.For)
					assert.NoError(t, err, "for")

					byRef := map[string]map[string]any{}
					fromPlugin := map[string]bool{}
					for _, d := range r.Data {
						require.NotEmpty(t, d.RefID)
						assert.Equal(t, d.RefID, d.Model["refId"], "model refId of %s", d.RefID)
						byRef[d.RefID] = d.Model
						if d.DatasourceUID == expressionUID {
							continue
						}
						// A query of this plugin: a query type it has, options it accepts, a window before now.
						assert.Equal(t, provisionedDatasourceUID, d.DatasourceUID, "query %s", d.RefID)
						assert.Contains(t, models.QueryTypes, d.Model["queryType"])
						assert.Equal(t, d.QueryType, d.Model["queryType"])
						queryTypes[d.QueryType] = true
						assert.Greater(t, d.RelativeTimeRange.From, d.RelativeTimeRange.To)
						js, err := json.Marshal(d.Model)
						require.NoError(t, err)
						_, err = models.ParseQuery(backend.DataQuery{RefID: d.RefID, QueryType: d.QueryType, JSON: js})
						assert.NoError(t, err, "query %s", d.RefID)
						fromPlugin[d.RefID] = true
					}

					// Every expression reads an existing refId; the condition is a threshold that reaches a
					// query of this plugin.
					var reaches func(ref string, depth int) bool
					reaches = func(ref string, depth int) bool {
						if fromPlugin[ref] {
							return true
						}
						m, ok := byRef[ref]
						if !ok || depth > len(byRef) {
							return false
						}
						return reaches(m["expression"].(string), depth+1)
					}
					for ref, m := range byRef {
						if fromPlugin[ref] {
							continue
						}
						typ, _ := m["type"].(string)
						assert.Contains(t, expressionTypes, typ, "expression %s", ref)
						expr, _ := m["expression"].(string)
						assert.Contains(t, byRef, expr, "expression %s reads %q", ref, expr)
						switch typ {
						case "reduce":
							assert.Contains(t, reducers, m["reducer"])
						case "threshold":
							conds, _ := m["conditions"].([]any)
							require.Len(t, conds, 1)
							ev := conds[0].(map[string]any)["evaluator"].(map[string]any)
							assert.Contains(t, evaluatorTypes, ev["type"])
							assert.NotEmpty(t, ev["params"])
						}
					}
					require.Contains(t, byRef, r.Condition)
					assert.Equal(t, "threshold", byRef[r.Condition]["type"])
					assert.True(t, reaches(r.Condition, 0), "condition %s reaches a plugin query", r.Condition)

					// The rule links the dashboard panel that shows the same query.
					if r.DashboardUID != "" {
						assert.Equal(t, dashUID, r.DashboardUID)
						assert.Equal(t, r.Data[0].QueryType, panelQueries[r.PanelID], "panel %d", r.PanelID)
					}

					// Notifications name the model and its GPUs (or the group a grouped query answers for) and the
					// number behind the alert.
					if by, ok := r.Data[0].Model["groupBy"].(string); ok && by != "model" {
						assert.Contains(t, r.Annotations["summary"], "{{ $labels."+by+" }}")
					} else {
						assert.Contains(t, r.Annotations["summary"], "{{ $labels.model }}")
						assert.Contains(t, r.Annotations["description"], "{{ $labels.gpu_type }}")
					}
					assert.Contains(t, r.Annotations["description"], "$values.B.Value")
				})
			}
		}
	}
	assert.Equal(t, map[string]bool{models.QueryRightSizing: true, models.QueryConsolidation: true, models.QueryFleetSummary: true}, queryTypes,
		"rules for oversized and idle models, and a team's idle cost")
}

// readDashboardInto decodes the provisioned dashboard into v, a struct of the parts a test reads.
func readDashboardInto(t *testing.T, v any) {
	t.Helper()
	raw, err := os.ReadFile("../../provisioning/dashboards/fleet-efficiency.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, v))
}

// dashboardPanels is the provisioned dashboard's uid and the query type of each of its panels by id.
func dashboardPanels(t *testing.T) (uid string, panelQueries map[int64]string) {
	t.Helper()
	var d struct {
		UID    string `json:"uid"`
		Panels []struct {
			ID      int64 `json:"id"`
			Targets []struct {
				QueryType string `json:"queryType"`
			} `json:"targets"`
		} `json:"panels"`
	}
	readDashboardInto(t, &d)
	panels := map[int64]string{}
	for _, p := range d.Panels {
		if len(p.Targets) > 0 {
			panels[p.ID] = p.Targets[0].QueryType
		}
	}
	return d.UID, panels
}

// The data source the rules point at, once provisioned, has their uid and this plugin's type.
func TestProvisionedDatasourceMatchesTheAlertRules(t *testing.T) {
	files, err := filepath.Glob("../../provisioning/datasources/*.y*ml")
	require.NoError(t, err)
	type dsFile struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
		} `yaml:"datasources"`
	}
	var ours []string
	for _, file := range files {
		raw, err := os.ReadFile(file)
		require.NoError(t, err)
		var f dsFile
		require.NoError(t, yaml.Unmarshal(raw, &f), file)
		for _, ds := range f.Datasources {
			if ds.Type == "nrp-fleetefficiency-datasource" {
				ours = append(ours, ds.UID)
			}
		}
	}
	if len(files) > 0 {
		assert.True(t, slices.Contains(ours, provisionedDatasourceUID), "provisioned data sources of this plugin: %v", ours)
	}
}
