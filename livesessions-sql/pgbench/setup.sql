-- Sets up the schema `ls_pgbench` for the join scripts in this directory: the store's tables
-- (every migration in migrations/postgres, applied with search_path = ls_pgbench)
-- plus, for the single-counter baseline only, a `participants` column on live_sessions. Run with:
--   psql -h 127.0.0.1 -U postgres test -v ON_ERROR_STOP=1 -f setup.sql
DROP SCHEMA IF EXISTS ls_pgbench CASCADE;
CREATE SCHEMA ls_pgbench;
SET search_path TO ls_pgbench;
\ir ../migrations/postgres/0001_live_sessions.sql
\ir ../migrations/postgres/0002_more_count_shards.sql
\ir ../migrations/postgres/0003_thumbnails.sql
\ir ../migrations/postgres/0004_event_log.sql
\ir ../migrations/postgres/0005_webhooks.sql
\ir ../migrations/postgres/0006_schedule.sql
\ir ../migrations/postgres/0007_end_when_empty.sql
\ir ../migrations/postgres/0008_series.sql
\ir ../migrations/postgres/0009_calendar_feeds.sql
\ir ../migrations/postgres/0010_search.sql
\ir ../migrations/postgres/0012_capacity.sql
\ir ../migrations/postgres/0013_roster.sql
\ir ../migrations/postgres/0015_roster_name_index.sql
\ir ../migrations/postgres/0016_seat_shards.sql
ALTER TABLE live_sessions ADD COLUMN participants bigint NOT NULL DEFAULT 0;
INSERT INTO live_sessions (id, title, instructor, video_url, start_time, status, started_at,
    live_since, created_at, updated_at, version, list_rank, list_time_key)
VALUES ('00000000-0000-7000-8000-000000000001', 'Stampede', 'Bench', 'https://youtu.be/x',
    now(), 'live', now(), now(), now(), now(), 2, 0, 0);
-- Only for sharded_counter_64 (a variant run.sh writes): allow 64 shards.
ALTER TABLE session_participant_counts DROP CONSTRAINT session_participant_counts_shard_check;
