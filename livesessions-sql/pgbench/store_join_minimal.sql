-- As store_join_countread.sql, without the `participants` event: what is left is the rejoin
-- update and the insert with the presence rule.
\set u random(1, 2000000000)
WITH s AS (
    SELECT * FROM ls_pgbench.live_sessions WHERE id = '00000000-0000-7000-8000-000000000001'
), ok AS (
    SELECT id, status = 'live' AS live FROM s WHERE status IN ('scheduled', 'live')
), upd AS (
    UPDATE ls_pgbench.session_participants p SET
        user_name = 'Student', email = 's@example.com',
        join_count = p.join_count + 1,
        last_joined_at = GREATEST(p.last_joined_at, now()),
        watch_seconds = p.watch_seconds + CASE
            WHEN ok.live AND now() >= p.last_seen AND p.present_since IS NOT NULL
                 AND now() - p.last_seen > 90 * INTERVAL '1 second'
            THEN GREATEST(0, FLOOR(date_part('epoch',
                     p.last_seen + 90 * INTERVAL '1 second' - p.present_since)))::bigint
            ELSE 0 END,
        present_since = CASE
            WHEN now() < p.last_seen OR NOT ok.live THEN p.present_since
            WHEN p.present_since IS NULL THEN now()
            WHEN now() - p.last_seen > 90 * INTERVAL '1 second' THEN now()
            ELSE p.present_since END,
        last_seen = GREATEST(p.last_seen, now())
    FROM ok
    WHERE p.session_id = ok.id AND p.user_id = 'u' || :u
    RETURNING p.*
), ins AS (
    INSERT INTO ls_pgbench.session_participants (session_id, user_id, user_name, email,
        first_joined_at, last_joined_at, last_seen, present_since, created_at)
    SELECT ok.id, 'u' || :u, 'Student', 's@example.com', now(), now(), now(),
        CASE WHEN ok.live THEN now() END, now()
    FROM ok WHERE NOT EXISTS (SELECT 1 FROM upd)
    ON CONFLICT (session_id, user_id) DO NOTHING
    RETURNING *
)
SELECT pp.user_id, pp.join_count, (SELECT count(*) FROM ins) AS first_join
FROM (SELECT * FROM upd UNION ALL SELECT * FROM ins) pp;
