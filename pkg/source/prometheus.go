package source

import (
	"context"
	"errors"
	"net/http"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/models"
)

// Prometheus reads the fleet from a Prometheus-compatible HTTP API.
type Prometheus struct {
	cfg    *models.Settings
	client *http.Client
}

// NewPrometheus is a source reading from the URL in cfg with client (the SDK's client: auth, TLS, headers).
func NewPrometheus(cfg *models.Settings, client *http.Client) (*Prometheus, error) {
	return &Prometheus{cfg: cfg, client: client}, nil
}

func (p *Prometheus) Fleet(context.Context, Request) (*fleet.Fleet, error) {
	return nil, errors.New("TODO")
}

func (p *Prometheus) Values(context.Context, ValueKind) ([]string, error) {
	return nil, errors.New("TODO")
}

func (p *Prometheus) Health(context.Context) Health {
	return Health{Message: "TODO"}
}
