#!/usr/bin/env bash
# The scheduler under a burst: INSTANCES example-server instances (scripts/cluster.sh, each
# running its scheduler) on one PostgreSQL, in a fresh database per round; perf_scheduler
# creates SESSIONS sessions with autoStart and one shared start time LEAD seconds ahead through
# the instances, waits for the schedulers to start them, and reports from the database each
# session's lag (first `live` event, and startedAt, minus the start time) and its number of
# `live` events (exactly one each: started once).
#
# Usage: scripts/perf-scheduler.sh   (env: INSTANCES=3 SESSIONS=1000 LEAD=75 ROUNDS=1 BUILD=1
#                                     BENCH_DB=ls_sched_bench PORT=18090 BASELINE=)
# BASELINE=path/to/server (another build of the example server, e.g. of an older commit) runs
# each round twice, first on that build, then on this one: a before/after in one run.
# Needs PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth), psql, nginx, curl. The database
# BENCH_DB is dropped and created again before each round.
set -euo pipefail
cd "$(dirname "$0")/.."
SESSIONS="${SESSIONS:-1000}"
LEAD="${LEAD:-75}"
ROUNDS="${ROUNDS:-1}"
BENCH_DB="${BENCH_DB:-ls_sched_bench}"
PGHOST="${PGHOST:-127.0.0.1}"
PGUSER="${PGUSER:-postgres}"
export JWT_SECRET="${JWT_SECRET:-perf-scheduler-secret-perf-scheduler-secret-01}"
export CLUSTER_STATE="${CLUSTER_STATE:-${CARGO_TARGET_DIR:-target}/perf-scheduler}"
export INSTANCES="${INSTANCES:-3}" PORT="${PORT:-18090}" CLUSTER_BUILD=0 RUST_LOG="${RUST_LOG:-warn}"
export SERVER_ARGS="--no-rate-limits"

if [ "${BUILD:-1}" = 1 ]; then
  cargo build --release --workspace --all-features --examples
fi
BIN="${CARGO_TARGET_DIR:-target}/release/examples"
export DATABASE_URL="postgres://$PGUSER@$PGHOST:5432/$BENCH_DB"
trap 'scripts/cluster.sh stop' EXIT
echo "machine: $(nproc) cores; $INSTANCES instances, $SESSIONS sessions, start ${LEAD}s ahead"
variants=(current)
[ -n "${BASELINE:-}" ] && variants=(baseline current)
for round in $(seq 1 "$ROUNDS"); do
for variant in "${variants[@]}"; do
  if [ "$variant" = baseline ]; then export SERVER_BINARY="$BASELINE"; else export SERVER_BINARY="$BIN/server"; fi
  scripts/cluster.sh stop
  psql -h "$PGHOST" -U "$PGUSER" -q -v ON_ERROR_STOP=1 postgres \
    -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB" >/dev/null
  scripts/cluster.sh start >/dev/null
  targets="$(scripts/cluster.sh urls | paste -sd,)"
  echo "== round $round, $variant server $SERVER_BINARY (load $(cut -d' ' -f1-3 /proc/loadavg)); instances $targets"
  "$BIN/perf_scheduler" --targets "$targets" --jwt-secret "$JWT_SECRET" \
    --database-url "$DATABASE_URL" --sessions "$SESSIONS" --lead "$LEAD"
  # Warnings of the instances (failed scheduled changes, slow statements), shortened.
  grep -hiE 'warn|error|panic' "$CLUSTER_STATE"/instance-*.log | sed -E 's/\x1b\[[0-9;]*m//g; s/^[0-9T:.-]+Z +//' |
    cut -c1-200 | sort | uniq -c | sort -rn | head -10 || true
done
done
