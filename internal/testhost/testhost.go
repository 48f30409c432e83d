// Package testhost runs the built plugin executable the way Grafana does: hashicorp go-plugin with the SDK's
// handshake, gRPC data/diagnostics/resource clients, and a PluginContext carrying data source settings. Tests
// use it to check the real binary, not an in-process handler.
package testhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/testproc"
)

// PluginID is the id Grafana knows the plugin by.
const PluginID = "nrp-fleetefficiency-datasource"

var (
	buildOnce sync.Once
	builtPath string
	buildErr  error
)

// Binary is the plugin executable to test: $FLEET_PLUGIN_BINARY when set (CI points it at dist/), otherwise
// ./pkg built once per test process into a temp dir.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("FLEET_PLUGIN_BINARY"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gpx-fleetefficiency-")
		if err != nil {
			buildErr = err
			return
		}
		builtPath = filepath.Join(dir, "gpx_fleetefficiency_"+runtime.GOOS+"_"+runtime.GOARCH)
		cmd := exec.Command("go", "build", "-o", builtPath, "./pkg")
		cmd.Dir = repoRoot()
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./pkg: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtPath
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Plugin is a running plugin process.
type Plugin struct {
	client *goplugin.Client
	data   grpcplugin.DataClient
	diag   grpcplugin.DiagnosticsClient
	res    grpcplugin.ResourceClient
	logs   *testproc.Buffer
}

// Start launches the executable and completes the go-plugin handshake. The process is killed when the test ends.
func Start(t testing.TB, binary string) *Plugin {
	t.Helper()
	p, err := Launch(binary)
	if p != nil {
		t.Cleanup(p.Kill)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Launch is Start outside a test (a benchmark command): the caller kills the process.
func Launch(binary string) (*Plugin, error) {
	logs := &testproc.Buffer{}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig: goplugin.HandshakeConfig{
			ProtocolVersion:  grpcplugin.ProtocolVersion,
			MagicCookieKey:   grpcplugin.MagicCookieKey,
			MagicCookieValue: grpcplugin.MagicCookieValue,
		},
		VersionedPlugins: map[int]goplugin.PluginSet{
			grpcplugin.ProtocolVersion: {
				"diagnostics": &grpcplugin.DiagnosticsGRPCPlugin{},
				"resource":    &grpcplugin.ResourceGRPCPlugin{},
				"data":        &grpcplugin.DataGRPCPlugin{},
			},
		},
		Cmd:              exec.Command(binary),
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: "plugin." + PluginID, Level: hclog.Debug, Output: logs,
		}),
		StartTimeout: time.Minute,
	})
	p := &Plugin{client: client, logs: logs}
	rpc, err := client.Client()
	if err != nil {
		return p, fmt.Errorf("plugin handshake failed: %w\n%s", err, logs.String())
	}
	for name, dst := range map[string]any{"data": &p.data, "diagnostics": &p.diag, "resource": &p.res} {
		raw, err := rpc.Dispense(name)
		if err != nil {
			return p, fmt.Errorf("dispense %s: %w", name, err)
		}
		switch d := dst.(type) {
		case *grpcplugin.DataClient:
			*d = raw.(grpcplugin.DataClient)
		case *grpcplugin.DiagnosticsClient:
			*d = raw.(grpcplugin.DiagnosticsClient)
		case *grpcplugin.ResourceClient:
			*d = raw.(grpcplugin.ResourceClient)
		}
	}
	return p, nil
}

// Logs is everything the plugin logged so far (go-plugin forwards its stderr).
func (p *Plugin) Logs() string { return p.logs.String() }

// Exited reports whether the plugin process has died.
func (p *Plugin) Exited() bool { return p.client.Exited() }

// Pid is the process id of the plugin, e.g. to read its peak memory from /proc.
func (p *Plugin) Pid() int { return p.client.ReattachConfig().Pid }

// Kill stops the plugin process.
func (p *Plugin) Kill() { p.client.Kill() }

// Settings are what Grafana sends in the PluginContext for a data source.
type Settings struct {
	UID            string
	URL            string
	JSONData       []byte
	SecureJSONData map[string]string
	BasicAuth      bool
	BasicAuthUser  string
	Updated        time.Time
}

