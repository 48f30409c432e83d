// Package promtest runs a real Prometheus (Debian's `prometheus` and `promtool`) for tests: on 127.0.0.1 with
// a free port and a temporary data dir, optionally backfilled from OpenMetrics before it starts, optionally
// scraping targets. Where the binaries are missing the test is skipped, or fails when CI=true.
//
// Backfills take seconds, so a package can share one server among its tests with a Fixture.
package promtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/testproc"
)

// Options choose what the server holds and how it runs.
type Options struct {
	// Backfill is an OpenMetrics file imported with promtool before the server starts.
	Backfill string
	// WriteBlocks, when set, writes TSDB blocks into the data dir before the server starts: history written
	// with Prometheus' own tsdb package, at sizes promtool's text import is too slow for.
	WriteBlocks func(dataDir string) error
	// Config is the content of prometheus.yml (scrape configs); empty is a config with no targets.
	Config string
	// Flags are extra command-line flags, e.g. "--query.timeout=5s", "--query.max-samples=1000".
	Flags []string
	// Entrypoint, when set, is a shell script that backfills and starts Prometheus itself (the demo stack's),
	// run with HISTORY, DATA, CONFIG and LISTEN in its environment and Flags as its arguments.
	Entrypoint string
}

// Server is a running Prometheus.
type Server struct {
	// URL is the base URL of its HTTP API, e.g. http://127.0.0.1:41234.
	URL     string
	DataDir string
	opts    Options
	dir     string
	addr    string
	cmd     *exec.Cmd
	done    chan struct{}
	log     *testproc.Buffer
	api     v1.API
}

// Binaries reports whether prometheus and promtool are installed, and if not, which is missing.
func Binaries() error {
	for _, b := range []string{"prometheus", "promtool"} {
		if _, err := exec.LookPath(b); err != nil {
			return fmt.Errorf("%s is not installed (apt-get install prometheus): %w", b, err)
		}
	}
	return nil
}

// Start runs a server for one test and stops it when the test ends.
func Start(tb testing.TB, o Options) *Server {
	tb.Helper()
	return testproc.Start(tb, Binaries, func(dir string) (*Server, error) { return start(dir, o) })
}

// Launch runs a server outside a test (a benchmark command) with its files in dir; the caller stops it.
func Launch(dir string, o Options) (*Server, error) {
	if err := Binaries(); err != nil {
		return nil, err
	}
	return start(dir, o)
}

func start(dir string, o Options) (*Server, error) {
	s := &Server{opts: o, dir: dir, DataDir: filepath.Join(dir, "data")}
	if o.Backfill != "" && o.Entrypoint == "" {
		out, err := exec.Command("promtool", "tsdb", "create-blocks-from", "openmetrics",
			"--max-block-duration=400h", o.Backfill, s.DataDir).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("promtool could not backfill %s: %w\n%s", o.Backfill, err, tail(out))
		}
	}
	if o.WriteBlocks != nil {
		if err := o.WriteBlocks(s.DataDir); err != nil {
			return nil, fmt.Errorf("could not write the TSDB blocks: %w", err)
		}
	}
	cfg := o.Config
	if cfg == "" {
		cfg = "global:\n  scrape_interval: 15s\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	if err := s.launch(); err != nil {
		return nil, err
	}
	return s, nil
}

// launch starts the process on a free port and waits until it is ready.
func (s *Server) launch() error {
	if s.addr == "" {
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		s.addr = addr
	}
	args := []string{
		"--config.file=" + filepath.Join(s.dir, "prometheus.yml"),
		"--storage.tsdb.path=" + s.DataDir,
		"--storage.tsdb.retention.time=100y", // backfilled history may be older than the default 15 days
		"--web.listen-address=" + s.addr,
		"--web.enable-lifecycle",
	}
	s.log = &testproc.Buffer{}
	cmd := exec.Command("prometheus", append(args, s.opts.Flags...)...)
	if s.opts.Entrypoint != "" {
		cmd = exec.Command("sh", append([]string{s.opts.Entrypoint}, s.opts.Flags...)...)
		cmd.Env = append(os.Environ(), "HISTORY="+s.opts.Backfill, "DATA="+s.DataDir,
			"CONFIG="+filepath.Join(s.dir, "prometheus.yml"), "LISTEN="+s.addr)
	}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	// Die with the test binary even when a test forgets to stop the server.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("could not start prometheus: %w", err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.done) }()
	s.URL = "http://" + s.addr
	client, err := api.NewClient(api.Config{Address: s.URL})
	if err != nil {
		return err
	}
	s.api = v1.NewAPI(client)
	return s.waitReady(2 * time.Minute)
}

