package sim_test

import (
	"bufio"
	"bytes"
	"io"
	"math"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

// The window most tests look at: a week from the default fleet's epoch, holding its restart and gap.
var (
	testEpoch = time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC)
	testEnd   = testEpoch.Add(7 * 24 * time.Hour)
)

// defaultSim is the default fleet from testEpoch, with or without its mess. Tests share the two fleets (a Sim
// is safe for concurrent use and caches its physics), so each day of physics is computed once per package.
func defaultSim(t testing.TB, mess bool) *sim.Sim {
	t.Helper()
	s, err := sharedSims[mess]()
	require.NoError(t, err)
	return s
}

var sharedSims = map[bool]func() (*sim.Sim, error){
	false: sync.OnceValues(func() (*sim.Sim, error) { return sim.New(sim.DefaultFleet(testEpoch, false), sim.DefaultSeed) }),
	true:  sync.OnceValues(func() (*sim.Sim, error) { return sim.New(sim.DefaultFleet(testEpoch, true), sim.DefaultSeed) }),
}

// weekTruth is the truth of the default fleet (mess included) over the test week at 60 s steps, computed once.
func weekTruth(t testing.TB) sim.Truth {
	t.Helper()
	tr, err := sharedWeekTruth()
	require.NoError(t, err)
	return tr
}

var sharedWeekTruth = sync.OnceValues(func() (sim.Truth, error) {
	s, err := sharedSims[true]()
	if err != nil {
		return sim.Truth{}, err
	}
	return s.Truth(testEpoch, testEnd, time.Minute), nil
})

// sample is one parsed sample; labels exclude job and instance, which only Prometheus attaches.
type sample struct {
	series string // the text of the series in a history file
	name   string
	labels map[string]string
	value  float64
	tMS    int64
}

func (s sample) key() string {
	names := make([]string, 0, len(s.labels))
	for n := range s.labels {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(s.name)
	for _, n := range names {
		b.WriteString("," + n + "=" + s.labels[n])
	}
	return b.String()
}

// parseHistory reads a history file line by line (the writer never escapes anything in the default fleet).
func parseHistory(t testing.TB, r io.Reader) (samples []sample, comments []string) {
	t.Helper()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			comments = append(comments, line)
			continue
		}
		open, closing := strings.IndexByte(line, '{'), strings.LastIndexByte(line, '}')
		require.Positive(t, open, line)
		smp := sample{series: line[:closing], name: line[:open], labels: map[string]string{}}
		for _, pair := range strings.Split(line[open+1:closing], `",`) {
			n, v, ok := strings.Cut(pair, `="`)
			require.True(t, ok, line)
			if n != "job" && n != "instance" {
				smp.labels[n] = strings.TrimSuffix(v, `"`)
			}
		}
		fields := strings.Fields(line[closing+1:])
		require.Len(t, fields, 2, line)
		var err error
		smp.value, err = strconv.ParseFloat(fields[0], 64)
		require.NoError(t, err)
		ts, err := strconv.ParseFloat(fields[1], 64)
		require.NoError(t, err)
		smp.tMS = int64(ts*1000 + 0.5)
		samples = append(samples, smp)
	}
	require.NoError(t, sc.Err())
	return samples, comments
}

// history writes the fleet's history and parses it back.
func history(t testing.TB, s *sim.Sim, o sim.HistoryOptions) ([]sample, []string, sim.HistoryStats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := s.WriteHistory(&buf, o)
	require.NoError(t, err)
	samples, comments := parseHistory(t, &buf)
	return samples, comments, st
}

// scrape reads both live exporters at time at.
func scrape(t testing.TB, s *sim.Sim, n sim.Naming, at time.Time) []sample {
	t.Helper()
	srv := httptest.NewServer(s.Handler(n, func() time.Time { return at }))
	defer srv.Close()
	var out []sample
	for _, path := range []string{sim.PathDCGM, sim.PathVLLM, sim.PathGrid} {
		resp, err := srv.Client().Get(srv.URL + path)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, 200, resp.StatusCode, string(body))
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
		require.NoError(t, err)
		for name, f := range fams {
			for _, m := range f.Metric {
				smp := sample{name: name, labels: map[string]string{}, tMS: at.UnixMilli()}
				for _, l := range m.Label {
					smp.labels[l.GetName()] = l.GetValue()
				}
				switch {
				case m.Gauge != nil:
					smp.value = m.Gauge.GetValue()
				case m.Counter != nil:
					smp.value = m.Counter.GetValue()
				case m.Histogram != nil:
					out = append(out, histogramSamples(smp, m.Histogram)...)
					continue
				}
				out = append(out, smp)
			}
		}
	}
	return out
}

// histogramSamples flattens a scraped histogram into the series a history file holds.
func histogramSamples(base sample, h *dto.Histogram) []sample {
	with := func(suffix string, v float64, le string) sample {
		smp := sample{name: base.name + suffix, labels: map[string]string{}, tMS: base.tMS, value: v}
		for n, v := range base.labels {
			smp.labels[n] = v
		}
		if le != "" {
			smp.labels["le"] = le
		}
		return smp
	}
	var out []sample
	for _, b := range h.Bucket {
		if !math.IsInf(b.GetUpperBound(), 1) {
			out = append(out, with("_bucket", float64(b.GetCumulativeCount()), strconv.FormatFloat(b.GetUpperBound(), 'f', -1, 64)))
		}
	}
	return append(out, with("_bucket", float64(h.GetSampleCount()), "+Inf"), with("_sum", h.GetSampleSum(), ""),
		with("_count", float64(h.GetSampleCount()), ""))
}
