#!/usr/bin/env bash
# The event log's cost on the join, with and without the `participants` append, side by side in
# one run, with the settings of scripts/perf-ratios.sh (CLIENTS connections, SECS per run,
# `-M prepared -j 2`):
#   pgbench   livesessions-sql/pgbench/store_join.sql (the store's join statement, the append
#             included) against store_join_nolog (the same statement without the `logged` CTE),
#             one hot session (every joiner on it) and spread over SPREAD sessions;
#   library   perf_join --mode library on one session: --event-log append (the store as it is),
#             skip (a trigger drops the event rows: the append's write is gone, the statement is
#             the same) and feed (append, and an EventFeed numbering and reading the log each
#             second, as every server instance does).
# The order of with/without alternates between rounds.
#
# Usage: scripts/perf-eventlog.sh   (env: SECS=10 CLIENTS=64 SPREAD=1000 ROUNDS=2 BUILD=1)
# Needs PostgreSQL at 127.0.0.1:5432 (user postgres, db test), psql and pgbench.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${SECS:-10}"
CLIENTS="${CLIENTS:-64}"
SPREAD="${SPREAD:-1000}"
ROUNDS="${ROUNDS:-2}"
PG=(-h "${PGHOST:-127.0.0.1}" -U "${PGUSER:-postgres}" "${PGDATABASE:-test}")
URL="postgres://${PGUSER:-postgres}@${PGHOST:-127.0.0.1}:5432/${PGDATABASE:-test}"
if [ "${BUILD:-1}" = 1 ]; then
  cargo build --release --workspace --all-features --examples
fi
BIN="${CARGO_TARGET_DIR:-target}/release/examples/perf_join"
SQLDIR=livesessions-sql/pgbench
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The variants, written from store_join.sql so that they cannot drift apart; each edit is
# checked to change exactly what it should.
sed '/^), logged AS ($/,/^    SELECT '"'"'participants'"'"', session_id FROM ins$/d' \
  "$SQLDIR/store_join.sql" >"$tmp/store_join_nolog.sql"
[ "$(diff "$SQLDIR/store_join.sql" "$tmp/store_join_nolog.sql" | grep -c '^<')" -eq 3 ] || {
  echo "store_join_nolog: expected to drop the 3 lines of the logged CTE" >&2
  exit 1
}
spread() { # source target: the session picked at random among SPREAD per transaction
  local hot="'00000000-0000-7000-8000-000000000001'"
  [ "$(grep -c "$hot" "$1")" -eq 1 ] || { echo "$1: the hot session id is not there once" >&2; exit 1; }
  { echo "\\set s random(2, $((SPREAD + 1)))"
    sed "s/$hot/('00000000-0000-7000-8000-' || lpad(to_hex(:s::int), 12, '0'))::uuid/" "$1"; } >"$2"
}
spread "$SQLDIR/store_join.sql" "$tmp/store_join_spread.sql"
spread "$tmp/store_join_nolog.sql" "$tmp/store_join_nolog_spread.sql"

pgbench_tps() { # script
  psql "${PG[@]}" -q -f "$SQLDIR/reset.sql" >/dev/null
  pgbench "${PG[@]}" -n -M prepared -f "$1" -c "$CLIENTS" -j 2 -T "$SECS" 2>&1 |
    awk '/^tps/ {printf "%.0f", $3}'
}
library_tps() { # event-log mode
  LIVESESSIONS_TEST_POSTGRES_URL="$URL" "$BIN" --mode library --sessions 1 --clients "$CLIENTS" \
    --seconds "$SECS" --event-log "$1" | tee -a "$tmp/log" | awk '/^joins\/s/ {print $2}'
}

echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "clients=$CLIENTS seconds=$SECS spread=$SPREAD rounds=$ROUNDS"
declare -A r
for round in $(seq 1 "$ROUNDS"); do
  psql "${PG[@]}" -q -v ON_ERROR_STOP=1 -f "$SQLDIR/setup.sql" >/dev/null 2>&1
  psql "${PG[@]}" -q -v ON_ERROR_STOP=1 -v spread="$SPREAD" -f "$SQLDIR/spread_sessions.sql" >/dev/null
  echo "round $round (load at start $(cut -d' ' -f1 /proc/loadavg))"
  r=()
  if [ $((round % 2)) = 1 ]; then order="with without"; else order="without with"; fi
  for kind in hot spread; do
    for which in $order; do
      case "$kind/$which" in
        hot/with) script="$SQLDIR/store_join.sql" ;;
        hot/without) script="$tmp/store_join_nolog.sql" ;;
        spread/with) script="$tmp/store_join_spread.sql" ;;
        spread/without) script="$tmp/store_join_nolog_spread.sql" ;;
      esac
      r[${kind}_$which]=$(pgbench_tps "$script")
    done
  done
  if [ $((round % 2)) = 1 ]; then modes="append skip feed"; else modes="feed skip append"; fi
  for mode in $modes; do
    r[lib_$mode]=$(library_tps "$mode")
  done
  awk -v hw="${r[hot_with]}" -v ho="${r[hot_without]}" -v sw="${r[spread_with]}" \
    -v so="${r[spread_without]}" -v la="${r[lib_append]}" -v ls="${r[lib_skip]}" \
    -v lf="${r[lib_feed]}" 'BEGIN {
    printf "  pgbench hot     with append %6d  without %6d  with/without %.2f\n", hw, ho, hw / ho
    printf "  pgbench spread  with append %6d  without %6d  with/without %.2f\n", sw, so, sw / so
    printf "  library hot     append %6d  skip %6d  feed %6d  append/skip %.2f  feed/skip %.2f\n", la, ls, lf, la / ls, lf / ls
  }'
  echo "  (load at end $(cut -d' ' -f1 /proc/loadavg))"
done
echo "latencies (library, in run order):"
grep -E '^(perf_join|latency)' "$tmp/log" | sed 's/^/  /'
