package main

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMemoryLimitDefaultsUnlessGOMEMLIMITIsSet(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })

	debug.SetMemoryLimit(math.MaxInt64)
	limitMemory(func(string) (string, bool) { return "", false })
	assert.Equal(t, int64(defaultMemoryLimit), debug.SetMemoryLimit(-1))

	debug.SetMemoryLimit(math.MaxInt64)
	limitMemory(func(name string) (string, bool) { return "512MiB", name == "GOMEMLIMIT" })
	assert.Equal(t, int64(math.MaxInt64), debug.SetMemoryLimit(-1), "the operator's GOMEMLIMIT stands")
}
