//! The collections and the shape of their documents: what the store writes and reads, for
//! ad-hoc queries, migrations and other programs sharing the database.
//!
//! `live_sessions` keeps the original application's field names (`title`, `description`, `instructor`,
//! `videoUrl`, `thumbnail`, `startTime`, `isLive`, `participants`, `createdAt`) and adds ours in
//! the same camelCase style:
//!
//! ```text
//! { _id: UUID (binary subtype 4), title, description, instructor, videoUrl,
//!   thumbnail: "https://…" | null, thumbnailKey: "<key>.png" | null,
//!   startTime: Date, timezone: "Asia/Karachi" | null,
//!   endTime: Date | null, autoStart: bool, autoEnd: bool, isLive: bool, status: "live",
//!   endWhenEmptyMinutes: int (1–1440) | null,
//!   capacity: long (1–1000000) | null,
//!   restricted: bool, registration: "open" | "closed",
//!   attendanceThreshold: int (1–100) | null, lateAfterMinutes: int (0–1440) | null,
//!   startedAt: Date | null, endedAt: Date | null, liveSince: Date | null, liveSeconds: long,
//!   participants: long, createdAt: Date, updatedAt: Date, version: long,
//!   listRank: int, listTimeKey: long, searchGrams: [string],
//!   micros: { startTime, endTime, startedAt, endedAt, liveSince, createdAt, updatedAt } }
//! ```
//!
//! `searchGrams` holds the distinct lower-cased ASCII trigrams of the title, the instructor and
//! the description (each on its own), under the multikey index `search_grams`: what a list
//! search reads first (see `MongoStore::ensure_indexes`, which fills it in for documents
//! written without it). `participants` is the part of the participant count kept on the
//! document; the rest is in the session's count shards ([`PARTICIPANT_COUNTS`]).
//!
//! A document without `endTime`, `autoStart` or `autoEnd` (written before the schedule
//! existed) has no end time and starts and ends by hand; one without `endWhenEmptyMinutes`
//! does not end for having nobody watching; one without `capacity` admits everyone; one
//! without the attendance rules is unrestricted, closed to registration, with the default
//! threshold (75 %) and nobody late.
//!
//! Uploaded thumbnails, when the store keeps them ([`MongoThumbnails`](crate::MongoThumbnails)),
//! are files of the GridFS bucket [`THUMBNAILS`], one per image:
//!
//! ```text
//! live_session_thumbnails.files:  { _id: ObjectId, filename: "<key>.png" (unique), length,
//!                                   chunkSize, uploadDate: Date,
//!                                   metadata: { contentType: "image/png" } }
//! live_session_thumbnails.chunks: { _id: ObjectId, files_id, n, data: Binary }
//! ```
//!
//! `session_participants` likewise (`sessionId`, `userId`, `userName`, `email`, `joinTime`,
//! `watchDuration`, `createdAt` from the original application):
//!
//! ```text
//! { _id: ObjectId, sessionId: UUID, userId, userName, email, joinTime: Date,
//!   lastJoinTime: Date, lastSeen: Date, leftAt: Date | null, presentSince: Date | null,
//!   firstPresentAt: Date | null,
//!   watchSeconds: long, watchDuration: long (whole minutes), joinCount: long, createdAt: Date,
//!   micros: { joinTime, lastJoinTime, lastSeen, leftAt, presentSince, firstPresentAt,
//!             createdAt } }
//! ```
//!
//! `firstPresentAt` is when the participant's first presence interval opened; a document
//! written before it has none (read as never present while live).
//!
//! `live_session_roster_members` holds each session's roster, one document per (session,
//! user), unique on {sessionId, userId}, indexed on {userId} for the calendar:
//!
//! ```text
//! { _id: ObjectId, sessionId: UUID, userId, userName, email, registered: bool,
//!   addedAt: Date, micros: { addedAt } }
//! ```
//!
//! `live_session_events` is the event log ([`EventLog`](livesessions_core::EventLog)): one
//! document per change, `_id` its event id (ids increase in the order events become readable,
//! with no gaps except where the log was pruned), `kind` the event's name
//! ([`EventKind::as_str`](livesessions_core::EventKind::as_str)), `at` when it was appended:
//!
//! ```text
//! { _id: long, kind: "created", sessionId: UUID, at: Date }
//! ```
//!
//! `live_session_staged_events` holds the `participants` events of first joins until they get
//! their id: a join inserts `{ _id: ObjectId, kind: "participants", sessionId: UUID, at: Date }`
//! there (in its transaction) instead of taking the log's next id, so joins of different
//! sessions never write the same document. Every reader of the log, and every other change,
//! first moves what is staged into `live_session_events`, the last one of each session only.
//!
//! `live_session_log_state` holds one document, `{ _id: "events", prunedThrough: long }`: the
//! greatest id pruning has deleted (absent until the first prune).
//!
//! Webhooks ([`WebhookStore`](livesessions_core::webhooks::WebhookStore), implemented by
//! [`MongoStore`](crate::MongoStore)) use three more collections. `live_session_webhook_endpoints`
//! holds an endpoint with its secrets (`eventTypes: null` means every type; only
//! `endpoint_secrets` and claims read the secrets back):
//!
//! ```text
//! { _id: UUID, url, eventTypes: ["session.live", …] | null, description: string | null,
//!   enabled: bool, disabledReason: "manual" | "gone" | null, createdAt: Date, updatedAt: Date,
//!   secret: "whsec_…", previousSecret: "whsec_…" | null, previousSecretValidUntil: Date | null,
//!   micros: { createdAt, updatedAt, previousSecretValidUntil } }
//! ```
//!
//! `live_session_webhook_deliveries` holds one event for one endpoint (unique on
//! {endpointId, eventId}), with the lease of the worker sending it:
//!
//! ```text
//! { _id: UUID, endpointId: UUID, eventId: long, eventKind: "live", sessionId: UUID,
//!   eventAt: Date, state: "pending" | "delivered" | "failed", attempts: long,
//!   firstAttemptAt: Date | null, nextAttemptAt: Date, createdAt: Date,
//!   lastAttempt: { at: Date, status: int | null, latencyMicros: long, error: string | null,
//!                  micros: { at } } | null,
//!   leaseOwner: string | null, leaseUntil: Date | null,
//!   micros: { eventAt, firstAttemptAt, nextAttemptAt, createdAt, leaseUntil } }
//! ```
//!
//! `live_session_webhook_state` holds the enqueue cursor, the id of the last log event turned
//! into deliveries: `{ _id: "cursor", eventId: long }` (no document means 0).
//!
//! # Precision
//!
//! BSON dates hold milliseconds, the domain's times microseconds. Every time is therefore
//! written twice: as a BSON date under its own name (what the original application and ad-hoc
//! queries read) and as microseconds since the epoch in the `micros` sub-document
//! (`micros: { startTime: long, … }`), which the store's pipelines compute with and which makes
//! every time read back exactly. A `micros` value is only used while it agrees with its date
//! (same millisecond): if another program changes a date without it, the date wins.
//!
//! # Reading documents the original application wrote
//!
//! Reading is tolerant of representation and strict about identity:
//! - dates may be BSON dates or RFC 3339 strings; numbers may be int32, int64 or double;
//! - fields the original application did not have get defaults derived from its fields (`status` from
//!   `isLive`, `watchSeconds` from `watchDuration` × 60, `lastJoinTime` and `lastSeen` from
//!   `joinTime`, `joinCount` 1, `version` 1, `updatedAt` from `createdAt`);
//! - but a session `_id` or a participant `sessionId` that is not a UUID (the original
//!   application used ObjectIds and strings) cannot name a session of ours: reading such a
//!   document fails with `Error::Storage` naming the collection and the field. Those documents
//!   need migrating to UUID ids before this store can serve them.

