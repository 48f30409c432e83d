package reliability

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/testhost"
)

// echoing is a server that refuses every request with status, and echoes in its body what it received: the
// request line and every header, Authorization included, as careless proxies and debug endpoints do.
func echoing(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		var names []string
		for name := range r.Header {
			names = append(names, name)
		}
		sort.Strings(names)
		var b strings.Builder
		fmt.Fprintf(&b, "refused %s %s\n", r.Method, r.URL)
		for _, name := range names {
			fmt.Fprintf(&b, "%s: %s\n", name, strings.Join(r.Header[name], ", "))
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(b.String()))
	}
}

// clientCert is a CA and a client certificate and key it signed, in PEM.
type clientCert struct {
	caPool            *x509.CertPool
	certPEM, keyPEM   string
	keyBase64Material string
}

func newClientCert(t *testing.T) clientCert {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err = x509.ParseCertificate(caDER)
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "grafana"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		KeyUsage: x509.KeyUsageDigitalSignature, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return clientCert{
		caPool:            pool,
		certPEM:           string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})),
		keyPEM:            string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})),
		keyBase64Material: base64.StdEncoding.EncodeToString(keyDER)[:40],
	}
}

// TestNoSecretReachesAnAnswerOrTheLogs configures the data source as users do, with each kind of secret, against
// servers that refuse the plugin and echo its request, credentials included. Through the plugin binary, the
// query errors, frames, health check, resources and the plugin's own logs are searched for every form of
// every secret; the errors still say what went wrong, and name the URL without its credentials.
func TestNoSecretReachesAnAnswerOrTheLogs(t *testing.T) {
	p := startPlugin(t)
	unauthorized := httptest.NewServer(echoing(http.StatusUnauthorized))
	defer unauthorized.Close()
	failing := httptest.NewServer(echoing(http.StatusInternalServerError))
	defer failing.Close()
	cert := newClientCert(t)
	mutualTLS := httptest.NewUnstartedServer(echoing(http.StatusInternalServerError))
	mutualTLS.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: cert.caPool}
	mutualTLS.StartTLS()
	defer mutualTLS.Close()
	serverCA := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: mutualTLS.Certificate().Raw}))
	host := strings.TrimPrefix(unauthorized.URL, "http://")

	const (
		password    = "b4sic-Auth-Pa55word"
		token       = "eyJhbGciOiJIUzI1NiJ9.t0ken-of-the-service-account"
		urlPassword = "url-Pa55word-in-the-URL"
	)
	tests := []struct {
		name     string
		settings testhost.Settings
		// shownURL is how errors must name the server; want is in every query error.
		shownURL string
		want     string
		secrets  []string
	}{
		{name: "basic auth", shownURL: unauthorized.URL, want: "answered 401 Unauthorized for the",
			settings: testhost.Settings{URL: unauthorized.URL, JSONData: []byte(`{}`), BasicAuth: true, BasicAuthUser: "grafana",
				SecureJSONData: map[string]string{"basicAuthPassword": password}},
			secrets: []string{password, base64.StdEncoding.EncodeToString([]byte("grafana:" + password))}},
		{name: "bearer token in a custom header", shownURL: unauthorized.URL, want: "check the credentials (authentication, headers) in the data source settings",
			settings: testhost.Settings{URL: unauthorized.URL, JSONData: []byte(`{"httpHeaderName1":"Authorization"}`),
				SecureJSONData: map[string]string{"httpHeaderValue1": "Bearer " + token}},
			secrets: []string{token}},
		{name: "credentials in the URL", shownURL: "http://" + host, want: "Prometheus at http://" + host + " answered 401 Unauthorized",
			settings: testhost.Settings{URL: "http://prom-user:" + urlPassword + "@" + host, JSONData: []byte(`{}`)},
			secrets:  []string{urlPassword, base64.StdEncoding.EncodeToString([]byte("prom-user:" + urlPassword)), "prom-user:"}},
		{name: "a bearer token on a failing server", shownURL: failing.URL, want: "answered 500 Internal Server Error",
			settings: testhost.Settings{URL: failing.URL, JSONData: []byte(`{"httpHeaderName1":"Authorization"}`),
				SecureJSONData: map[string]string{"httpHeaderValue1": "Bearer " + token}},
			secrets: []string{token}},
		{name: "TLS client key", shownURL: mutualTLS.URL, want: "answered 500 Internal Server Error",
			settings: testhost.Settings{URL: mutualTLS.URL, JSONData: []byte(`{"tlsAuth":true,"tlsAuthWithCACert":true}`),
				SecureJSONData: map[string]string{"tlsCACert": serverCA, "tlsClientCert": cert.certPEM, "tlsClientKey": cert.keyPEM}},
			secrets: []string{cert.keyPEM, cert.keyBase64Material}},
		{name: "a TLS client key that does not parse", want: "could not build an HTTP client from the data source settings",
			settings: testhost.Settings{URL: mutualTLS.URL, JSONData: []byte(`{"tlsAuth":true,"tlsAuthWithCACert":true}`),
				SecureJSONData: map[string]string{"tlsCACert": serverCA, "tlsClientCert": cert.certPEM, "tlsClientKey": "-----BEGIN EC PRIVATE KEY-----\n" + cert.keyBase64Material + "\n-----END EC PRIVATE KEY-----\n"}},
			secrets: []string{cert.keyBase64Material}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logsBefore := len(p.Logs())
			var seen []string
			resp, err := p.QueryData(ctx(t), tt.settings, nil, powerQuery("A", windowA), query("B", "idle-attribution", "", windowA))
			require.NoError(t, err)
			for refID, r := range resp.Responses {
				require.Error(t, r.Error, refID)
				assert.Contains(t, r.Error.Error(), tt.want, refID)
				frames, err := json.Marshal(r.Frames)
				require.NoError(t, err)
				seen = append(seen, r.Error.Error(), string(frames))
			}
			h, err := p.CheckHealth(ctx(t), tt.settings)
			require.NoError(t, err)
			assert.Contains(t, h.Message, tt.want, "health")
			seen = append(seen, h.Message, string(h.JSONDetails))
			for _, list := range []string{"models", "gpu-types", "namespaces"} {
				status, body, err := p.CallResource(ctx(t), tt.settings, list)
				require.NoError(t, err)
				assert.GreaterOrEqual(t, status, 400, list)
				seen = append(seen, string(body))
			}
			seen = append(seen, p.Logs()[logsBefore:])

			everything := strings.Join(seen, "\n")
			for _, secret := range tt.secrets {
				assert.NotContains(t, everything, secret, "a secret leaked")
			}
			if tt.shownURL != "" {
				assert.Contains(t, everything, "Prometheus at "+tt.shownURL, "the URL is named, without credentials")
			}
		})
	}
}
