-- The floor: the participant upsert alone, one statement, no count.
\set u random(1, 2000000000)
INSERT INTO ls_pgbench.session_participants (session_id, user_id, user_name, email,
    first_joined_at, last_joined_at, last_seen, present_since, created_at)
VALUES ('00000000-0000-7000-8000-000000000001', 'u' || :u, 'Student', 's@example.com',
    now(), now(), now(), now(), now())
ON CONFLICT (session_id, user_id) DO NOTHING;
