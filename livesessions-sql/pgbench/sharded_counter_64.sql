-- Like sharded_counter.sql with 64 shards instead of 16 (setup.sql lifts the shard check
-- for this experiment only).
\set u random(1, 2000000000)
WITH ins AS (
    INSERT INTO ls_pgbench.session_participants (session_id, user_id, user_name, email,
        first_joined_at, last_joined_at, last_seen, present_since, created_at)
    VALUES ('00000000-0000-7000-8000-000000000001', 'u' || :u, 'Student', 's@example.com',
        now(), now(), now(), now(), now())
    ON CONFLICT (session_id, user_id) DO NOTHING
    RETURNING session_id)
INSERT INTO ls_pgbench.session_participant_counts (session_id, shard, count)
SELECT session_id, (:u % 64)::smallint, 1 FROM ins
ON CONFLICT (session_id, shard) DO UPDATE SET count = session_participant_counts.count + 1;
