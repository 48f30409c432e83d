// Package source reads the fleet: the only package that knows PromQL and the Prometheus HTTP API. A Source
// turns a time range into a fleet.Fleet; the demo source answers from the simulated fleet in-process.
package source

import (
	"context"
	"time"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/pkg/fleet"
)

// Request is what one fetch of the fleet needs.
type Request struct {
	Start, End time.Time
	// Step is the resolution of the grid. The whole fleet is always read: idle floors are pooled across it, so
	// narrowing to some models happens after the analyses.
	Step time.Duration
	// FromAlert marks alert-rule evaluations, which bypass caches unless configured.
	FromAlert bool
}

// Source reads the fleet over a window.
type Source interface {
	// Fleet is every selected model on an aligned grid covering [Start, End].
	Fleet(ctx context.Context, req Request) (*fleet.Fleet, error)
	// Values lists the values of one kind (models, GPU types, namespaces) seen recently, for editors and variables.
	Values(ctx context.Context, kind ValueKind) ([]string, error)
	// Health checks the connection and the metric mapping.
	Health(ctx context.Context) Health
}

// ValueKind names a list the editors and dashboard variables ask for.
type ValueKind string

const (
	ValueModels     ValueKind = "models"
	ValueGPUTypes   ValueKind = "gpu-types"
	ValueNamespaces ValueKind = "namespaces"
)

// Health is the outcome of a health check.
type Health struct {
	OK bool
	// Message is one line for the "Save & test" banner.
	Message string
	// Details are the facts behind it: engine and version, metric families found and missing, join labels used.
	Details map[string]any
}
