-- A session's schedule (livesessions_core::SessionFields), SQLite flavour: an optional end
-- time (integer microseconds since the Unix epoch) and whether the scheduler starts it at its
-- start time and ends it at its end time (0 or 1). Two partial indexes serve the scheduler's
-- due query (SessionStore::due_sessions); its statements repeat their conditions word for word
-- so that SQLite uses them.

ALTER TABLE live_sessions ADD COLUMN end_time INTEGER;
ALTER TABLE live_sessions ADD COLUMN auto_start INTEGER NOT NULL DEFAULT 0
    CHECK (auto_start IN (0, 1));
ALTER TABLE live_sessions ADD COLUMN auto_end INTEGER NOT NULL DEFAULT 0
    CHECK (auto_end IN (0, 1));

CREATE INDEX live_sessions_due_start_idx ON live_sessions (start_time)
    WHERE status = 'scheduled' AND auto_start = 1;
CREATE INDEX live_sessions_due_end_idx ON live_sessions (end_time)
    WHERE status = 'live' AND auto_end = 1;
