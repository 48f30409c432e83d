// Package promclient is the plugin's client of a Prometheus-compatible HTTP API: requests bounded per data source
// instance and retried on transient faults, failures in a user's terms with their error source, what differs per
// engine (Thanos, Mimir, VictoriaMetrics) and the streamed decoding of query answers. It knows no PromQL of
// its own and nothing of the fleet: pkg/source builds the queries and says where each series goes.
package promclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// Client calls the Prometheus HTTP API and turns every failure into an error that names what failed in a
// user's terms, marked downstream when Prometheus is at fault and plugin when the settings or we are.
type Client struct {
	api v1.API
	// http and base serve the streamed query endpoints.
	http *http.Client
	base *url.URL
	// url is the Prometheus URL without credentials, for messages.
	url string
	// timeout is sent with each query, so Prometheus stops work nobody waits for.
	timeout time.Duration
	// filter is the label filter as the user wrote it, named when Prometheus rejects a query.
	filter string
	// Backoff is the wait before the first retry (tests shorten it).
	Backoff time.Duration
	// slots bounds the requests in flight from this data source instance, over all its reads.
	slots chan struct{}
}

// New is a client of the Prometheus API at cfg.URL through client (the SDK's client: auth, TLS, headers).
func New(cfg *models.Settings, client *http.Client) (*Client, error) {
	if client == nil {
		client = &http.Client{}
	}
	c := *client
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = &exchangeRecorder{next: next, tenantID: cfg.TenantID}
	base, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil {
		return nil, backend.DownstreamErrorf("the Prometheus URL %s is not usable: %v", models.RedactURL(cfg.URL), err)
	}
	apiClient, err := api.NewClient(api.Config{Address: cfg.URL, Client: &c})
	if err != nil {
		return nil, backend.DownstreamErrorf("the Prometheus URL %s is not usable: %v", models.RedactURL(cfg.URL), err)
	}
	return &Client{api: v1.NewAPI(apiClient), http: &c, base: base, url: models.RedactURL(cfg.URL), timeout: cfg.Timeout(),
		filter: cfg.Mapping.LabelFilter, Backoff: 200 * time.Millisecond, slots: make(chan struct{}, MaxConcurrentRequests)}, nil
}

// exchange is what the HTTP layer saw of one API call: the status code client_golang does not return.
type exchange struct {
	status     int
	retryAfter string
}

type exchangeKey struct{}

// exchangeRecorder notes the status of each response in the call's exchange and adds the tenant header that
// multi-tenant engines (Mimir, Cortex, Thanos receive) need.
type exchangeRecorder struct {
	next     http.RoundTripper
	tenantID string
}

func (t *exchangeRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.tenantID != "" {
		req = req.Clone(req.Context())
		req.Header.Set("X-Scope-OrgID", t.tenantID)
	}
	resp, err := t.next.RoundTrip(req)
	if ex, ok := req.Context().Value(exchangeKey{}).(*exchange); ok && resp != nil {
		ex.status = resp.StatusCode
		ex.retryAfter = resp.Header.Get("Retry-After")
	}
	return resp, err
}

// Result is a decoded answer with the warnings and infos Prometheus attached to it.
type Result[T any] struct {
	Value   T
	Notices []string
}

const (
	// MaxAttempts bounds the tries of one read: a transient fault (a restarting server, a proxy without a
	// backend for a moment, a rate limit) is tried again after a backoff that doubles.
	MaxAttempts = 3
	// maxRetryAfter is the longest Retry-After the plugin waits for; longer ones fail at once.
	maxRetryAfter = 2 * time.Second
	// MaxConcurrentRequests bounds the requests one data source instance has in flight: a dashboard of many
	// panels reads the fleet once per panel, and together they must stay below Prometheus' default
	// --query.max-concurrency of 20 rather than fill its queue.
	MaxConcurrentRequests = 16
)

