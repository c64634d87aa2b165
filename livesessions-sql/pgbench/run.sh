#!/usr/bin/env bash
# Runs every join script against one live session at 8, 32 and 64 clients, emptying the tables
# before each run. Usage: bash run.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")"
PG="-h ${PGHOST:-127.0.0.1} -U ${PGUSER:-postgres} ${PGDATABASE:-test}"
secs="${1:-10}"
psql $PG -q -v ON_ERROR_STOP=1 -f setup.sql
for script in ${SCRIPTS:-bare_upsert single_counter sharded_counter sharded_counter_64 store_join store_join_forshare store_join_nolock}; do
  for clients in 8 32 64; do
    psql $PG -q -f reset.sql
    tps=$(pgbench $PG -n -M prepared -f "$script.sql" -c "$clients" -j 2 -T "$secs" 2>&1 |
      awk '/^tps/ {print $3}')
    printf '%-18s %3d clients %8.0f joins/s\n' "$script" "$clients" "$tps"
  done
done
