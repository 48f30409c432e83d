package fleet

import (
	"strings"
)

// GPUSpec is what the analyses need to know about a GPU type.
type GPUSpec struct {
	// Name is the catalog's canonical name (the usual DCGM modelName).
	Name     string
	MemoryGB float64
	TDPW     float64
	// ParkedW is the power of a GPU holding a loaded model with no requests: the fallback idle floor where the
	// fleet gives no measurement. Public nvidia-smi readings; see docs/formulas.md.
	ParkedW float64
	// BareIdleW is the power of a GPU with no process on it (P8): what a GPU returned to the pool draws where
	// the fleet has no unallocated GPU of the type to measure. Public nvidia-smi readings (middle of the range).
	BareIdleW float64
	// HBMGBPerS is the memory bandwidth from the vendor's datasheet: a decode step reads every weight of the
	// GPU's shard, so it bounds the step rate (docs/right-sizing.md).
	HBMGBPerS float64
	// MIG is whether the GPU splits into Multi-Instance GPU slices (NVIDIA's MIG user guide: A100, H100).
	MIG bool
}

// GPUCatalog finds GPU specs by the modelName label, matching loosely: drivers spell the same product
// "NVIDIA A100-SXM4-80GB" or "A100-SXM4-80GB".
type GPUCatalog struct {
	specs []GPUSpec
}

// DefaultGPUs is the built-in catalog.
var DefaultGPUs = NewGPUCatalog([]GPUSpec{
	{Name: "NVIDIA RTX A6000", MemoryGB: 48, TDPW: 300, ParkedW: 105, BareIdleW: 22, HBMGBPerS: 768},
	{Name: "NVIDIA A100-SXM4-80GB", MemoryGB: 80, TDPW: 400, ParkedW: 90, BareIdleW: 64, HBMGBPerS: 2039, MIG: true},
	{Name: "NVIDIA A100-SXM4-40GB", MemoryGB: 40, TDPW: 400, ParkedW: 85, BareIdleW: 60, HBMGBPerS: 1555, MIG: true},
	{Name: "NVIDIA A100 80GB PCIe", MemoryGB: 80, TDPW: 300, ParkedW: 62, BareIdleW: 48, HBMGBPerS: 1935, MIG: true},
	{Name: "NVIDIA A100-PCIE-40GB", MemoryGB: 40, TDPW: 250, ParkedW: 60, BareIdleW: 48, HBMGBPerS: 1555, MIG: true},
	{Name: "NVIDIA H100 80GB HBM3", MemoryGB: 80, TDPW: 700, ParkedW: 125, BareIdleW: 72, HBMGBPerS: 3350, MIG: true},
	{Name: "NVIDIA H100 PCIe", MemoryGB: 80, TDPW: 350, ParkedW: 75, BareIdleW: 47, HBMGBPerS: 2000, MIG: true},
	{Name: "NVIDIA H100 NVL", MemoryGB: 94, TDPW: 400, ParkedW: 98, BareIdleW: 64, HBMGBPerS: 3900, MIG: true},
	{Name: "NVIDIA L40S", MemoryGB: 48, TDPW: 350, ParkedW: 82, BareIdleW: 30, HBMGBPerS: 864},
	{Name: "NVIDIA L40", MemoryGB: 48, TDPW: 300, ParkedW: 80, BareIdleW: 35, HBMGBPerS: 864},
	{Name: "NVIDIA A10", MemoryGB: 24, TDPW: 150, ParkedW: 60, BareIdleW: 16, HBMGBPerS: 600},
	{Name: "NVIDIA GeForce RTX 3090", MemoryGB: 24, TDPW: 350, ParkedW: 100, BareIdleW: 20, HBMGBPerS: 936},
	{Name: "NVIDIA GeForce RTX 4090", MemoryGB: 24, TDPW: 450, ParkedW: 100, BareIdleW: 20, HBMGBPerS: 1008},
	{Name: "Tesla V100-SXM2-32GB", MemoryGB: 32, TDPW: 300, ParkedW: 55, BareIdleW: 42, HBMGBPerS: 900},
})

// NewGPUCatalog is a catalog of specs; later entries win over earlier ones with the same normalized name, so
// settings can be appended to the defaults.
func NewGPUCatalog(specs []GPUSpec) GPUCatalog {
	return GPUCatalog{specs: specs}
}

// With is the catalog with overrides added on top.
func (c GPUCatalog) With(overrides []GPUSpec) GPUCatalog {
	specs := make([]GPUSpec, 0, len(c.specs)+len(overrides))
	specs = append(specs, c.specs...)
	specs = append(specs, overrides...)
	return GPUCatalog{specs: specs}
}

// Lookup finds the spec of a GPU by its modelName label. Exact normalized matches win; otherwise the
// longest catalog name contained in the label (so "NVIDIA L40S" is not taken for "NVIDIA L40").
func (c GPUCatalog) Lookup(modelName string) (GPUSpec, bool) {
	key := normalizeGPUName(modelName)
	if key == "" {
		return GPUSpec{}, false
	}
	var best GPUSpec
	bestLen := -1
	for i := len(c.specs) - 1; i >= 0; i-- {
		s := c.specs[i]
		n := normalizeGPUName(s.Name)
		if n == key {
			return s, true
		}
		if len(n) > bestLen && containsToken(key, n) {
			best, bestLen = s, len(n)
		}
	}
	return best, bestLen >= 0
}

// normalizeGPUName lowercases, drops vendor words and folds punctuation to single spaces.
func normalizeGPUName(s string) string {
	fields := alnumFields(s)
	out := fields[:0]
	for _, f := range fields {
		if f == "nvidia" || f == "tesla" || f == "geforce" {
			continue
		}
		out = append(out, f)
	}
	return strings.Join(out, " ")
}

// containsToken reports whether needle appears in hay on word boundaries.
func containsToken(hay, needle string) bool {
	return strings.Contains(" "+hay+" ", " "+needle+" ")
}
