package plugin

import (
	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

func errNotImplemented(queryType string) error {
	return backend.PluginErrorf("query type %q is not implemented yet", queryType)
}
