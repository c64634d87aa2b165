#!/usr/bin/env bash
# The join rate with a capacity set against the same run without one, side by side: perf_join
# --mode library (CLIENTS tasks calling LiveSessions::join on a PostgresStore, each join a new
# user, fresh schema per run) on one hot session and spread over SPREAD sessions, each once
# without a capacity and once with --capacity CAPACITY (large enough never to fill in SECS, so
# every join is admitted and takes a seat). The order of with/without alternates
# between rounds. Each run starts right after a CHECKPOINT (needs psql and a superuser).
#
# Usage: scripts/perf-capacity.sh   (env: SECS=10 CLIENTS=64 SPREAD=1000 ROUNDS=2
#                                     CAPACITY=1000000 BUILD=1)
# Needs PostgreSQL at 127.0.0.1:5432 (user postgres, db test).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${SECS:-10}"
CLIENTS="${CLIENTS:-64}"
SPREAD="${SPREAD:-1000}"
ROUNDS="${ROUNDS:-2}"
CAPACITY="${CAPACITY:-1000000}"
URL="postgres://${PGUSER:-postgres}@${PGHOST:-127.0.0.1}:5432/${PGDATABASE:-test}"
if [ "${BUILD:-1}" = 1 ]; then
  cargo build --release --all-features --example perf_join
fi
BIN="${CARGO_TARGET_DIR:-target}/release/examples/perf_join"

rate() { # sessions, then "none" or a capacity
  # A checkpoint first, so that no run pays for one that falls inside it (a checkpoint in
  # the middle of a run halved its rate, with or without a capacity).
  psql "$URL" -qc CHECKPOINT
  local extra=()
  [ "$2" = none ] || extra=(--capacity "$2")
  LIVESESSIONS_TEST_POSTGRES_URL="$URL" "$BIN" --mode library --sessions "$1" \
    --clients "$CLIENTS" --seconds "$SECS" --schema ls_perf_capacity "${extra[@]}" |
    awk '/^joins\/s/ {print $2}'
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "clients=$CLIENTS seconds=$SECS spread=$SPREAD rounds=$ROUNDS capacity=$CAPACITY"
printf '%s\n' "round | load | hot without | hot with | ratio | spread without | spread with | ratio"
for round in $(seq 1 "$ROUNDS"); do
  load="$(cut -d' ' -f1 /proc/loadavg)"
  if [ $((round % 2)) = 1 ]; then
    hot_without="$(rate 1 none)"; hot_with="$(rate 1 "$CAPACITY")"
    spread_without="$(rate "$SPREAD" none)"; spread_with="$(rate "$SPREAD" "$CAPACITY")"
  else
    hot_with="$(rate 1 "$CAPACITY")"; hot_without="$(rate 1 none)"
    spread_with="$(rate "$SPREAD" "$CAPACITY")"; spread_without="$(rate "$SPREAD" none)"
  fi
  printf '%s | %s | %s | %s | %.2f | %s | %s | %.2f\n' "$round" "$load" \
    "$hot_without" "$hot_with" "$(echo "$hot_with / $hot_without" | bc -l)" \
    "$spread_without" "$spread_with" "$(echo "$spread_with / $spread_without" | bc -l)"
done
