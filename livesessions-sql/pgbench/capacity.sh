#!/usr/bin/env bash
# Prices a capped first join two ways, side by side in one run, against the uncapped join: as the
# store runs it (a transaction: BEGIN, the session row locked FOR NO KEY UPDATE, the join
# statement with its seat check, COMMIT) and as one autocommit statement that locks the row in
# its first CTE and counts the seats taken through a VOLATILE function, which reads them in a
# snapshot of its own taken after the lock (a statement's other reads keep the snapshot taken
# before it waited). Both are written from store_join.sql; one live session with capacity
# 1 000 000 (never reached), first joins of new users; the counts are checked after each run.
# Usage: bash capacity.sh   (env: SECS=8 CLIENTS=64 ROUNDS=2)
set -euo pipefail
cd "$(dirname "$0")"
PG="-h ${PGHOST:-127.0.0.1} -U ${PGUSER:-postgres} ${PGDATABASE:-test}"
psql $PG -q -v ON_ERROR_STOP=1 -f setup.sql >/dev/null 2>&1
psql $PG -q -v ON_ERROR_STOP=1 <<'SQL'
-- The seats a first join of `joiner` finds taken: the count shards' sum, plus the seats held
-- for roster members who have not joined unless the joiner is one of them.
CREATE FUNCTION ls_pgbench.seats_taken(session uuid, joiner text) RETURNS bigint
LANGUAGE sql VOLATILE AS $fn$
SELECT COALESCE((SELECT SUM(c.count) FROM ls_pgbench.session_participant_counts c
                 WHERE c.session_id = session), 0)
     + CASE WHEN EXISTS (SELECT 1 FROM ls_pgbench.roster_members r
                         WHERE r.session_id = session AND r.user_id = joiner) THEN 0
       ELSE (SELECT count(*) FROM ls_pgbench.roster_members r
             WHERE r.session_id = session AND NOT EXISTS (
               SELECT 1 FROM ls_pgbench.session_participants q
               WHERE q.session_id = r.session_id AND q.user_id = r.user_id)) END
$fn$;
SQL
d="$(mktemp -d)"
trap 'rm -rf "$d"' EXIT
check='(false::boolean AND ( SELECT COALESCE'
grep -qF "$check" store_join.sql || { echo "store_join.sql has no seat check to edit" >&2; exit 1; }
{
  echo '\set u random(1, 2000000000)'
  echo 'BEGIN;'
  echo "SELECT 1 FROM ls_pgbench.live_sessions WHERE id = '00000000-0000-7000-8000-000000000001' AND capacity IS NOT NULL FOR NO KEY UPDATE;"
  sed -n '/^WITH s AS (/,$p' store_join.sql | sed 's/(false::boolean AND ( SELECT COALESCE/(true::boolean AND ( SELECT COALESCE/'
  echo 'COMMIT;'
} >"$d/capped_transaction.sql"
{
  echo '\set u random(1, 2000000000)'
  sed -n '/^WITH s AS (/,$p' store_join.sql | sed 's/ FOR KEY SHARE$/ FOR NO KEY UPDATE/' |
    python3 -c '
import sys
s = sys.stdin.read()
a = s.index("(false::boolean AND ( SELECT COALESCE")
b = s.index("< ok.capacity))", a)
sys.stdout.write(s[:a] + "(ls_pgbench.seats_taken(ok.id, (\x27u\x27 || :u)) " + s[b:])'
} >"$d/capped_statement.sql"
for round in $(seq 1 "${ROUNDS:-2}"); do
  echo "round $round, load $(cut -d' ' -f1-3 /proc/loadavg)"
  for script in store_join capped_transaction capped_statement; do
    file="$script.sql"
    [ -f "$file" ] || file="$d/$script.sql"
    psql $PG -q -f reset.sql >/dev/null
    capacity=1000000
    [ "$script" != store_join ] || capacity=NULL
    psql $PG -q -c "UPDATE ls_pgbench.live_sessions SET capacity = $capacity"
    tps=$(pgbench $PG -n -M prepared -f "$file" -c "${CLIENTS:-64}" -j 2 -T "${SECS:-8}" 2>&1 |
      awk '/^tps/ {print $3}')
    counts=$(psql $PG -Atc "SELECT (SELECT count(*) FROM ls_pgbench.session_participants) || ' records, ' ||
      (SELECT sum(count) FROM ls_pgbench.session_participant_counts) || ' counted'")
    printf '  %-20s %8.0f joins/s  (%s)\n' "$script" "$tps" "$counts"
  done
done
psql $PG -q -c "UPDATE ls_pgbench.live_sessions SET capacity = NULL"
