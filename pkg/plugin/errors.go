package plugin

import (
	"errors"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// Whose fault an error is decides its source and status, as the SDK's guidance asks: the user's and the
// configuration's mistakes (settings, query JSON, query type, time range) are downstream with 400; faults of
// Prometheus (marked downstream by pkg/promclient and pkg/source) are downstream with 502; anything else is a
// bug of ours: plugin, 500.
type userError struct{ error }

func (e userError) Unwrap() error { return e.error }

// userErr marks err as the user's or the configuration's to correct.
func userErr(err error) error { return backend.DownstreamError(userError{err}) }

func isUserError(err error) bool { return errors.As(err, new(userError)) }

// errorResponse is the one place that turns an error into a query response.
func errorResponse(err error) backend.DataResponse {
	status := backend.StatusInternal
	switch {
	case isUserError(err):
		status = backend.StatusBadRequest
	case backend.IsDownstreamError(err):
		status = backend.StatusBadGateway
	case !backend.IsPluginError(err):
		err = backend.PluginError(err)
	}
	r := backend.ErrorResponseWithErrorSource(err)
	r.Status = status
	return r
}

// resourceErrorSource is the source of a resource answer by its status: a request to correct (4xx: the
// settings, an unknown path) or Prometheus' fault (502) is downstream; 500 and the rest are our bugs.
func resourceErrorSource(status int) backend.ErrorSource {
	if status < 500 || status == 502 {
		return backend.ErrorSourceDownstream
	}
	return backend.ErrorSourcePlugin
}
