package source

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/promclient"
)

// valuesLookback is how far back the editor's lists and the health check look for series.
const valuesLookback = 24 * time.Hour

// Prometheus reads the fleet from a Prometheus-compatible HTTP API.
type Prometheus struct {
	cfg    *models.Settings
	client *promclient.Client
	now    func() time.Time
	disc   discoveryCache
	fleets *sharedReads
	obs    observer
}

// NewPrometheus is a source reading from the URL in cfg with client (the SDK's client: auth, TLS, headers).
func NewPrometheus(cfg *models.Settings, client *http.Client) (*Prometheus, error) {
	c, err := promclient.New(cfg, client)
	if err != nil {
		return nil, err
	}
	ttl := time.Duration(cfg.CacheTTLSeconds * float64(time.Second))
	left := func(ctx context.Context) error { return c.Failure(ctx, "the fleet's queries", ctx.Err()) }
	return &Prometheus{cfg: cfg, client: c, now: time.Now, fleets: newSharedReads(ttl, cfg.Timeout(), left), obs: defaultObserver()}, nil
}

// Fleet reads every model over the request's window (see read), sharing the read with the requests of this
// instance that need the same window at the same time, and for the cache TTL after it (see sharedReads).
func (p *Prometheus) Fleet(ctx context.Context, req Request) (*fleet.Fleet, error) {
	ctx, done := p.obs.fleetRead(ctx, req)
	f, how, err := p.fleets.fleet(ctx, req, p.now(), p.read)
	models := 0
	if f != nil {
		models = len(f.Models)
	}
	done(how, models, err)
	return f, err
}

// Values lists models, GPU types or namespaces seen in the last day, sorted, as the mapping and the label
// filter select them.
func (p *Prometheus) Values(ctx context.Context, kind ValueKind) ([]string, error) {
	m := p.cfg.Mapping
	s := newSchema(p.cfg, join{}, false, false)
	var label, match, what string
	switch kind {
	case ValueModels:
		label, match, what = m.ModelLabel, s.selector(m.GenerationTokensMetric), "the list of models"
	case ValueGPUTypes:
		label, match, what = m.GPUTypeLabel, s.selector(m.PowerMetric), "the list of GPU types"
	case ValueNamespaces:
		label, match, what = m.NamespaceLabel, s.selector(m.GenerationTokensMetric), "the list of namespaces"
	default:
		return nil, backend.DownstreamErrorf("unknown list %q; use one of %s, %s, %s", kind, ValueModels, ValueGPUTypes, ValueNamespaces)
	}
	end := p.now()
	res, err := p.client.LabelValues(ctx, what, label, match, end.Add(-valuesLookback), end)
	if err != nil {
		return nil, err
	}
	values := slices.DeleteFunc(res.Value, func(v string) bool { return v == "" })
	slices.Sort(values)
	return values, nil
}
