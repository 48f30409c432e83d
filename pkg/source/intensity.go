package source

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/promclient"
)

// IntensityQuery is one PromQL query of the grid's carbon intensity (gCO2/kWh) and the site its series are of.
type IntensityQuery struct {
	// Site is the site of a per-site expression; empty for the shared one, whose series name their site in the
	// site label.
	Site   string
	PromQL string
}

// IntensityQueries are the grid intensity queries of the carbon settings: the shared expression averaged by
// its site label (an exporter scraped twice is one series), and each site's own averaged into one series. No
// label filter is added: an intensity exporter is rarely on the GPU nodes' labels.
func IntensityQueries(c models.CarbonSettings) []IntensityQuery {
	var out []IntensityQuery
	if c.IntensityQuery != "" {
		out = append(out, IntensityQuery{PromQL: fmt.Sprintf("avg by (%s) (%s)", c.IntensitySiteLabel, c.IntensityQuery)})
	}
	for _, s := range c.Sites {
		if s.IntensityQuery != "" {
			out = append(out, IntensityQuery{Site: s.Name, PromQL: fmt.Sprintf("avg(%s)", s.IntensityQuery)})
		}
	}
	return out
}

// intensityPlan are the grid intensity queries of a fleet read, range queries on its grid: the intensity at
// each step, as the power of a step is its mean up to it. They are optional: without them CO2 uses the site
// table, and a notice says which query was left out.
func intensityPlan(c models.CarbonSettings) []fleetQuery {
	var out []fleetQuery
	for _, iq := range IntensityQueries(c) {
		quantity, setting := "grid_intensity", "carbon.intensityQuery"
		siteOf := func(m model.Metric) (string, bool) {
			site := string(m[model.LabelName(c.IntensitySiteLabel)])
			return site, site != ""
		}
		if iq.Site != "" {
			quantity, setting = fmt.Sprintf("grid_intensity of %s", iq.Site), fmt.Sprintf("the intensity query of site %s", iq.Site)
			siteOf = func(model.Metric) (string, bool) { return iq.Site, true }
		}
		out = append(out, fleetQuery{quantity: quantity, promql: iq.PromQL, optional: true, provides: NeedIntensity, setting: setting,
			read: func(grid fleet.Grid) (seriesSink, func(*fetched)) {
				got, dropped := map[string]fleet.Series{}, 0
				return seriesInto(grid, siteOf, got, &dropped), func(f *fetched) {
					if f.intensity == nil {
						f.intensity = map[string]fleet.Series{}
					}
					for site, s := range got {
						// A site's own expression wins over the shared one's series of it.
						if _, own := f.intensity[site]; !own || iq.Site != "" {
							f.intensity[site] = s
						}
					}
					if dropped > 0 {
						f.notices = append(f.notices, fmt.Sprintf("%d grid intensity series without a %s label were left out.", dropped, c.IntensitySiteLabel))
					}
				}
			}})
	}
	return out
}

// checkIntensity runs the grid intensity queries at end, as the health check's test of the setting: a query
// the engine refuses is a problem (CO2 would quietly fall back to the table), sites without a value now are
// noted with the table's figure taking over.
func (p *Prometheus) checkIntensity(ctx context.Context, e promclient.Engine, end time.Time, details map[string]any) (msg, problems []string) {
	c := p.cfg.Carbon
	live := map[string]float64{}
	for _, iq := range IntensityQueries(c) {
		siteOf := func(m model.Metric) (string, bool) {
			site := string(m[model.LabelName(c.IntensitySiteLabel)])
			return site, site != ""
		}
		what, setting := "the grid intensity query", "carbon.intensityQuery"
		if iq.Site != "" {
			what, setting = fmt.Sprintf("the grid intensity query of %s", iq.Site), fmt.Sprintf("the intensity query of site %s", iq.Site)
			siteOf = func(model.Metric) (string, bool) { return iq.Site, true }
		}
		res, err := promclient.Call(ctx, p.client, what, func(ctx context.Context) (map[string]float64, v1.Warnings, v1.Infos, error) {
			got, dropped := map[string]float64{}, 0
			warnings, infos, err := p.client.StreamQuery(ctx, iq.PromQL, v1.Range{End: end}, e.Params(0, true, false), valuesInto(siteOf, got, &dropped))
			return got, warnings, infos, err
		})
		if err != nil {
			problems = append(problems, userQueryFailure(what, setting, err).Error())
			continue
		}
		maps.Copy(live, res.Value)
	}
	var now, without []string
	for _, s := range c.Sites {
		if v, ok := live[s.Name]; ok {
			now = append(now, fmt.Sprintf("%s %.0f", s.Name, v))
		} else {
			without = append(without, s.Name)
		}
	}
	details["gridIntensityLive"] = now
	switch {
	case len(now) > 0:
		msg = append(msg, fmt.Sprintf("Grid intensity now (gCO2/kWh): %s.", strings.Join(now, ", ")))
	case len(problems) == 0:
		msg = append(msg, "The grid intensity queries answer no series now for any site.")
	}
	if len(without) > 0 && len(problems) == 0 {
		msg = append(msg, fmt.Sprintf("No live grid intensity for %s: the site table applies there.", strings.Join(without, ", ")))
	}
	return msg, problems
}

// userQueryFailure is err in the terms of a user who wrote the PromQL in setting: the engine refusing it is
// their query's fault, not the plugin's.
func userQueryFailure(what, setting string, err error) error {
	var invalid *promclient.InvalidQueryError
	if errors.As(err, &invalid) {
		return backend.DownstreamErrorf("%s is not valid PromQL (%s): correct %s in the data source's carbon settings", what, invalid.Msg, setting)
	}
	return err
}
