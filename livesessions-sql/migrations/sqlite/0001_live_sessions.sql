-- Live sessions and their participants (DESIGN §4.1), SQLite flavour.
-- Ids are 16-byte UUID blobs; times are integer microseconds since the Unix epoch.
-- `list_rank` and `list_time_key` are the session's list key (livesessions_core::ListKey),
-- written with every change of the session. SQLite has one writer at a time, so the
-- participant count is a plain column: there is no hot-row contention to spread.

CREATE TABLE live_sessions (
    id             BLOB    NOT NULL PRIMARY KEY,
    title          TEXT    NOT NULL,
    description    TEXT    NOT NULL DEFAULT '',
    instructor     TEXT    NOT NULL,
    video_url      TEXT    NOT NULL,
    thumbnail_url  TEXT,
    thumbnail_key  TEXT,
    start_time     INTEGER NOT NULL,
    timezone       TEXT,
    status         TEXT    NOT NULL
        CHECK (status IN ('scheduled', 'live', 'ended', 'cancelled')),
    started_at     INTEGER,
    ended_at       INTEGER,
    live_since     INTEGER,
    live_seconds   INTEGER NOT NULL DEFAULT 0,
    participants   INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    version        INTEGER NOT NULL,
    list_rank      INTEGER NOT NULL,
    list_time_key  INTEGER NOT NULL,
    CHECK (thumbnail_url IS NULL OR thumbnail_key IS NULL)
);

CREATE INDEX live_sessions_list_idx ON live_sessions (list_rank, list_time_key, id);
CREATE INDEX live_sessions_start_time_idx ON live_sessions (start_time);

CREATE TABLE session_participants (
    session_id       BLOB    NOT NULL REFERENCES live_sessions (id) ON DELETE CASCADE,
    user_id          TEXT    NOT NULL,
    user_name        TEXT    NOT NULL,
    email            TEXT    NOT NULL,
    first_joined_at  INTEGER NOT NULL,
    last_joined_at   INTEGER NOT NULL,
    last_seen        INTEGER NOT NULL,
    left_at          INTEGER,
    present_since    INTEGER,
    watch_seconds    INTEGER NOT NULL DEFAULT 0,
    join_count       INTEGER NOT NULL DEFAULT 1,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (session_id, user_id)
);

CREATE INDEX session_participants_join_idx
    ON session_participants (session_id, first_joined_at, user_id);
CREATE INDEX session_participants_user_idx
    ON session_participants (user_id, first_joined_at DESC, session_id);
