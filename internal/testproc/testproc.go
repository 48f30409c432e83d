// Package testproc holds what the test harnesses of real processes share (Prometheus in promtest,
// VictoriaMetrics in vmtest, the plugin binary in testhost): their output, the check that their binary is
// installed, and one server shared by the tests of a package.
package testproc

import (
	"bytes"
	"os"
	"sync"
	"testing"
)

// Buffer is a process' output, written by its copy goroutines while tests read it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes is a copy of what was written so far.
func (b *Buffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

func (b *Buffer) String() string { return string(b.Bytes()) }

// RequireInstalled fails the test when missing (the error of a binary lookup) is set in CI, which must run every
// test, and skips it elsewhere, so `go test` works on a machine without the server.
func RequireInstalled(tb testing.TB, missing error) {
	tb.Helper()
	if missing == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal(missing)
	}
	tb.Skip(missing)
}

// Server is a process a fixture can stop.
type Server interface{ Stop() error }

// Start runs a server for one test, its files in the test's temporary directory, and stops it when the test
// ends.
func Start[S Server](tb testing.TB, installed func() error, start func(dir string) (S, error)) S {
	tb.Helper()
	RequireInstalled(tb, installed())
	s, err := start(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Stop() })
	return s
}

// Fixture shares one server among the tests of a package: the first test that asks starts it, Close (from
// TestMain, after m.Run) stops it.
//
//	var prom = promtest.NewFixture(func(dir string) (promtest.Options, error) { ... write the history ... })
//	func TestMain(m *testing.M) { code := m.Run(); prom.Close(); os.Exit(code) }
//	func TestX(t *testing.T) { srv := prom.Server(t) ... }
type Fixture[S Server] struct {
	prefix    string
	installed func() error
	start     func(dir string) (S, error)
	once      sync.Once
	dir       string
	srv       S
	started   bool
	err       error
}

// NewFixture is a fixture whose start prepares its files in dir (a temporary directory named after prefix,
// removed by Close) and starts the server; installed says whether its binary is there.
func NewFixture[S Server](prefix string, installed func() error, start func(dir string) (S, error)) *Fixture[S] {
	return &Fixture[S]{prefix: prefix, installed: installed, start: start}
}

// Server is the shared server, started on first use. A failed start fails every test that asks.
func (f *Fixture[S]) Server(tb testing.TB) S {
	tb.Helper()
	RequireInstalled(tb, f.installed())
	f.once.Do(func() {
		if f.dir, f.err = os.MkdirTemp("", f.prefix); f.err != nil {
			return
		}
		f.srv, f.err = f.start(f.dir)
		f.started = f.err == nil
	})
	if f.err != nil {
		tb.Fatal(f.err)
	}
	return f.srv
}

// Close stops the shared server if it was started and removes its files.
func (f *Fixture[S]) Close() {
	if f.started {
		_ = f.srv.Stop()
	}
	if f.dir != "" {
		_ = os.RemoveAll(f.dir)
	}
}
