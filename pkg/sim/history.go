package sim

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultInstance is the instance label of history samples: the address the demo stack's Prometheus scrapes
// `fleetsim serve` at, so history and live scrapes form the same series.
const DefaultInstance = "fleetsim:9400"

// HistoryOptions choose the samples of a history file.
type HistoryOptions struct {
	// Samples are at End, End-Step, ... down to Start (and after the epoch).
	Start, End time.Time
	Step       time.Duration
	Naming     Naming
	// Instance is the instance label Prometheus would have attached; DefaultInstance when empty.
	Instance string
	// Metrics, when set, limits the file to these metrics (standard names, e.g. MetricPower): a smaller file
	// for benchmarks, which are bound by the disk (100 models x 7 days at 60 s is ~4.4 GB with all of them).
	Metrics []string
}

// HistoryStats count what a history file holds, by emitted metric name.
type HistoryStats struct {
	Samples map[string]int
	Series  map[string]int
	// First and Last are the times of the earliest and latest sample.
	First, Last time.Time
}

// WriteHistory writes the fleet's samples in OpenMetrics text for `promtool tsdb create-blocks-from
// openmetrics`: families one after the other, each series' samples together in ascending time (promtool
// silently drops out-of-order samples), ending with # EOF. Scrape gaps have no samples; a GPU's series
// changes labels when another pod (or none) holds it, as dcgm-exporter's pod mapping does.
func (s *Sim) WriteHistory(w io.Writer, o HistoryOptions) (HistoryStats, error) {
	st := HistoryStats{Samples: map[string]int{}, Series: map[string]int{}}
	bw := bufio.NewWriterSize(w, 1<<20)
	var line []byte
	err := s.visitHistory(o, func(name string, f family) { writeFamilyHeader(bw, name, f) },
		func(name string, labels []Label, samples func(fn func(tMS int64, v float64))) {
			prefix := seriesPrefix(name, labels)
			n := 0
			samples(func(t int64, v float64) {
				line = append(line[:0], prefix...)
				line = strconv.AppendFloat(line, v, 'f', -1, 64)
				line = append(line, ' ')
				line = appendTimestamp(line, t)
				line = append(line, '\n')
				bw.Write(line)
				n++
				st.note(t)
			})
			if n > 0 {
				st.Samples[name] += n
				st.Series[name]++
			}
		})
	if err != nil {
		return HistoryStats{}, err
	}
	bw.WriteString("# EOF\n")
	return st, bw.Flush()
}

// HistorySeries is one series of a history as Prometheus would store it.
type HistorySeries struct {
	// Metric is the emitted metric name (a histogram's series are its _bucket, with le, _sum and _count);
	// Labels are the others, job and instance included.
	Metric string
	Labels []Label
	// Samples calls fn with each sample (Unix ms, value) in ascending time; a series may have none.
	Samples func(fn func(tMS int64, v float64))
}

// EachSeries calls fn with every series of the history WriteHistory writes, in the same order and with the same
// samples, for writers of TSDB blocks that need no text. A GPU's series repeats as its holder changes.
func (s *Sim) EachSeries(o HistoryOptions, fn func(HistorySeries)) error {
	return s.visitHistory(o, func(string, family) {}, func(name string, labels []Label, samples func(func(int64, float64))) {
		fn(HistorySeries{Metric: name, Labels: labels, Samples: samples})
	})
}

