package source

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/promclient"
)

// intervalProbe is the span over which the scrape intervals are counted: long enough that the count of one
// series' samples gives its interval to within a percent at 2 minutes, short enough to read little.
const intervalProbe = time.Hour

// ScrapeIntervals are the scrape intervals found in the data for the GPU and the token families; 0 where a
// family had no series in the probe's span.
type ScrapeIntervals struct {
	GPU, Tokens time.Duration
}

// scrapeIntervals reads the median interval between samples of the GPU power and token series in the hour
// that ends at each family's newest sample at or before at: a half-open window of k intervals holds exactly k
// samples of any series scraped regularly through it, whatever its scrape offset, so the span over a series'
// sample count is its interval. The median across series ignores series that started or ended within the
// hour. Two instant queries: the newest sample of each family, then the count in the hour before it.
func (p *Prometheus) scrapeIntervals(ctx context.Context, s schema, params url.Values, at time.Time) (promclient.Result[ScrapeIntervals], error) {
	families := []struct{ name, metric string }{{"gpu", s.m.PowerMetric}, {"tokens", s.m.GenerationTokensMetric}}
	byFamily := func(probe func(family, metric string) string) string {
		var qs []string
		for _, f := range families {
			if q := probe(f.name, f.metric); q != "" {
				qs = append(qs, fmt.Sprintf(`label_replace(%s, "family", "%s", "", "")`, q, f.name))
			}
		}
		return strings.Join(qs, " or ")
	}
	instant := func(ctx context.Context, q string) (map[string]float64, v1.Warnings, v1.Infos, error) {
		out, dropped := map[string]float64{}, 0
		family := func(m model.Metric) (string, bool) { return string(m["family"]), true }
		warnings, infos, err := p.client.StreamQuery(ctx, q, v1.Range{End: at}, params, valuesInto(family, out, &dropped))
		return out, warnings, infos, err
	}
	newest, err := promclient.Call(ctx, p.client, "the lookup of the newest samples", func(ctx context.Context) (map[string]float64, v1.Warnings, v1.Infos, error) {
		return instant(ctx, byFamily(func(_, metric string) string { return fmt.Sprintf("max(timestamp(%s))", s.selector(metric)) }))
	})
	if err != nil || len(newest.Value) == 0 {
		return promclient.Result[ScrapeIntervals]{Notices: newest.Notices}, err
	}
	counts, err := promclient.Call(ctx, p.client, "the lookup of the scrape intervals", func(ctx context.Context) (map[string]float64, v1.Warnings, v1.Infos, error) {
		return instant(ctx, byFamily(func(family, metric string) string {
			last, ok := newest.Value[family]
			if !ok {
				return ""
			}
			return fmt.Sprintf("quantile(0.5, count_over_time(%s[%s] @ %s))", s.selector(metric), promDuration(gaugeRange(intervalProbe)), strconv.FormatFloat(last, 'f', 3, 64))
		}))
	})
	out := promclient.Result[ScrapeIntervals]{Value: ScrapeIntervals{GPU: intervalOf(counts.Value["gpu"]), Tokens: intervalOf(counts.Value["tokens"])}}
	out.Notices = append(newest.Notices, counts.Notices...)
	return out, err
}

// intervalOf is the interval of a series with n samples in the probe's span, to the millisecond; 0 for fewer
// than two samples, which tell nothing.
func intervalOf(n float64) time.Duration {
	if !(n >= 2) {
		return 0
	}
	return time.Duration(math.Round(intervalProbe.Seconds()/n*1000)) * time.Millisecond
}

// or is d, or fallback where d is unknown.
func (d ScrapeIntervals) or(fallback time.Duration) ScrapeIntervals {
	if d.GPU <= 0 {
		d.GPU = fallback
	}
	if d.Tokens <= 0 {
		d.Tokens = fallback
	}
	return d
}
