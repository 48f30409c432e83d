package source

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/promtest"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

// BenchmarkRecordedVsRawSamples measures what recording rules save a 30-day idle-attribution over 1000 models:
// the samples Prometheus reads (its own stats=all count, totalQueryableSamples) and the time of the fleet read,
// from the raw series and from the recorded ones.
//
// A 30-day panel 1000 points wide reads at a 2592 s step (2640 s, whole minutes, from recorded series), and
// each step reads the samples of its own window once, so the samples of a read are the steps' samples added
// up. The benchmark holds 8 hours of the 1000-model fleet scraped every 30 s (7 million samples; 30 days
// would be 600 million, beyond what promtool imports here in reasonable time) and reads its last 6 hours at
// the 30-day step: the samples per step are those of the 30-day read, whose totals are 30/0.25 = 120 times
// these. Run it alone, it takes minutes:
//
//	go test ./pkg/source -run '^$' -bench RecordedVsRawSamples -benchtime 3x -timeout 60m
//
// Two sets of metric families: dcgm-exporter's default counters (power and energy) with vLLM's token
// counters, and the same with the power limit exported (read per GPU from raw series, per placement and step
// from recorded ones).
func BenchmarkRecordedVsRawSamples(b *testing.B) {
	families := []string{sim.MetricPower, sim.MetricEnergy, sim.MetricPromptTokens, sim.MetricGenerationTokens}
	b.Run("default-families", func(b *testing.B) { benchRecordedVsRaw(b, families) })
	b.Run("with-power-limit", func(b *testing.B) { benchRecordedVsRaw(b, append(families, sim.MetricPowerLimit)) })
}

func benchRecordedVsRaw(b *testing.B, families []string) {
	const (
		nModels = 1000
		scrape  = 30 * time.Second
		step    = 2592 * time.Second // Plan's step for 30 days at 1000 points
	)
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	begin := end.Add(-8 * time.Hour)
	dir := b.TempDir()
	s, err := sim.New(sim.ScaledFleet(nModels, sim.DefaultSeed, begin), sim.DefaultSeed)
	if err != nil {
		b.Fatal(err)
	}
	history := filepath.Join(dir, "fleet.om")
	f, err := os.Create(history)
	if err != nil {
		b.Fatal(err)
	}
	st, err := s.WriteHistory(f, sim.HistoryOptions{Start: begin, End: end, Step: scrape, Metrics: families})
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		b.Fatal(err)
	}
	rawSamples := 0
	for _, n := range st.Samples {
		rawSamples += n
	}
	began := time.Now()
	prom := promtest.Start(b, promtest.Options{Backfill: history, Flags: []string{"--query.timeout=5m"}})
	b.Logf("%d models, %d raw samples at %s, backfilled in %s", nModels, rawSamples, scrape, time.Since(began).Round(time.Second))

	stats := &statsTransport{next: http.DefaultTransport}
	source := func(recordingRules string) *Prometheus {
		cfg, err := models.LoadSettings(backend.DataSourceInstanceSettings{URL: prom.URL, JSONData: []byte("{}")})
		if err != nil {
			b.Fatal(err)
		}
		cfg.ScrapeInterval, cfg.RecordingRules, cfg.TimeoutSeconds = scrape.String(), recordingRules, 300
		p, err := NewPrometheus(cfg, &http.Client{Transport: stats})
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	raw, rec := source("off"), source("auto")

	began = time.Now()
	rules, err := rec.Rules(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	backfillRules(b, rules, prom, begin.Add(10*time.Minute), end)
	b.Logf("recorded series backfilled in %s", time.Since(began).Round(time.Second))

	req := Request{Start: alignDown(end.Add(-6*time.Hour), step), End: alignDown(end, step), Step: step}
	read := func(p *Prometheus) (samples int64, took time.Duration, queries []string) {
		stats.reset()
		began := time.Now()
		f, err := p.Fleet(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		return stats.total(), time.Since(began), f.ExecutedQueries
	}
	b.ResetTimer()
	var rawN, recN int64
	var rawT, recT time.Duration
	for range b.N {
		n, took, _ := read(raw)
		rawN, rawT = n, rawT+took
		n, took, q := read(rec)
		recN, recT = n, recT+took
		if !strings.Contains(strings.Join(q, "\n"), "fleet:gpu_energy_joules:increase1m") {
			b.Fatalf("the recorded read read raw series:\n%s", strings.Join(q, "\n"))
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(rawN), "raw-samples")
	b.ReportMetric(float64(recN), "recorded-samples")
	b.ReportMetric(float64(rawN)/float64(recN), "x-fewer")
	b.ReportMetric(float64(rawT.Milliseconds())/float64(b.N), "raw-ms")
	b.ReportMetric(float64(recT.Milliseconds())/float64(b.N), "recorded-ms")
	b.Logf("samples read per read of 6 hours at the 30-day step: raw %d, recorded %d (%.1fx fewer); per 30 days: raw %.3g, recorded %.3g",
		rawN, recN, float64(rawN)/float64(recN), float64(rawN)*120, float64(recN)*120)
}

// backfillRules evaluates the rules over [from, to] with promtool (which queries the server as its rule
// manager would, a minute apart: Prometheus evaluates rules only going forward) and restarts the server with
// the blocks of the recorded series.
func backfillRules(tb testing.TB, rules RuleFile, prom *promtest.Server, from, to time.Time) {
	tb.Helper()
	dir := tb.TempDir()
	path := filepath.Join(dir, "rules.yml")
	var buf bytes.Buffer
	if err := rules.Write(&buf); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	blocks := filepath.Join(dir, "blocks")
	out, err := exec.Command("promtool", "tsdb", "create-blocks-from", "rules", "--quiet",
		"--start="+from.Format(time.RFC3339), "--end="+to.Format(time.RFC3339),
		"--url="+prom.URL, "--output-dir="+blocks, path).CombinedOutput()
	if err != nil {
		tb.Fatalf("promtool could not evaluate the rules: %v\n%s", err, out)
	}
	entries, err := os.ReadDir(blocks)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Rename(filepath.Join(blocks, e.Name()), filepath.Join(prom.DataDir, e.Name())); err != nil {
			tb.Fatal(err)
		}
	}
	prom.Restart(tb)
}

// statsTransport asks Prometheus for the query stats of every query and adds up the samples they read.
type statsTransport struct {
	next    http.RoundTripper
	mu      sync.Mutex
	samples int64
}

func (s *statsTransport) reset() { s.mu.Lock(); s.samples = 0; s.mu.Unlock() }

func (s *statsTransport) total() int64 { s.mu.Lock(); defer s.mu.Unlock(); return s.samples }

func (s *statsTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasPrefix(r.URL.Path, "/api/v1/query") || r.Body == nil {
		return s.next.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	form.Set("stats", "all")
	enc := form.Encode()
	r = r.Clone(r.Context())
	r.Body, r.ContentLength = io.NopCloser(strings.NewReader(enc)), int64(len(enc))
	resp, err := s.next.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	samples, err := promtest.QueryableSamples(answer)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.samples += samples
	s.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	return resp, nil
}
