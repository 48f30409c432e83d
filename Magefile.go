//go:build mage

package main

import (
	// mage:import
	"github.com/grafana/grafana-plugin-sdk-go/build"
)

// plugin.json lives at the repository root, not in src/ where the SDK looks by default.
func init() {
	_ = build.SetBeforeBuildCallback(func(cfg build.Config) (build.Config, error) {
		cfg.PluginJSONPath = "."
		return cfg, nil
	})
}

// Default builds the backend for every release platform.
var Default = build.BuildAll