/// The collection of sessions.
pub const SESSIONS: &str = "live_sessions";
/// The collection of participants.
pub const PARTICIPANTS: &str = "session_participants";
/// The GridFS bucket of uploaded thumbnails (collections `live_session_thumbnails.files` and
/// `live_session_thumbnails.chunks`).
pub const THUMBNAILS: &str = "live_session_thumbnails";
/// The collection of roster members.
pub const ROSTER_MEMBERS: &str = "live_session_roster_members";
/// The collection of the count shards of sessions' participant counts: [`COUNT_SHARDS`] documents
/// per session, written when it is inserted,
/// `{ _id: { sessionId: UUID, shard: int }, sessionId: UUID, count: long }`. A session's
/// participant count is its document's `participants` plus its shards' `count`s: a first join
/// of a session without a capacity adds one to a shard chosen at random, so that a class's
/// stampede of first joins does not queue on the session document; one with a capacity takes
/// its seat on the session document (a filtered `$inc`), first moving what its shards hold
/// there. A session inserted before the shards existed has none, and its joins count on its
/// document.
pub const PARTICIPANT_COUNTS: &str = "session_participant_counts";
/// How many count shards a session has ([`PARTICIPANT_COUNTS`]).
pub const COUNT_SHARDS: i32 = 16;
/// The collection of logged events.
pub const EVENTS: &str = "live_session_events";
/// The collection of events waiting for their id: the `participants` events of first joins.
pub const STAGED_EVENTS: &str = "live_session_staged_events";
/// The collection holding the event log's pruned floor.
pub const LOG_STATE: &str = "live_session_log_state";
/// The collection of webhook endpoints and their secrets.
pub const WEBHOOK_ENDPOINTS: &str = "live_session_webhook_endpoints";
/// The collection of webhook deliveries.
pub const WEBHOOK_DELIVERIES: &str = "live_session_webhook_deliveries";
/// The collection of the webhooks' state: the enqueue cursor.
pub const WEBHOOK_STATE: &str = "live_session_webhook_state";
/// The collection of calendar feed tokens, one document per user:
/// `{ _id: userId, tokenHash: "<SHA-256 of the token, lower-case hex>" (unique), createdAt: Date }`.
/// Only the hash of a feed URL's token is kept.
pub const CALENDAR_FEEDS: &str = "live_session_calendar_feeds";