func (s Settings) pluginContext() backend.PluginContext {
	uid := s.UID
	if uid == "" {
		uid = "fleet-efficiency"
	}
	updated := s.Updated
	if updated.IsZero() {
		// Grafana bumps Updated when a user saves new settings, and the SDK rebuilds the instance; tests get
		// the same by deriving it from the settings, so equal settings share an instance and new ones do not.
		h := fnv.New32a()
		_, _ = fmt.Fprint(h, s.URL, string(s.JSONData), s.BasicAuth, s.BasicAuthUser, s.SecureJSONData)
		updated = time.Unix(1_700_000_000+int64(h.Sum32()), 0)
	}
	return backend.PluginContext{
		OrgID:    1, //nolint:staticcheck // Grafana still sends the org ID
		PluginID: PluginID,
		User:     &backend.User{Login: "admin", Role: "Admin"},
		DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{
			ID: 1, UID: uid, Type: PluginID, Name: "GPU Fleet Efficiency", URL: s.URL,
			BasicAuthEnabled: s.BasicAuth, BasicAuthUser: s.BasicAuthUser,
			JSONData: s.JSONData, DecryptedSecureJSONData: s.SecureJSONData, Updated: updated,
		},
	}
}

// Query is one query as a dashboard panel sends it.
type Query struct {
	RefID     string
	QueryType string
	JSON      string
	From, To  time.Time
	Interval  time.Duration
	// MaxDataPoints defaults to 1000, as a typical panel width.
	MaxDataPoints int64
}

// QueryData sends one request with the given queries; headers as Grafana sets them (e.g. FromAlert).
func (p *Plugin) QueryData(ctx context.Context, s Settings, headers map[string]string, queries ...Query) (*backend.QueryDataResponse, error) {
	req := &backend.QueryDataRequest{PluginContext: s.pluginContext(), Headers: headers}
	for _, q := range queries {
		mdp := q.MaxDataPoints
		if mdp == 0 {
			mdp = 1000
		}
		req.Queries = append(req.Queries, backend.DataQuery{
			RefID: q.RefID, QueryType: q.QueryType, JSON: []byte(q.JSON), MaxDataPoints: mdp,
			Interval: q.Interval, TimeRange: backend.TimeRange{From: q.From, To: q.To},
		})
	}
	resp, err := p.data.QueryData(ctx, backend.ToProto().QueryDataRequest(req))
	if err != nil {
		return nil, err
	}
	return backend.FromProto().QueryDataResponse(resp)
}

// CheckHealth is "Save & test".
func (p *Plugin) CheckHealth(ctx context.Context, s Settings) (*backend.CheckHealthResult, error) {
	resp, err := p.diag.CheckHealth(ctx, &pluginv2.CheckHealthRequest{PluginContext: backend.ToProto().PluginContext(s.pluginContext())})
	if err != nil {
		return nil, err
	}
	return backend.FromProto().CheckHealthResponse(resp), nil
}

// CallResource sends GET path (e.g. "models") and returns the status and body.
func (p *Plugin) CallResource(ctx context.Context, s Settings, path string) (int, []byte, error) {
	r, err := p.Resource(ctx, s, path)
	return r.Status, r.Body, err
}

// Resource sends GET path and returns the answer as Grafana receives it: status, body and error source.
func (p *Plugin) Resource(ctx context.Context, s Settings, path string) (backend.CallResourceResponse, error) {
	req := &backend.CallResourceRequest{
		PluginContext: s.pluginContext(), Path: path, Method: http.MethodGet,
		URL: "/api/datasources/uid/fleet-efficiency/resources/" + path,
	}
	var r backend.CallResourceResponse
	stream, err := p.res.CallResource(ctx, backend.ToProto().CallResourceRequest(req))
	if err != nil {
		return r, err
	}
	var body bytes.Buffer
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			r.Body = body.Bytes()
			return r, nil
		}
		if err != nil {
			r.Body = body.Bytes()
			return r, err
		}
		if chunk.Code != 0 {
			r.Status = int(chunk.Code)
		}
		if chunk.ErrorSource != "" {
			r.ErrorSource = backend.ErrorSource(chunk.ErrorSource)
		}
		body.Write(chunk.Body)
	}
}
