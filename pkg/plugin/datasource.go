// Package plugin is the data source as Grafana sees it: instance lifecycle, the request path of queries
// (handler_querydata.go, one handler_<type>.go per query type), health check and resources. Handlers read
// through pkg/source (or pkg/demo), compute with pkg/fleet and answer with pkg/frames; nothing here computes.
package plugin

import (
	"context"
	"fmt"
	"net/http"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/httpclient"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
	"github.com/grafana/grafana-plugin-sdk-go/backend/resource/httpadapter"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/demo"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/source"
)

var (
	_ backend.QueryDataHandler      = (*Datasource)(nil)
	_ backend.CheckHealthHandler    = (*Datasource)(nil)
	_ backend.CallResourceHandler   = (*Datasource)(nil)
	_ instancemgmt.InstanceDisposer = (*Datasource)(nil)
)

// Datasource is one configured instance of the data source.
type Datasource struct {
	settings *models.Settings
	// settingsErr is kept instead of failing the instance, so every query and the health check can say
	// what is wrong with the settings.
	settingsErr error
	source      source.Source
	httpClient  *http.Client
	// analyses answer the query types (handler_querydata.go).
	analyses map[string]analysis
	// options are the analyses' options the settings decide, built once for every query of the instance.
	options   analysisOptions
	resources backend.CallResourceHandler
	// sanitize cleans every answer: errors quote what servers say.
	sanitize sanitizer
}

// NewDatasource builds an instance from its settings. Grafana calls it again (and Dispose on the old one)
// whenever the settings change.
func NewDatasource(ctx context.Context, s backend.DataSourceInstanceSettings) (inst instancemgmt.Instance, err error) {
	d := &Datasource{sanitize: sanitizerOf(s)}
	d.analyses = d.analysesByType()
	d.resources = httpadapter.New(d.newResourceMux())
	defer func() {
		// The SDK's reading of the HTTP settings asserts the types of some jsonData fields (serverName,
		// httpHeaderName1, access...) and panics on others: settings to correct, not a reason to fail every
		// request with an internal error.
		if r := recover(); r != nil {
			inst, err = d, nil
			d.source, d.settings = nil, nil
			d.settingsErr = fmt.Errorf("the data source settings could not be read (%v): check that each field of jsonData has the type the editor writes (text for serverName and the httpHeaderName fields)", r)
		}
	}()

	cfg, err := models.LoadSettings(s)
	if err != nil {
		d.settingsErr = fmt.Errorf("the data source settings are not valid: %w", err)
		return d, nil
	}
	if d.options, err = newAnalysisOptions(cfg); err != nil {
		d.settingsErr = fmt.Errorf("the data source settings are not valid: %w", err)
		return d, nil
	}
	d.settings = cfg
	if cfg.Mode == models.ModeDemo {
		d.source = demo.New(cfg)
		return d, nil
	}
	opts, err := s.HTTPClientOptions(ctx)
	if err != nil {
		d.settingsErr = fmt.Errorf("the HTTP settings of the data source are not valid: %w", err)
		return d, nil
	}
	opts.Timeouts.Timeout = cfg.Timeout()
	// Grafana puts the headers it may forward in each request (the user's OAuth tokens when "Forward OAuth
	// Identity" is on, allowed cookies); the SDK adds them to our calls only when the client asks for them.
	opts.ForwardHTTPHeaders = true
	client, err := httpclient.New(opts)
	if err != nil {
		d.settingsErr = fmt.Errorf("could not build an HTTP client from the data source settings: %w", err)
		return d, nil
	}
	d.httpClient = client
	src, err := source.NewPrometheus(cfg, client)
	if err != nil {
		d.settingsErr = err
		return d, nil
	}
	d.source = src
	return d, nil
}

// Dispose releases the instance's idle connections when Grafana replaces it.
func (d *Datasource) Dispose() {
	if d.httpClient != nil {
		d.httpClient.CloseIdleConnections()
	}
}
