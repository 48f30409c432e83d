#!/usr/bin/env bash
# The end-to-end benchmark of issue 8 (docs/benchmarks.md): builds the plugin, then backfills simulated fleets of
# 10, 100 and 1000 models over 30 days into a real Prometheus on 127.0.0.1 and times, side by side, the plugin,
# the Prometheus queries it runs, and a hand-written J/token query. Needs Go and Debian's prometheus package.
# Arguments go to fleetbench (bench/main.go), e.g. --fleets 100:60s --runs 3, or --write docs/benchmarks.md to
# put the results into the docs. Takes about an hour on 2 cores; keep the fleets' data with --data DIR to skip
# the backfill next time.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v prometheus >/dev/null || { echo "prometheus is not installed (apt-get install prometheus)" >&2; exit 1; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
go build -o "$out/gpx_fleetefficiency" ./pkg
go -C bench run . --plugin "$out/gpx_fleetefficiency" "$@"
