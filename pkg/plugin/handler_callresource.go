package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/debug"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/source"
)

// CallResource serves the lists that the query editor and dashboard variables read. An error answer carries
// the source its status stands for.
func (d *Datasource) CallResource(ctx context.Context, req *backend.CallResourceRequest, sender backend.CallResourceResponseSender) error {
	ctx, cancel := d.withDeadline(ctx)
	defer cancel()
	return d.resources.CallResource(ctx, req, backend.CallResourceResponseSenderFunc(func(r *backend.CallResourceResponse) error {
		if r != nil && r.Status >= 400 && !r.ErrorSource.IsValid() {
			r.ErrorSource = resourceErrorSource(r.Status)
		}
		return sender.Send(r)
	}))
}

func (d *Datasource) newResourceMux() *http.ServeMux {
	mux := http.NewServeMux()
	for _, kind := range []source.ValueKind{source.ValueModels, source.ValueGPUTypes, source.ValueNamespaces} {
		mux.HandleFunc("GET /"+string(kind), func(w http.ResponseWriter, r *http.Request) { d.serveValues(w, r, kind) })
	}
	return mux
}

// serveValues answers a JSON list of strings, or {"error": "..."} with the status that says whose fault it is.
func (d *Datasource) serveValues(w http.ResponseWriter, r *http.Request, kind source.ValueKind) {
	w.Header().Set("Content-Type", "application/json")
	defer func() {
		if p := recover(); p != nil {
			log.DefaultLogger.FromContext(r.Context()).Error("resource panicked", "path", r.URL.Path, "panic", d.sanitize.text(fmt.Sprint(p)), "stack", string(debug.Stack()))
			writeJSON(r.Context(), w, http.StatusInternalServerError, map[string]string{"error": fmt.Sprintf("internal error while listing %s: %v (please report it)", kind, p)})
		}
	}()
	if d.settingsErr != nil {
		writeJSON(r.Context(), w, http.StatusBadRequest, map[string]string{"error": d.sanitize.text(d.settingsErr.Error())})
		return
	}
	values, err := d.source.Values(r.Context(), kind)
	if err != nil {
		status := http.StatusInternalServerError
		if backend.IsDownstreamError(err) {
			status = http.StatusBadGateway
		}
		writeJSON(r.Context(), w, status, map[string]string{"error": d.sanitize.text(err.Error())})
		return
	}
	if values == nil {
		values = []string{}
	}
	writeJSON(r.Context(), w, http.StatusOK, values)
}

func writeJSON(ctx context.Context, w http.ResponseWriter, status int, v any) {
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		log.DefaultLogger.FromContext(ctx).Warn("could not write resource response", "error", err)
	}
}
