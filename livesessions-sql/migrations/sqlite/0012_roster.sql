-- Rosters, restricted sessions, self-registration and attendance status
-- (livesessions_core::roster), SQLite flavour; see postgres/0013_roster.sql for the
-- columns' meaning. Booleans are 0/1 integers, times integer microseconds.
ALTER TABLE live_sessions ADD COLUMN restricted INTEGER NOT NULL DEFAULT 0
    CHECK (restricted IN (0, 1));
ALTER TABLE live_sessions ADD COLUMN registration TEXT NOT NULL DEFAULT 'closed'
    CHECK (registration IN ('closed', 'open'));
ALTER TABLE live_sessions ADD COLUMN attendance_threshold INTEGER
    CHECK (attendance_threshold BETWEEN 1 AND 100);
ALTER TABLE live_sessions ADD COLUMN late_after_minutes INTEGER
    CHECK (late_after_minutes BETWEEN 0 AND 1440);

-- The first time a presence interval opened (Participant::first_present_at). Rows written
-- before this migration get the approximation postgres/0013_roster.sql explains: the open
-- interval's start if it has credited nothing yet, else the later of the first join and the
-- session's start (never after an open interval's start).
ALTER TABLE session_participants ADD COLUMN first_present_at INTEGER;

UPDATE session_participants SET first_present_at = CASE
        WHEN watch_seconds = 0 AND present_since IS NOT NULL THEN present_since
        ELSE MIN(
            MAX(first_joined_at,
                COALESCE((SELECT s.started_at FROM live_sessions s
                          WHERE s.id = session_participants.session_id), first_joined_at)),
            COALESCE(present_since, 9223372036854775807))
    END
WHERE watch_seconds > 0 OR present_since IS NOT NULL;

CREATE TABLE roster_members (
    session_id  BLOB    NOT NULL REFERENCES live_sessions (id) ON DELETE CASCADE,
    user_id     TEXT    NOT NULL,
    user_name   TEXT    NOT NULL,
    email       TEXT    NOT NULL,
    registered  INTEGER NOT NULL DEFAULT 0 CHECK (registered IN (0, 1)),
    added_at    INTEGER NOT NULL,
    PRIMARY KEY (session_id, user_id)
);

-- A user's calendar feed: the sessions whose roster they are on.
CREATE INDEX roster_members_user_idx ON roster_members (user_id, session_id);
