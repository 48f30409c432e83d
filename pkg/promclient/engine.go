package promclient

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
//     so a counter's window must not reach back to the sample on its start boundary (see CounterRange).
//     Its cluster version marks partial answers with "isPartial" (read by DecodeStream for every engine).

// Engine is what the plugin knows of the engine behind the URL.
type Engine struct {
	Kind    models.Engine
	Version string
	// How says where the kind comes from, for the health check: "detected from ...", "set in the settings".
	How string
}

// Boundary is how much a counter's range reaches past its window and a gauge's falls short of it: PromQL ranges
// are closed on the left in Prometheus 2 and open in Prometheus 3, and a millisecond either way makes a sample
// on a step boundary count the same in both.
const Boundary = time.Millisecond

// engineNames are the engines' names for users.
var engineNames = map[models.Engine]string{
	models.EnginePrometheus: "Prometheus", models.EngineThanos: "Thanos", models.EngineMimir: "Mimir",
	models.EngineVictoriaMetrics: "VictoriaMetrics",
}

// EngineName is the engine kind's name for users.
func EngineName(kind models.Engine) string { return engineNames[kind] }

// Name is the engine's name with its version where known, e.g. "Thanos 0.34.1".
func (e Engine) Name() string {
	if e.Version == "" {
		return engineNames[e.Kind]
	}
	return engineNames[e.Kind] + " " + e.Version
}

// BuildInfo is what /api/v1/status/buildinfo and its response headers say about the engine.
type BuildInfo struct {
	// Served is false when the engine has no build info endpoint (Cortex, old Thanos).
	Served      bool
	Version     string
	Application string
	// Features is Mimir's list of enabled features.
	Features map[string]any
	// ServerHostname is VictoriaMetrics' X-Server-Hostname header, set on each of its responses.
	ServerHostname bool
}

// BuildInfo reads the build info endpoint; an engine without one is not an error.
func (c *Client) BuildInfo(ctx context.Context) (BuildInfo, error) {
	res, err := Call(ctx, c, "the build info request", func(ctx context.Context) (BuildInfo, v1.Warnings, v1.Infos, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.JoinPath("/api/v1/status/buildinfo").String(), nil)
		if err != nil {
			return BuildInfo{}, nil, nil, err
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return BuildInfo{}, nil, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if err != nil {
			return BuildInfo{}, nil, nil, err
		}
		bi := BuildInfo{ServerHostname: resp.Header.Get("X-Server-Hostname") != ""}
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
		bi.Served, bi.Version, bi.Application, bi.Features = true, answer.Data.Version, answer.Data.Application, answer.Data.Features
		return bi, nil, nil, nil
	})
	return res.Value, err
}

// Identify names the engine: the setting when it names one, else what the build info shows.
func Identify(setting models.Engine, bi BuildInfo) Engine {
	if setting != models.EngineAuto {
		return Engine{Kind: setting, Version: bi.Version, How: "set in the settings"}
	}
	switch {
	case strings.Contains(strings.ToLower(bi.Application), "mimir") || bi.Features != nil:
		return Engine{Kind: models.EngineMimir, Version: bi.Version, How: "detected from its build info"}
	case bi.ServerHostname || (bi.Served && bi.Version == ""):
		// Recent versions report Prometheus' version 2.24.0 for Grafana; the header tells them apart.
		return Engine{Kind: models.EngineVictoriaMetrics, How: "detected from its build info and headers"}
	case strings.HasPrefix(bi.Version, "0."):
		return Engine{Kind: models.EngineThanos, Version: bi.Version, How: "detected from its build info (Thanos versions are 0.x)"}
	case bi.Served:
		return Engine{Kind: models.EnginePrometheus, Version: bi.Version, How: "detected from its build info"}
	}
	return Engine{Kind: models.EnginePrometheus, How: "assumed: the engine serves no build info (Cortex and Thanos before 0.15 do not); set the engine in the settings if it is not Prometheus"}
}

// CounterRange is the range of rate() and increase() over a window ending at a step: a millisecond longer in
// Prometheus' engines, so the sample on the window's start boundary starts the increase in both Prometheus 2
// (closed ranges) and 3 (open ranges). VictoriaMetrics always starts from the last sample before the range:
// a longer range would start one sample early.
func (e Engine) CounterRange(window time.Duration) time.Duration {
	if e.Kind == models.EngineVictoriaMetrics {
		return window
	}
	return window + Boundary
}

// thanosAutoResolution is Thanos' own choice for max_source_resolution=auto: a fifth of the step, so every
// step spans at least five samples of the coarsest resolution it may read.
func thanosAutoResolution(step time.Duration) time.Duration { return step / 5 }

// params are the engine's own parameters of one query of a fleet read at step (instant: a window total).
// Alert evaluations ask Thanos to fail rather than answer partially: an alert must not fire or clear on the
// data of the stores that happened to answer.
func (e Engine) Params(step time.Duration, instant, fromAlert bool) url.Values {
	if e.Kind != models.EngineThanos {
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

// DescribeParams is the engine's parameters as the executed query shows them.
func DescribeParams(v url.Values) string {
	if len(v) == 0 {
		return ""
	}
	return " (" + v.Encode() + ")"
}

// partialNotice says what a warned answer means for the numbers next to it.
func (e Engine) PartialNotice() string {
	if e.Kind == models.EngineThanos {
		return "Thanos answered with warnings, which with partial_response means some stores did not answer: the numbers may miss their data and are not cached. Alert evaluations ask for complete answers and fail instead."
	}
	return fmt.Sprintf("%s answered with warnings, so the answer may be incomplete: the numbers may miss data and are not cached.", engineNames[e.Kind])
}

// EngineNotes say what the plugin does differently for the engine, for the health check.
func EngineNotes(e Engine, tenantID string) []string {
	switch e.Kind {
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
