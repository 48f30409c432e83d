// Package compose checks the demo stack (docker-compose.yaml) where Docker cannot run: it validates the compose
// file with docker-compose and runs each service's own command the way its container would on a Linux Docker
// host, then checks what each leaves behind. What only a Docker host can check: that the pinned images exist
// and that the containers' network names resolve.
package compose_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/nrp-nautilus/fleet-efficiency-datasource/internal/testproc"
)

const repo = "../.."

type service struct {
	Image string `yaml:"image"`
	Build struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	WorkingDir  string            `yaml:"working_dir"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Healthcheck struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

func loadCompose(t *testing.T) map[string]service {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repo, "docker-compose.yaml"))
	require.NoError(t, err)
	var c struct {
		Services map[string]service `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &c))
	return c.Services
}

// TestComposeConfig validates the compose file as Compose reads it (Debian's docker-compose: schema, keys,
// depends_on conditions).
func TestComposeConfig(t *testing.T) {
	_, missing := exec.LookPath("docker-compose")
	testproc.RequireInstalled(t, missing)
	out, err := exec.Command("docker-compose", "--project-directory", repo, "-f", filepath.Join(repo, "docker-compose.yaml"), "config", "-q").CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// host is a Linux Docker host as the containers see it: a clone of the repository owned by another user than
// the one the containers run as (root), the compose file's named volumes as directories, and the environment of
// the images (no Go environment file, VCS stamping on).
type host struct {
	checkout string
	volumes  map[string]string
	env      []string
}

func newHost(t *testing.T) *host {
	t.Helper()
	h := &host{checkout: filepath.Join(t.TempDir(), "checkout"), volumes: map[string]string{}}
	files, err := exec.Command("git", "-C", repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	require.NoError(t, err)
	for _, f := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		copyFile(t, filepath.Join(repo, f), filepath.Join(h.checkout, f))
	}

	goEnv := func(name string) string {
		out, err := exec.Command("go", "env", name).Output()
		require.NoError(t, err)
		return strings.TrimSpace(string(out))
	}
	npmCache, err := exec.Command("npm", "config", "get", "cache").Output()
	require.NoError(t, err)
	goBin, err := exec.LookPath("go")
	require.NoError(t, err)
	nodeBin, err := exec.LookPath("node")
	require.NoError(t, err)
	h.env = []string{
		"PATH=" + filepath.Dir(goBin) + ":" + filepath.Dir(nodeBin) + ":/usr/local/bin:/usr/bin:/bin",
		// A fresh home: no Go environment file (this machine's sets -buildvcs=false), no git or npm config.
		"HOME=" + t.TempDir(),
		"GOTOOLCHAIN=local", // as the golang image sets it
		// The compose volumes that cache modules and builds (go_modules, go_build) are this machine's caches, and
		// npm's download cache stands in for the registry: only their speed differs.
		"GOMODCACHE=" + goEnv("GOMODCACHE"), "GOCACHE=" + goEnv("GOCACHE"),
		"npm_config_cache=" + strings.TrimSpace(string(npmCache)),
	}

	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-c", "user.name=host", "-c", "user.email=host@example.com"}, args...)...)
		cmd.Dir, cmd.Env = h.checkout, h.env
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	git("init", "-q")
	git("add", "-A")
	git("commit", "-q", "-m", "clone")
	if os.Geteuid() == 0 {
		// The host user's files, seen by root in a container.
		out, err := exec.Command("chown", "-R", "65534:65534", h.checkout).CombinedOutput()
		require.NoError(t, err, "%s", out)
	} else {
		// Without root, git's own switch for its ownership check (git's test suite uses it) does the same.
		h.env = append(h.env, "GIT_TEST_ASSUME_DIFFERENT_OWNER=1")
	}
	return h
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	fi, err := os.Lstat(from)
	if os.IsNotExist(err) {
		return // deleted in the working tree, not yet in a commit
	}
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(to), 0o755))
	if fi.Mode()&os.ModeSymlink != 0 {
		target, err := os.Readlink(from)
		require.NoError(t, err)
		require.NoError(t, os.Symlink(target, to))
		return
	}
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, fi.Mode().Perm()))
}

