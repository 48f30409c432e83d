package main

import (
	"go/build"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/nrp-nautilus/fleet-efficiency-datasource"

// moduleImports are the packages of this module that the package in dir imports, with its tests' or without.
func moduleImports(t *testing.T, dir string, tests bool) []string {
	t.Helper()
	p, err := build.Default.ImportDir(dir, 0)
	require.NoError(t, err, dir)
	imports := slices.Clone(p.Imports)
	if tests {
		imports = append(append(imports, p.TestImports...), p.XTestImports...)
	}
	return slices.DeleteFunc(imports, func(path string) bool { return !strings.HasPrefix(path, module+"/") })
}

// The packages stay apart at their seams: the plugin binary ships the simulator only through the demo source,
// and the simulator, whose truth the tests check the plugin against, imports nothing of the code it checks,
// not even in its tests.
func TestPackagesImportAcrossTheirSeamsOnly(t *testing.T) {
	root := ".."
	dirOf := func(path string) string { return filepath.Join(root, strings.TrimPrefix(path, module+"/")) }
	simPath := module + "/pkg/sim"

	importers := map[string][]string{}
	seen := map[string]bool{}
	var walk func(path string)
	walk = func(path string) {
		if seen[path] {
			return
		}
		seen[path] = true
		for _, imp := range moduleImports(t, dirOf(path), false) {
			importers[imp] = append(importers[imp], path)
			walk(imp)
		}
	}
	walk(module + "/pkg")
	require.True(t, seen[module+"/pkg/demo"], "the binary serves the demo source")
	assert.Equal(t, []string{module + "/pkg/demo"}, importers[simPath], "the importers of the simulator in the plugin binary")
	for _, imp := range moduleImports(t, dirOf(simPath), true) {
		// Its tests read it through a real Prometheus (internal/promtest), never through the plugin's code.
		assert.Contains(t, []string{simPath, module + "/internal/promtest"}, imp, "the simulator and its tests import nothing of the plugin")
	}
	for _, imp := range moduleImports(t, dirOf(module+"/pkg/promclient"), false) {
		assert.Equal(t, module+"/pkg/models", imp, "the Prometheus client knows the settings, nothing of the fleet")
	}
}
