// Package vmtest runs a real VictoriaMetrics single-node server (Debian's `victoria-metrics`) for tests: on
// 127.0.0.1 with a free port and a temporary data dir, holding a history imported through its import API from
// the OpenMetrics a simulator writes for promtool. Where the binary is missing the test is skipped, or fails
// when CI=true.
//
// Imports take seconds, so a package can share one server among its tests with a Fixture.
package vmtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/testproc"
)

// Binary is the server's executable, as the Debian package installs it.
const Binary = "victoria-metrics"

// Options choose what the server holds.
type Options struct {
	// Import is an OpenMetrics file (timestamps in seconds, as promtool reads it) imported once the server runs.
	Import string
	// Flags are extra command-line flags, e.g. "-search.maxUniqueTimeseries=1000".
	Flags []string
}

// Server is a running VictoriaMetrics.
type Server struct {
	// URL is the base URL of its Prometheus-compatible API, e.g. http://127.0.0.1:41234.
	URL  string
	cmd  *exec.Cmd
	done chan struct{}
	log  *bytes.Buffer
	mu   sync.Mutex
}

// Installed reports whether the binary is there, and if not, how to get it.
func Installed() error {
	if _, err := exec.LookPath(Binary); err != nil {
		return fmt.Errorf("%s is not installed (apt-get install victoria-metrics): %w", Binary, err)
	}
	return nil
}

// Start runs a server for one test and stops it when the test ends.
func Start(tb testing.TB, o Options) *Server {
	tb.Helper()
	return testproc.Start(tb, Installed, func(dir string) (*Server, error) { return start(dir, o) })
}

func start(dir string, o Options) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	s := &Server{URL: "http://" + addr, done: make(chan struct{}), log: &bytes.Buffer{}}
	args := append([]string{
		"-storageDataPath=" + filepath.Join(dir, "data"),
		"-httpListenAddr=" + addr,
		"-retentionPeriod=100y", // imported history may be older than the default month
		"-search.disableCache",  // answers from what was imported, never from before the import
		"-loggerLevel=ERROR",
	}, o.Flags...)
	s.cmd = exec.Command(Binary, args...)
	s.cmd.Stdout, s.cmd.Stderr = s, s
	// Die with the test binary even when a test forgets to stop the server.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("could not start %s: %w", Binary, err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	if err := s.waitReady(time.Minute); err != nil {
		_ = s.Stop()
		return nil, err
	}
	if o.Import != "" {
		if err := s.importFile(o.Import); err != nil {
			_ = s.Stop()
			return nil, err
		}
	}
	return s, nil
}

// Write collects the server's output for error messages.
func (s *Server) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.Write(p)
}

// Log is the end of what the server printed.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.log.Bytes()
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("%s exited before it was ready:\n%s", Binary, s.Log())
		default:
		}
		if resp, err := http.Get(s.URL + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s was not ready after %s:\n%s", Binary, timeout, s.Log())
}

// importFile sends the history to /api/v1/import/prometheus, which reads Prometheus' text format with
// timestamps in milliseconds, then waits until every series is searchable.
func (s *Server) importFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	pr, pw := io.Pipe()
	counted := make(chan int, 1)
	go func() {
		n, err := toPrometheusText(pw, f)
		counted <- n
		pw.CloseWithError(err)
	}()
	resp, err := http.Post(s.URL+"/api/v1/import/prometheus", "text/plain", pr)
	pr.Close()
	series := <-counted
	if err != nil {
		return fmt.Errorf("importing %s: %w", path, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("importing %s: %s: %s", path, resp.Status, body)
	}
	// Imported samples are buffered for a second or two before they can be found.
	if resp, err := http.Get(s.URL + "/internal/force_flush"); err == nil {
		resp.Body.Close()
	}
	deadline := time.Now().Add(time.Minute)
	for {
		n, err := s.seriesCount()
		if err == nil && n >= series {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after importing %s, %d of its %d series are searchable (last lookup error: %v):\n%s", path, n, series, err, s.Log()) //nolint:errorlint // err may be nil: too few series
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (s *Server) seriesCount() (int, error) {
	resp, err := http.Get(s.URL + "/api/v1/series/count")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var answer struct {
		Data []int `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return 0, err
	}
	if len(answer.Data) != 1 {
		return 0, errors.New("no series count")
	}
	return answer.Data[0], nil
}

// toPrometheusText rewrites OpenMetrics samples `series value seconds` as `series value milliseconds`, leaving
// out comments (# TYPE, # EOF), and counts the series: each one's samples are together.
func toPrometheusText(w io.Writer, r io.Reader) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	bw := bufio.NewWriterSize(w, 1<<20)
	series, last := 0, ""
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// Label values may hold spaces: the value and timestamp are the last two fields.
		i := strings.LastIndexByte(line, ' ')
		j := strings.LastIndexByte(line[:max(i, 0)], ' ')
		if i < 0 || j < 0 {
			return series, fmt.Errorf("not an OpenMetrics sample with a timestamp: %q", line)
		}
		secs, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return series, fmt.Errorf("timestamp of %q: %w", line, err)
		}
		if key := line[:j]; key != last {
			series, last = series+1, key
		}
		bw.WriteString(line[:i+1])
		bw.WriteString(strconv.FormatInt(int64(secs*1000+0.5), 10))
		bw.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return series, err
	}
	return series, bw.Flush()
}

// Stop ends the server gracefully and waits for it. Stopping a stopped server does nothing.
func (s *Server) Stop() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	return nil
}

// Fixture shares one server among the tests of a package (see testproc.Fixture).
type Fixture = testproc.Fixture[*Server]

// NewFixture is a fixture whose setup prepares the options (e.g. writes the history into dir, a temporary
// directory removed by Close).
func NewFixture(setup func(dir string) (Options, error)) *Fixture {
	return testproc.NewFixture("vmtest-", Installed, func(dir string) (*Server, error) {
		o, err := setup(dir)
		if err != nil {
			return nil, err
		}
		return start(dir, o)
	})
}
