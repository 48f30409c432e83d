// Package frames turns the results of the fleet analyses into Grafana data frames: dataplane-typed frames for
// time series and alert conditions, and tables with units and display names in their field config, so panels
// show units without overrides. Field names are the query contract of docs (DESIGN.md): dashboards and alert
// rules depend on them.
package frames

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

// Units, as Grafana unit ids. Ids Grafana does not know are shown as a suffix after the value.
const (
	UnitWatts       = "watt"
	UnitShare       = "percentunit" // a fraction 0..1 shown as a percentage
	UnitJPerToken   = "J/token"
	UnitTokensPerS  = "tok/s"
	UnitGPerH       = "g/h"
	UnitMgPerToken  = "mg/token"
	UnitKgPerDay    = "kg/day"
	UnitCount       = "none"
	dataplaneLatest = 1 // minor version of the dataplane types written here (0.1)
)

var typeVersion = data.FrameTypeVersion{0, dataplaneLatest}

// Context is what a response carries besides its numbers: the engine queries behind it and the caveats a
// reader should see next to them.
type Context struct {
	ExecutedQueryString string
	Notices             []data.Notice
	// CurrencyUnit is the Grafana unit of the money fields (WithCost); "" without prices.
	CurrencyUnit string
}

// NewContext is the context of a response about models whose GPUs are of gpuTypes: the fleet's executed
// queries and notices, and a notice for every one of those GPU types whose idle floor was not measured.
func NewContext(f *fleet.Fleet, floors fleet.IdleFloors, gpuTypes []string) Context {
	c := Context{ExecutedQueryString: strings.Join(f.ExecutedQueries, "\n")}
	for _, n := range f.Notices {
		c.Notices = append(c.Notices, data.Notice{Severity: data.NoticeSeverityWarning, Text: n})
	}
	types := slices.Clone(gpuTypes)
	slices.Sort(types)
	for _, t := range slices.Compact(types) {
		floor := floors.For(t)
		switch {
		case t == "" || floor.Source != fleet.IdleCatalog:
		case !floor.Known:
			c.Notices = append(c.Notices, data.Notice{Severity: data.NoticeSeverityWarning, Text: fmt.Sprintf(
				"GPU type %q is in no GPU catalog: its idle floor is assumed to be %.0f W per GPU. Add it to the GPU types or idle floors in the data source settings.", t, floor.W)})
		default:
			c.Notices = append(c.Notices, data.Notice{Severity: data.NoticeSeverityInfo, Text: fmt.Sprintf(
				"Idle floor of %s is the catalog's %.0f W per GPU: no model on it sat parked (no tokens for %d steps or more) in this window.", t, floor.W, fleet.DefaultParkedMinSteps)})
		}
	}
	return c
}

// WithGaps adds a notice naming the models of atts whose data has gaps.
func (c Context) WithGaps(atts []fleet.Attribution) Context {
	var gaps []string
	for _, a := range atts {
		if a.GapSteps > 0 {
			gaps = append(gaps, fmt.Sprintf("%s (%d)", a.Model, a.GapSteps))
		}
	}
	if len(gaps) > 0 {
		c.Notices = append(slices.Clip(c.Notices), data.Notice{Severity: data.NoticeSeverityWarning, Text: fmt.Sprintf(
			"Steps without power or token data inside the window (scrape gaps), left out of the rates: %s.", strings.Join(gaps, ", "))})
	}
	return c
}

// WithMarginalNoise says which models' marginal J/token is left empty because their productive power is
// within what their idle floor is known to.
func (c Context) WithMarginalNoise(atts []fleet.Attribution) Context {
	var noisy []string
	for _, a := range atts {
		if a.MarginalWithinNoise {
			noisy = append(noisy, fmt.Sprintf("%s (%.1f W above %.0f GPUs x %.0f W)", a.Model, a.ProductiveW, a.GPUs, a.IdleFloorW))
		}
	}
	if len(noisy) > 0 {
		c.Notices = append(slices.Clip(c.Notices), data.Notice{Severity: data.NoticeSeverityInfo, Text: fmt.Sprintf(
			"Marginal J/token left empty where the productive power is within the spread of the measured idle floor, so the figure would be noise: %s.", strings.Join(noisy, ", "))})
	}
	return c
}

// Apply puts the context on the first frame, where Grafana's query inspector and panel header look.
func (c Context) Apply(frames data.Frames) data.Frames {
	if len(frames) == 0 {
		return frames
	}
	m := frames[0].Meta
	if m == nil {
		m = &data.FrameMeta{}
		frames[0].SetMeta(m)
	}
	m.ExecutedQueryString = c.ExecutedQueryString
	m.Notices = append(m.Notices, c.Notices...)
	return frames
}

// nullable is a nullable float field whose values point into vals, null where a value is NaN. vals must not
// change after. (Set stores the pointers as they are; data.NewField would copy the slice of them once more.)
func nullable(name string, labels data.Labels, vals []float64) *data.Field {
	f := data.NewFieldFromFieldType(data.FieldTypeNullableFloat64, len(vals))
	f.Name, f.Labels = name, labels
	for i := range vals {
		if !math.IsNaN(vals[i]) {
			f.Set(i, &vals[i])
		}
	}
	return f
}

// number is a nullable float field of a table column: values picked from each row.
func number[T any](name string, rows []T, value func(T) float64, cfg *data.FieldConfig) *data.Field {
	vals := make([]float64, len(rows))
	for i, r := range rows {
		vals[i] = value(r)
	}
	return nullable(name, nil, vals).SetConfig(cfg)
}

// text is a string field of a table column.
func text[T any](name string, rows []T, value func(T) string, cfg *data.FieldConfig) *data.Field {
	vals := make([]string, len(rows))
	for i, r := range rows {
		vals[i] = value(r)
	}
	return data.NewField(name, nil, vals).SetConfig(cfg)
}

func config(displayName, unit string) *data.FieldConfig {
	return &data.FieldConfig{DisplayName: displayName, Unit: unit}
}

// hiddenFromViz keeps a field out of the plot (the XY chart would draw every numeric field) but in the tooltip.
func hiddenFromViz(cfg *data.FieldConfig) *data.FieldConfig {
	cfg.Custom = map[string]any{"hideFrom": map[string]bool{"viz": true, "legend": true, "tooltip": false}}
	return cfg
}

func tableMeta() *data.FrameMeta {
	return &data.FrameMeta{PreferredVisualization: data.VisTypeTable}
}

// modelLabels are the labels of a model's series and alert instances.
func modelLabels(model, gpuType string) data.Labels {
	return data.Labels{"model": model, "gpu_type": gpuType}
}