func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("prometheus exited before it was ready:\n%s", tail(s.log.Bytes()))
		default:
		}
		resp, err := http.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = s.Kill()
	return fmt.Errorf("prometheus was not ready after %s:\n%s", timeout, tail(s.log.Bytes()))
}

// API is a client of the server's HTTP API.
func (s *Server) API() v1.API { return s.api }

// Query runs an instant query at ts and fails the test on an error or warning.
func (s *Server) Query(tb testing.TB, q string, ts time.Time) model.Value {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	v, warnings, _, err := s.api.Query(ctx, q, ts)
	if err != nil || len(warnings) > 0 {
		tb.Fatalf("query %s at %s: %v %v", q, ts.UTC().Format(time.RFC3339), err, warnings)
	}
	return v
}

// QueryVector runs an instant query and returns its samples keyed by the value of label.
func (s *Server) QueryVector(tb testing.TB, q string, ts time.Time, label string) map[string]float64 {
	tb.Helper()
	vec, ok := s.Query(tb, q, ts).(model.Vector)
	if !ok {
		tb.Fatalf("query %s did not return a vector", q)
	}
	out := map[string]float64{}
	for _, smp := range vec {
		out[string(smp.Metric[model.LabelName(label)])] = float64(smp.Value)
	}
	return out
}

// Log is what the server printed so far.
func (s *Server) Log() string { return s.log.String() }

// Stop ends the server gracefully (SIGTERM) and waits for it. Stopping a stopped server does nothing.
func (s *Server) Stop() error { return s.signal(syscall.SIGTERM) }

// Kill ends the server at once (SIGKILL), as a crash would.
func (s *Server) Kill() error { return s.signal(syscall.SIGKILL) }

// Pause freezes the server (SIGSTOP), as a hung process or a stalled machine: the kernel still accepts
// connections and requests, but nothing answers them. Resume, Stop or Kill end the pause. It returns once the
// kernel shows the process stopped: the signal is delivered asynchronously, and a loaded machine may let a
// request in before.
func (s *Server) Pause() error {
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		return err
	}
	stat := fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b, err := os.ReadFile(stat)
		if err != nil {
			return err
		}
		// The state follows the command name, which is in parentheses: "pid (prometheus) T ...".
		if _, after, ok := bytes.Cut(b, []byte(") ")); ok && len(after) > 0 && after[0] == 'T' {
			return nil
		}
	}
	return errors.New("prometheus did not stop within 5 s of SIGSTOP")
}

// Resume lets a paused server run again (SIGCONT).
func (s *Server) Resume() error { return s.cmd.Process.Signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) error {
	if s.cmd == nil {
		return nil
	}
	select {
	case <-s.done:
		return nil
	default:
	}
	if err := s.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	// A paused server handles the signal only once it runs again.
	_ = s.cmd.Process.Signal(syscall.SIGCONT)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	return nil
}

// Restart stops the server and starts it again on the same address and data.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	if err := s.Stop(); err != nil {
		tb.Fatal(err)
	}
	if err := s.launch(); err != nil {
		tb.Fatal(err)
	}
}

// Fixture shares one server among the tests of a package (see testproc.Fixture).
type Fixture = testproc.Fixture[*Server]

// NewFixture is a fixture whose setup prepares the options (e.g. writes the backfill file into dir, a temporary
// directory removed by Close).
func NewFixture(setup func(dir string) (Options, error)) *Fixture {
	return testproc.NewFixture("promtest-", Binaries, func(dir string) (*Server, error) {
		o, err := setup(dir)
		if err != nil {
			return nil, err
		}
		return start(dir, o)
	})
}

// QueryableSamples reads how many samples a query read from its answer, asked with stats=all (Prometheus' own
// count, totalQueryableSamples): what the benchmarks compare raw and recorded reads by.
func QueryableSamples(answer []byte) (int64, error) {
	var st struct {
		Data struct {
			Stats struct {
				Samples struct {
					TotalQueryableSamples int64 `json:"totalQueryableSamples"`
				} `json:"samples"`
			} `json:"stats"`
		} `json:"data"`
	}
	err := json.Unmarshal(answer, &st)
	return st.Data.Stats.Samples.TotalQueryableSamples, err
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}

// tail is the end of a log, enough to see why a process failed.
func tail(b []byte) string {
	const n = 4000
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
