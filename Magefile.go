//go:build mage

package main

import (
	// mage:import
	"github.com/grafana/grafana-plugin-sdk-go/build"
)

// Default builds the backend for every release platform. The SDK reads src/plugin.json, a link to the root one.
var Default = build.BuildAll
