#!/usr/bin/env bash
# Prices the parts of the store's join, side by side in one run: the bare upsert (the floor),
# the store's join (store_join.sql), the same without the session-row lock, and the designs
# store_join_lazy (no lock, return less), store_join_countread (also no count shard) and
# store_join_minimal (also no event), derived from store_join.sql below; all on one live
# session, first joins of new users.
# Usage: bash designs.sh   (env: SECS=8 CLIENTS=64 ROUNDS=2)
set -euo pipefail
cd "$(dirname "$0")"
PG="-h ${PGHOST:-127.0.0.1} -U ${PGUSER:-postgres} ${PGDATABASE:-test}"
secs="${SECS:-8}"
psql $PG -q -v ON_ERROR_STOP=1 -f setup.sql >/dev/null 2>&1
# The designs are written from store_join.sql here, so that they cannot drift from it: each
# takes one more part out of the previous one.
d="$(mktemp -d)"
trap 'rm -rf "$d"' EXIT
# No lock on the session row (credit lazily at end).
sed 's/ FOR KEY SHARE$//' store_join.sql >"$d/store_join_nolock.sql"
# Also only the participant in the answer (the caller has the session).
sed '/^SELECT s.id, s.status,$/,$d' "$d/store_join_nolock.sql" >"$d/store_join_lazy.sql"
printf '%s\n' 'SELECT pp.user_id, pp.join_count, (SELECT count(*) FROM ins) AS first_join' \
  'FROM (SELECT * FROM upd UNION ALL SELECT * FROM ins) pp;' >>"$d/store_join_lazy.sql"
# Also no count shard (count on read).
sed '/^), cnt AS ($/,/^), logged AS ($/{/^), logged AS ($/!d}' "$d/store_join_lazy.sql" >"$d/store_join_countread.sql"
# Also no `participants` event.
sed '/^), logged AS ($/,/^)$/{/^)$/!d}' "$d/store_join_countread.sql" >"$d/store_join_minimal.sql"
for f in lazy countread minimal; do
  cmp -s "$d/store_join_$f.sql" store_join.sql && { echo "store_join_$f: no part was taken out" >&2; exit 1; }
done
for round in $(seq 1 "${ROUNDS:-2}"); do
  echo "round $round, load $(cut -d' ' -f1-3 /proc/loadavg)"
  for script in bare_upsert store_join store_join_nolock store_join_lazy store_join_countread store_join_minimal; do
    file="$script.sql"
    [ -f "$file" ] || file="$d/$script.sql"
    psql $PG -q -f reset.sql >/dev/null
    tps=$(pgbench $PG -n -M prepared -f "$file" -c "${CLIENTS:-64}" -j 2 -T "$secs" 2>&1 |
      awk '/^tps/ {print $3}')
    printf '  %-22s %8.0f joins/s\n' "$script" "$tps"
  done
done