// Call runs one read described by what ("the power_w query"), retries it on transient faults and classifies
// its failure. Every call of this client is an idempotent read.
func Call[T any](ctx context.Context, c *Client, what string, fn func(ctx context.Context) (T, v1.Warnings, v1.Infos, error)) (Result[T], error) {
	for attempt := 1; ; attempt++ {
		ex := &exchange{}
		select {
		case c.slots <- struct{}{}:
		case <-ctx.Done():
			return Result[T]{}, c.failure(ctx, what, ex, ctx.Err())
		}
		v, warnings, infos, err := fn(context.WithValue(ctx, exchangeKey{}, ex))
		<-c.slots
		var notices []string
		for _, w := range warnings {
			notices = append(notices, fmt.Sprintf("Prometheus warned about %s: %s", what, w))
		}
		for _, i := range infos {
			notices = append(notices, fmt.Sprintf("Prometheus noted about %s: %s", what, i))
		}
		if err == nil {
			return Result[T]{Value: v, Notices: notices}, nil
		}
		wait, again := c.retryAfter(ctx, ex, err, attempt)
		if !again {
			return Result[T]{Notices: notices}, c.failure(ctx, what, ex, err)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return Result[T]{Notices: notices}, c.failure(ctx, what, ex, ctx.Err())
		}
	}
}

// retryAfter says whether a failed attempt is worth repeating, and after how long.
func (c *Client) retryAfter(ctx context.Context, ex *exchange, err error, attempt int) (time.Duration, bool) {
	if attempt >= MaxAttempts || ctx.Err() != nil {
		return 0, false
	}
	wait := c.Backoff << (attempt - 1)
	var apiErr *v1.Error
	switch {
	case ex.status == http.StatusTooManyRequests:
		if ex.retryAfter == "" {
			return wait, true
		}
		secs, perr := strconv.Atoi(ex.retryAfter)
		after := time.Duration(secs) * time.Second
		return max(wait, after), perr == nil && after <= maxRetryAfter
	case errors.As(err, &apiErr):
		// A gateway without a backend is transient; the engine's own timeout would only time out again.
		gateway := ex.status == http.StatusBadGateway || ex.status == http.StatusServiceUnavailable || ex.status == http.StatusGatewayTimeout
		return wait, apiErr.Type == v1.ErrServer && gateway && !strings.Contains(apiErr.Detail, `"errorType":"timeout"`)
	case errors.Is(err, context.DeadlineExceeded):
		return 0, false
	}
	// Connection refused or reset, a connection closed mid-answer: the server may be restarting.
	return wait, errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// LabelValues are the values of label on the series match selects in [start, end].
func (c *Client) LabelValues(ctx context.Context, what, label, match string, start, end time.Time) (Result[[]string], error) {
	return Call(ctx, c, what, func(ctx context.Context) ([]string, v1.Warnings, v1.Infos, error) {
		vs, w, i, err := c.api.LabelValues(ctx, label, []string{match}, start, end)
		out := make([]string, len(vs))
		for k, v := range vs {
			out[k] = string(v)
		}
		return out, w, i, err
	})
}

// LabelNames are the label names of the series match selects in [start, end].
func (c *Client) LabelNames(ctx context.Context, what, match string, start, end time.Time) (Result[map[string]bool], error) {
	return Call(ctx, c, what, func(ctx context.Context) (map[string]bool, v1.Warnings, v1.Infos, error) {
		names, w, i, err := c.api.LabelNames(ctx, []string{match}, start, end)
		out := make(map[string]bool, len(names))
		for _, n := range names {
			out[string(n)] = true
		}
		return out, w, i, err
	})
}

// URL is the Prometheus URL without credentials, for messages.
func (c *Client) URL() string { return c.url }

// Failure is the error of a read described by what that ended with err outside any exchange (a shared read
// every request gave up), in a user's terms.
func (c *Client) Failure(ctx context.Context, what string, err error) error {
	return c.failure(ctx, what, &exchange{}, err)
}

// failure turns an error of client_golang into one a user can act on.
func (c *Client) failure(ctx context.Context, what string, ex *exchange, err error) error {
	at := "Prometheus at " + c.url
	var apiErr *v1.Error
	var unexpected errUnexpectedResult
	switch {
	case backend.IsPluginError(err):
		return err
	case errors.As(err, &unexpected):
		return backend.DownstreamErrorf("%s answered %s with an unexpected result: %v", at, what, err)
	case errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled):
		return backend.DownstreamErrorf("the request was cancelled before %s answered %s", at, what)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return backend.DownstreamErrorf("%s did not answer %s in time (the data source timeout is %s): shorten the time range or raise the timeout", at, what, c.timeout)
	case errors.As(err, &apiErr):
		return c.apiFailure(at, what, ex, apiErr)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return backend.DownstreamErrorf("the answer of %s to %s was cut short (%v): the server or a proxy closed the connection", at, what, err)
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		if urlErr.Timeout() {
			return backend.DownstreamErrorf("%s did not answer %s in time (the data source timeout is %s): shorten the time range or raise the timeout", at, what, c.timeout)
		}
		err = urlErr.Err
	}
	return backend.DownstreamErrorf("could not reach %s for %s: %v", at, what, err)
}

