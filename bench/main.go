// Command fleetbench measures the plugin against the Prometheus queries it cannot avoid (issue 8): it backfills
// simulated fleets of 10, 100 and 1000 models over 30 days into a real Prometheus on 127.0.0.1, and times, as
// medians of repeated runs in one session,
//   - floor: the queries the plugin ran for a query type (from its executed-query metadata), sent straight to
//     Prometheus' HTTP API at the plugin's concurrency, answers read to the end;
//   - hand-written: one PromQL computing J/token per model as a user would write it, timed the same way;
//   - plugin: the query type through the built plugin binary, launched and queried as Grafana does (go-plugin
//     gRPC), request in, frames out;
//   - dashboard load: the provisioned dashboard's panels, one request each, all at once, to a fresh plugin
//     process;
//
// with the plugin's peak RSS, the bytes each fetched from Prometheus (counted by a proxy in between), and the
// samples the plugin's queries read (Prometheus' stats=all) next to the raw samples the window holds.
//
// It lives in its own module so the plugin's go.mod does not grow Prometheus' server packages, which it uses to
// write the history as TSDB blocks. Run it with scripts/bench.sh.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/promtest"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fleetbench:", err)
		os.Exit(1)
	}
}

// config is what one benchmark session measures.
type config struct {
	fleets      []fleetSize
	days        int
	runs        int
	seed        int64
	plugin      string
	dataRoot    string
	write       string
	dashboards  string
	concurrency int
	only        map[string]bool
}

// fleetSize is a fleet of Models models backfilled at one sample per Spacing, measured Runs times (-1: -runs;
// 0: no timed runs, the peak RSS and the samples only).
type fleetSize struct {
	Models  int
	Spacing time.Duration
	Runs    int
}

func run(args []string) error {
	fs := flag.NewFlagSet("fleetbench", flag.ContinueOnError)
	fleets := fs.String("fleets", "10:60s,100:60s,1000:300s", "fleet sizes with their sample spacing and optionally their own number of runs (0: peak RSS and samples only), models:spacing[:runs],...")
	cfg := config{}
	fs.IntVar(&cfg.days, "days", 30, "days of history, all of them queried")
	fs.IntVar(&cfg.runs, "runs", 5, "timed runs of each measurement (the median is reported)")
	fs.Int64Var(&cfg.seed, "seed", sim.DefaultSeed, "seed of the simulated fleets")
	fs.StringVar(&cfg.plugin, "plugin", "", "plugin executable (default: go build ../pkg)")
	fs.StringVar(&cfg.dataRoot, "data", "", "keep each fleet's Prometheus data here and reuse it on the next run (default: a temporary directory)")
	fs.StringVar(&cfg.write, "write", "", "markdown file whose results section (between fleetbench markers) is replaced with this run's")
	fs.StringVar(&cfg.dashboards, "dashboards", "../provisioning/dashboards", "directory of the dashboards whose load is measured (cold, one request per panel)")
	fs.IntVar(&cfg.concurrency, "concurrency", 4, "queries at a time when timing the floor (the plugin's own bound)")
	only := fs.String("cases", "", "only these cases, comma-separated (default: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if cfg.fleets, err = parseFleets(*fleets); err != nil {
		return err
	}
	if *only != "" {
		cfg.only = map[string]bool{}
		for _, c := range strings.Split(*only, ",") {
			cfg.only[c] = true
		}
	}
	if err := promtest.Binaries(); err != nil {
		return err
	}
	if cfg.plugin == "" {
		if cfg.plugin, err = buildPlugin(); err != nil {
			return err
		}
	}
	session := newSession(cfg)
	for _, f := range cfg.fleets {
		if err := session.measureFleet(context.Background(), f); err != nil {
			return fmt.Errorf("%d models: %w", f.Models, err)
		}
	}
	report := session.report()
	fmt.Print(report)
	if cfg.write != "" {
		return replaceResults(cfg.write, report)
	}
	return nil
}

func parseFleets(s string) ([]fleetSize, error) {
	var out []fleetSize
	for _, part := range strings.Split(s, ",") {
		fields := strings.Split(part, ":")
		models, err := strconv.Atoi(fields[0])
		if len(fields) < 2 || len(fields) > 3 || err != nil || models <= 0 {
			return nil, fmt.Errorf("fleet %q: want models:spacing[:runs], e.g. 100:60s or 1000:300s:1", part)
		}
		d, err := time.ParseDuration(fields[1])
		if err != nil || d < time.Second {
			return nil, fmt.Errorf("fleet %q: the spacing must be a duration of a second or more", part)
		}
		f := fleetSize{Models: models, Spacing: d, Runs: -1}
		if len(fields) == 3 {
			if f.Runs, err = strconv.Atoi(fields[2]); err != nil || f.Runs < 0 {
				return nil, fmt.Errorf("fleet %q: the runs must be a number, 0 for the peak RSS and samples only", part)
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// buildPlugin builds the plugin executable from ../pkg (the benchmark runs from bench/).
func buildPlugin() (string, error) {
	dir, err := os.MkdirTemp("", "fleetbench-plugin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "gpx_fleetefficiency")
	cmd := exec.Command("go", "build", "-o", bin, "./pkg")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./pkg: %w\n%s", err, out)
	}
	return bin, nil
}

// replaceResults puts report between the fleetbench markers of a markdown file.
func replaceResults(path, report string) error {
	const begin, end = "<!-- fleetbench:begin -->\n", "<!-- fleetbench:end -->"
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(doc)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return errors.New(path + " has no fleetbench:begin / fleetbench:end markers")
	}
	return os.WriteFile(path, []byte(s[:i+len(begin)]+report+s[j:]), 0o644)
}

func listenLocal() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

func execOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}
