package plugin

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// minSecretLen is the shortest value redacted: replacing every "ab" would garble messages, and a secret that
// short protects nothing anyway.
const minSecretLen = 4

const redacted = "[redacted]"

// secrets removes the data source's secrets from what the plugin answers: the decrypted secure settings
// (basic-auth password, header values such as a bearer token, TLS keys), the password of a URL with user
// info, and the forms they travel in (a Basic authorization header, the token of "Bearer <token>"). Errors
// quote what a server answered, and a proxy that echoes the request's headers would otherwise put them on a
// dashboard.
type secrets struct {
	replacer *strings.Replacer
}

func secretsOf(s backend.DataSourceInstanceSettings) secrets {
	var values []string
	add := func(v string) {
		if len(v) >= minSecretLen {
			values = append(values, v)
			// The form json.Marshal writes, as health details carry it.
			if b, err := json.Marshal(v); err == nil {
				values = append(values, string(b[1:len(b)-1]))
			}
		}
	}
	for _, v := range s.DecryptedSecureJSONData {
		add(v)
		if _, credentials, ok := strings.Cut(strings.TrimSpace(v), " "); ok {
			add(strings.TrimSpace(credentials))
		}
		// A message may quote one line of a PEM key or certificate.
		for _, line := range strings.Split(v, "\n") {
			if line = strings.TrimSpace(line); len(line) >= 16 {
				add(line)
			}
		}
	}
	if s.BasicAuthEnabled {
		add(base64.StdEncoding.EncodeToString([]byte(s.BasicAuthUser + ":" + s.DecryptedSecureJSONData["basicAuthPassword"])))
	}
	if u, err := url.Parse(strings.TrimSpace(s.URL)); err == nil && u.User != nil {
		if password, ok := u.User.Password(); ok {
			add(password)
			add(base64.StdEncoding.EncodeToString([]byte(u.User.Username() + ":" + password)))
			_, escaped, _ := strings.Cut(u.User.String(), ":")
			add(escaped)
		}
	}
	if len(values) == 0 {
		return secrets{}
	}
	// Longest first: a value that contains another is replaced whole.
	slices.SortFunc(values, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	pairs := make([]string, 0, 2*len(values))
	for _, v := range slices.Compact(values) {
		pairs = append(pairs, v, redacted)
	}
	return secrets{replacer: strings.NewReplacer(pairs...)}
}

// redact is text without the secrets.
func (s secrets) redact(text string) string {
	if s.replacer == nil {
		return text
	}
	return s.replacer.Replace(text)
}

// response is r with the secrets removed from its error and from the notices and queries of its frames. The
// error source and status stay as they were decided.
func (s secrets) response(r backend.DataResponse) backend.DataResponse {
	if s.replacer == nil {
		return r
	}
	if r.Error != nil {
		if msg := s.redact(r.Error.Error()); msg != r.Error.Error() {
			r.Error = errors.New(msg)
		}
	}
	for _, f := range r.Frames {
		if f.Meta == nil {
			continue
		}
		f.Meta.ExecutedQueryString = s.redact(f.Meta.ExecutedQueryString)
		notices := make([]data.Notice, len(f.Meta.Notices))
		for i, n := range f.Meta.Notices {
			n.Text = s.redact(n.Text)
			notices[i] = n
		}
		f.Meta.Notices = notices
	}
	return r
}