// path is where a container path of svc lives on the host: under a bind mount (relative to the checkout) or a
// named volume. Other paths belong to the image.
func (h *host) path(t *testing.T, svc service, p string) string {
	t.Helper()
	best, bestTarget := "", ""
	for _, v := range svc.Volumes {
		parts := strings.Split(v, ":")
		source, target := parts[0], parts[1]
		if p != target && !strings.HasPrefix(p, target+"/") || len(target) <= len(bestTarget) {
			continue
		}
		if strings.HasPrefix(source, ".") {
			best = filepath.Join(h.checkout, source)
		} else {
			if h.volumes[source] == "" {
				h.volumes[source] = t.TempDir()
			}
			best = h.volumes[source]
		}
		best, bestTarget = filepath.Join(best, strings.TrimPrefix(p, target)), target
	}
	if best == "" {
		return p
	}
	return best
}

// run runs a one-shot service's command in its working directory, as its container does, and fails the test
// with the command's output when it fails.
func (h *host) run(t *testing.T, svc service, timeout time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// Compose writes a literal $ as $$.
	args := make([]string, len(svc.Command))
	for i, a := range svc.Command {
		args[i] = strings.ReplaceAll(a, "$$", "$")
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir, cmd.Env = h.path(t, svc, svc.WorkingDir), h.serviceEnv(svc)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", tail(out))
	return string(out)
}

func (h *host) serviceEnv(svc service) []string {
	env := append([]string{}, h.env...)
	for k, v := range svc.Environment {
		env = append(env, k+"="+v)
	}
	return env
}

func tail(b []byte) string {
	const n = 6000
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// TestComposeServicesOnLinuxHost runs the demo stack's services in their order: the plugin builds into dist/,
// fleetsim writes its history and serves, Prometheus imports the history and scrapes fleetsim.
func TestComposeServicesOnLinuxHost(t *testing.T) {
	for _, b := range []string{"git", "go", "npm", "prometheus", "promtool"} {
		_, missing := exec.LookPath(b)
		testproc.RequireInstalled(t, missing)
	}
	services := loadCompose(t)
	h := newHost(t)
	stack := t // the long-running services live until the stack's test ends

	t.Run("the checkout is one git refuses to read", func(t *testing.T) {
		// Without this the test would pass on a checkout the containers' git accepts, hiding the failure it
		// guards against.
		cmd := exec.Command("go", "build", "-o", os.DevNull, "./pkg")
		cmd.Dir, cmd.Env = h.checkout, h.env
		out, err := cmd.CombinedOutput()
		require.Error(t, err)
		assert.Contains(t, string(out), "error obtaining VCS status")
	})

	dist := filepath.Join(h.checkout, "dist")
	t.Run("plugin-frontend", func(t *testing.T) {
		h.run(t, services["plugin-frontend"], 15*time.Minute)
		for _, f := range []string{"module.js", "plugin.json", "README.md", "LICENSE"} {
			assert.FileExists(t, filepath.Join(dist, f))
		}
	})
	t.Run("plugin-backend", func(t *testing.T) {
		h.run(t, services["plugin-backend"], 15*time.Minute)
		var pj struct{ Executable string }
		raw, err := os.ReadFile(filepath.Join(dist, "plugin.json"))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &pj))
		bin := filepath.Join(dist, pj.Executable+"_linux_"+runtime.GOARCH)
		fi, err := os.Stat(bin)
		require.NoError(t, err, "the backend for this machine's architecture")
		assert.NotZero(t, fi.Mode()&0o111, "%s is executable", bin)
		assert.FileExists(t, filepath.Join(dist, "module.js"), "the frontend's build is kept")
	})

	fleetsimSvc := services["fleetsim"]
	fleetsim := h.buildImage(t, fleetsimSvc)
	port := freePort(t)
	live := "127.0.0.1:" + port
	history := filepath.Join(h.path(t, fleetsimSvc, "/history"), "history.om")
	t.Run("fleetsim", func(t *testing.T) {
		args := append(fleetsim.entrypoint[1:], fleetsimSvc.Command...)
		for i, a := range args {
			// The container's port is this host's free port; its volume paths are the volumes' directories.
			args[i] = h.path(t, fleetsimSvc, strings.ReplaceAll(a, ":9400", ":"+port))
		}
		h.start(stack, fleetsim.entrypoint[0], args, h.env)
		health := fleetsimSvc.Healthcheck.Test
		require.Equal(t, []string{"CMD", "wget"}, health[:2])
		waitOK(t, strings.ReplaceAll(health[len(health)-1], ":9400", ":"+port), 10*time.Minute)
		f, err := os.Open(history)
		require.NoError(t, err)
		defer f.Close()
		fi, err := f.Stat()
		require.NoError(t, err)
		_, err = f.Seek(-6, io.SeekEnd)
		require.NoError(t, err)
		end, err := io.ReadAll(f)
		require.NoError(t, err)
		assert.Equal(t, "# EOF\n", string(end), "the history (%d bytes) is complete when fleetsim serves", fi.Size())
	})

	t.Run("prometheus", func(t *testing.T) {
		svc := services["prometheus"]
		cfg, err := os.ReadFile(h.path(t, svc, "/etc/prometheus/prometheus.yml"))
		require.NoError(t, err)
		// Compose's network name of fleetsim is this host's address of it.
		cfgPath := filepath.Join(t.TempDir(), "prometheus.yml")
		require.NoError(t, os.WriteFile(cfgPath, []byte(strings.ReplaceAll(string(cfg), "fleetsim:9400", live)), 0o644))
		data := t.TempDir() // the image's /prometheus
		listen := "127.0.0.1:" + freePort(t)
		args := make([]string, len(svc.Entrypoint))
		for i, a := range svc.Entrypoint {
			args[i] = h.path(t, svc, a)
		}
		// The entrypoint's defaults are the container's paths; these variables move them.
		env := append(h.serviceEnv(svc), "HISTORY="+h.path(t, svc, "/history/history.om"), "DATA="+data,
			"CONFIG="+cfgPath, "LISTEN="+listen)
		h.start(stack, args[0], args[1:], env)
		waitOK(t, "http://"+listen+"/-/ready", 10*time.Minute)

		blocks, err := filepath.Glob(filepath.Join(data, "*", "meta.json"))
		require.NoError(t, err)
		assert.NotEmpty(t, blocks, "the history was imported into TSDB blocks")
		// A day back is inside the 14-day history and long before the first live scrape.
		assert.Positive(t, queryScalar(t, listen, `count(DCGM_FI_DEV_POWER_USAGE offset 1d)`), "history of GPU power")
		assert.Positive(t, queryScalar(t, listen, `count(vllm:generation_tokens_total offset 1d)`), "history of vLLM tokens")
		assert.Positive(t, queryScalar(t, listen, `count(grid_intensity_carbon_actual offset 1d)`), "history of the grid's intensity")
		// The first scrape comes within one 30 s interval of the start.
		require.Eventually(t, func() bool {
			return queryScalar(t, listen, `count(up{job=~"dcgm-exporter|vllm"} == 1)`) == 2
		}, 2*time.Minute, time.Second, "both jobs scraped fleetsim")
		require.Eventually(t, func() bool {
			return queryScalar(t, listen, `count(up{job="grid-intensity"} == 1)`) == 1
		}, 2*time.Minute, time.Second, "the grid intensity job scraped fleetsim")
		assert.Positive(t, queryScalar(t, listen, `count(DCGM_FI_DEV_POWER_USAGE{instance="`+live+`"})`), "live GPU power")
	})
}

