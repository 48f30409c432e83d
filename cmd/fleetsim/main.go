// Command fleetsim runs the simulated GPU fleet: live exporters for Prometheus to scrape (serve), OpenMetrics
// history for promtool (history), and the ground truth (truth).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/sim"
)

const usage = `fleetsim: a simulated GPU fleet serving LLMs, with known ground truth.

  fleetsim serve   [flags]   live dcgm-exporter at /dcgm/metrics, vLLM at /vllm/metrics, grid intensity at /grid/metrics
  fleetsim history [flags]   OpenMetrics history for promtool tsdb create-blocks-from openmetrics
  fleetsim truth   [flags]   the ground truth over the history window, as JSON

Run "fleetsim COMMAND -h" for the flags of a command.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "history":
		err = history(os.Args[2:], os.Stdout)
	case "truth":
		err = truth(os.Args[2:], os.Stdout)
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "fleetsim:", err)
		}
		os.Exit(1)
	}
}

// fleetFlags choose the fleet and how it is named; every command takes them.
type fleetFlags struct {
	seed   int64
	fleet  string
	models int
	mixed  bool
	mess   bool
	epoch  string
	naming sim.Naming
	sglang bool
	rename renames
	relbl  renames
}

type renames map[string]string

func (r renames) String() string { return fmt.Sprint(map[string]string(r)) }

func (r renames) Set(v string) error {
	from, to, ok := strings.Cut(v, "=")
	if !ok || from == "" || to == "" {
		return fmt.Errorf("%q is not FROM=TO", v)
	}
	r[from] = to
	return nil
}

func (f *fleetFlags) register(fs *flag.FlagSet) {
	f.rename, f.relbl = renames{}, renames{}
	fs.Int64Var(&f.seed, "seed", sim.DefaultSeed, "seed of the simulation")
	fs.StringVar(&f.fleet, "fleet", "default", "default (NRP-like, with --mess) or sizing (right-sizing cases: replicas, two GPU types, SLO-bound)")
	fs.IntVar(&f.models, "models", 0, "number of models of a scaled benchmark fleet (0: the fleet of --fleet)")
	fs.BoolVar(&f.mess, "mess", true, "default fleet: a pod restart and a 20-minute scrape gap")
	fs.BoolVar(&f.mixed, "mixed", false, "mix exporter versions: hostname on every second node, no energy counter on every third, pre-v0.9 vLLM names on every second model")
	fs.BoolVar(&f.naming.Serving, "serving", false, "emit vLLM's serving signals (waiting requests, KV cache, preemptions, requests, TTFT and ITL histograms)")
	fs.StringVar(&f.epoch, "epoch", "", "when counters start (RFC 3339); default: the start of the window, on the hour")
	fs.BoolVar(&f.naming.Exported, "exported", false, "workload labels as exported_namespace/pod/container (honor_labels: false)")
	fs.BoolVar(&f.naming.NoEnergyCounter, "no-energy", false, "leave out DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION")
	fs.StringVar(&f.naming.HostLabel, "host-label", "Hostname", "label of the node name (Hostname or hostname)")
	fs.StringVar(&f.naming.GPUModelLabel, "gpu-model-label", "", "put the served model name on GPU series under this label")
	fs.BoolVar(&f.sglang, "sglang", false, "SGLang token counters instead of vLLM's")
	fs.Var(f.rename, "rename-metric", "rename a metric, FROM=TO (repeatable)")
	fs.Var(f.relbl, "rename-label", "rename a label on every series, FROM=TO (repeatable)")
}

// build makes the fleet whose epoch defaults to windowStart on the hour.
func (f *fleetFlags) build(windowStart time.Time) (*sim.Sim, error) {
	epoch := windowStart.Truncate(time.Hour)
	if f.epoch != "" {
		t, err := time.Parse(time.RFC3339, f.epoch)
		if err != nil {
			return nil, fmt.Errorf("--epoch: %w", err)
		}
		epoch = t
	}
	var spec sim.Spec
	switch {
	case f.models > 0:
		spec = sim.ScaledFleet(f.models, f.seed, epoch)
	case f.fleet == "default":
		spec = sim.DefaultFleet(epoch, f.mess)
	case f.fleet == "sizing":
		spec = sim.SizingFleet(epoch)
	default:
		return nil, fmt.Errorf("--fleet %q is not default or sizing", f.fleet)
	}
	if f.mixed {
		spec = sim.MixVariants(spec)
	}
	if f.sglang {
		f.naming.Metrics = sim.SGLang().Metrics
	}
	if len(f.rename) > 0 {
		if f.naming.Metrics == nil {
			f.naming.Metrics = map[string]string{}
		}
		for k, v := range f.rename {
			f.naming.Metrics[k] = v
		}
	}
	f.naming.Labels = f.relbl
	return sim.New(spec, f.seed)
}

// window is the history window flags: --days up to --end.
type window struct {
	days float64
	step time.Duration
	end  string
}

func (w *window) register(fs *flag.FlagSet, days float64) {
	fs.Float64Var(&w.days, "days", days, "length of the window in days")
	// History samples as often as Prometheus scrapes; the live exporters answer at any instant, so only the
	// history needs the interval.
	for _, name := range []string{"step", "scrape-interval"} {
		fs.DurationVar(&w.step, name, time.Minute, "time between history samples: Prometheus' scrape interval (--step and --scrape-interval are one flag)")
	}
	fs.StringVar(&w.end, "end", "", "end of the window (RFC 3339); default: now, on the step")
}

func (w *window) bounds(now time.Time) (start, end time.Time, err error) {
	if w.step <= 0 || w.days <= 0 {
		return start, end, errors.New("--step and --days must be positive")
	}
	end = now.Truncate(w.step)
	if w.end != "" {
		if end, err = time.Parse(time.RFC3339, w.end); err != nil {
			return start, end, fmt.Errorf("--end: %w", err)
		}
	}
	return end.Add(-time.Duration(w.days * float64(24*time.Hour))), end, nil
}

func history(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("history", flag.ContinueOnError)
	var ff fleetFlags
	var win window
	out := fs.String("out", "-", "file to write (- for standard output)")
	instance := fs.String("instance", sim.DefaultInstance, "instance label, as Prometheus would attach it")
	metrics := fs.String("metrics", "", "only these metrics, comma-separated standard names (default: all)")
	ff.register(fs)
	win.register(fs, 7)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var only []string
	if *metrics != "" {
		only = strings.Split(*metrics, ",")
	}
	start, end, err := win.bounds(time.Now())
	if err != nil {
		return err
	}
	s, err := ff.build(start)
	if err != nil {
		return err
	}
	return writeHistoryFile(s, *out, stdout, sim.HistoryOptions{Start: start, End: end, Step: win.step, Naming: ff.naming, Instance: *instance, Metrics: only})
}

// writeHistoryFile writes the history to path atomically (a reader waiting for the file never sees half of it).
func writeHistoryFile(s *sim.Sim, path string, stdout io.Writer, o sim.HistoryOptions) error {
	began := time.Now()
	w := stdout
	var f *os.File
	if path != "-" {
		var err error
		if f, err = os.Create(path + ".tmp"); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	st, err := s.WriteHistory(w, o)
	if err != nil {
		return err
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return err
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			return err
		}
	}
	samples, series := 0, 0
	for name, n := range st.Samples {
		samples += n
		series += st.Series[name]
	}
	fmt.Fprintf(os.Stderr, "fleetsim: wrote %d samples in %d series from %s to %s in %s\n",
		samples, series, st.First.Format(time.RFC3339), st.Last.Format(time.RFC3339), time.Since(began).Round(time.Millisecond))
	return nil
}

func truth(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("truth", flag.ContinueOnError)
	var ff fleetFlags
	var win window
	ff.register(fs)
	win.register(fs, 7)
	if err := fs.Parse(args); err != nil {
		return err
	}
	start, end, err := win.bounds(time.Now())
	if err != nil {
		return err
	}
	s, err := ff.build(start)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(s.Truth(start, end, win.step))
}

// serveConfig is what serve runs with.
type serveConfig struct {
	fleet      fleetFlags
	win        window
	listen     string
	historyOut string
	instance   string
}

func parseServe(args []string) (*serveConfig, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c := &serveConfig{}
	fs.StringVar(&c.listen, "listen", ":9400", "address to serve the exporters on")
	fs.StringVar(&c.historyOut, "history-out", "", "first write the history of the window before now to this file")
	fs.StringVar(&c.instance, "instance", sim.DefaultInstance, "instance label of the history, as Prometheus scrapes this server")
	c.fleet.register(fs)
	c.win.register(fs, 14)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if c.win.end != "" {
		return nil, errors.New("serve: the window ends now; --end is for history and truth")
	}
	return c, nil
}

func serve(args []string) error {
	c, err := parseServe(args)
	if err != nil {
		return err
	}
	start, end, err := c.win.bounds(time.Now())
	if err != nil {
		return err
	}
	s, err := c.fleet.build(start)
	if err != nil {
		return err
	}
	if c.historyOut != "" {
		o := sim.HistoryOptions{Start: start, End: end, Step: c.win.step, Naming: c.fleet.naming, Instance: c.instance}
		if err := writeHistoryFile(s, c.historyOut, nil, o); err != nil {
			return fmt.Errorf("writing the history: %w", err)
		}
	}
	fmt.Fprintf(os.Stderr, "fleetsim: serving %s and %s on %s\n", sim.PathDCGM, sim.PathVLLM, c.listen)
	return http.ListenAndServe(c.listen, s.Handler(c.fleet.naming, time.Now))
}
