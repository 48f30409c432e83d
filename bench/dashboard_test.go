package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The provisioned dashboard's panels become one request each, as Grafana sends them on opening it: the
// variables at their opening values, no data source reference, the benchmark's window.
func TestDashboardPanelsAreRequestsAsGrafanaSendsThem(t *testing.T) {
	from := epoch
	to := from.Add(30 * 24 * time.Hour)
	requests, err := dashboardPanels("../provisioning/dashboards", from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(requests) < 5 {
		t.Fatalf("%d requests: the dashboard shows every query type", len(requests))
	}
	types := map[string]bool{}
	for _, req := range requests {
		for _, q := range req {
			var body map[string]any
			if err := json.Unmarshal([]byte(q.JSON), &body); err != nil {
				t.Fatalf("%s: %v", q.JSON, err)
			}
			if _, ok := body["datasource"]; ok {
				t.Errorf("%s: the data source reference is Grafana's, not the query's", q.JSON)
			}
			if strings.Contains(q.JSON, "$") {
				t.Errorf("%s: a variable was left uninterpolated", q.JSON)
			}
			if body["modelRegex"] != nil && body["modelRegex"] != ".*" {
				t.Errorf("%s: the model variable opens at All, its allValue .*", q.JSON)
			}
			if body["queryType"] != q.QueryType || q.QueryType == "" {
				t.Errorf("%s: query type %q", q.JSON, q.QueryType)
			}
			if !q.From.Equal(from) || !q.To.Equal(to) {
				t.Errorf("%s: window %s to %s", q.QueryType, q.From, q.To)
			}
			types[q.QueryType] = true
		}
	}
	for _, c := range cases(from, to)[:5] {
		if !types[c.Queries[0].QueryType] {
			t.Errorf("the dashboard has no %s panel", c.Queries[0].QueryType)
		}
	}
}
