package source

import (
	"fmt"
	"time"
)

const (
	// MaxPointsPerSeries is Prometheus' limit on (end-start)/step of a range query.
	MaxPointsPerSeries = 11000
	// MaxSpan bounds the window of one query, so a mistyped range cannot ask the engine for a decade.
	MaxSpan = 2 * 366 * 24 * time.Hour
)

// Plan turns a panel's time range, interval and max data points into a Request on an aligned grid: the step is
// the coarsest of the panel's interval, the span over max data points, the scrape interval and what keeps the
// series within MaxPointsPerSeries, in whole seconds; start and end are multiples of the step, so repeated
// refreshes ask Prometheus for the same range and hit its cache.
func Plan(from, to time.Time, interval time.Duration, maxDataPoints int64, scrape time.Duration) (Request, error) {
	span := to.Sub(from)
	if span <= 0 {
		return Request{}, fmt.Errorf("the time range is empty or inverted (from %s to %s)", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	if span > MaxSpan {
		return Request{}, fmt.Errorf("the time range covers %.0f days; at most %.0f days are supported", span.Hours()/24, MaxSpan.Hours()/24)
	}
	step := max(interval, scrape, time.Second)
	if maxDataPoints > 0 {
		step = max(step, span/time.Duration(maxDataPoints))
	}
	// One point fewer than the limit: the aligned grid may gain a step at the start.
	step = max(step, span/(MaxPointsPerSeries-1))
	// Up to whole seconds: never more points than the panel asked for.
	step = (step + time.Second - 1).Truncate(time.Second)
	for span/step >= MaxPointsPerSeries-1 {
		step += time.Second
	}
	start, end := alignDown(from, step), alignDown(to, step)
	if end.Before(start) {
		end = start
	}
	return Request{Start: start, End: end, Step: step}, nil
}

// alignDown is the last multiple of step since the Unix epoch at or before t: the alignment Prometheus'
// query frontends cache results on (time.Truncate counts from year 1, which differs for steps like 2592s).
func alignDown(t time.Time, step time.Duration) time.Time {
	s := int64(step / time.Second)
	u := t.Unix()
	return time.Unix(u-((u%s)+s)%s, 0).UTC()
}
