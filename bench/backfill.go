package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

// backfilled is what a backfill wrote.
type backfilled struct {
	Series, Samples int
	Took            time.Duration
}

// commitEvery bounds the samples an appender holds before it commits them.
const commitEvery = 200_000

// writeBlocks writes the fleet's history over [start, end] at one sample per spacing into dataDir as one TSDB
// block, with Prometheus' own tsdb package: promtool's text import would need the history as text first
// (about 20 GB for 100 models over 30 days at 60 s). Day by day, so the simulator computes each day of
// physics once and every series is appended in ascending time.
func writeBlocks(s *sim.Sim, dataDir string, start, end time.Time, spacing time.Duration) (backfilled, error) {
	began := time.Now()
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return backfilled{}, err
	}
	// The head must accept a day's samples of every series after the first series reached the day's end.
	blockMS := (end.Sub(start) + 48*time.Hour).Milliseconds()
	w, err := tsdb.NewBlockWriter(slog.New(slog.DiscardHandler), dataDir, blockMS)
	if err != nil {
		return backfilled{}, err
	}
	defer w.Close()
	ctx := context.Background()
	refs := map[string]storage.SeriesRef{}
	var out backfilled
	app, pending := w.Appender(ctx), 0
	var appendErr error
	for day := start; day.Before(end); day = day.Add(24 * time.Hour) {
		// (day, day+24h]: the sample at a day's end belongs to that day only.
		o := sim.HistoryOptions{Start: day.Add(time.Millisecond), End: minTime(day.Add(24*time.Hour), end), Step: spacing, Metrics: benchMetrics}
		err := s.EachSeries(o, func(hs sim.HistorySeries) {
			key := seriesKey(hs)
			ref, seen := refs[key]
			var lset labels.Labels
			if !seen {
				lset = labelsOf(hs)
			}
			hs.Samples(func(tMS int64, v float64) {
				if appendErr != nil {
					return
				}
				if ref, appendErr = app.Append(ref, lset, tMS, v); appendErr != nil {
					return
				}
				out.Samples++
				if pending++; pending >= commitEvery {
					appendErr = app.Commit()
					app, pending = w.Appender(ctx), 0
				}
			})
			if ref != 0 && !seen {
				refs[key] = ref
			}
		})
		if err == nil {
			err = appendErr
		}
		if err != nil {
			_ = app.Rollback()
			return backfilled{}, fmt.Errorf("writing the history of %s: %w", day.Format(time.DateOnly), err)
		}
	}
	if err := app.Commit(); err != nil {
		return backfilled{}, err
	}
	if _, err := w.Flush(ctx); err != nil {
		return backfilled{}, fmt.Errorf("flushing the block: %w", err)
	}
	out.Series, out.Took = len(refs), time.Since(began)
	return out, nil
}

// benchMetrics are the families the plugin reads; GPU utilisation and running requests are left out of the
// benchmark's Prometheus (they would only add index entries no query touches).
var benchMetrics = []string{sim.MetricPower, sim.MetricEnergy, sim.MetricPowerLimit, sim.MetricPromptTokens, sim.MetricGenerationTokens}

func seriesKey(hs sim.HistorySeries) string {
	var b strings.Builder
	b.WriteString(hs.Metric)
	for _, l := range hs.Labels {
		b.WriteByte(0xff)
		b.WriteString(l.Name)
		b.WriteByte('=')
		b.WriteString(l.Value)
	}
	return b.String()
}

func labelsOf(hs sim.HistorySeries) labels.Labels {
	b := labels.NewScratchBuilder(len(hs.Labels) + 1)
	b.Add(model.MetricNameLabel, hs.Metric)
	for _, l := range hs.Labels {
		b.Add(l.Name, l.Value)
	}
	b.Sort()
	return b.Labels()
}

// hasBlocks reports whether dataDir already holds a block (a previous run's backfill, kept with -data).
func hasBlocks(dataDir string) bool {
	metas, _ := filepath.Glob(filepath.Join(dataDir, "*", "meta.json"))
	return len(metas) > 0
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
