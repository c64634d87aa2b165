#!/usr/bin/env bash
# Several example-server instances on one PostgreSQL (scripts/cluster.sh, INSTANCES=4, in a fresh
# database), measured from outside:
#   sse       perf_sse --targets: SUBSCRIBERS event-stream clients spread over instances 1-3; an
#             admin starts a session through instance 4 (no subscribers); delivery p50/p99 of
#             the "live" event (ROUNDS runs, each a fresh set of subscribers);
#   webhooks  perf_webhooks: class-start stampedes (STUDENTS first joins over CONNECTIONS
#             connections to instances 1-3) with ENDPOINTS webhook endpoints and without,
#             alternately (ROUNDS rounds), then the sustained delivery rate of SESSIONS live
#             sessions created at once (2 events each, one delivery per endpoint and event);
#             with ANALYZE=1 (default) the deliveries table is analyzed 2 s after the creates,
#             as autovacuum would do (this machine's PostgreSQL runs with autovacuum off).
# Every instance runs its event feed and webhook worker, as a deployment does.
#
# Usage: scripts/perf-cluster.sh   (env: ROUNDS=2 SUBSCRIBERS=10000 STUDENTS=5000 CONNECTIONS=64
#                                   ENDPOINTS=4 SESSIONS=1000 ONLY=sse,webhooks BUILD=1 ANALYZE=1
#                                   BENCH_DB=ls_cluster_bench PORT=18080)
# Needs PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth), psql, nginx, curl. The database
# BENCH_DB is dropped and created again. Raises the open-file limit to its hard limit (each
# subscriber is one descriptor in perf_sse and one in an instance).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-2}"
SUBSCRIBERS="${SUBSCRIBERS:-10000}"
STUDENTS="${STUDENTS:-5000}"
CONNECTIONS="${CONNECTIONS:-64}"
ENDPOINTS="${ENDPOINTS:-4}"
SESSIONS="${SESSIONS:-1000}"
ONLY="${ONLY:-sse,webhooks}"
BENCH_DB="${BENCH_DB:-ls_cluster_bench}"
PGHOST="${PGHOST:-127.0.0.1}"
PGUSER="${PGUSER:-postgres}"
export JWT_SECRET="${JWT_SECRET:-perf-cluster-secret-perf-cluster-secret-0123}"
export CLUSTER_STATE="${CLUSTER_STATE:-${CARGO_TARGET_DIR:-target}/perf-cluster}"
export INSTANCES=4 PORT="${PORT:-18080}" CLUSTER_BUILD=0 RUST_LOG="${RUST_LOG:-warn}"
export SERVER_ARGS="--no-rate-limits --webhook-allow-private-targets --webhook-allow-http"

ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt $((SUBSCRIBERS + 1000)) ]; then
  echo "open-file limit $(ulimit -n) is below SUBSCRIBERS + 1000; raise the hard limit" >&2
  exit 1
fi
if [ "${BUILD:-1}" = 1 ]; then
  cargo build --release --workspace --all-features --examples
fi
BIN="${CARGO_TARGET_DIR:-target}/release/examples"

psql -h "$PGHOST" -U "$PGUSER" -q -v ON_ERROR_STOP=1 postgres \
  -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB" >/dev/null
export DATABASE_URL="postgres://$PGUSER@$PGHOST:5432/$BENCH_DB"
trap 'scripts/cluster.sh stop' EXIT
scripts/cluster.sh start >/dev/null
mapfile -t urls < <(scripts/cluster.sh urls)
pids="$(cat "$CLUSTER_STATE"/instance-{1,2,3}.pid | paste -sd,)"
subscribed="${urls[0]},${urls[1]},${urls[2]}"
admin="${urls[3]}"

echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)," \
  "open files $(ulimit -n)"
echo "instances 1-3: $subscribed (pids $pids); instance 4 (admin): $admin"
if [[ ",$ONLY," == *,sse,* ]]; then
  for round in $(seq 1 "$ROUNDS"); do
    echo "== sse round $round (load $(cut -d' ' -f1-3 /proc/loadavg))"
    "$BIN/perf_sse" --subscribers "$SUBSCRIBERS" --targets "$subscribed" --admin "$admin" \
      --jwt-secret "$JWT_SECRET" --pids "$pids"
    sleep 2
  done
fi
if [[ ",$ONLY," == *,webhooks,* ]]; then
  echo "== webhooks (load $(cut -d' ' -f1-3 /proc/loadavg))"
  analyze=()
  [ "${ANALYZE:-1}" = 1 ] && analyze=(--analyze-url "$DATABASE_URL")
  echo "autovacuum: $(psql -h "$PGHOST" -U "$PGUSER" -Atc 'SHOW autovacuum' "$BENCH_DB")"
  "$BIN/perf_webhooks" --targets "$subscribed" --admin "$admin" --jwt-secret "$JWT_SECRET" \
    --rounds "$ROUNDS" --students "$STUDENTS" --connections "$CONNECTIONS" \
    --endpoints "$ENDPOINTS" --sessions "$SESSIONS" "${analyze[@]}"
  echo "(load $(cut -d' ' -f1-3 /proc/loadavg))"
fi
# Warnings of the instances (slow statements, failed rounds), shortened.
grep -hiE 'warn|error|panic' "$CLUSTER_STATE"/instance-*.log | sed -E 's/\x1b\[[0-9;]*m//g; s/^[0-9T:.-]+Z +//' |
  cut -c1-200 | sort | uniq -c | sort -rn | head -10 || true
