// Package catalog_test checks what Grafana's plugin catalog and its plugin validator read from the built
// plugin: plugin.json's screenshots, logos and included dashboard exist where the bundler copies them from
// (src/, as create-plugin's unmodified .config expects), and the README, shown in the catalog from dist/, links
// only to absolute URLs.
package catalog_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const root = "../.."

type pluginJSON struct {
	Info struct {
		Keywords []string `json:"keywords"`
		Logos    struct {
			Small string `json:"small"`
			Large string `json:"large"`
		} `json:"logos"`
		Screenshots []struct {
			Name string `json:"name"`
			Path string `json:"path"`
		} `json:"screenshots"`
	} `json:"info"`
	Includes []struct {
		Type string `json:"type"`
		Name string `json:"name"`
		Path string `json:"path"`
	} `json:"includes"`
}

func readPluginJSON(t *testing.T, path string) pluginJSON {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var p pluginJSON
	require.NoError(t, json.Unmarshal(raw, &p))
	return p
}

// The bundler and the Go build read src/plugin.json; it is the root plugin.json, not a copy that can drift.
func TestSrcPluginJSONIsTheRootOne(t *testing.T) {
	src, err := filepath.EvalSymlinks(filepath.Join(root, "src/plugin.json"))
	require.NoError(t, err)
	top, err := filepath.Abs(filepath.Join(root, "plugin.json"))
	require.NoError(t, err)
	assert.Equal(t, top, mustAbs(t, src))
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	require.NoError(t, err)
	return a
}

func TestCatalogAssetsExist(t *testing.T) {
	p := readPluginJSON(t, filepath.Join(root, "plugin.json"))
	assert.NotEmpty(t, p.Info.Keywords)
	require.NotEmpty(t, p.Info.Screenshots)
	paths := []string{p.Info.Logos.Small, p.Info.Logos.Large}
	for _, s := range p.Info.Screenshots {
		assert.NotEmpty(t, s.Name, s.Path)
		paths = append(paths, s.Path)
	}
	for _, path := range paths {
		fi, err := os.Stat(filepath.Join(root, "src", path)) // follows the links to docs/img
		require.NoError(t, err, path)
		assert.Positive(t, fi.Size(), path)
	}
	logo, err := os.ReadFile(filepath.Join(root, "src", p.Info.Logos.Large))
	require.NoError(t, err)
	assert.Contains(t, string(logo), "<title>GPU Fleet Efficiency</title>", "our own logo, not the template's")

	require.Len(t, p.Includes, 1)
	inc := p.Includes[0]
	assert.Equal(t, "dashboard", inc.Type)
	included, err := os.ReadFile(filepath.Join(root, "src", inc.Path))
	require.NoError(t, err)
	provisioned, err := os.ReadFile(filepath.Join(root, "provisioning/dashboards/fleet-efficiency.json"))
	require.NoError(t, err)
	assert.Equal(t, string(provisioned), string(included), "the included dashboard is the provisioned one")
}

func TestReadmeLinksAreAbsolute(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	links := regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)\)`).FindAllStringSubmatch(string(raw), -1)
	require.NotEmpty(t, links)
	for _, l := range links {
		assert.Regexp(t, `^https://`, l[1], "a relative link does not work in the catalog: %s", l[0])
	}
	html := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(string(raw), -1)
	for _, l := range html {
		assert.Regexp(t, `^https://`, l[1], l[0])
	}
}
