-- Rosters, restricted sessions, self-registration and attendance status
-- (livesessions_core::roster).
--
-- Sessions: `restricted` (only roster members and admins may join; the join checks it in its
-- own statement), `registration` ('closed' or 'open': may users add themselves), and the rules
-- of the attendance status, `attendance_threshold` (percent of the live time, NULL for the
-- default 75) and `late_after_minutes` (a first presence more than this after `started_at` is
-- late; NULL: nobody is late). Defaults need no table rewrite.
ALTER TABLE live_sessions
    ADD COLUMN restricted boolean NOT NULL DEFAULT false,
    ADD COLUMN registration text NOT NULL DEFAULT 'closed'
        CONSTRAINT live_sessions_registration_check CHECK (registration IN ('closed', 'open')),
    ADD COLUMN attendance_threshold bigint
        CONSTRAINT live_sessions_attendance_threshold_check
        CHECK (attendance_threshold BETWEEN 1 AND 100),
    ADD COLUMN late_after_minutes bigint
        CONSTRAINT live_sessions_late_after_minutes_check
        CHECK (late_after_minutes BETWEEN 0 AND 1440);

-- The first time a presence interval opened (Participant::first_present_at), set by the join
-- and heartbeat statements. Rows written before this migration did not record it; those that
-- were ever present (watch time credited, or an interval open now) get the best
-- approximation: an open interval that has credited nothing yet opened first, so its start is
-- exact; otherwise the first presence was at the earliest when both the user had joined and
-- the session had started, which is when a join while live, or a lobby join at the start,
-- opens it. A participant whose only intervals lasted under a second stays NULL (lobby only).
ALTER TABLE session_participants ADD COLUMN first_present_at timestamptz;

UPDATE session_participants p SET first_present_at = CASE
        WHEN p.watch_seconds = 0 AND p.present_since IS NOT NULL THEN p.present_since
        ELSE LEAST(
            GREATEST(p.first_joined_at, COALESCE(s.started_at, p.first_joined_at)),
            COALESCE(p.present_since, 'infinity'::timestamptz))
    END
FROM live_sessions s
WHERE s.id = p.session_id AND (p.watch_seconds > 0 OR p.present_since IS NOT NULL);

-- A session's roster: who is expected. Deleted with the session.
CREATE TABLE roster_members (
    session_id  uuid        NOT NULL,
    -- Byte order, as the domain orders user ids (and as session_participants.user_id).
    user_id     text        COLLATE "C" NOT NULL,
    user_name   text        NOT NULL,
    email       text        NOT NULL,
    -- Whether the user added themself (self-registration) rather than an admin.
    registered  boolean     NOT NULL DEFAULT false,
    added_at    timestamptz NOT NULL,
    -- One entry per (session, user); also serves the join's check and the roster view.
    CONSTRAINT roster_members_pkey PRIMARY KEY (session_id, user_id),
    CONSTRAINT roster_members_session_fkey FOREIGN KEY (session_id)
        REFERENCES live_sessions (id) ON DELETE CASCADE
);

-- A user's calendar feed: the sessions whose roster they are on.
CREATE INDEX roster_members_user_idx ON roster_members (user_id, session_id);
