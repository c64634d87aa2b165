-- Adds the live sessions 2 … :spread + 1 to ls_pgbench (after setup.sql), for the scripts that
-- spread joins over many sessions (scripts/perf-ratios.sh, scripts/perf-eventlog.sh): session
-- g has the id 00000000-0000-7000-8000-<g in hex, 12 digits>. Run with:
--   psql -h 127.0.0.1 -U postgres test -v ON_ERROR_STOP=1 -v spread=1000 -f spread_sessions.sql
INSERT INTO ls_pgbench.live_sessions (id, title, instructor, video_url, start_time, status,
    started_at, live_since, created_at, updated_at, version, list_rank, list_time_key)
SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, 'Spread ' || g, 'Bench',
    'https://youtu.be/x', now(), 'live', now(), now(), now(), now(), 2, 0, 0
FROM generate_series(2, :spread + 1) g;
ANALYZE ls_pgbench.live_sessions;
