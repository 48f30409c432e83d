package frames

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

// Annotations is one frame of events with the fields Grafana turns into annotations (time, timeEnd, title, text,
// tags split on commas) plus kind and model for tables. An event with timeEnd after time is a region.
func Annotations(events []fleet.Event, c Context) data.Frames {
	n := len(events)
	start, end := make([]time.Time, n), make([]time.Time, n)
	title, text, tags, kind, model := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, e := range events {
		start[i], end[i], kind[i], model[i] = e.Start, e.End, string(e.Kind), e.Model
		title[i], text[i] = describe(e)
		tags[i] = string(e.Kind) + "," + e.Model
	}
	return c.Apply(data.Frames{data.NewFrame("annotations",
		data.NewField("time", nil, start),
		data.NewField("timeEnd", nil, end),
		data.NewField("title", nil, title),
		data.NewField("text", nil, text),
		data.NewField("tags", nil, tags),
		data.NewField("kind", nil, kind),
		data.NewField("model", nil, model),
	).SetMeta(&data.FrameMeta{PreferredVisualization: data.VisTypeTable})})
}

// describe is an event's title and text.
func describe(e fleet.Event) (string, string) {
	switch e.Kind {
	case fleet.EventIdle:
		so := ""
		if e.Ongoing {
			so = " so far"
		}
		return e.Model + " idle", fmt.Sprintf("%s idle for %s%s (%s GPUs, %s)", e.Model, duration(e.Duration), so, count(e.GPUs), watts(e.PowerW))
	case fleet.EventRestart:
		title := e.Model + " restarted onto other GPUs"
		if slices.EqualFunc(e.From, e.To, samePlace) {
			title = e.Model + " changed its GPU count"
		}
		return title, fmt.Sprintf("%s moved from %s to %s", e.Model, held(e.From), held(e.To))
	case fleet.EventVerdict:
		if v := e.Verdict; v != nil {
			gpu := fleet.ShortGPUName(v.GPUType)
			return fmt.Sprintf("%s right-sizing: %d → %d %s", e.Model, v.From, v.To, gpu),
				fmt.Sprintf("%s holds %d %s; right-sizing now recommends %d (was %d): %s", e.Model, v.Held, gpu, v.To, v.From, v.Reason)
		}
	}
	return e.Model, string(e.Kind)
}

func samePlace(a, b fleet.Holding) bool { return a.Host == b.Host && a.GPUType == b.GPUType }

// held names what a model held: "2 x NVIDIA RTX A6000 on node-3.sdsc.optiputer.net, ...".
func held(hs []fleet.Holding) string {
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = fmt.Sprintf("%s x %s on %s", count(h.GPUs), h.GPUType, h.Host)
	}
	return strings.Join(parts, ", ")
}

func count(v float64) string {
	if math.IsNaN(v) {
		return "?"
	}
	return fmt.Sprintf("%.0f", v)
}

func watts(w float64) string {
	if math.IsNaN(w) {
		return "power unknown"
	}
	return fmt.Sprintf("%.0f W", w)
}

// duration is d to the minute without trailing zero units: "3h10m", "2h", "45m", "30s" below a minute.
func duration(d time.Duration) string {
	if d < time.Minute {
		return d.String()
	}
	s := d.Round(time.Minute).String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
