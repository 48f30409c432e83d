package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// peakRSS is the peak resident set size of a process (VmHWM), in bytes.
func peakRSS(pid int) (int64, error) {
	kb, err := procStatus(fmt.Sprintf("/proc/%d/status", pid), "VmHWM")
	return kb << 10, err
}

// procStatus reads one "Name:   value kB" field of a /proc status-like file, as a number.
func procStatus(path, field string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if ok && name == field {
			return strconv.ParseInt(strings.Fields(value)[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("%s has no %s", path, field)
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// machine says what the figures were measured on.
func machine() string {
	cpu := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
				cpu = strings.TrimSpace(value)
				break
			}
		}
	}
	memKB, _ := procStatus("/proc/meminfo", "MemTotal")
	prom := "?"
	if out, err := execOutput("prometheus", "--version"); err == nil {
		prom = firstLine(out)
	}
	return fmt.Sprintf("%d cores (%s), %.0f GiB RAM, %s, %s", runtime.NumCPU(), cpu, float64(memKB)/(1<<20), runtime.Version(), prom)
}

// report is the session's results as markdown: the machine, each fleet's setup, and the table.
func (s *session) report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s on %s; each figure the median of the fleet's runs.\n\n", s.began.UTC().Format("2006-01-02 15:04 MST"), machine())
	b.WriteString("| Fleet | GPUs | Sample spacing | Series | Samples | Backfill | Runs | Load avg before / after |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, f := range s.fleets {
		fmt.Fprintf(&b, "| %d models x %d days | %d | %s | %d | %s | %s | %d | %s / %s |\n", f.Fleet.Models, s.cfg.days, f.GPUs, f.Fleet.Spacing,
			f.Backfill.Series, millions(f.Backfill.Samples), f.Backfill.Took.Round(time.Second), s.runs(f.Fleet), f.LoadBefore, f.LoadAfter)
	}
	b.WriteString("\n| Models | Query type | Queries | Floor | Hand-written | Plugin | Plugin / floor | Plugin / hand-written | Peak RSS | Bytes from Prometheus (plugin / floor / hand-written) | Samples read (plugin / hand-written) | Samples stored | Read / stored |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range s.rows {
		switch {
		case r.Panels > 0:
			continue
		case r.Err != "":
			fmt.Fprintf(&b, "| %d | %s | | | | failed: %s | | | | | | | |\n", r.Fleet.Models, r.Case, strings.ReplaceAll(r.Err, "|", "/"))
			continue
		}
		times := fmt.Sprintf("%s | %s | %s | %.2f | %.2f", ms(r.Floor), ms(r.HandWritten), ms(r.Plugin), ratio(r.Plugin, r.Floor), ratio(r.Plugin, r.HandWritten))
		bytes := fmt.Sprintf("%s / %s / %s", size(r.PluginBytes), size(r.FloorBytes), size(r.HandWrittenBytes))
		if r.Plugin == 0 {
			times, bytes = "not timed | | | |", ""
		}
		fmt.Fprintf(&b, "| %d | %s | %d | %s | %d MB | %s | %s / %s | %s | %.2f |\n", r.Fleet.Models, r.Case, r.Queries, times,
			r.PeakRSS>>20, bytes, millions(int(r.SamplesRead)), millions(int(r.HandSamples)),
			millions(int(r.SamplesStored)), float64(r.SamplesRead)/float64(r.SamplesStored))
	}
	b.WriteString(s.dashboardLoads())
	b.WriteString(s.sharedReads())
	return b.String()
}

// dashboardLoads compares, per fleet, a cold load of the provisioned dashboard (one request per panel, all at
// once) to one request of the costliest query type it shows.
func (s *session) dashboardLoads() string {
	var b strings.Builder
	for _, r := range s.rows {
		if r.Case != dashboardLoad {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("\n| Models | Dashboard load (cold) | Requests | Queries | Costliest single query type | One request of it (warm / cold) | Load / one request (warm / cold) | Peak RSS | Bytes from Prometheus | Samples read | Samples stored | Read / stored |\n")
			b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
		}
		if r.Err != "" {
			fmt.Fprintf(&b, "| %d | failed: %s | | | | | | | | | | |\n", r.Fleet.Models, strings.ReplaceAll(r.Err, "|", "/"))
			continue
		}
		worst, warm, cold, vsWarm, vsCold := s.costliestSingle(r.Fleet), "", "", "", ""
		name := ""
		if worst != nil {
			name, warm, vsWarm = worst.Case, ms(worst.Plugin), fmt.Sprintf("%.2f", ratio(r.Plugin, worst.Plugin))
		}
		if r.ColdSingle > 0 {
			cold, vsCold = ms(r.ColdSingle), fmt.Sprintf("%.2f", ratio(r.Plugin, r.ColdSingle))
		}
		fmt.Fprintf(&b, "| %d | %s | %d | %d | %s | %s / %s | %s / %s | %d MB | %s | %s | %s | %.2f |\n", r.Fleet.Models, ms(r.Plugin), r.Panels, r.Queries,
			name, warm, cold, vsWarm, vsCold, r.PeakRSS>>20, size(r.PluginBytes), millions(int(r.SamplesRead)),
			millions(int(r.SamplesStored)), float64(r.SamplesRead)/float64(r.SamplesStored))
	}
	return b.String()
}

// costliestSingle is the slowest one-query-type request measured on a fleet.
func (s *session) costliestSingle(f fleetSize) *row {
	var worst *row
	for i := range s.rows {
		r := &s.rows[i]
		if r.Fleet == f && r.Err == "" && r.Panels == 0 && r.Plugin > 0 && r.Case != allFive && (worst == nil || r.Plugin > worst.Plugin) {
			worst = r
		}
	}
	return worst
}

// sharedReads compares, per fleet, the request with all five query types to the most expensive single one.
func (s *session) sharedReads() string {
	var b strings.Builder
	for _, f := range s.fleets {
		worst := s.costliestSingle(f.Fleet)
		i := slices.IndexFunc(s.rows, func(r row) bool { return r.Fleet == f.Fleet && r.Case == allFive && r.Err == "" && r.Plugin > 0 })
		if worst != nil && i >= 0 {
			fmt.Fprintf(&b, "\n%d models: all five in one request take %.2fx the most expensive single query type (%s).", f.Fleet.Models, ratio(s.rows[i].Plugin, worst.Plugin), worst.Case)
		}
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	return b.String()
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func ms(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func millions(n int) string {
	if n >= 1e6 {
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	}
	return strconv.Itoa(n)
}
