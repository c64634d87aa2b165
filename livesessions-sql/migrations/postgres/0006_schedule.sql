-- A session's schedule (livesessions_core::SessionFields): an optional end time and whether
-- the scheduler starts it at its start time and ends it at its end time. Two partial indexes
-- serve the scheduler's due query (SessionStore::due_sessions): each holds only the sessions
-- the scheduler may act on, in the order it takes them, so a tick reads no other session.

ALTER TABLE live_sessions
    ADD COLUMN end_time   timestamptz,
    ADD COLUMN auto_start boolean NOT NULL DEFAULT false,
    ADD COLUMN auto_end   boolean NOT NULL DEFAULT false;

-- Sessions to start: `start_time <= now` (and no end time, or a later one).
CREATE INDEX live_sessions_due_start_idx ON live_sessions (start_time)
    WHERE status = 'scheduled' AND auto_start;
-- Sessions to end: `end_time <= now`.
CREATE INDEX live_sessions_due_end_idx ON live_sessions (end_time)
    WHERE status = 'live' AND auto_end;
