package main

import (
	"os"
	"runtime/debug"

	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/plugin"
)

// defaultMemoryLimit is the heap size the garbage collector works to stay under unless GOMEMLIMIT says otherwise.
// Grafana runs the plugin as a process of its own beside itself; without a limit a read of 1000 models lets the
// heap grow to twice what it holds before a collection (GOGC=100). The limit is soft: a larger fleet still gets
// the memory it needs, at the cost of more frequent collections.
const defaultMemoryLimit = 128 << 20

func main() {
	limitMemory(os.LookupEnv)
	if err := datasource.Manage("nrp-fleetefficiency-datasource", plugin.NewDatasource, datasource.ManageOpts{}); err != nil {
		log.DefaultLogger.Error(err.Error())
		os.Exit(1)
	}
}

// limitMemory sets the default memory limit unless the environment sets one (the Go runtime reads GOMEMLIMIT).
func limitMemory(lookupEnv func(string) (string, bool)) {
	if _, set := lookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}
