package source

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// The engines differ where it matters to the plugin:
//   - Thanos deduplicates HA replicas only when asked (dedup), answers with the stores that answered when one
//     does not (partial_response, marked by warnings), and reads downsampled blocks only when allowed
//     (max_source_resolution).
//   - Mimir and Cortex are multi-tenant: the tenant goes in X-Scope-OrgID (always sent when set).
//   - VictoriaMetrics' rate and increase start from the last sample before the window and do not extrapolate,
//     so a counter's window must not reach back to the sample on its start boundary (see counterRange).
//     Its cluster version marks partial answers with "isPartial" (read by decodeStream for every engine).

// engine is what the plugin knows of the engine behind the URL.
type engine struct {
	kind    models.Engine
	version string
	// how says where the kind comes from, for the health check: "detected from ...", "set in the settings".
	how string
}

// engineNames are the engines' names for users.
var engineNames = map[models.Engine]string{
	models.EnginePrometheus: "Prometheus", models.EngineThanos: "Thanos", models.EngineMimir: "Mimir",
	models.EngineVictoriaMetrics: "VictoriaMetrics",
}

// Name is the engine's name with its version where known, e.g. "Thanos 0.34.1".
func (e engine) Name() string {
	if e.version == "" {
		return engineNames[e.kind]
	}
	return engineNames[e.kind] + " " + e.version
}

// buildInfo is what /api/v1/status/buildinfo and its response headers say about the engine.
type buildInfo struct {
	// served is false when the engine has no build info endpoint (Cortex, old Thanos).
	served      bool
	version     string
	application string
	// features is Mimir's list of enabled features.
	features map[string]any
	// serverHostname is VictoriaMetrics' X-Server-Hostname header, set on each of its responses.
	serverHostname bool
}

// buildInfo reads the build info endpoint; an engine without one is not an error.
func (c *promClient) buildInfo(ctx context.Context) (buildInfo, error) {
	res, err := call(ctx, c, "the build info request", func(ctx context.Context) (buildInfo, v1.Warnings, v1.Infos, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.JoinPath("/api/v1/status/buildinfo").String(), nil)
		if err != nil {
			return buildInfo{}, nil, nil, err
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return buildInfo{}, nil, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if err != nil {
			return buildInfo{}, nil, nil, err
		}
		bi := buildInfo{serverHostname: resp.Header.Get("X-Server-Hostname") != ""}
		switch {
		case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
			return bi, nil, nil, nil
		case resp.StatusCode/100 != 2:
			return bi, nil, nil, statusError(resp.StatusCode, body)
		}
		var answer struct {
			Data struct {
				Version     string         `json:"version"`
				Application string         `json:"application"`
				Features    map[string]any `json:"features"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &answer); err != nil {
			return bi, nil, nil, &v1.Error{Type: v1.ErrBadResponse, Msg: err.Error()}
		}
		bi.served, bi.version, bi.application, bi.features = true, answer.Data.Version, answer.Data.Application, answer.Data.Features
		return bi, nil, nil, nil
	})
	return res.value, err
}

// identify names the engine: the setting when it names one, else what the build info shows.
func identify(setting models.Engine, bi buildInfo) engine {
	if setting != models.EngineAuto {
		return engine{kind: setting, version: bi.version, how: "set in the settings"}
	}
	switch {
	case strings.Contains(strings.ToLower(bi.application), "mimir") || bi.features != nil:
		return engine{kind: models.EngineMimir, version: bi.version, how: "detected from its build info"}
	case bi.serverHostname || (bi.served && bi.version == ""):
		// Recent versions report Prometheus' version 2.24.0 for Grafana; the header tells them apart.
		return engine{kind: models.EngineVictoriaMetrics, how: "detected from its build info and headers"}
	case strings.HasPrefix(bi.version, "0."):
		return engine{kind: models.EngineThanos, version: bi.version, how: "detected from its build info (Thanos versions are 0.x)"}
	case bi.served:
		return engine{kind: models.EnginePrometheus, version: bi.version, how: "detected from its build info"}
	}
	return engine{kind: models.EnginePrometheus, how: "assumed: the engine serves no build info (Cortex and Thanos before 0.15 do not); set the engine in the settings if it is not Prometheus"}
}

// counterRange is the range of rate() and increase() over a window ending at a step: a millisecond longer in
// Prometheus' engines, so the sample on the window's start boundary starts the increase in both Prometheus 2
// (closed ranges) and 3 (open ranges). VictoriaMetrics always starts from the last sample before the range:
// a longer range would start one sample early.
func (e engine) counterRange(window time.Duration) time.Duration {
	if e.kind == models.EngineVictoriaMetrics {
		return window
	}
	return window + boundary
}

// thanosAutoResolution is Thanos' own choice for max_source_resolution=auto: a fifth of the step, so every
// step spans at least five samples of the coarsest resolution it may read.
func thanosAutoResolution(step time.Duration) time.Duration { return step / 5 }

// params are the engine's own parameters of one query of a fleet read at step (instant: a window total).
// Alert evaluations ask Thanos to fail rather than answer partially: an alert must not fire or clear on the
// data of the stores that happened to answer.
func (e engine) params(step time.Duration, instant, fromAlert bool) url.Values {
	if e.kind != models.EngineThanos {
		return nil
	}
	v := url.Values{"dedup": {"true"}, "partial_response": {strconv.FormatBool(!fromAlert)}}
	if instant {
		// Thanos derives auto from the step, which an instant query lacks: the read's step says what may be read.
		v.Set("max_source_resolution", strconv.FormatInt(int64(thanosAutoResolution(step)/time.Second), 10)+"s")
	} else {
		v.Set("max_source_resolution", "auto")
	}
	return v
}

// describeParams is the engine's parameters as the executed query shows them.
func describeParams(v url.Values) string {
	if len(v) == 0 {
		return ""
	}
	return " (" + v.Encode() + ")"
}

// partialNotice says what a warned answer means for the numbers next to it.
func (e engine) partialNotice() string {
	if e.kind == models.EngineThanos {
		return "Thanos answered with warnings, which with partial_response means some stores did not answer: the numbers may miss their data and are not cached. Alert evaluations ask for complete answers and fail instead."
	}
	return fmt.Sprintf("%s answered with warnings, so the answer may be incomplete: the numbers may miss data and are not cached.", engineNames[e.kind])
}

// engineNotes say what the plugin does differently for the engine, for the health check.
func engineNotes(e engine, tenantID string) []string {
	switch e.kind {
	case models.EngineThanos:
		return []string{"Queries ask Thanos to deduplicate replicas (dedup), to answer with the stores that answer (partial_response, shown as a notice; never for alert rules), and to read downsampled blocks on long ranges (max_source_resolution=auto)."}
	case models.EngineMimir:
		if tenantID == "" {
			return []string{"Mimir is multi-tenant: set the tenant ID (sent as X-Scope-OrgID) unless its multi-tenancy is disabled."}
		}
		return []string{fmt.Sprintf("Queries are sent for tenant %q (X-Scope-OrgID).", tenantID)}
	case models.EngineVictoriaMetrics:
		return []string{"VictoriaMetrics' rate and increase start from the sample before their window and do not extrapolate: counter windows are adjusted to it."}
	}
	return nil
}
