package reliability

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCancellingARequestStopsItsPrometheusRequests is the user leaving the dashboard: Grafana cancels the
// request to the plugin binary, and every request the plugin had open to Prometheus ends, as
// the server sees it.
func TestCancellingARequestStopsItsPrometheusRequests(t *testing.T) {
	var (
		mu      sync.Mutex
		ended   int
		started = make(chan struct{}, 64)
	)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query_range" {
			w.Header().Set("Content-Type", "application/json")
			if r.URL.Path == "/api/v1/status/buildinfo" {
				fmt.Fprint(w, `{"status":"success","data":{"version":"2.42.0"}}`)
				return
			}
			if r.URL.Path == "/api/v1/query" { // discovery's instant lookups: nothing found
				fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
				return
			}
			fmt.Fprint(w, `{"status":"success","data":[]}`)
			return
		}
		// Read the form, as Prometheus does: only then does the server notice the client going away.
		assert.NoError(t, r.ParseForm())
		started <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
			mu.Lock()
			ended++
			mu.Unlock()
		}
	}))
	defer srv.Close()
	defer close(release) // before the server closes, which waits for its handlers
	p := startPlugin(t)

	c, cancel := context.WithCancel(ctx(t))
	done := make(chan error, 1)
	go func() {
		_, err := p.QueryData(c, settingsFor(srv.URL, nil), nil, powerQuery("A", windowA), powerQuery("B", windowB))
		done <- err
	}()
	// Two windows, three queries each: power and the two token rates.
	const held = 6
	for range held {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("the plugin did not ask Prometheus")
		}
	}
	// The server holds every query until the test ends: only the cancellation can end them before, so their
	// ending is the proof. How fast is the machine's load, not the code's, and no test bound on it.
	cancel()
	require.Error(t, <-done, "the host sees its own cancellation")
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return ended == held
	}, 30*time.Second, 5*time.Millisecond, "every request held by Prometheus ends")
	assert.Empty(t, started, "no request was sent after the cancellation")
}
