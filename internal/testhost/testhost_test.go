package testhost

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Pid names the plugin's own process, whose /proc entry a benchmark reads its peak memory from.
func TestPidIsThePluginProcess(t *testing.T) {
	binary := Binary(t)
	p := Start(t, binary)
	exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(p.Pid()), "exe"))
	require.NoError(t, err)
	want, err := filepath.EvalSymlinks(binary)
	require.NoError(t, err)
	assert.Equal(t, want, exe)
	p.Kill()
	assert.True(t, p.Exited())
}
