#!/usr/bin/env bash
# Join throughput ratios (library vs. the bare upsert, HTTP vs. library), measured side by side in one run on this machine:
#   1. hot session (every joiner on one session), CLIENTS concurrent:
#      pgbench running the bare participant upsert  vs  the library (service on PostgresStore)
#      vs HTTP (the router in process, CLIENTS keep-alive connections);
#   2. the same with the joins spread over SPREAD sessions.
# Prints the figures and the ratios library/pgbench (target >= 0.7) and HTTP/library (>= 0.6).
#
# Usage: scripts/perf-ratios.sh            (env: SECS=10 CLIENTS=64 SPREAD=1000 ROUNDS=1)
# Needs PostgreSQL at 127.0.0.1:5432 (user postgres, db test), psql and pgbench.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${SECS:-10}"
CLIENTS="${CLIENTS:-64}"
SPREAD="${SPREAD:-1000}"
ROUNDS="${ROUNDS:-1}"
PG=(-h "${PGHOST:-127.0.0.1}" -U "${PGUSER:-postgres}" "${PGDATABASE:-test}")
URL="postgres://${PGUSER:-postgres}@${PGHOST:-127.0.0.1}:5432/${PGDATABASE:-test}"
cargo build --release --quiet --example perf_join
BIN="${CARGO_TARGET_DIR:-target}/release/examples/perf_join"
SQLDIR=livesessions-sql/pgbench
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The spread variant of bare_upsert.sql: one of SPREAD sessions at random.
cat >"$tmp/bare_upsert_spread.sql" <<SQL
\set s random(2, $((SPREAD + 1)))
\set u random(1, 2000000000)
INSERT INTO ls_pgbench.session_participants (session_id, user_id, user_name, email,
    first_joined_at, last_joined_at, last_seen, present_since, created_at)
VALUES (('00000000-0000-7000-8000-' || lpad(to_hex(:s::int), 12, '0'))::uuid, 'u' || :u, 'Student',
    's@example.com', now(), now(), now(), now(), now())
ON CONFLICT (session_id, user_id) DO NOTHING;
SQL

pgbench_tps() { # script
  psql "${PG[@]}" -q -f "$SQLDIR/reset.sql" >/dev/null
  pgbench "${PG[@]}" -n -M prepared -f "$1" -c "$CLIENTS" -j 2 -T "$SECS" 2>&1 | awk '/^tps/ {printf "%.0f", $3}'
}
library_tps() { # mode sessions
  LIVESESSIONS_TEST_POSTGRES_URL="$URL" "$BIN" --mode "$1" --sessions "$2" --clients "$CLIENTS" \
    --seconds "$SECS" | tee -a "$tmp/log" | awk '/^joins\/s/ {print $2}'
}

echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "clients=$CLIENTS seconds=$SECS spread=$SPREAD"
for round in $(seq 1 "$ROUNDS"); do
  psql "${PG[@]}" -q -v ON_ERROR_STOP=1 -f "$SQLDIR/setup.sql" >/dev/null 2>&1
  psql "${PG[@]}" -q -v ON_ERROR_STOP=1 -v spread="$SPREAD" -f "$SQLDIR/spread_sessions.sql" >/dev/null
  hot_pg=$(pgbench_tps "$SQLDIR/bare_upsert.sql")
  hot_lib=$(library_tps library 1)
  hot_http=$(library_tps http 1)
  spread_pg=$(pgbench_tps "$tmp/bare_upsert_spread.sql")
  spread_lib=$(library_tps library "$SPREAD")
  spread_http=$(library_tps http "$SPREAD")
  echo "round $round (joins/s; load now $(cut -d' ' -f1 /proc/loadavg))"
  awk -v a="$hot_pg" -v b="$hot_lib" -v c="$hot_http" -v d="$spread_pg" -v e="$spread_lib" -v f="$spread_http" 'BEGIN {
    printf "  %-8s pgbench %6d  library %6d  http %6d  library/pgbench %.2f (>= 0.70)  http/library %.2f (>= 0.60)\n", "hot", a, b, c, b / a, c / b
    printf "  %-8s pgbench %6d  library %6d  http %6d  library/pgbench %.2f (>= 0.70)  http/library %.2f (>= 0.60)\n", "spread", d, e, f, e / d, f / e
  }'
done
echo "latencies:"
grep -E '^(perf_join|latency)' "$tmp/log" | sed 's/^/  /'
