-- Webhook endpoints, their deliveries and the enqueue cursor (livesessions_core::webhooks),
-- SQLite flavour: ids are 16-byte UUID blobs, times integer microseconds since the Unix epoch.
-- `event_types` is NULL for every type, or the event kinds' names separated by commas
-- (`live,ended`). Secrets are stored in the form the core writes them (`whsec_…`).

CREATE TABLE webhook_endpoints (
    id                    BLOB    NOT NULL PRIMARY KEY,
    url                   TEXT    NOT NULL,
    event_types           TEXT,
    description           TEXT,
    enabled               INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    disabled_reason       TEXT    CHECK (disabled_reason IN ('manual', 'gone')),
    secret                TEXT    NOT NULL,
    previous_secret       TEXT,
    previous_valid_until  INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    CHECK ((previous_secret IS NULL) = (previous_valid_until IS NULL))
);

-- One row per (endpoint, event). `lease_owner` stays set after the lease ends, so that only
-- the worker it was last given to can record an attempt; a released lease clears both.
CREATE TABLE webhook_deliveries (
    id                BLOB    NOT NULL PRIMARY KEY,
    endpoint_id       BLOB    NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id          INTEGER NOT NULL,
    event_kind        TEXT    NOT NULL,
    session_id        BLOB    NOT NULL,
    event_at          INTEGER NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    first_attempt_at  INTEGER,
    next_attempt_at   INTEGER NOT NULL,
    lease_owner       TEXT,
    lease_until       INTEGER,
    last_attempt_at   INTEGER,
    last_status       INTEGER,
    last_latency_ns   INTEGER,
    last_error        TEXT,
    created_at        INTEGER NOT NULL,
    -- At most one delivery per (endpoint, event); also the index of the newest-first listing.
    UNIQUE (endpoint_id, event_id)
);

-- The claim: pending deliveries by due time ...
CREATE INDEX webhook_deliveries_due_idx
    ON webhook_deliveries (next_attempt_at, event_id) WHERE state = 'pending';
-- ... and the order check: an earlier pending delivery of the same endpoint and session.
CREATE INDEX webhook_deliveries_order_idx
    ON webhook_deliveries (endpoint_id, session_id, event_id) WHERE state = 'pending';

-- The id of the last log event turned into deliveries: one row, advanced by compare-and-set.
CREATE TABLE webhook_cursor (
    id             INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    last_event_id  INTEGER NOT NULL DEFAULT 0
);

INSERT INTO webhook_cursor (id, last_event_id) VALUES (1, 0);
