-- Empties the participants, counters and events between runs (keeps the one live session).
SET search_path TO ls_pgbench;
TRUNCATE session_participants, session_participant_counts, events;
UPDATE live_sessions SET participants = 0;
-- Every count shard of the lab session, at zero (store_join_shardupdate bumps them by UPDATE).
INSERT INTO session_participant_counts (session_id, shard, count)
SELECT id, shard, 0 FROM live_sessions, generate_series(0, 63) AS shard;
VACUUM ANALYZE live_sessions;
