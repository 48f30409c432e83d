package reliability

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// headerRecorder is a proxy in front of Prometheus that notes the identity headers of every call.
type headerRecorder struct {
	mu    sync.Mutex
	calls []http.Header
}

func recordHeaders(t *testing.T, target string) (*headerRecorder, *httptest.Server) {
	u, err := url.Parse(target)
	require.NoError(t, err)
	rec := &headerRecorder{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.calls = append(rec.calls, r.Header.Clone())
		rec.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return rec, srv
}

func (r *headerRecorder) headers() []http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]http.Header(nil), r.calls...)
}

// TestForwardOAuthIdentity is "Forward OAuth Identity" switched on and a cookie allowed (keepCookies): Grafana
// then sends the signed-in user's tokens (Authorization, X-Id-Token) and the allowed cookies with each query,
// and every call the plugin binary makes to Prometheus for that query carries them, so a Prometheus behind an
// OAuth proxy answers as that user.
func TestForwardOAuthIdentity(t *testing.T) {
	p := startPlugin(t)
	rec, proxy := recordHeaders(t, healthy.Server(t).URL)
	s := settingsFor(proxy.URL, map[string]any{"oauthPassThru": true, "keepCookies": []string{"oauth_session"}})
	headers := map[string]string{"Authorization": "Bearer user-access-token", "X-Id-Token": "user-id-token", "Cookie": "oauth_session=s3ss10n"}

	resp, err := p.QueryData(ctx(t), s, headers, powerQuery("A", windowA))
	require.NoError(t, err)
	require.NoError(t, resp.Responses["A"].Error)
	assertSamePower(t, baseline(t, p, windowA), powerByModel(t, resp.Responses["A"]), "the answer through the proxy")

	calls := rec.headers()
	require.NotEmpty(t, calls)
	for i, h := range calls {
		assert.Equal(t, "Bearer user-access-token", h.Get("Authorization"), "call %d", i)
		assert.Equal(t, "user-id-token", h.Get("X-Id-Token"), "call %d", i)
		assert.Equal(t, "oauth_session=s3ss10n", h.Get("Cookie"), "call %d", i)
	}
}
