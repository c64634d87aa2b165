#!/usr/bin/env bash
# Prices the parts of the store's join, side by side in one run: the bare upsert (the floor),
# the store's join (store_join.sql) and designs derived from it below, each named after what it
# changes; all on one live session, 64 clients, first joins of new users.
# Usage: bash designs.sh   (env: SECS=8 CLIENTS=64 ROUNDS=2)
set -euo pipefail
cd "$(dirname "$0")"
PG="-h ${PGHOST:-127.0.0.1} -U ${PGUSER:-postgres} ${PGDATABASE:-test}"
secs="${SECS:-8}"
psql $PG -q -v ON_ERROR_STOP=1 -f setup.sql >/dev/null 2>&1
# The designs are written from store_join.sql here, so that they cannot drift from it: each
# changes one part of the store's join or of the design above it.
d="$(mktemp -d)"
trap 'rm -rf "$d"' EXIT
derive() { # name source sed-expression [line to append]: fails if the edit changes nothing
  sed "$3" "$2" >"$d/$1.sql"
  [ -z "${4:-}" ] || echo "$4" >>"$d/$1.sql"
  cmp -s "$d/$1.sql" "$2" && { echo "$1: no part of $2 was taken out" >&2; exit 1; }
  return 0
}
# No lock on the session row (credit lazily at end).
derive store_join_nolock store_join.sql 's/ FOR KEY SHARE$//'
# Also only the participant in the answer (the caller has the session).
derive store_join_lazy "$d/store_join_nolock.sql" '/^SELECT s\.id, /,$d' \
  'SELECT pp.* FROM (SELECT * FROM upd UNION ALL SELECT * FROM ins) pp;'
# Also no count shard (count on read).
derive store_join_countread "$d/store_join_lazy.sql" '/^), counted AS (/d'
# Also no `participants` event.
derive store_join_minimal "$d/store_join_countread.sql" '/^), logged AS (/d'
# The whole join, with the count shard bumped by a plain UPDATE of shard rows created with the
# session (reset.sql creates the lab session's 64) instead of an upsert.
derive store_join_shardupdate store_join.sql 's/^), counted AS (.*$/), counted AS ( UPDATE "ls_pgbench".session_participant_counts c SET count = c.count + 1 FROM ins WHERE c.session_id = ins.session_id AND c.shard = (:u % 64)::smallint/'
# The whole join with the count read from the participants' index instead of the shards (count
# on read, the answer keeping its exact count): no shard bumped, the session's rows counted.
derive store_join_countindex store_join.sql '/^), counted AS (/d; s/(SELECT COALESCE(SUM(c\.count), 0)::bigint FROM "ls_pgbench"\.session_participant_counts c WHERE c\.session_id = s\.id)/(SELECT count(*) FROM "ls_pgbench".session_participants x WHERE x.session_id = s.id)/'
grep -q 'session_participants x WHERE x.session_id = s.id)' "$d/store_join_countindex.sql" ||
  { echo "store_join_countindex: the count was not replaced" >&2; exit 1; }
# The whole join with the session in the answer but not its count (the shards not summed):
# what the sum costs of what "return less" saves.
derive store_join_nosum store_join.sql 's/(SELECT COALESCE(SUM(c\.count), 0)::bigint FROM "ls_pgbench"\.session_participant_counts c WHERE c\.session_id = s\.id)/0/'
# The store's join as it is, with the count shards spread over more pages (fillfactor 10 on the
# shard table, set before its run and reset after): prices the contention on the page that holds
# a session's 64 shard rows.
cp store_join.sql "$d/store_join_sparse.sql"
table_options() {
  case "$1" in
    store_join_sparse) echo 'ALTER TABLE ls_pgbench.session_participant_counts SET (fillfactor = 10)' ;;
    *) echo 'ALTER TABLE ls_pgbench.session_participant_counts RESET (fillfactor)' ;;
  esac
}
for round in $(seq 1 "${ROUNDS:-2}"); do
  echo "round $round, load $(cut -d' ' -f1-3 /proc/loadavg)"
  for script in bare_upsert store_join store_join_nolock store_join_lazy store_join_countread store_join_minimal store_join_shardupdate store_join_sparse store_join_countindex store_join_nosum; do
    file="$script.sql"
    [ -f "$file" ] || file="$d/$script.sql"
    psql $PG -q -c "$(table_options "$script")"
    psql $PG -q -f reset.sql >/dev/null
    tps=$(pgbench $PG -n -M prepared -f "$file" -c "${CLIENTS:-64}" -j 2 -T "$secs" 2>&1 |
      awk '/^tps/ {print $3}')
    printf '  %-22s %8.0f joins/s\n' "$script" "$tps"
  done
done
