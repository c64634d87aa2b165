#!/usr/bin/env bash
# Prices the parts of the store's join, side by side in one run: the bare upsert (the floor),
# the store's join (store_join.sql), the same without the session-row lock, and the designs
# store_join_lazy.sql (no lock, return less), store_join_countread.sql (also no count shard) and
# store_join_minimal.sql (also no event), all on one live session, first joins of new users.
# Usage: bash designs.sh   (env: SECS=8 CLIENTS=64 ROUNDS=2)
set -euo pipefail
cd "$(dirname "$0")"
PG="-h ${PGHOST:-127.0.0.1} -U ${PGUSER:-postgres} ${PGDATABASE:-test}"
secs="${SECS:-8}"
psql $PG -q -v ON_ERROR_STOP=1 -f setup.sql >/dev/null 2>&1
nolock="$(mktemp)"
trap 'rm -f "$nolock"' EXIT
sed 's/ FOR KEY SHARE$//' store_join.sql >"$nolock"
for round in $(seq 1 "${ROUNDS:-2}"); do
  echo "round $round, load $(cut -d' ' -f1-3 /proc/loadavg)"
  for script in bare_upsert store_join store_join_nolock store_join_lazy store_join_countread store_join_minimal; do
    file="$script.sql"
    [ "$script" = store_join_nolock ] && file="$nolock"
    psql $PG -q -f reset.sql >/dev/null
    tps=$(pgbench $PG -n -M prepared -f "$file" -c "${CLIENTS:-64}" -j 2 -T "$secs" 2>&1 |
      awk '/^tps/ {print $3}')
    printf '  %-22s %8.0f joins/s\n' "$script" "$tps"
  done
done
