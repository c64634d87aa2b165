-- Live sessions and their participants (DESIGN §4.1).
-- Times are timestamptz (microseconds). `list_rank` and `list_time_key` are the session's
-- list key (livesessions_core::ListKey), written with every change of the session so that one
-- index serves the list order, the status filter and keyset pagination.

CREATE TABLE live_sessions (
    id             uuid        NOT NULL,
    title          text        NOT NULL,
    description    text        NOT NULL DEFAULT '',
    instructor     text        NOT NULL,
    video_url      text        NOT NULL,
    thumbnail_url  text,
    thumbnail_key  text,
    start_time     timestamptz NOT NULL,
    timezone       text,
    status         text        NOT NULL,
    started_at     timestamptz,
    ended_at       timestamptz,
    live_since     timestamptz,
    live_seconds   bigint      NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    version        bigint      NOT NULL,
    list_rank      smallint    NOT NULL,
    list_time_key  bigint      NOT NULL,
    CONSTRAINT live_sessions_pkey PRIMARY KEY (id),
    CONSTRAINT live_sessions_status_check
        CHECK (status IN ('scheduled', 'live', 'ended', 'cancelled')),
    CONSTRAINT live_sessions_one_thumbnail_check
        CHECK (thumbnail_url IS NULL OR thumbnail_key IS NULL)
);

-- The list order (live, scheduled by start, ended/cancelled newest first), the status filter
-- (a status is one list_rank) and keyset pagination.
CREATE INDEX live_sessions_list_idx ON live_sessions (list_rank, list_time_key, id);
-- Overview by start-time range.
CREATE INDEX live_sessions_start_time_idx ON live_sessions (start_time);

CREATE TABLE session_participants (
    session_id       uuid        NOT NULL,
    -- Byte order, as the domain orders user ids, whatever the database's default collation.
    user_id          text        COLLATE "C" NOT NULL,
    user_name        text        NOT NULL,
    email            text        NOT NULL,
    first_joined_at  timestamptz NOT NULL,
    last_joined_at   timestamptz NOT NULL,
    last_seen        timestamptz NOT NULL,
    left_at          timestamptz,
    present_since    timestamptz,
    watch_seconds    bigint      NOT NULL DEFAULT 0,
    join_count       bigint      NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL,
    -- One record per (session, user); also serves every per-session scan (report, end, count).
    CONSTRAINT session_participants_pkey PRIMARY KEY (session_id, user_id),
    CONSTRAINT session_participants_session_fkey FOREIGN KEY (session_id)
        REFERENCES live_sessions (id) ON DELETE CASCADE
);

-- Attendance of a session in join order.
CREATE INDEX session_participants_join_idx
    ON session_participants (session_id, first_joined_at, user_id);
-- Participation of a user, newest first.
CREATE INDEX session_participants_user_idx
    ON session_participants (user_id, first_joined_at DESC, session_id);

-- The participant count, split over 16 shard rows per session so that a class-start stampede
-- does not queue on one row. The shard is a hash of the user id; the count is the sum.
CREATE TABLE session_participant_counts (
    session_id  uuid     NOT NULL,
    shard       smallint NOT NULL,
    count       bigint   NOT NULL,
    CONSTRAINT session_participant_counts_pkey PRIMARY KEY (session_id, shard),
    CONSTRAINT session_participant_counts_shard_check CHECK (shard >= 0 AND shard < 16),
    CONSTRAINT session_participant_counts_session_fkey FOREIGN KEY (session_id)
        REFERENCES live_sessions (id) ON DELETE CASCADE
);
