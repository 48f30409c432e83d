#!/usr/bin/env bash
# Runs every test of the project on a fresh Debian machine with Go and Node/npm (as root, or with sudo):
# installs what the tests need, then the frontend checks, the backend build, and the Go tests with -race.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

step "System packages the tests use (Debian): prometheus, victoria-metrics, chromium, fonts-inter, docker-compose"
missing=()
command -v prometheus >/dev/null || missing+=(prometheus)
command -v promtool >/dev/null || missing+=(prometheus)
command -v victoria-metrics >/dev/null || missing+=(victoria-metrics)
command -v chromium >/dev/null || missing+=(chromium)
# Grafana's web font, served to the editors' browser check from Debian's files.
[ -d /usr/share/fonts/opentype/inter ] || missing+=(fonts-inter)
# Validates docker-compose.yaml (tests/compose); the stack's services themselves run there without Docker.
command -v docker-compose >/dev/null || missing+=(docker-compose)
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u)
fi
prometheus --version 2>&1 | head -1

step "Frontend: npm ci, typecheck, lint, jest, build"
npm ci --no-audit --no-fund --loglevel=error
npm run typecheck
npm run lint
npm run test:ci
npm run build

step "Editors and dashboard preview in headless Chromium (no console errors; screenshots in docs/img)"
npm run e2e:browser

step "Backend: go vet and golangci-lint (.golangci.yml), of the benchmark's own module too; plugin binary (mage build:linux)"
go vet ./pkg/... ./internal/... ./cmd/... ./tests/...
go -C bench vet ./...
go -C bench test -count=1 ./...
# Built once from the Go module proxy at a pinned version (a minute or two, then cached), outside go.mod.
lint_bin="$(mktemp -d)"
GOBIN="$lint_bin" go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
"$lint_bin/golangci-lint" run ./...
(cd bench && "$lint_bin/golangci-lint" run --config ../.golangci.yml ./...)
rm -rf "$lint_bin"
go tool mage -v build:linux
export FLEET_PLUGIN_BINARY="$PWD/dist/gpx_fleetefficiency_linux_amd64"

step "Go tests (unit and integration against real Prometheus), with the race detector"
export CI="${CI:-true}"
go test -race -count=1 -timeout 15m ./pkg/... ./internal/... ./cmd/... ./tests/...

step "Fuzz tests, a bounded run each (their seeds already ran above; a crasher lands in the package's testdata/fuzz)"
while read -r pkg target; do
  go test -run='^$' -fuzz="^${target}\$" -fuzztime="${FUZZTIME:-15s}" "$pkg"
done <<'FUZZERS'
./pkg/models FuzzParseQuery
./pkg/models FuzzLoadSettings
./pkg/fleet FuzzModelSizeFromName
./pkg/source FuzzDecodeStream
FUZZERS

echo
echo "All tests passed."