// visitHistory walks the history's families in order (family is told each one), and their series with the
// labels of each holder (series is told each one, with its samples).
func (s *Sim) visitHistory(o HistoryOptions, family func(name string, f family),
	series func(name string, labels []Label, samples func(fn func(tMS int64, v float64)))) error {
	stepMS := o.Step.Milliseconds()
	if stepMS <= 0 || !o.End.After(o.Start) {
		return fmt.Errorf("history needs a positive step and an end after the start (got step %s, %s to %s)", o.Step, o.Start, o.End)
	}
	if o.Instance == "" {
		o.Instance = DefaultInstance
	}
	endMS := o.End.UnixMilli()
	firstMS := endMS - (endMS-o.Start.UnixMilli())/stepMS*stepMS
	type one struct {
		idx    int
		name   string
		labels []Label
		spans  []holding
	}
	for _, f := range families {
		if !o.Naming.wants(f) || (len(o.Metrics) > 0 && !slices.Contains(o.Metrics, f.name)) {
			continue
		}
		var all []one
		var names []string
		add := func(idx int, labels []Label, spans []holding) {
			if name, ok := s.seriesName(o.Naming, f, idx); ok {
				all = append(all, one{idx, name, labels, spans})
				if !slices.Contains(names, name) {
					names = append(names, name)
				}
			}
		}
		if f.gpu {
			for gi := range s.gpus {
				for _, group := range holdersInOrder(s.gpus[gi].timeline) {
					add(gi, s.gpuLabels(o.Naming, gi, group[0].pod), group)
				}
			}
		} else {
			for pi := range s.pods {
				add(pi, s.podLabels(o.Naming, f, pi), []holding{{k0: s.pods[pi].k0, k1: s.pods[pi].k1, pod: pi}})
			}
		}
		job := JobVLLM
		if f.gpu {
			job = JobDCGM
		}
		// A family whose name differs between series (vLLM versions) is written as one family per name.
		for _, name := range names {
			family(name, f)
			for _, se := range all {
				if se.name != name {
					continue
				}
				for _, pt := range f.parts() {
					labels := append(slices.Clone(se.labels), pt.labels...)
					labels = append(labels, Label{"job", job}, Label{"instance", o.Instance})
					series(name+pt.suffix, labels, func(fn func(tMS int64, v float64)) {
						for _, sp := range se.spans {
							s.sampleTimes(firstMS, endMS, stepMS, sp.k0, sp.k1, func(t int64) { fn(t, pt.value(s, se.idx, t)) })
						}
					})
				}
			}
		}
	}
	s.visitGrid(o, firstMS, endMS, stepMS, family, series)
	return nil
}

func (st *HistoryStats) note(tMS int64) {
	t := time.UnixMilli(tMS).UTC()
	if st.First.IsZero() || t.Before(st.First) {
		st.First = t
	}
	if t.After(st.Last) {
		st.Last = t
	}
}

// holdersInOrder groups a GPU's timeline by holder, in order of first appearance, so each label set (the
// unheld one can recur) is written as one run of samples.
func holdersInOrder(timeline []holding) [][]holding {
	var groups [][]holding
	at := map[int]int{}
	for _, h := range timeline {
		i, ok := at[h.pod]
		if !ok {
			i = len(groups)
			at[h.pod] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], h)
	}
	return groups
}

// sampleTimes calls fn for each sample time first + j*step <= last within ticks [k0, k1), that is in
// (k0*tick, k1*tick], after the epoch and outside scrape gaps.
func (s *Sim) sampleTimes(first, last, step, k0, k1 int64, fn func(tMS int64)) {
	lo := max(first, k0*s.tickMS+1, s.e0*s.tickMS+1)
	hi := last
	if k1 < forever {
		hi = min(hi, k1*s.tickMS)
	}
	if lo > hi {
		return
	}
	for t := first + (lo-first+step-1)/step*step; t <= hi; t += step {
		if !s.inGap(t) {
			fn(t)
		}
	}
}

func writeFamilyHeader(w *bufio.Writer, name string, f family) {
	typ, famName := f.kind.String(), name
	if f.kind == counter {
		famName = strings.TrimSuffix(name, "_total")
	}
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", famName, f.help, famName, typ)
}

// seriesPrefix is `name{labels} `, the part of a sample line that does not change.
func seriesPrefix(name string, labels []Label) []byte {
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, l := range labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.Name)
		b.WriteString(`="`)
		b.WriteString(escapeLabelValue(l.Value))
		b.WriteByte('"')
	}
	b.WriteString("} ")
	return []byte(b.String())
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabelValue(v string) string { return labelEscaper.Replace(v) }

// appendTimestamp appends t (Unix ms) in seconds, as OpenMetrics wants, with milliseconds only when needed.
func appendTimestamp(b []byte, tMS int64) []byte {
	b = strconv.AppendInt(b, tMS/1000, 10)
	if ms := tMS % 1000; ms != 0 {
		b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	}
	return b
}
