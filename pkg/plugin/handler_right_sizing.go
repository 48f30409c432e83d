package plugin

import (
	"context"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

func (d *Datasource) rightSizing(_ context.Context, _ models.Query, _ *fleet.Fleet, _ backend.DataQuery) (data.Frames, error) {
	return nil, errNotImplemented(models.QueryRightSizing)
}
