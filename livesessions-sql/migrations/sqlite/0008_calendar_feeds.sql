-- Calendar feeds (livesessions_core::calendar), SQLite flavour. A user's feed URL carries a
-- random token; only its SHA-256 is kept (lower-case hex), unique, and looked up by it. One
-- token per user: a new one replaces the old, which stops working at once. Times are integer
-- microseconds since the Unix epoch.

CREATE TABLE calendar_feed_tokens (
    user_id    TEXT    PRIMARY KEY NOT NULL,
    token_hash TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- The feeds' sessions (CalendarFeedStore::calendar_sessions): by start time, among the
-- sessions a feed can hold; the statement repeats the condition word for word so that
-- SQLite uses the index.
CREATE INDEX live_sessions_calendar_idx ON live_sessions (start_time, id)
    WHERE status IN ('scheduled', 'live', 'cancelled');
