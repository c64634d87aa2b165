-- Calendar feeds (livesessions_core::calendar). A user's feed URL carries a random token;
-- only its SHA-256 is kept (lower-case hex), unique, and looked up by it. One token per user:
-- a new one replaces the old, which stops working at once.

CREATE TABLE calendar_feed_tokens (
    user_id    text        PRIMARY KEY,
    token_hash text        NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT calendar_feed_tokens_hash_key UNIQUE (token_hash)
);

-- The feeds' sessions (CalendarFeedStore::calendar_sessions): by start time, among the
-- sessions a feed can hold; ended sessions, the bulk of an old table, are not in the index.
CREATE INDEX live_sessions_calendar_idx ON live_sessions (start_time, id)
    WHERE status IN ('scheduled', 'live', 'cancelled');
