package source

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/promclient"
)

// discoveryTTL is how long what the source learned about the engine's data is reused: the mapping's optional
// families and the labelling change with exporter upgrades, not between dashboard refreshes.
const discoveryTTL = 5 * time.Minute

// discovered is what the queries depend on beyond the settings.
type discovered struct {
	join      join
	hasEnergy bool
	hasLimit  bool
	engine    promclient.Engine
	// recorded are the recorded series' names present in the window (recording rules).
	recorded map[string]bool
	// intervals are the scrape intervals found in the data (0 where unknown).
	intervals ScrapeIntervals
	// serving are the serving engine's load signals that have series.
	serving ServingMetrics
}

// discoveryCache keeps the last discovery of one data source instance.
type discoveryCache struct {
	mu  sync.Mutex
	val discovered
	at  time.Time
}

// discover finds, over [start, end], which optional metric families exist and how the GPU series are labelled,
// reusing the last answer for discoveryTTL. Concurrent requests wait for one discovery rather than repeat it.
func (p *Prometheus) discover(ctx context.Context, start, end time.Time) (discovered, []string, error) {
	p.disc.mu.Lock()
	defer p.disc.mu.Unlock()
	if !p.disc.at.IsZero() && p.now().Sub(p.disc.at) < discoveryTTL {
		return p.disc.val, nil, nil
	}
	m := p.cfg.Mapping
	s := newSchema(p.cfg, join{}, false, false)
	var (
		families promclient.Result[[]string]
		labels   promclient.Result[map[string]bool]
		bi       promclient.BuildInfo
	)
	tasks := []func(context.Context) error{
		func(ctx context.Context) (err error) {
			names := append([]string{m.EnergyMetric, m.PowerLimitMetric}, p.recordedNames().all()...)
			names = append(names, ServingMetricsFor(m).families()...)
			families, err = p.client.LabelValues(ctx, "the lookup of the energy, power limit and recorded metrics", "__name__", s.familiesSelector(names...), start, end)
			return err
		},
		func(ctx context.Context) (err error) {
			labels, err = p.client.LabelNames(ctx, "the lookup of the power metric's labels", s.selector(m.PowerMetric), start, end)
			return err
		},
	}
	if p.cfg.Engine == models.EngineAuto {
		tasks = append(tasks, func(ctx context.Context) (err error) {
			bi, err = p.client.BuildInfo(ctx)
			return err
		})
	}
	if err := runAll(ctx, len(tasks), tasks); err != nil {
		return discovered{}, nil, err
	}
	d := discovered{join: resolveJoin(m, labels.Value), engine: promclient.Identify(p.cfg.Engine, bi), recorded: map[string]bool{}}
	// After the engine is known: Thanos wants its own parameters on every query.
	at := end
	if now := p.now(); now.Before(at) {
		at = now
	}
	// Optional: without them the rate windows follow the setting, as they did before there was a probe.
	scrape, err := p.scrapeIntervals(ctx, s, d.engine.Params(intervalProbe, true, false), at)
	switch {
	case err != nil && ctx.Err() != nil:
		return discovered{}, nil, err
	case err != nil:
		scrape.Notices = append(scrape.Notices, fmt.Sprintf("The scrape intervals could not be read from the data (%v): rate windows follow the setting (%s).", err, p.cfg.Scrape()))
	}
	d.intervals = scrape.Value
	serving, has := ServingMetricsFor(m), map[string]bool{}
	for _, f := range families.Value {
		has[f] = true
		switch {
		case f == m.EnergyMetric:
			d.hasEnergy = true
		case f == m.PowerLimitMetric:
			d.hasLimit = true
		case !slices.Contains(serving.families(), f):
			d.recorded[f] = true
		}
	}
	d.serving = serving.present(has)
	// A window without power series teaches nothing about the labelling: the next read asks again.
	if len(labels.Value) > 0 {
		p.disc.val, p.disc.at = d, p.now()
	}
	return d, append(append(families.Notices, labels.Notices...), scrape.Notices...), nil
}

// runAll runs tasks with at most limit at a time. The first failure cancels the others and is returned.
func runAll(ctx context.Context, limit int, tasks []func(context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, limit)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for _, task := range tasks {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				return
			}
			if err := guarded(ctx, task); err != nil {
				once.Do(func() { first = err; cancel(err) })
			}
		})
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		// The caller's context ended before any task could fail on it.
		return context.Cause(ctx)
	}
	return first
}

// guarded runs a task, turning a panic into a plugin error: tasks run on goroutines of their own, which no
// handler's recover reaches, and a panic there would end the plugin process.
func guarded(ctx context.Context, task func(context.Context) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			log.DefaultLogger.FromContext(ctx).Error("reading from Prometheus panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = backend.PluginErrorf("internal error while reading from Prometheus: %v (please report it)", r)
		}
	}()
	return task(ctx)
}
