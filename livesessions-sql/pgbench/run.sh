#!/usr/bin/env bash
# Runs every join script against one live session at 8, 32 and 64 clients, emptying the tables
# before each run. Usage: bash run.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")"
PG="-h ${PGHOST:-127.0.0.1} -U ${PGUSER:-postgres} ${PGDATABASE:-test}"
secs="${1:-10}"
psql $PG -q -v ON_ERROR_STOP=1 -f setup.sql

# Variants of a script that differ from it in one place, written from it so that they cannot
# drift apart; each edit must apply exactly once.
variants="$(mktemp -d)"
trap 'rm -rf "$variants"' EXIT
variant() { # name source sed-expression
  local n
  n=$(sed -n "${3}p" "$2.sql" | wc -l)
  [ "$n" -eq 1 ] || { echo "$1: '$3' changes $n lines of $2.sql, not 1" >&2; exit 1; }
  sed "$3" "$2.sql" >"$variants/$1.sql"
}
# The 16-way sharded counter with 64 shards (setup.sql lifts the shard check for it).
variant sharded_counter_64 sharded_counter 's/(:u % 16)/(:u % 64)/'
# The store's join with FOR SHARE instead of FOR KEY SHARE on the session row (measured and not
# chosen: it adds a second lock mode per join to the row's multixact).
variant store_join_forshare store_join 's/ FOR KEY SHARE$/ FOR SHARE/'
# The store's join without a lock on the session row (to price the lock).
variant store_join_nolock store_join 's/ FOR KEY SHARE$//'

for script in ${SCRIPTS:-bare_upsert single_counter sharded_counter sharded_counter_64 store_join store_join_forshare store_join_nolock}; do
  for clients in 8 32 64; do
    psql $PG -q -f reset.sql
    file="$script.sql"
    [ -f "$file" ] || file="$variants/$script.sql"
    tps=$(pgbench $PG -n -M prepared -f "$file" -c "$clients" -j 2 -T "$secs" 2>&1 |
      awk '/^tps/ {print $3}')
    printf '%-18s %3d clients %8.0f joins/s\n' "$script" "$clients" "$tps"
  done
done
