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

// sanitizer cleans the text of what the plugin answers, since errors quote what servers said:
//   - the data source's secrets come out: the decrypted secure settings (basic-auth password, header values
//     such as a bearer token, TLS keys), the password of a URL with user info, and the forms they travel in
//     (a Basic authorization header, the token of "Bearer <token>"). A proxy that echoes the request's
//     headers would otherwise put them on a dashboard.
//   - bytes that are not UTF-8 become U+FFFD: gRPC refuses to send a response with one such byte in any
//     string, and the whole request would fail over a binary error page quoted in one query's error.
type sanitizer struct {
	replacer *strings.Replacer
}

func sanitizerOf(s backend.DataSourceInstanceSettings) sanitizer {
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
		return sanitizer{}
	}
	// Longest first: a value that contains another is replaced whole.
	slices.SortFunc(values, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	pairs := make([]string, 0, 2*len(values))
	for _, v := range slices.Compact(values) {
		pairs = append(pairs, v, redacted)
	}
	return sanitizer{replacer: strings.NewReplacer(pairs...)}
}

// text is s clean.
func (s sanitizer) text(text string) string {
	text = strings.ToValidUTF8(text, "\uFFFD")
	if s.replacer == nil {
		return text
	}
	return s.replacer.Replace(text)
}

// response is r with its error and the notices and queries of its frames clean. The error source and status
// stay as they were decided.
func (s sanitizer) response(r backend.DataResponse) backend.DataResponse {
	if r.Error != nil {
		if msg := s.text(r.Error.Error()); msg != r.Error.Error() {
			r.Error = errors.New(msg)
		}
	}
	for _, f := range r.Frames {
		if f.Meta == nil {
			continue
		}
		f.Meta.ExecutedQueryString = s.text(f.Meta.ExecutedQueryString)
		notices := make([]data.Notice, len(f.Meta.Notices))
		for i, n := range f.Meta.Notices {
			n.Text = s.text(n.Text)
			notices[i] = n
		}
		f.Meta.Notices = notices
	}
	return r
}
