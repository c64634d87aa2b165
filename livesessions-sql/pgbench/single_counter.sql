-- Baseline: insert the participant and, when inserted, bump one counter column on the session
-- row (the hot row), in one transaction.
\set u random(1, 2000000000)
BEGIN;
WITH ins AS (
    INSERT INTO ls_pgbench.session_participants (session_id, user_id, user_name, email,
        first_joined_at, last_joined_at, last_seen, present_since, created_at)
    VALUES ('00000000-0000-7000-8000-000000000001', 'u' || :u, 'Student', 's@example.com',
        now(), now(), now(), now(), now())
    ON CONFLICT (session_id, user_id) DO NOTHING
    RETURNING session_id)
UPDATE ls_pgbench.live_sessions SET participants = participants + 1
WHERE id IN (SELECT session_id FROM ins);
COMMIT;
