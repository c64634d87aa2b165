-- Webhook endpoints, their deliveries and the enqueue cursor (livesessions_core::webhooks).
-- `event_types` is NULL for every type, or the event kinds' names separated by commas
-- (`live,ended`). Secrets are stored in the form the core writes them (`whsec_…`).

CREATE TABLE webhook_endpoints (
    id                    uuid        NOT NULL,
    url                   text        NOT NULL,
    event_types           text,
    description           text,
    enabled               boolean     NOT NULL,
    disabled_reason       text,
    secret                text        NOT NULL,
    previous_secret       text,
    previous_valid_until  timestamptz,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_endpoints_disabled_reason_check
        CHECK (disabled_reason IN ('manual', 'gone')),
    CONSTRAINT webhook_endpoints_previous_check
        CHECK ((previous_secret IS NULL) = (previous_valid_until IS NULL))
);

-- One row per (endpoint, event). `lease_owner` stays set after the lease ends, so that only
-- the worker it was last given to can record an attempt; a released lease clears both.
CREATE TABLE webhook_deliveries (
    id                uuid        NOT NULL,
    endpoint_id       uuid        NOT NULL,
    event_id          bigint      NOT NULL,
    event_kind        text        NOT NULL,
    session_id        uuid        NOT NULL,
    event_at          timestamptz NOT NULL,
    state             text        NOT NULL,
    attempts          integer     NOT NULL DEFAULT 0,
    first_attempt_at  timestamptz,
    next_attempt_at   timestamptz NOT NULL,
    lease_owner       text,
    lease_until       timestamptz,
    last_attempt_at   timestamptz,
    last_status       integer,
    last_latency_ns   bigint,
    last_error        text,
    created_at        timestamptz NOT NULL,
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_deliveries_endpoint_fkey FOREIGN KEY (endpoint_id)
        REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    -- At most one delivery per (endpoint, event); also the index of the newest-first listing.
    CONSTRAINT webhook_deliveries_endpoint_event_key UNIQUE (endpoint_id, event_id),
    CONSTRAINT webhook_deliveries_state_check
        CHECK (state IN ('pending', 'delivered', 'failed')),
    CONSTRAINT webhook_deliveries_attempts_check CHECK (attempts >= 0)
);

-- The claim: pending deliveries by due time ...
CREATE INDEX webhook_deliveries_due_idx
    ON webhook_deliveries (next_attempt_at, event_id) WHERE state = 'pending';
-- ... and the order check: an earlier pending delivery of the same endpoint and session.
CREATE INDEX webhook_deliveries_order_idx
    ON webhook_deliveries (endpoint_id, session_id, event_id) WHERE state = 'pending';

-- The id of the last log event turned into deliveries: one row, advanced by compare-and-set.
CREATE TABLE webhook_cursor (
    id             smallint NOT NULL DEFAULT 1,
    last_event_id  bigint   NOT NULL DEFAULT 0,
    CONSTRAINT webhook_cursor_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_cursor_one_row_check CHECK (id = 1)
);

INSERT INTO webhook_cursor (id, last_event_id) VALUES (1, 0);
