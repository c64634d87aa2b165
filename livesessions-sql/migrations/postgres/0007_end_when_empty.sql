-- Ending a live session nobody watches (livesessions_core::SessionFields::end_when_empty): the
-- minutes, 1 to 1440, NULL when off. The scheduler's query for such sessions
-- (SessionStore::empty_sessions) reads the live sessions having the option from a partial
-- index, then each one's participants through an index on session_id: no index on
-- last_seen, which every heartbeat writes.

ALTER TABLE live_sessions
    ADD COLUMN end_when_empty_minutes bigint
        CONSTRAINT live_sessions_end_when_empty_check
        CHECK (end_when_empty_minutes BETWEEN 1 AND 1440);

CREATE INDEX live_sessions_due_empty_idx ON live_sessions (live_since)
    WHERE status = 'live' AND end_when_empty_minutes IS NOT NULL;
