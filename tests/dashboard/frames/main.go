// Command frames answers the provisioned dashboard's panels with the plugin itself, for the dashboard preview
// page (tests/dashboard): it builds the provisioned demo data source as Grafana does (NewDatasource with its
// jsonData, its example prices included, and demoNow), sends every panel's query through QueryData as Grafana sends it (the model
// variable at "All", the dashboard's week), and writes the response in Grafana's JSON wire format, one refId
// per panel.
//
//	go run ./tests/dashboard/frames -out tests/dashboard/dist/frames.json
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"go.yaml.in/yaml/v3"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/plugin"
)

// now pins the demo fleet (its demoNow setting) and the dashboard's range to one moment, so the picture is the
// same on every run.
const now = "2026-11-20T12:00:00Z"

// span is the dashboard's default time range (now-7d to now).
const span = 7 * 24 * time.Hour

// interval is what Grafana sends for a week on panels 800 to 1600 px wide (its rounded span / width: 5 to 15
// minutes); one value for every panel lets them share one read of the fleet, as they would share its history.
const interval = 10 * time.Minute

// Preview is the file the page loads: the time range and the response, keyed by panel id.
type Preview struct {
	FromMs   int64                      `json:"fromMs"`
	ToMs     int64                      `json:"toMs"`
	Response *backend.QueryDataResponse `json:"response"`
}

type panel struct {
	ID      int               `json:"id"`
	Type    string            `json:"type"`
	Targets []json.RawMessage `json:"targets"`
}

func main() {
	dashboard := flag.String("dashboard", "provisioning/dashboards/fleet-efficiency.json", "the dashboard whose panels to answer")
	datasources := flag.String("datasources", "provisioning/datasources/fleetefficiency.yaml", "the provisioned data sources, the demo one's settings")
	out := flag.String("out", "tests/dashboard/dist/frames.json", "where to write the response")
	flag.Parse()
	if err := run(*dashboard, *datasources, *out); err != nil {
		fmt.Fprintln(os.Stderr, "frames:", err)
		os.Exit(1)
	}
}

func run(dashboardPath, datasourcesPath, out string) error {
	to, err := time.Parse(time.RFC3339, now)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(dashboardPath)
	if err != nil {
		return err
	}
	queries, err := panelQueries(b, backend.TimeRange{From: to.Add(-span), To: to})
	if err != nil {
		return fmt.Errorf("%s: %w", dashboardPath, err)
	}
	ctx := context.Background()
	settings, err := demoSettings(datasourcesPath)
	if err != nil {
		return err
	}
	inst, err := plugin.NewDatasource(ctx, backend.DataSourceInstanceSettings{JSONData: settings})
	if err != nil {
		return err
	}
	resp, err := inst.(*plugin.Datasource).QueryData(ctx, &backend.QueryDataRequest{Queries: queries})
	if err != nil {
		return err
	}
	for refID, r := range resp.Responses {
		if r.Error != nil {
			return fmt.Errorf("panel %s: %w", refID, r.Error)
		}
	}
	body, err := json.Marshal(Preview{FromMs: to.Add(-span).UnixMilli(), ToMs: to.UnixMilli(), Response: resp})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, body, 0o644)
}

// demoSettings are the jsonData of the provisioned demo data source, pinned to now.
func demoSettings(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Datasources []struct {
			UID      string         `yaml:"uid"`
			JSONData map[string]any `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, ds := range f.Datasources {
		if ds.UID == demoUID && ds.JSONData["mode"] == "demo" {
			ds.JSONData["demoNow"] = now
			return json.Marshal(ds.JSONData)
		}
	}
	return nil, fmt.Errorf("%s: no data source %s in demo mode", path, demoUID)
}

// demoUID is the provisioned demo data source.
const demoUID = "fleet-efficiency-demo"

// panelQueries are the queries Grafana sends for the dashboard's panels: each target without its data source,
// the model variable at "All" (its allValue), refId the panel's id.
func panelQueries(dashboardJSON []byte, tr backend.TimeRange) ([]backend.DataQuery, error) {
	var d struct {
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(dashboardJSON, &d); err != nil {
		return nil, err
	}
	var queries []backend.DataQuery
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) != 1 {
			return nil, fmt.Errorf("panel %d has %d queries; the preview answers one per panel", p.ID, len(p.Targets))
		}
		var target map[string]any
		if err := json.Unmarshal(p.Targets[0], &target); err != nil {
			return nil, fmt.Errorf("panel %d: %w", p.ID, err)
		}
		delete(target, "datasource")
		delete(target, "refId")
		for k, v := range target {
			if s, ok := v.(string); ok {
				target[k] = strings.ReplaceAll(s, "$model", ".*")
			}
		}
		body, err := json.Marshal(target)
		if err != nil {
			return nil, err
		}
		queryType, _ := target["queryType"].(string)
		queries = append(queries, backend.DataQuery{
			RefID: strconv.Itoa(p.ID), QueryType: queryType, JSON: body,
			TimeRange: tr, Interval: interval, MaxDataPoints: int64(span / interval),
		})
	}
	return queries, nil
}
