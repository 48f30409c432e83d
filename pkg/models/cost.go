package models

import (
	"errors"
	"fmt"

	"golang.org/x/text/currency"
)

// CostSettings turn energy and GPU-hours into money. Every price is optional: a figure whose price is missing
// stays empty (the frames say which setting would fill it), never a made-up default. Electricity prices per
// site are on the sites of the carbon table (Site.PricePerKWh).
type CostSettings struct {
	// Currency is an ISO 4217 code (e.g. USD) every price is in.
	Currency string `json:"currency"`
	// DefaultPricePerKWh is the electricity price of hosts no site matches, or of sites without a price.
	DefaultPricePerKWh *float64 `json:"defaultPricePerKWh"`
	// GPUs are the hourly costs per GPU type (amortised hardware or a cloud list price).
	GPUs []GPUPrice `json:"gpus"`
}

// GPUPrice is what one GPU of a type costs per hour held, idle or busy.
type GPUPrice struct {
	GPUType   string  `json:"gpuType"`
	CostPerHr float64 `json:"costPerHour"`
}

// maxPrice bounds every price: far above any GPU-hour or kWh price, low enough to catch a slip of units.
const maxPrice = 1e6

// validate checks the cost settings against the sites they price.
func (c CostSettings) validate(sites []Site) []error {
	var errs []error
	if c.Currency != "" {
		if u, err := currency.ParseISO(c.Currency); err != nil || u.String() != c.Currency {
			errs = append(errs, fmt.Errorf("cost.currency %q is not an ISO 4217 currency code in capitals (e.g. USD, EUR)", c.Currency))
		}
	}
	priced := c.DefaultPricePerKWh != nil || len(c.GPUs) > 0
	if p := c.DefaultPricePerKWh; p != nil && !inRange(*p, 0, maxPrice) {
		errs = append(errs, fmt.Errorf("cost.defaultPricePerKWh %v is outside 0..%g", *p, float64(maxPrice)))
	}
	for i, s := range sites {
		if p := s.PricePerKWh; p != nil {
			priced = true
			if !inRange(*p, 0, maxPrice) {
				errs = append(errs, fmt.Errorf("carbon.sites[%d] (%s): pricePerKWh %v is outside 0..%g", i, s.Name, *p, float64(maxPrice)))
			}
		}
	}
	for i, g := range c.GPUs {
		if g.GPUType == "" || !inRange(g.CostPerHr, 0, maxPrice) {
			errs = append(errs, fmt.Errorf("cost.gpus[%d]: needs a GPU type and costPerHour in 0..%g, got %q and %v", i, float64(maxPrice), g.GPUType, g.CostPerHr))
		}
	}
	if priced && c.Currency == "" {
		errs = append(errs, errors.New("cost.currency is empty: prices need the ISO 4217 code they are in (e.g. USD)"))
	}
	return errs
}
