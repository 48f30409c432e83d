package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/testhost"
)

// dashboardPanels are the queries of every panel of the provisioned dashboards in dir, one request per panel as
// Grafana sends them on a dashboard load, over [from, to] instead of the dashboard's default time range. The
// template variables take the value the dashboard opens with ("All" is the variable's allValue).
func dashboardPanels(dir string, from, to time.Time) ([][]testhost.Query, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no dashboard in %s", dir)
	}
	var requests [][]testhost.Query
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		var d dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		vars := d.variables()
		for _, p := range d.flatPanels() {
			var req []testhost.Query
			for _, t := range p.Targets {
				q, err := panelTarget(t, vars, from, to)
				if err != nil {
					return nil, fmt.Errorf("%s, panel %q: %w", file, p.Title, err)
				}
				req = append(req, q)
			}
			if len(req) > 0 {
				requests = append(requests, req)
			}
		}
	}
	return requests, nil
}

type dashboard struct {
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			IncludeAll bool   `json:"includeAll"`
			AllValue   string `json:"allValue"`
			Current    struct {
				Value any `json:"value"`
			} `json:"current"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Title   string                       `json:"title"`
	Panels  []panel                      `json:"panels"`
	Targets []map[string]json.RawMessage `json:"targets"`
}

// flatPanels are the panels with those inside rows.
func (d dashboard) flatPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// variables are the values the dashboard's variables open with, by name.
func (d dashboard) variables() map[string]string {
	out := map[string]string{}
	for _, v := range d.Templating.List {
		switch cur := v.Current.Value.(type) {
		case string:
			out[v.Name] = cur
		case []any:
			if v.IncludeAll && slices.Contains(cur, any("$__all")) {
				out[v.Name] = v.AllValue
			} else if len(cur) == 1 {
				out[v.Name] = fmt.Sprint(cur[0])
			}
		}
	}
	return out
}

// panelTarget is one target as Grafana sends it: the variables interpolated, the data source reference left
// out (Grafana routes by it), the panel's time range the benchmark's window.
func panelTarget(t map[string]json.RawMessage, vars map[string]string, from, to time.Time) (testhost.Query, error) {
	var refID, queryType string
	if err := json.Unmarshal(t["refId"], &refID); err != nil {
		return testhost.Query{}, fmt.Errorf("refId: %w", err)
	}
	if err := json.Unmarshal(t["queryType"], &queryType); err != nil {
		return testhost.Query{}, fmt.Errorf("queryType: %w", err)
	}
	body := map[string]json.RawMessage{}
	for k, v := range t {
		if k == "datasource" {
			continue
		}
		s := string(v)
		for name, value := range vars {
			quoted, _ := json.Marshal(value)
			inner := string(quoted[1 : len(quoted)-1])
			s = strings.ReplaceAll(s, "${"+name+"}", inner)
			s = strings.ReplaceAll(s, "$"+name, inner)
		}
		body[k] = json.RawMessage(s)
	}
	js, err := json.Marshal(body)
	if err != nil {
		return testhost.Query{}, err
	}
	q := panelQuery(refID, queryType, "", from, to)
	q.JSON = string(js)
	return q, nil
}

// loadDashboard sends every panel's request at once to a fresh plugin process, as a browser opening the
// dashboard does, and returns when the last has answered, with the queries the plugin ran (each once) and the
// process' peak RSS. Any panel's error fails the load.
func loadDashboard(ctx context.Context, binary string, settings testhost.Settings, requests [][]testhost.Query) (time.Duration, []promQuery, int64, error) {
	p, err := testhost.Launch(binary)
	if p != nil {
		defer p.Kill()
	}
	if err != nil {
		return 0, nil, 0, err
	}
	return loadDashboardOn(ctx, p, settings, requests)
}

// loadDashboardOn is loadDashboard on a running plugin process.
func loadDashboardOn(ctx context.Context, p *testhost.Plugin, settings testhost.Settings, requests [][]testhost.Query) (time.Duration, []promQuery, int64, error) {
	executed := make([][]promQuery, len(requests))
	errs := make([]error, len(requests))
	var wg sync.WaitGroup
	began := time.Now()
	for i, req := range requests {
		wg.Go(func() {
			executed[i], errs[i] = queryPlugin(ctx, p, settings, benchCase{Name: req[0].QueryType, Queries: req})
		})
	}
	wg.Wait()
	took := time.Since(began)
	var all []promQuery
	for i := range requests {
		if errs[i] != nil {
			return 0, nil, 0, fmt.Errorf("panel %d (%s): %w", i+1, requests[i][0].QueryType, errs[i])
		}
		for _, q := range executed[i] {
			if !slices.Contains(all, q) {
				all = append(all, q)
			}
		}
	}
	rss, err := peakRSS(p.Pid())
	return took, all, rss, err
}
