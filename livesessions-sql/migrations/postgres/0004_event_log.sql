-- The event log (livesessions_core::events::EventLog): one row per change, appended in the
-- change's own statement or transaction. Readers load the session themselves; there is no
-- payload.
--
-- Writers insert with `id` NULL; `staged` only orders the rows of one numbering round. A
-- numbering step (src/postgres/events.rs), serialized by an advisory lock, gives `id` to every
-- committed un-numbered row in one short transaction, so ids increase in the order events
-- became visible and no event can appear later below an id a reader has already seen (which a
-- sequence assigned at insert time would allow: id 10 committing after id 11 was read).
-- No foreign key to live_sessions: a session's `deleted` event outlives the session.

CREATE TABLE events (
    staged      bigserial   NOT NULL,
    id          bigint,
    kind        text        NOT NULL,
    session_id  uuid        NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);

-- Readers: `WHERE id > $1 ORDER BY id LIMIT $2`, and max(id).
CREATE UNIQUE INDEX events_id_idx ON events (id) WHERE id IS NOT NULL;
-- The numbering step: the rows still waiting for an id.
CREATE INDEX events_unnumbered_idx ON events (staged) WHERE id IS NULL;

-- One row: events up to `pruned_through` may have been deleted.
CREATE TABLE event_log_state (
    one             boolean NOT NULL DEFAULT true,
    pruned_through  bigint  NOT NULL DEFAULT 0,
    CONSTRAINT event_log_state_pkey PRIMARY KEY (one),
    CONSTRAINT event_log_state_one_check CHECK (one)
);
INSERT INTO event_log_state DEFAULT VALUES;
