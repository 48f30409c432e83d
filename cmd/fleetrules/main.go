// Command fleetrules writes the recording rules of the GPU Fleet Efficiency data source: per placement and per
// model, once a minute, the power, GPUs, power limit, energy and tokens the plugin reads, with the GPU-to-model
// join done in the rule. Load the file into Prometheus (rule_files), Thanos Ruler, Mimir's ruler or vmalert;
// the data source reads the recorded series wherever they cover a panel's window.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/source"
)

const usage = `fleetrules: the recording rules of the GPU Fleet Efficiency data source, as a Prometheus rule file.

  fleetrules [-settings jsonData.json] [-url http://prometheus:9090] [-prefix fleet] [-o fleet-rules.yml]

The settings file is the data source's jsonData (metric mapping, label filter, scrape interval, recordedPrefix);
without it the default mapping. With -url the join mode "auto" is resolved against that engine, as the data
source resolves it (exported_* labels on the power metric); without it the join labels are used as they are.
Check the file with: promtool check rules fleet-rules.yml
`

func main() {
	if err := run(os.Args[1:], os.Stdout, http.DefaultClient); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "fleetrules:", err)
		}
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer, client *http.Client) error {
	fs := flag.NewFlagSet("fleetrules", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage); fs.PrintDefaults() }
	settingsPath := fs.String("settings", "", "the data source's jsonData as a JSON file (default: the default mapping)")
	url := fs.String("url", "", "Prometheus-compatible API to resolve the join mode \"auto\" against")
	prefix := fs.String("prefix", "", "first part of the recorded series' names (default: the settings' recordedPrefix, or fleet)")
	out := fs.String("o", "-", "file to write (- for standard output)")
	timeout := fs.Duration("timeout", 30*time.Second, "timeout of the lookups at -url")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadSettings(*settingsPath, *url, *prefix)
	if err != nil {
		return err
	}
	rules := source.RulesFor(cfg)
	if *url != "" {
		p, err := source.NewPrometheus(cfg, client)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		if rules, err = p.Rules(ctx); err != nil {
			return err
		}
	}
	if *out == "-" {
		return rules.Write(stdout)
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := rules.Write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// loadSettings reads the jsonData file with the plugin's own defaults and validation.
func loadSettings(path, url, prefix string) (*models.Settings, error) {
	jsonData := map[string]any{}
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(raw, &jsonData); err != nil {
			return nil, fmt.Errorf("%s is not the JSON of the data source's jsonData: %w", path, err)
		}
	}
	if prefix != "" {
		jsonData["recordedPrefix"] = prefix
	}
	if url == "" {
		// Validation wants a URL; the rules do not use it.
		url = "http://prometheus.invalid:9090"
	}
	raw, err := json.Marshal(jsonData)
	if err != nil {
		return nil, err
	}
	return models.LoadSettings(backend.DataSourceInstanceSettings{URL: url, JSONData: raw})
}
