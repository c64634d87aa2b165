#!/usr/bin/env bash
# Prices a capped first join against the uncapped one, side by side in one run: the store's join
# statement (store_join.sql) on the lab session without a capacity, then with capacity
# 1 000 000 (never reached) and its seat shards settled as the store leaves them (every shard
# current, the seats spread over the 64 rows), so that each walk-in takes a seat from its own
# shard in the same row update that counts it. First joins of new users, one live session; after
# each run the counts are checked against the records and, capped, the seats left against the
# capacity.
# Usage: bash capacity.sh   (env: SECS=8 CLIENTS=64 ROUNDS=2)
set -euo pipefail
cd "$(dirname "$0")"
PG="-h ${PGHOST:-127.0.0.1} -U ${PGUSER:-postgres} ${PGDATABASE:-test}"
psql $PG -q -v ON_ERROR_STOP=1 -f setup.sql >/dev/null 2>&1
grep -qF 'tok AS ( UPDATE' store_join.sql || { echo "store_join.sql takes no seat" >&2; exit 1; }
for round in $(seq 1 "${ROUNDS:-2}"); do
  echo "round $round, load $(cut -d' ' -f1-3 /proc/loadavg)"
  for capacity in NULL 1000000; do
    psql $PG -q -f reset.sql >/dev/null
    psql $PG -q -c "UPDATE ls_pgbench.live_sessions SET capacity = $capacity" \
      -c "UPDATE ls_pgbench.session_participant_counts c SET epoch = s.seat_epoch,
            seats = CASE WHEN s.capacity IS NULL THEN 0
                         ELSE s.capacity / 64 + CASE WHEN c.shard < s.capacity % 64 THEN 1 ELSE 0 END END
          FROM ls_pgbench.live_sessions s WHERE s.id = c.session_id" \
      -c "CHECKPOINT"
    tps=$(pgbench $PG -n -M prepared -f store_join.sql -c "${CLIENTS:-64}" -j 2 -T "${SECS:-8}" 2>&1 |
      awk '/^tps/ {print $3}')
    counts=$(psql $PG -Atc "SELECT (SELECT count(*) FROM ls_pgbench.session_participants) || ' records, ' ||
      (SELECT sum(count) FROM ls_pgbench.session_participant_counts) || ' counted, ' ||
      (SELECT sum(seats) FROM ls_pgbench.session_participant_counts) || ' seats left'")
    printf '  capacity %-8s %8.0f joins/s  (%s)\n' "$capacity" "$tps" "$counts"
  done
done
psql $PG -q -c "UPDATE ls_pgbench.live_sessions SET capacity = NULL"