// image is what a service's Dockerfile builds: its first stage's command run on a copy of what it COPYs.
type image struct{ entrypoint []string }

// buildImage runs the build stage of svc's Dockerfile in a directory standing for the build container's root,
// and returns the final stage's entrypoint with the binary it copies from that stage. It knows the
// instructions fleetsim's Dockerfile uses and fails on others, so a new instruction gets emulated here too.
func (h *host) buildImage(t *testing.T, svc service) image {
	t.Helper()
	buildContext := filepath.Join(h.checkout, svc.Build.Context)
	f, err := os.Open(filepath.Join(buildContext, svc.Build.Dockerfile))
	require.NoError(t, err)
	defer f.Close()
	root := t.TempDir()
	workdir := root
	var lines []string
	for sc, cont := bufio.NewScanner(f), ""; sc.Scan(); {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cont += strings.TrimSuffix(line, `\`) + " "
			continue
		}
		lines, cont = append(lines, cont+line), ""
	}
	var img image
	var copied map[string]string // final stage: image path -> build stage path
	for _, line := range lines {
		instr, rest, _ := strings.Cut(line, " ")
		fields := strings.Fields(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			if len(fields) < 3 { // the final stage
				copied = map[string]string{}
			}
		case "WORKDIR":
			workdir = filepath.Join(root, fields[0])
			require.NoError(t, os.MkdirAll(workdir, 0o755))
		case "COPY":
			if from, ok := strings.CutPrefix(fields[0], "--from="); ok {
				require.NotNil(t, copied, "COPY --from=%s in the final stage", from)
				copied[fields[2]] = filepath.Join(root, fields[1])
				continue
			}
			for _, src := range fields[:len(fields)-1] {
				from, to := filepath.Join(buildContext, src), filepath.Join(workdir, src)
				if fi, err := os.Stat(from); err == nil && fi.IsDir() {
					require.NoError(t, os.CopyFS(to, os.DirFS(from)), src)
				} else {
					copyFile(t, from, to)
				}
			}
		case "RUN":
			var words []string
			for _, w := range fields {
				if strings.HasPrefix(w, "--mount=") {
					continue // build caches: the host's are in h.env
				}
				if strings.HasPrefix(w, "/") {
					w = filepath.Join(root, w)
				}
				words = append(words, w)
			}
			cmd := exec.Command("sh", "-c", strings.Join(words, " "))
			cmd.Dir, cmd.Env = workdir, h.env
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "RUN %s\n%s", rest, tail(out))
		case "ENTRYPOINT":
			require.NoError(t, json.Unmarshal([]byte(rest), &img.entrypoint))
			bin, ok := copied[filepath.Join("/usr/local/bin", img.entrypoint[0])]
			require.True(t, ok, "the entrypoint %s is the binary the build stage made", img.entrypoint[0])
			img.entrypoint[0] = bin
		case "EXPOSE", "CMD":
		default:
			t.Fatalf("the emulation does not know the Dockerfile instruction %s", instr)
		}
	}
	require.NotEmpty(t, img.entrypoint)
	return img
}

// start runs a long-running service until the test ends.
func (h *host) start(t *testing.T, name string, args, env []string) {
	t.Helper()
	out := &testproc.Buffer{}
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = h.checkout, env, out, out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s:\n%s", filepath.Base(name), tail(out.Bytes()))
		}
	})
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func waitOK(t *testing.T, u string, timeout time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := http.Get(u)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, timeout, time.Second, "%s answers 200", u)
}

func queryScalar(t *testing.T, addr, q string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(q))
	require.NoError(t, err)
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&r))
	if len(r.Data.Result) == 0 {
		return 0
	}
	v, err := strconv.ParseFloat(fmt.Sprint(r.Data.Result[0].Value[1]), 64)
	require.NoError(t, err)
	return v
}

// TestImagesArePinnedAndToolchainsAgree: every image of the stack (compose and the Dockerfiles it builds) is an
// exact version, so a rebuild next month builds the same; the Node major is one in .nvmrc, package.json's
// engines and the node image; the golang image is the Go of go.mod.
func TestImagesArePinnedAndToolchainsAgree(t *testing.T) {
	images := map[string]string{} // image name -> tag
	fromLine := regexp.MustCompile(`(?m)^FROM\s+(\S+)`)
	for name, svc := range loadCompose(t) {
		refs := []string{svc.Image}
		if svc.Build.Dockerfile != "" {
			// A service the stack builds: the images its Dockerfile starts from.
			df, err := os.ReadFile(filepath.Join(repo, svc.Build.Context, svc.Build.Dockerfile))
			require.NoError(t, err)
			refs = nil
			for _, m := range fromLine.FindAllStringSubmatch(string(df), -1) {
				refs = append(refs, m[1])
			}
		}
		for _, ref := range refs {
			image, tag, ok := strings.Cut(ref, ":")
			require.True(t, ok, "%s: %s has no tag", name, ref)
			assert.Regexp(t, `^v?\d+\.\d+\.\d+$`, tag, "%s: %s is an exact version", name, ref)
			images[image] = tag
		}
	}
	nvmrc, err := os.ReadFile(filepath.Join(repo, ".nvmrc"))
	require.NoError(t, err)
	major := strings.TrimSpace(string(nvmrc))
	assert.Equal(t, major, strings.Split(images["node"], ".")[0], "the node image is .nvmrc's Node")
	var pkg struct{ Engines struct{ Node string } }
	raw, err := os.ReadFile(filepath.Join(repo, "package.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &pkg))
	assert.Equal(t, ">="+major, pkg.Engines.Node, "package.json's engines is .nvmrc's Node")
	gomod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	require.NoError(t, err)
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(string(gomod))
	require.NotNil(t, goVersion)
	assert.Equal(t, goVersion[1], images["golang"], "the golang image is go.mod's Go")
}
