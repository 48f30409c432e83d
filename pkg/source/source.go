// Package source reads the fleet: the only package that knows PromQL, which it sends through pkg/promclient. A
// Source turns a time range into a fleet.Fleet; the demo source (pkg/demo) answers from the simulated fleet.
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
	// Needs are the quantities to read; the zero value reads all of them. A source may read more.
	Needs Quantities
	// Identity tells apart the users whose credentials the data source forwards to Prometheus (a digest of
	// them, never the credentials): reads are shared only between requests of the same identity.
	Identity string
}

// Quantities is a set of the fleet's quantities, so a query type that needs few of them does not pay Prometheus
// for the others (a J/token panel needs power and token rates, not GPU counts, power limits or window totals).
type Quantities uint8

const (
	// NeedPowerW is each placement's power per step.
	NeedPowerW Quantities = 1 << iota
	// NeedGPUs is each placement's GPU count per step.
	NeedGPUs
	// NeedTokenRates are each model's prompt and generation token rates per step.
	NeedTokenRates
	// NeedPowerLimits is each placement's power limit per step.
	NeedPowerLimits
	// NeedWindowTotals are the energy of each placement and the tokens of each model over the whole window.
	NeedWindowTotals
	// NeedServing are the serving engine's load signals per model (queue, KV cache, latency histograms): the
	// saturation and latency evidence of right-sizing. Optional: a read without them still answers.
	NeedServing
	// NeedIntensity is the grid's live carbon intensity per site, when the carbon settings have a query for it.
	// Optional like NeedServing.
	NeedIntensity

	// NeedAll is every quantity.
	NeedAll = NeedPowerW | NeedGPUs | NeedTokenRates | NeedPowerLimits | NeedWindowTotals | NeedServing | NeedIntensity
)

// Has reports whether q includes all of want; the zero set is every quantity.
func (q Quantities) Has(want Quantities) bool { return q == 0 || q&want == want }

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
