-- The event log (livesessions_core::events::EventLog): one row per change, appended in the
-- change's own write transaction. SQLite has one writer at a time, so rows are inserted in
-- commit order and the AUTOINCREMENT rowid (never reused, even after pruning) is the event
-- id. Readers load the session themselves; there is no payload. No foreign key to
-- live_sessions: a session's `deleted` event outlives the session. Times are integer
-- microseconds since the Unix epoch.

CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT    NOT NULL,
    session_id  BLOB    NOT NULL,
    at          INTEGER NOT NULL
);

-- One row: events up to `pruned_through` may have been deleted.
CREATE TABLE event_log_state (
    one             INTEGER NOT NULL PRIMARY KEY CHECK (one = 1),
    pruned_through  INTEGER NOT NULL DEFAULT 0
);
INSERT INTO event_log_state (one) VALUES (1);