// InvalidQueryError is the engine's reason for refusing a query as invalid. The plugin's own PromQL is then
// either its bug or the label filter's fault; a caller whose query a user wrote says so instead.
type InvalidQueryError struct{ Msg string }

func (e *InvalidQueryError) Error() string { return e.Msg }

func (c *Client) apiFailure(at, what string, ex *exchange, e *v1.Error) error {
	switch e.Type {
	case v1.ErrBadData:
		invalid := &InvalidQueryError{Msg: e.Msg}
		if strings.Contains(e.Msg, "parse error") && strings.TrimSpace(c.filter) != "" {
			return backend.DownstreamErrorf("%s rejected %s as invalid PromQL (%w): check the label filter %q in the data source settings (a matcher list such as cluster=\"nrp\")", at, what, invalid, c.filter)
		}
		return backend.PluginErrorf("%s rejected %s as invalid (%w): this is a bug in the plugin, please report it", at, what, invalid)
	case v1.ErrExec:
		return backend.DownstreamErrorf("%s could not execute %s: %s%s", at, what, e.Msg, execHint(e.Msg))
	case v1.ErrTimeout:
		return backend.DownstreamErrorf("%s timed out on %s (%s): shorten the time range, or raise the engine's query timeout", at, what, e.Msg)
	case v1.ErrCanceled:
		return backend.DownstreamErrorf("%s cancelled %s: %s", at, what, e.Msg)
	case v1.ErrBadResponse:
		return backend.DownstreamErrorf("%s answered %s with a response that is not valid Prometheus API JSON (%s): check that the URL points at a Prometheus-compatible API", at, what, e.Msg)
	}
	status := "with an error"
	if ex.status != 0 {
		status = fmt.Sprintf("%d %s", ex.status, http.StatusText(ex.status))
	}
	detail, errType := errorDetail(e)
	switch {
	case ex.status == http.StatusUnauthorized || ex.status == http.StatusForbidden:
		detail += ": check the credentials (authentication, headers) in the data source settings"
	case ex.status == http.StatusNotFound:
		detail += ": check that the URL is the base URL of the Prometheus API (without /api/v1)"
	case ex.status == http.StatusTooManyRequests && ex.retryAfter != "":
		detail += fmt.Sprintf(" (retry after %s s)", ex.retryAfter)
	case errType == string(v1.ErrTimeout):
		detail += ": shorten the time range, or raise the engine's query timeout (--query.timeout)"
	}
	return backend.DownstreamErrorf("%s answered %s for %s%s", at, status, what, detail)
}

// errorDetail is the engine's own error message from the body of a non-API status (a 503 timeout from
// Prometheus, a proxy's HTML page), cut short, and the engine's error type where the body has one.
func errorDetail(e *v1.Error) (detail, errType string) {
	var body struct {
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
	}
	if json.Unmarshal([]byte(e.Detail), &body) == nil && body.Error != "" {
		return fmt.Sprintf(": %s: %s", body.ErrorType, body.Error), body.ErrorType
	}
	d := strings.Join(strings.Fields(e.Detail), " ")
	if d == "" {
		return "", ""
	}
	const maxDetail = 200
	if len(d) > maxDetail {
		d = d[:maxDetail] + "..."
	}
	return ": " + d, ""
}

// execHint says what a user can do about the execution errors a mapping can cause.
func execHint(msg string) string {
	switch {
	case strings.Contains(msg, "many-to-many") || strings.Contains(msg, "duplicate series"):
		return " (the join labels do not identify one model per pod, or the GPU labels one GPU: check joinLabels, modelLabel and gpuLabels in the metric mapping)"
	case strings.Contains(msg, "too many samples"):
		return " (shorten the time range, narrow the label filter, or raise the engine's --query.max-samples)"
	case strings.Contains(msg, "context deadline exceeded"):
		// Prometheus reports its query timeout this way when it strikes while selecting series.
		return ": the engine's query timeout struck: shorten the time range, or raise the engine's query timeout (--query.timeout)"
	}
	return ""
}
