-- Ending a live session nobody watches (livesessions_core::SessionFields::end_when_empty),
-- SQLite flavour: the minutes, 1 to 1440, NULL when off. A partial index holds the live
-- sessions having the option, for the scheduler's query (SessionStore::empty_sessions), whose
-- statement repeats its condition word for word; participants are read by session through the
-- primary key (session_id, user_id).

ALTER TABLE live_sessions ADD COLUMN end_when_empty_minutes INTEGER
    CHECK (end_when_empty_minutes BETWEEN 1 AND 1440);

CREATE INDEX live_sessions_due_empty_idx ON live_sessions (live_since)
    WHERE status = 'live' AND end_when_empty_minutes IS NOT NULL;
