#!/bin/sh
# Prometheus of the demo stack: import the history fleetsim wrote, then serve and scrape fleetsim live.
# The paths are variables so the integration tests can run this same script outside Docker.
set -eu
HISTORY=${HISTORY:-/history/history.om}
DATA=${DATA:-/prometheus}
CONFIG=${CONFIG:-/etc/prometheus/prometheus.yml}
LISTEN=${LISTEN:-0.0.0.0:9090}

# fleetsim writes the whole file before it serves, and compose starts this once fleetsim serves.
while [ ! -s "$HISTORY" ]; do
  echo "waiting for $HISTORY"
  sleep 2
done
# Every start simulates anew: data of an earlier run would not continue the new counters.
rm -rf "${DATA:?}"/*
# One pass over the file instead of one per 2-hour block (minutes -> seconds).
promtool tsdb create-blocks-from openmetrics --max-block-duration=400h "$HISTORY" "$DATA"
exec prometheus --config.file="$CONFIG" --storage.tsdb.path="$DATA" --storage.tsdb.retention.time=90d \
  --web.listen-address="$LISTEN" --web.enable-lifecycle "$@"
