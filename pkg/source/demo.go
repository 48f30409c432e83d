package source

import (
	"context"
	"errors"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// Demo answers from the built-in simulated fleet, in-process.
type Demo struct {
	cfg *models.Settings
}

// NewDemo is the demo source.
func NewDemo(cfg *models.Settings) *Demo { return &Demo{cfg: cfg} }

func (d *Demo) Fleet(context.Context, Request) (*fleet.Fleet, error) { return nil, errors.New("TODO") }

func (d *Demo) Values(context.Context, ValueKind) ([]string, error) { return nil, errors.New("TODO") }

func (d *Demo) Health(context.Context) Health { return Health{OK: true, Message: "TODO"} }
