-- A 16-way sharded counter: the shard is the user's hash mod 16; upsert + count in one
-- statement (a data-modifying CTE), no session-row lock.
\set u random(1, 2000000000)
WITH ins AS (
    INSERT INTO ls_pgbench.session_participants (session_id, user_id, user_name, email,
        first_joined_at, last_joined_at, last_seen, present_since, created_at)
    VALUES ('00000000-0000-7000-8000-000000000001', 'u' || :u, 'Student', 's@example.com',
        now(), now(), now(), now(), now())
    ON CONFLICT (session_id, user_id) DO NOTHING
    RETURNING session_id)
INSERT INTO ls_pgbench.session_participant_counts (session_id, shard, count)
SELECT session_id, (:u % 16)::smallint, 1 FROM ins
ON CONFLICT (session_id, shard) DO UPDATE SET count = session_participant_counts.count + 1;
