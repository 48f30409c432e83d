package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/promtest"
)

// promQuery is one query as the plugin ran it: a range query over [Start, End] at Step, or an instant query at
// End when Step is 0.
type promQuery struct {
	Name   string
	PromQL string
	Start  time.Time
	End    time.Time
	Step   time.Duration
}

var (
	rangeHeader   = regexp.MustCompile(`^# (\S+): range query from (\S+) to (\S+), step (\S+)$`)
	instantHeader = regexp.MustCompile(`^# (\S+): instant query at (\S+)$`)
)

// parseExecuted reads the executed-query string the plugin puts on its frames: a "# name: range query from
// ... to ..., step ..." or "# name: instant query at ..." line before each query.
func parseExecuted(executed string) ([]promQuery, error) {
	var out []promQuery
	for _, line := range strings.Split(executed, "\n") {
		if line == "" {
			continue
		}
		var q promQuery
		var err error
		if m := rangeHeader.FindStringSubmatch(line); m != nil {
			q.Name = m[1]
			if q.Start, err = time.Parse(time.RFC3339, m[2]); err == nil {
				if q.End, err = time.Parse(time.RFC3339, m[3]); err == nil {
					q.Step, err = time.ParseDuration(m[4])
				}
			}
		} else if m := instantHeader.FindStringSubmatch(line); m != nil {
			q.Name = m[1]
			q.End, err = time.Parse(time.RFC3339, m[2])
		} else if len(out) > 0 && out[len(out)-1].PromQL == "" {
			out[len(out)-1].PromQL = line
			continue
		} else {
			return nil, fmt.Errorf("unexpected line in the executed queries: %q", line)
		}
		if err != nil {
			return nil, fmt.Errorf("reading %q: %w", line, err)
		}
		out = append(out, q)
	}
	for _, q := range out {
		if q.PromQL == "" {
			return nil, fmt.Errorf("the executed %s query has no PromQL", q.Name)
		}
	}
	return out, nil
}

// promAPI calls Prometheus' query endpoints the way the plugin does: POSTed forms, gzip accepted (Go's
// transport asks for it), the answer read to its end.
type promAPI struct {
	url     string
	client  *http.Client
	timeout time.Duration
	// stored are the samples counted per family and window (samplesStored), read the samples each query
	// read (samplesRead): query types that run the same queries do not run them again.
	stored map[storedKey]int64
	read   map[promQuery]int64
}

type storedKey struct {
	family     string
	start, end time.Time
}

// run sends one query and reads its answer, with the extra form values (e.g. stats=all) given.
func (a promAPI) run(ctx context.Context, q promQuery, extra url.Values) ([]byte, error) {
	form := url.Values{"query": {q.PromQL}, "timeout": {strconv.FormatFloat(a.timeout.Seconds(), 'f', -1, 64) + "s"}}
	path := "/api/v1/query"
	if q.Step > 0 {
		path = "/api/v1/query_range"
		form.Set("start", unixSeconds(q.Start))
		form.Set("end", unixSeconds(q.End))
		form.Set("step", strconv.FormatFloat(q.Step.Seconds(), 'f', -1, 64))
	} else {
		form.Set("time", unixSeconds(q.End))
	}
	for k, v := range extra {
		form[k] = v
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the %s query answered %d: %.300s", q.Name, resp.StatusCode, body)
	}
	return body, nil
}

// runAll runs the queries at most limit at a time, as the plugin does, and returns when every answer is read.
func (a promAPI) runAll(ctx context.Context, qs []promQuery, limit int) error {
	sem := make(chan struct{}, limit)
	errs := make([]error, len(qs))
	var wg sync.WaitGroup
	for i, q := range qs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			_, errs[i] = a.run(ctx, q, nil)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// samplesRead is what Prometheus reports it loaded to answer the queries (stats=all): the cost the engine pays
// whoever asks. Each query's time and samples go to the log.
func (a promAPI) samplesRead(ctx context.Context, qs []promQuery) (int64, error) {
	var total int64
	for _, q := range qs {
		if n, ok := a.read[q]; ok {
			total += n
			continue
		}
		began := time.Now()
		body, err := a.run(ctx, q, url.Values{"stats": {"all"}})
		if err != nil {
			return 0, err
		}
		took := time.Since(began)
		samples, err := promtest.QueryableSamples(body)
		if err != nil {
			return 0, fmt.Errorf("reading the stats of the %s query: %w", q.Name, err)
		}
		a.read[q] = samples
		total += samples
		logf("  %s: %s, %d samples, %d bytes: %s", q.Name, took.Round(time.Millisecond), samples, len(body), q.PromQL)
	}
	return total, nil
}

// samplesStored is the number of raw samples the queries' window holds in the families they read: what a
// read that takes every sample once would load. The window is the grid's, (start-step, end]; the families are
// the simulated ones the PromQL names.
func (a promAPI) samplesStored(ctx context.Context, qs []promQuery) (int64, error) {
	i := slices.IndexFunc(qs, func(q promQuery) bool { return q.Step > 0 })
	if i < 0 {
		return 0, fmt.Errorf("no range query gives the window")
	}
	start, end := qs[i].Start.Add(-qs[i].Step), qs[i].End
	var total int64
	for _, family := range benchMetrics {
		if !slices.ContainsFunc(qs, func(q promQuery) bool { return strings.Contains(q.PromQL, family) }) {
			continue
		}
		k := storedKey{family, start, end}
		n, ok := a.stored[k]
		if !ok {
			// A millisecond short: the range is closed at its start in Prometheus 2.
			count := promQuery{Name: "stored " + family, End: end,
				PromQL: fmt.Sprintf("sum(count_over_time(%s[%dms]))", family, end.Sub(start).Milliseconds()-1)}
			body, err := a.run(ctx, count, nil)
			if err != nil {
				return 0, err
			}
			if n, err = instantScalar(body); err != nil {
				return 0, fmt.Errorf("counting the samples of %s: %w", family, err)
			}
			a.stored[k] = n
			logf("  %s holds %d samples in (%s, %s]", family, n, start.Format(time.RFC3339), end.Format(time.RFC3339))
		}
		total += n
	}
	return total, nil
}

// instantScalar is the one value of an instant query's vector answer (0 when it is empty).
func instantScalar(body []byte) (int64, error) {
	var ans struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return 0, err
	}
	if len(ans.Data.Result) == 0 {
		return 0, nil
	}
	s, _ := ans.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return int64(v), err
}

func unixSeconds(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}

// countingProxy stands between its clients and Prometheus and counts the bytes of the answers as they travel
// (compressed where the client asked for gzip, as the plugin does).
type countingProxy struct {
	URL   string
	bytes atomic.Int64
	srv   *http.Server
}

func newCountingProxy(target string) (*countingProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	p := &countingProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(r *http.Response) error {
		r.Body = &countingBody{ReadCloser: r.Body, n: &p.bytes}
		return nil
	}
	l, err := listenLocal()
	if err != nil {
		return nil, err
	}
	p.URL = "http://" + l.Addr().String()
	p.srv = &http.Server{Handler: rp}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

// take is the bytes counted since the last take.
func (p *countingProxy) take() int64 { return p.bytes.Swap(0) }

func (p *countingProxy) Close() error { return p.srv.Close() }

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}
