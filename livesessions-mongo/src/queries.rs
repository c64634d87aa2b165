//! Every filter, update, sort, pipeline and index the store sends, built by pure functions.
//!
//! The store's methods only send what these functions build, so the documents can be checked
//! without a server. Pipelines compute with the exact times of the `micros` sub-document
//! (microseconds since the epoch, see [`documents`](crate::documents)) and then set the BSON
//! dates from them; T is in microseconds too. The watch-time rules are
//! aggregation expressions that mirror [`Participant`](livesessions_core::Participant)'s
//! methods:
//!
//! - `credit(c)`: `watchSeconds += max(0, trunc((min(c, lastSeen + T) − presentSince) / 1 s))`,
//!   `presentSince = null`;
//! - the presence rule at t (`touch`): a t older than `lastSeen` or `leftAt` changes nothing;
//!   while live and from the current live period's start on, not present → `presentSince = t`;
//!   present and `t − lastSeen > T` → credit at `lastSeen + T` and `presentSince = t`;
//!   `lastSeen = t`;
//! - `leave(t)`: `credit(t)`, `leftAt = max(leftAt, t)`;
//! - `watchDuration = floor(watchSeconds / 60)` after every change of `watchSeconds`.
//!
//! Every participant change is one pipeline update of one document, hence atomic.

use std::time::Duration;

use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use livesessions_core::attendance::timeout_delta;
use livesessions_core::{
    AttendanceQuery, AttendanceSort, Joiner, ListQuery, OverviewQuery, ParticipationQuery,
    PopularBy, ReportQuery, SessionId, SortOrder, StatusFilter, UserId,
};
use mongodb::options::IndexOptions;
use mongodb::IndexModel;

use crate::documents::{date, micros, session_id, PARTICIPANTS};

/// T in microseconds.
fn timeout_us(timeout: Duration) -> i64 {
    timeout_delta(timeout)
        .num_microseconds()
        .unwrap_or(i64::MAX)
}

/// The exact time of `field` in microseconds: `micros.<field>`, or for documents without it
/// the BSON date × 1000; null when the field is missing or null (or not a date).
pub fn exact(field: &str) -> Bson {
    Bson::Document(doc! {
        "$ifNull": [
            format!("$micros.{field}"),
            { "$multiply": [
                { "$convert": { "input": format!("${field}"), "to": "long", "onError": Bson::Null, "onNull": Bson::Null } },
                1000_i64,
            ] },
        ]
    })
}

/// Whether an interval is open (`presentSince` holds a time).
fn is_present() -> Bson {
    Bson::Document(doc! { "$ne": [exact("presentSince"), Bson::Null] })
}

/// The credited seconds, reading the seed's `watchDuration` (minutes) when `watchSeconds` is
/// missing.
fn credited_seconds() -> Bson {
    Bson::Document(doc! {
        "$toLong": { "$ifNull": [
            "$watchSeconds",
            { "$multiply": [{ "$ifNull": ["$watchDuration", 0_i64] }, 60_i64] },
        ] }
    })
}

/// `lastSeen + T`, in microseconds.
fn presence_cap(timeout: Duration) -> Bson {
    Bson::Document(doc! { "$add": [exact("lastSeen"), timeout_us(timeout)] })
}

/// The seconds `credit(c)` adds (`c` in microseconds): 0 when no interval is open, else
/// `max(0, whole seconds from presentSince to min(c, lastSeen + T))`, truncated like chrono's
/// `num_seconds`.
fn credit_seconds(c: Bson, timeout: Duration) -> Bson {
    Bson::Document(doc! {
        "$cond": [
            is_present(),
            { "$max": [
                0_i64,
                { "$toLong": { "$trunc": { "$divide": [
                    { "$subtract": [{ "$min": [c, presence_cap(timeout)] }, exact("presentSince")] },
                    1_000_000_i64,
                ] } } },
            ] },
            0_i64,
        ]
    })
}

/// The stage that sets the BSON dates of `fields` from their exact times (a date whose exact
/// time is missing is left alone) and keeps the seed's `watchDuration` (whole minutes) in step
/// with `watchSeconds`.
pub fn finish_stage(fields: &[&str]) -> Document {
    let mut set = Document::new();
    for field in fields {
        let exact_path = format!("$micros.{field}");
        set.insert(
            *field,
            doc! {
                "$cond": [
                    { "$eq": [{ "$type": &exact_path }, "missing"] },
                    format!("${field}"),
                    { "$toDate": { "$toLong": { "$floor": { "$divide": [&exact_path, 1000_i64] } } } },
                ]
            },
        );
    }
    set.insert(
        "watchDuration",
        doc! { "$toLong": { "$floor": { "$divide": ["$watchSeconds", 60_i64] } } },
    );
    doc! { "$set": set }
}

// ----------------------------------------------------------------------------------------
// Sessions
// ----------------------------------------------------------------------------------------

/// `{_id: <uuid>}`.
pub fn session_filter(id: SessionId) -> Document {
    doc! { "_id": session_id(id) }
}

/// The session at the version an update expects to replace.
pub fn session_version_filter(id: SessionId, expected_version: u64) -> Document {
    doc! { "_id": session_id(id), "version": crate::documents::long(expected_version) }
}

/// Replaces every field of a session except `_id` and the store's `participants` counter.
pub fn replace_session_update(session: &livesessions_core::LiveSession) -> Document {
    doc! { "$set": crate::documents::session_fields(session) }
}

/// What the store reads of a session when it only needs its version.
pub fn version_projection() -> Document {
    doc! { "version": 1 }
}

/// Counts a new participant.
pub fn increment_participants() -> Document {
    doc! { "$inc": { "participants": 1_i64 } }
}

/// The list order, served by the `list_order` index.
pub fn list_sort() -> Document {
    doc! { "listRank": 1, "listTimeKey": 1, "_id": 1 }
}

/// Escapes text for use as a literal inside a regular expression.
pub fn escape_regex(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if "\\^$.|?*+()[]{}-/#".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The filter of a list request: status, search and the position after the cursor.
///
/// The status is matched through `listRank` (one rank per status) so that the filter is an
/// equality on the list index's first field.
pub fn list_filter(query: &ListQuery) -> Document {
    let mut clauses: Vec<Document> = Vec::new();
    if let StatusFilter::Only(status) = query.status {
        clauses.push(doc! { "listRank": i32::from(status.rank()) });
    }
    if let Some(needle) = query.search.as_deref() {
        let pattern = escape_regex(needle);
        let alternatives: Vec<Document> = ["title", "instructor", "description"]
            .iter()
            .map(|field| doc! { *field: { "$regex": &pattern, "$options": "i" } })
            .collect();
        clauses.push(doc! { "$or": alternatives });
    }
    if let Some(cursor) = query.after {
        let key = cursor.0;
        let rank = i32::from(key.rank);
        clauses.push(doc! {
            "$or": [
                { "listRank": { "$gt": rank } },
                { "listRank": rank, "listTimeKey": { "$gt": key.time_key } },
                { "listRank": rank, "listTimeKey": key.time_key, "_id": { "$gt": session_id(key.id) } },
            ]
        });
    }
    match clauses.len() {
        0 => Document::new(),
        1 => clauses.remove(0),
        _ => doc! { "$and": clauses },
    }
}

/// Sessions whose start time is in `[from, to)`: a range on the `startTime` index, to the
/// millisecond, then the exact bounds on the exact time.
fn start_time_range(from: DateTime<Utc>, to: DateTime<Utc>) -> Document {
    doc! {
        "startTime": { "$gte": date(from), "$lte": date(to) },
        "$expr": { "$and": [
            { "$gte": [exact("startTime"), micros(from)] },
            { "$lt": [exact("startTime"), micros(to)] },
        ] },
    }
}

// ----------------------------------------------------------------------------------------
// Participants
// ----------------------------------------------------------------------------------------

/// `{sessionId, userId}`: one participant, served by the unique index.
pub fn participant_filter(session: SessionId, user: &UserId) -> Document {
    doc! { "sessionId": session_id(session), "userId": user.as_str() }
}

/// Every participant of a session.
pub fn participants_of(session: SessionId) -> Document {
    doc! { "sessionId": session_id(session) }
}

/// Participants of a session with an open presence interval.
pub fn present_participants(session: SessionId) -> Document {
    doc! { "sessionId": session_id(session), "presentSince": { "$ne": Bson::Null } }
}

/// One participant whose interval was opened at `since` (to close exactly that interval).
pub fn participant_present_since(
    session: SessionId,
    user: &UserId,
    since: DateTime<Utc>,
) -> Document {
    doc! {
        "sessionId": session_id(session),
        "userId": user.as_str(),
        "micros.presentSince": micros(since),
    }
}

/// Participants watching at `now`: present and seen within T.
pub fn watching_filter(session: SessionId, now: DateTime<Utc>, timeout: Duration) -> Document {
    doc! {
        "sessionId": session_id(session),
        "presentSince": { "$ne": Bson::Null },
        "micros.lastSeen": { "$gte": micros(now - timeout_delta(timeout)) },
    }
}

/// The fields whose dates a touch may change.
const TOUCHED: [&str; 2] = ["lastSeen", "presentSince"];

/// Whether the presence rule can open an interval at `t`: the session is live (`period` is
/// the start of its current live period) and `t` is not before that start.
fn opens_at(t: DateTime<Utc>, period: Option<DateTime<Utc>>) -> bool {
    period.is_some_and(|since| t >= since)
}

/// The presence rule at `t` as one `$set` stage on the exact times. `period` is the start of
/// the session's current live period, `None` when it is not live; a `t` before it (an event
/// sent before a concurrent start or restart) only moves `lastSeen`, as while not live. A `t`
/// older than `lastSeen` or than the last leave changes nothing: a heartbeat delivered after a
/// leave it preceded does not reopen the interval.
pub fn touch_stage(t: DateTime<Utc>, period: Option<DateTime<Utc>>, timeout: Duration) -> Document {
    let opens = opens_at(t, period);
    let t = micros(t);
    let stale = doc! { "$or": [
        { "$lt": [t.clone(), exact("lastSeen")] },
        { "$lt": [t.clone(), { "$ifNull": [exact("leftAt"), i64::MIN] }] },
    ] };
    let last_seen = doc! { "$cond": [stale.clone(), exact("lastSeen"), t.clone()] };
    if !opens {
        return doc! { "$set": { "micros.lastSeen": last_seen } };
    }
    let gap =
        doc! { "$gt": [{ "$subtract": [t.clone(), exact("lastSeen")] }, timeout_us(timeout)] };
    let credit_now = doc! { "$and": [{ "$not": [stale.clone()] }, is_present(), gap.clone()] };
    doc! {
        "$set": {
            "watchSeconds": {
                "$cond": [
                    credit_now,
                    { "$add": [credited_seconds(), credit_seconds(presence_cap(timeout), timeout)] },
                    credited_seconds(),
                ]
            },
            "micros.presentSince": {
                "$cond": [
                    stale,
                    exact("presentSince"),
                    { "$cond": [is_present(), { "$cond": [gap, t.clone(), exact("presentSince")] }, t] },
                ]
            },
            "micros.lastSeen": last_seen,
        }
    }
}

/// A heartbeat: the presence rule at `t` ([`touch_stage`]).
pub fn heartbeat_pipeline(
    t: DateTime<Utc>,
    period: Option<DateTime<Utc>>,
    timeout: Duration,
) -> Vec<Document> {
    let mut pipeline = vec![touch_stage(t, period, timeout)];
    if opens_at(t, period) {
        pipeline.push(finish_stage(&TOUCHED));
    } else {
        pipeline.push(finish_stage(&["lastSeen"]));
    }
    pipeline
}

/// A join at `t`, as an upsert on [`participant_filter`].
///
/// The first stage creates the record on a first join (`joinTime`, `createdAt`, `lastSeen` =
/// t, `joinCount` 1) or bumps `joinCount` and `lastJoinTime` on a rejoin, refreshing name and
/// email; the second applies the presence rule at t; the last sets the dates. A returned
/// `joinCount` of 1 means the upsert inserted: the count only ever grows, by one per join, so
/// exactly one of several concurrent first joins sees 1. A record the original application
/// wrote (with `joinTime` but no `joinCount`) counts as one earlier join.
pub fn join_pipeline(
    session: SessionId,
    joiner: &Joiner,
    t: DateTime<Utc>,
    period: Option<DateTime<Utc>>,
    timeout: Duration,
) -> Vec<Document> {
    let at = date(t);
    let at_us = micros(t);
    let is_new = doc! { "$eq": [{ "$type": "$joinTime" }, "missing"] };
    vec![
        doc! {
            "$set": {
                "sessionId": session_id(session),
                "userId": joiner.user_id.as_str(),
                "userName": joiner.user_name.as_str(),
                "email": joiner.email.as_str(),
                "joinTime": { "$ifNull": ["$joinTime", at.clone()] },
                "createdAt": { "$ifNull": ["$createdAt", { "$ifNull": ["$joinTime", at] }] },
                "micros.joinTime": { "$cond": [is_new.clone(), at_us.clone(), "$micros.joinTime"] },
                "micros.createdAt": { "$cond": [is_new.clone(), at_us.clone(), "$micros.createdAt"] },
                "micros.lastJoinTime": { "$max": [
                    { "$ifNull": [exact("lastJoinTime"), exact("joinTime")] },
                    at_us.clone(),
                ] },
                "micros.lastSeen": { "$ifNull": [exact("lastSeen"), at_us] },
                "micros.leftAt": exact("leftAt"),
                "micros.presentSince": exact("presentSince"),
                "watchSeconds": credited_seconds(),
                "joinCount": {
                    "$add": [
                        { "$ifNull": ["$joinCount", { "$cond": [is_new, 0_i64, 1_i64] }] },
                        1_i64,
                    ]
                },
            }
        },
        touch_stage(t, period, timeout),
        finish_stage(&["lastJoinTime", "lastSeen", "leftAt", "presentSince"]),
    ]
}

/// `credit(c)`: closes the open interval, crediting it up to `min(c, lastSeen + T)`.
/// Ending a session sends it with `update_many` on [`present_participants`].
pub fn credit_pipeline(c: DateTime<Utc>, timeout: Duration) -> Vec<Document> {
    vec![
        doc! {
            "$set": {
                "watchSeconds": { "$add": [credited_seconds(), credit_seconds(micros(c), timeout)] },
                "micros.presentSince": Bson::Null,
            }
        },
        finish_stage(&["presentSince"]),
    ]
}

/// `leave(t)`: `credit(t)` and `leftAt = max(leftAt, t)` (a late leave does not move the last
/// leave back).
pub fn leave_pipeline(t: DateTime<Utc>, timeout: Duration) -> Vec<Document> {
    vec![
        doc! {
            "$set": {
                "watchSeconds": { "$add": [credited_seconds(), credit_seconds(micros(t), timeout)] },
                "micros.presentSince": Bson::Null,
                "micros.leftAt": { "$max": [exact("leftAt"), micros(t)] },
            }
        },
        finish_stage(&["presentSince", "leftAt"]),
    ]
}

// ----------------------------------------------------------------------------------------
// Analytics
// ----------------------------------------------------------------------------------------

/// Watch seconds as of `now`: credited plus the open interval up to `min(now, lastSeen + T)`.
pub fn watch_seconds_at(now: DateTime<Utc>, timeout: Duration) -> Bson {
    Bson::Document(doc! { "$add": [credited_seconds(), credit_seconds(micros(now), timeout)] })
}

/// Whether a participant is watching at `now`, as 1 or 0.
fn watching_flag(now: DateTime<Utc>, timeout: Duration) -> Bson {
    Bson::Document(doc! {
        "$cond": [
            { "$and": [is_present(), { "$gte": [exact("lastSeen"), micros(now - timeout_delta(timeout))] }] },
            1_i64,
            0_i64,
        ]
    })
}

/// The session report (`session_report`) over the session's participants: one result document
/// `{participants, watching, totalWatchSeconds, maxWatchSeconds, attended}`, or none without
/// participants.
pub fn report_pipeline(query: &ReportQuery) -> Vec<Document> {
    // attended: live_seconds > 0 AND seconds * 100 >= live_seconds * threshold.
    let attended = if query.live_seconds > 0 {
        Bson::Document(doc! {
            "$cond": [
                { "$gte": [
                    { "$multiply": ["$seconds", 100_i64] },
                    query.live_seconds.saturating_mul(i64::from(query.threshold_percent)),
                ] },
                1_i64,
                0_i64,
            ]
        })
    } else {
        Bson::Int64(0)
    };
    vec![
        doc! { "$match": participants_of(query.session_id) },
        doc! {
            "$project": {
                "_id": 0,
                "seconds": watch_seconds_at(query.now, query.timeout),
                "watching": watching_flag(query.now, query.timeout),
            }
        },
        doc! {
            "$group": {
                "_id": Bson::Null,
                "participants": { "$sum": 1_i64 },
                "watching": { "$sum": "$watching" },
                "totalWatchSeconds": { "$sum": "$seconds" },
                "maxWatchSeconds": { "$max": "$seconds" },
                "attended": { "$sum": attended },
            }
        },
    ]
}

/// A page of a session's attendance: participant documents with `watchSecondsNow` added,
/// sorted by the requested key then `userId`, skipped and limited.
pub fn attendance_pipeline(query: &AttendanceQuery) -> Vec<Document> {
    let direction = match query.order {
        SortOrder::Asc => 1,
        SortOrder::Desc => -1,
    };
    let mut sort = Document::new();
    match query.sort {
        AttendanceSort::JoinTime => sort.insert("joinKey", direction),
        AttendanceSort::WatchTime => sort.insert("watchSecondsNow", direction),
        AttendanceSort::Name => sort.insert("nameKey", direction),
    };
    sort.insert("userId", 1);
    let mut set = doc! { "watchSecondsNow": watch_seconds_at(query.now, query.timeout) };
    match query.sort {
        AttendanceSort::JoinTime => set.insert("joinKey", exact("joinTime")),
        AttendanceSort::Name => set.insert("nameKey", doc! { "$toLower": "$userName" }),
        AttendanceSort::WatchTime => None,
    };
    let mut pipeline = vec![
        doc! { "$match": participants_of(query.session_id) },
        doc! { "$set": set },
        doc! { "$sort": sort },
    ];
    if query.offset > 0 {
        pipeline.push(doc! { "$skip": i64::try_from(query.offset).unwrap_or(i64::MAX) });
    }
    pipeline.push(doc! { "$limit": i64::from(query.limit.max(1)) });
    pipeline
}

/// `field` of the first document of the array `array` (the result of a `$lookup`), or 0 when
/// the array is empty.
///
/// Written with `$let` on the first element rather than as `"$array.field"`: MongoDB resolves
/// a path through an array of documents to the array of their values, but not every
/// MongoDB-compatible engine does (SecantusDB 0.7 resolves it to nothing).
pub fn first_of(array: &str, field: &str) -> Bson {
    Bson::Document(doc! {
        "$ifNull": [
            { "$let": {
                "vars": { "first": { "$arrayElemAt": [format!("${array}"), 0] } },
                "in": format!("$$first.{field}"),
            } },
            0_i64,
        ]
    })
}

/// The overview over sessions starting in the range, run on `live_sessions`: one document
/// `{totals: [{sessions, participants, watchSeconds}], popular: [{_id, title, status,
/// isLive, startTime, participants, watchSeconds}]}`. `participants` of a popular session is
/// its stored counter; totals count participant records.
pub fn overview_pipeline(query: &OverviewQuery) -> Vec<Document> {
    let mut facets = doc! {
        "totals": [
            { "$group": {
                "_id": Bson::Null,
                "sessions": { "$sum": 1_i64 },
                "participants": { "$sum": "$records" },
                "watchSeconds": { "$sum": "$watchSeconds" },
            } },
        ],
    };
    if query.top > 0 {
        let measure = match query.by {
            PopularBy::Participants => "participants",
            PopularBy::WatchTime => "watchSeconds",
        };
        facets.insert(
            "popular",
            vec![
                doc! { "$sort": { measure: -1, "_id": 1 } },
                doc! { "$limit": i64::from(query.top) },
                doc! { "$project": {
                    "title": 1, "status": 1, "isLive": 1, "startTime": 1, "micros.startTime": 1,
                    "participants": 1, "watchSeconds": 1,
                } },
            ],
        );
    }
    vec![
        doc! { "$match": start_time_range(query.from, query.to) },
        doc! {
            "$lookup": {
                "from": PARTICIPANTS,
                "localField": "_id",
                "foreignField": "sessionId",
                "pipeline": [
                    { "$group": {
                        "_id": Bson::Null,
                        "records": { "$sum": 1_i64 },
                        "watchSeconds": { "$sum": credited_seconds() },
                    } },
                ],
                "as": "stats",
            }
        },
        doc! {
            "$set": {
                "participants": { "$ifNull": ["$participants", 0_i64] },
                "records": first_of("stats", "records"),
                "watchSeconds": first_of("stats", "watchSeconds"),
            }
        },
        doc! { "$facet": facets },
    ]
}

/// One user's participation, run on `session_participants`: one document
/// `{totals: [{sessions, watchSeconds}], rows: [participant fields + session: {title, status,
/// isLive, startTime}]}`, newest first join first. Records whose session no longer exists
/// are left out.
pub fn participation_pipeline(query: &ParticipationQuery) -> Vec<Document> {
    vec![
        doc! { "$match": { "userId": query.user_id.as_str() } },
        doc! {
            "$lookup": {
                "from": crate::documents::SESSIONS,
                "localField": "sessionId",
                "foreignField": "_id",
                "pipeline": [{ "$project": {
                    "title": 1, "status": 1, "isLive": 1, "startTime": 1, "micros.startTime": 1,
                } }],
                "as": "session",
            }
        },
        doc! { "$unwind": "$session" },
        doc! { "$set": { "watchSeconds": credited_seconds(), "joinKey": exact("joinTime") } },
        doc! {
            "$facet": {
                "totals": [
                    { "$group": {
                        "_id": Bson::Null,
                        "sessions": { "$sum": 1_i64 },
                        "watchSeconds": { "$sum": "$watchSeconds" },
                    } },
                ],
                "rows": [
                    { "$sort": { "joinKey": -1, "sessionId": 1 } },
                    { "$limit": i64::from(query.limit.max(1)) },
                ],
            }
        },
    ]
}

/// Sessions whose `participants` counter differs from their number of participant records,
/// run on `live_sessions`: `{_id, participants, actual}` per such session. Records are counted
/// with `$group` (a `$count` stage inside `$lookup` is refused by SecantusDB 0.7).
pub fn reconcile_pipeline() -> Vec<Document> {
    vec![
        doc! {
            "$lookup": {
                "from": PARTICIPANTS,
                "localField": "_id",
                "foreignField": "sessionId",
                "pipeline": [{ "$group": { "_id": Bson::Null, "n": { "$sum": 1_i64 } } }],
                "as": "counted",
            }
        },
        doc! {
            "$project": {
                "participants": 1,
                "actual": first_of("counted", "n"),
            }
        },
        doc! { "$match": { "$expr": { "$ne": ["$participants", "$actual"] } } },
    ]
}

/// Sets a session's counter to `actual` if it still holds `seen`.
pub fn reconcile_update(id: SessionId, seen: Bson, actual: i64) -> (Document, Document) {
    (
        doc! { "_id": session_id(id), "participants": seen },
        doc! { "$set": { "participants": actual } },
    )
}

// ----------------------------------------------------------------------------------------
// Indexes and deployment
// ----------------------------------------------------------------------------------------

fn index(keys: Document, name: &str, unique: bool) -> IndexModel {
    let options = IndexOptions::builder()
        .name(name.to_owned())
        .unique(unique.then_some(true))
        .build();
    IndexModel::builder().keys(keys).options(options).build()
}

/// The indexes of `live_sessions`: the list order (`listRank`, `listTimeKey`, `_id`), which
/// also serves the status filter and cursor pagination; and `startTime` for the overview.
pub fn session_indexes() -> Vec<IndexModel> {
    vec![
        index(list_sort(), "list_order", false),
        index(doc! { "startTime": 1 }, "start_time", false),
    ]
}

/// The indexes of `session_participants`: unique {sessionId, userId} (one record per user and
/// session; also serves everything by session) and {userId} (a user's participation).
pub fn participant_indexes() -> Vec<IndexModel> {
    vec![
        index(
            doc! { "sessionId": 1, "userId": 1 },
            "session_user_unique",
            true,
        ),
        index(doc! { "userId": 1 }, "user", false),
    ]
}

/// Whether a `hello` reply comes from a deployment with multi-document transactions: a
/// replica-set member (`setName`) or a sharded cluster's router (`msg: "isdbgrid"`), with
/// sessions (`logicalSessionTimeoutMinutes`). A standalone server has neither.
pub fn hello_supports_transactions(hello: &Document) -> bool {
    let replica_set = hello.get_str("setName").is_ok();
    let sharded = hello.get_str("msg") == Ok("isdbgrid");
    let sessions = !matches!(
        hello.get("logicalSessionTimeoutMinutes"),
        None | Some(Bson::Null)
    );
    (replica_set || sharded) && sessions
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
    use livesessions_core::values::{Email, UserName};
    use livesessions_core::SessionInput;
    use livesessions_core::{Cursor, ListKey, SessionStatus};

    const T: Duration = Duration::from_secs(90);

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
    }

    fn bdate(secs: i64) -> Bson {
        Bson::DateTime(bson::DateTime::from_millis((1_700_000_000 + secs) * 1000))
    }

    fn id() -> SessionId {
        SessionId::from_uuid(uuid::Uuid::from_u128(
            0x0190_0000_0000_7000_8000_0000_0000_0001,
        ))
    }

    /// Microseconds of `at(secs)`.
    fn us(secs: i64) -> Bson {
        Bson::Int64((1_700_000_000 + secs) * 1_000_000)
    }

    fn credited() -> Bson {
        Bson::Document(doc! {
            "$toLong": { "$ifNull": [
                "$watchSeconds",
                { "$multiply": [{ "$ifNull": ["$watchDuration", 0_i64] }, 60_i64] },
            ] }
        })
    }

    fn exact_of(field: &str) -> Bson {
        Bson::Document(doc! {
            "$ifNull": [
                format!("$micros.{field}"),
                { "$multiply": [
                    { "$convert": { "input": format!("${field}"), "to": "long", "onError": Bson::Null, "onNull": Bson::Null } },
                    1000_i64,
                ] },
            ]
        })
    }

    fn present() -> Bson {
        Bson::Document(doc! { "$ne": [exact_of("presentSince"), Bson::Null] })
    }

    fn cap() -> Bson {
        Bson::Document(doc! { "$add": [exact_of("lastSeen"), 90_000_000_i64] })
    }

    /// What `credit(c)` adds.
    fn credit_of(c: Bson) -> Bson {
        Bson::Document(doc! {
            "$cond": [
                present(),
                { "$max": [0_i64, { "$toLong": { "$trunc": { "$divide": [
                    { "$subtract": [{ "$min": [c, cap()] }, exact_of("presentSince")] },
                    1_000_000_i64,
                ] } } }] },
                0_i64,
            ]
        })
    }

    fn date_from_exact(field: &str) -> Bson {
        let path = format!("$micros.{field}");
        Bson::Document(doc! {
            "$cond": [
                { "$eq": [{ "$type": &path }, "missing"] },
                format!("${field}"),
                { "$toDate": { "$toLong": { "$floor": { "$divide": [&path, 1000_i64] } } } },
            ]
        })
    }

    fn minutes() -> Bson {
        Bson::Document(doc! { "$toLong": { "$floor": { "$divide": ["$watchSeconds", 60_i64] } } })
    }

    #[test]
    fn finish_stage_sets_dates_from_exact_times() {
        assert_eq!(
            finish_stage(&["lastSeen", "presentSince"]),
            doc! { "$set": {
                "lastSeen": date_from_exact("lastSeen"),
                "presentSince": date_from_exact("presentSince"),
                "watchDuration": minutes(),
            } }
        );
    }

    #[test]
    fn credit_and_leave_pipelines_are_exact() {
        assert_eq!(
            credit_pipeline(at(500), T),
            vec![
                doc! { "$set": {
                    "watchSeconds": { "$add": [credited(), credit_of(us(500))] },
                    "micros.presentSince": Bson::Null,
                } },
                doc! { "$set": {
                    "presentSince": date_from_exact("presentSince"),
                    "watchDuration": minutes(),
                } },
            ]
        );
        assert_eq!(
            leave_pipeline(at(500), T),
            vec![
                doc! { "$set": {
                    "watchSeconds": { "$add": [credited(), credit_of(us(500))] },
                    "micros.presentSince": Bson::Null,
                    "micros.leftAt": { "$max": [exact_of("leftAt"), us(500)] },
                } },
                doc! { "$set": {
                    "presentSince": date_from_exact("presentSince"),
                    "leftAt": date_from_exact("leftAt"),
                    "watchDuration": minutes(),
                } },
            ]
        );
    }

    #[test]
    fn touch_stage_is_exact() {
        let t = us(100);
        let stale = doc! { "$or": [
            { "$lt": [t.clone(), exact_of("lastSeen")] },
            { "$lt": [t.clone(), { "$ifNull": [exact_of("leftAt"), i64::MIN] }] },
        ] };
        let gap =
            doc! { "$gt": [{ "$subtract": [t.clone(), exact_of("lastSeen")] }, 90_000_000_i64] };
        let expected = doc! {
            "$set": {
                "watchSeconds": { "$cond": [
                    { "$and": [{ "$not": [stale.clone()] }, present(), gap.clone()] },
                    { "$add": [credited(), credit_of(cap())] },
                    credited(),
                ] },
                "micros.presentSince": { "$cond": [
                    stale.clone(),
                    exact_of("presentSince"),
                    { "$cond": [
                        present(),
                        { "$cond": [gap, t.clone(), exact_of("presentSince")] },
                        t.clone(),
                    ] },
                ] },
                "micros.lastSeen": { "$cond": [stale.clone(), exact_of("lastSeen"), t.clone()] },
            }
        };
        let live = Some(at(50));
        assert_eq!(touch_stage(at(100), live, T), expected);
        assert_eq!(touch_stage(at(100), Some(at(100)), T), expected);
        // While not live, or for a time before the current live period, only lastSeen moves.
        let not_live =
            doc! { "$set": { "micros.lastSeen": { "$cond": [stale, exact_of("lastSeen"), t] } } };
        assert_eq!(touch_stage(at(100), None, T), not_live);
        assert_eq!(touch_stage(at(100), Some(at(101)), T), not_live);
        assert_eq!(
            heartbeat_pipeline(at(100), live, T),
            vec![expected, finish_stage(&["lastSeen", "presentSince"])]
        );
        assert_eq!(
            heartbeat_pipeline(at(100), None, T),
            vec![not_live.clone(), finish_stage(&["lastSeen"])]
        );
        assert_eq!(
            heartbeat_pipeline(at(100), Some(at(101)), T),
            vec![not_live, finish_stage(&["lastSeen"])]
        );
    }

    #[test]
    fn join_pipeline_creates_or_bumps_then_touches() {
        let joiner = Joiner {
            user_id: UserId::parse("user456").unwrap(),
            user_name: UserName::parse("Ahmed Ali").unwrap(),
            email: Email::parse("ahmed@example.com").unwrap(),
        };
        let pipeline = join_pipeline(id(), &joiner, at(10), Some(at(0)), T);
        assert_eq!(pipeline.len(), 3);
        let t = bdate(10);
        let t_us = us(10);
        let is_new = doc! { "$eq": [{ "$type": "$joinTime" }, "missing"] };
        assert_eq!(
            pipeline[0],
            doc! {
                "$set": {
                    "sessionId": session_id(id()),
                    "userId": "user456",
                    "userName": "Ahmed Ali",
                    "email": "ahmed@example.com",
                    "joinTime": { "$ifNull": ["$joinTime", t.clone()] },
                    "createdAt": { "$ifNull": ["$createdAt", { "$ifNull": ["$joinTime", t.clone()] }] },
                    "micros.joinTime": { "$cond": [is_new.clone(), t_us.clone(), "$micros.joinTime"] },
                    "micros.createdAt": { "$cond": [is_new.clone(), t_us.clone(), "$micros.createdAt"] },
                    "micros.lastJoinTime": { "$max": [
                        { "$ifNull": [exact_of("lastJoinTime"), exact_of("joinTime")] },
                        t_us.clone(),
                    ] },
                    "micros.lastSeen": { "$ifNull": [exact_of("lastSeen"), t_us.clone()] },
                    "micros.leftAt": exact_of("leftAt"),
                    "micros.presentSince": exact_of("presentSince"),
                    "watchSeconds": credited(),
                    "joinCount": { "$add": [
                        { "$ifNull": ["$joinCount", { "$cond": [is_new, 0_i64, 1_i64] }] },
                        1_i64,
                    ] },
                }
            }
        );
        assert_eq!(pipeline[1], touch_stage(at(10), Some(at(0)), T));
        assert_eq!(
            pipeline[2],
            finish_stage(&["lastJoinTime", "lastSeen", "leftAt", "presentSince"])
        );
        // The join writes every field of a participant document and every exact time.
        let p = livesessions_core::Participant::first_join(id(), joiner.clone(), at(10));
        let mut written: Vec<String> = pipeline
            .iter()
            .flat_map(|stage| stage.get_document("$set").unwrap().keys().cloned())
            .map(|key| key.split('.').next().unwrap_or_default().to_owned())
            .collect();
        written.sort();
        written.dedup();
        let document = crate::documents::participant_document(&p);
        let mut fields: Vec<String> = document.keys().cloned().collect();
        fields.sort();
        assert_eq!(written, fields);
        let mut exact_written: Vec<String> = pipeline[0]
            .get_document("$set")
            .unwrap()
            .keys()
            .filter_map(|key| key.strip_prefix("micros.").map(str::to_owned))
            .collect();
        exact_written.sort();
        let mut exact_fields: Vec<String> = document
            .get_document("micros")
            .unwrap()
            .keys()
            .cloned()
            .collect();
        exact_fields.sort();
        assert_eq!(exact_written, exact_fields);
    }

    #[test]
    fn participant_filters() {
        let user = UserId::parse("u1").unwrap();
        assert_eq!(
            participant_filter(id(), &user),
            doc! { "sessionId": session_id(id()), "userId": "u1" }
        );
        assert_eq!(
            present_participants(id()),
            doc! { "sessionId": session_id(id()), "presentSince": { "$ne": Bson::Null } }
        );
        assert_eq!(
            watching_filter(id(), at(1000), T),
            doc! {
                "sessionId": session_id(id()),
                "presentSince": { "$ne": Bson::Null },
                "micros.lastSeen": { "$gte": us(910) },
            }
        );
        assert_eq!(
            participant_present_since(id(), &user, at(5)),
            doc! { "sessionId": session_id(id()), "userId": "u1", "micros.presentSince": us(5) }
        );
    }

    #[test]
    fn list_filters() {
        assert_eq!(list_filter(&ListQuery::default()), Document::new());
        let live = ListQuery {
            status: StatusFilter::Only(SessionStatus::Live),
            ..Default::default()
        };
        assert_eq!(list_filter(&live), doc! { "listRank": 0 });
        let search = ListQuery::parse(None, Some("c++ (intro)"), None, None).unwrap();
        let pattern = r"c\+\+ \(intro\)";
        assert_eq!(
            list_filter(&search),
            doc! { "$or": [
                { "title": { "$regex": pattern, "$options": "i" } },
                { "instructor": { "$regex": pattern, "$options": "i" } },
                { "description": { "$regex": pattern, "$options": "i" } },
            ] }
        );
        let key = ListKey {
            rank: 1,
            time_key: 1_700_000_000_000_000,
            id: id(),
        };
        let paged = ListQuery {
            status: StatusFilter::Only(SessionStatus::Scheduled),
            after: Some(Cursor(key)),
            ..Default::default()
        };
        assert_eq!(
            list_filter(&paged),
            doc! { "$and": [
                { "listRank": 1 },
                { "$or": [
                    { "listRank": { "$gt": 1 } },
                    { "listRank": 1, "listTimeKey": { "$gt": 1_700_000_000_000_000_i64 } },
                    { "listRank": 1, "listTimeKey": 1_700_000_000_000_000_i64, "_id": { "$gt": session_id(id()) } },
                ] },
            ] }
        );
        assert_eq!(
            list_sort(),
            doc! { "listRank": 1, "listTimeKey": 1, "_id": 1 }
        );
    }

    #[test]
    fn regex_escaping_makes_every_metacharacter_literal() {
        assert_eq!(escape_regex("a.b*c"), r"a\.b\*c");
        assert_eq!(escape_regex(r"^[x]{2}$|\d"), r"\^\[x\]\{2\}\$\|\\d");
        assert_eq!(escape_regex("Ünïcode ok"), "Ünïcode ok");
    }

    #[test]
    fn session_updates() {
        assert_eq!(
            session_version_filter(id(), 4),
            doc! { "_id": session_id(id()), "version": 4_i64 }
        );
        assert_eq!(
            increment_participants(),
            doc! { "$inc": { "participants": 1_i64 } }
        );
        let fields = livesessions_core::NewSession {
            fields: SessionInput {
                title: Some("T".into()),
                instructor: Some("I".into()),
                video_url: Some("https://youtu.be/abc".into()),
                start_time: Some("2025-01-15T10:00:00Z".into()),
                ..Default::default()
            },
            ..Default::default()
        }
        .validate()
        .unwrap();
        let s = livesessions_core::LiveSession::new(fields, at(0));
        let update = replace_session_update(&s);
        let set = update.get_document("$set").unwrap();
        assert!(!set.contains_key("_id"));
        assert!(!set.contains_key("participants"));
        assert_eq!(set, &crate::documents::session_fields(&s));
        assert_eq!(update.len(), 1);
    }

    #[test]
    fn report_pipeline_is_exact() {
        let query = ReportQuery {
            session_id: id(),
            now: at(1000),
            timeout: T,
            live_seconds: 600,
            threshold_percent: 75,
        };
        let seconds = Bson::Document(doc! { "$add": [credited(), credit_of(us(1000))] });
        assert_eq!(
            report_pipeline(&query),
            vec![
                doc! { "$match": { "sessionId": session_id(id()) } },
                doc! { "$project": {
                    "_id": 0,
                    "seconds": seconds,
                    "watching": { "$cond": [
                        { "$and": [present(), { "$gte": [exact_of("lastSeen"), us(910)] }] }, 1_i64, 0_i64,
                    ] },
                } },
                doc! { "$group": {
                    "_id": Bson::Null,
                    "participants": { "$sum": 1_i64 },
                    "watching": { "$sum": "$watching" },
                    "totalWatchSeconds": { "$sum": "$seconds" },
                    "maxWatchSeconds": { "$max": "$seconds" },
                    "attended": { "$sum": { "$cond": [
                        { "$gte": [{ "$multiply": ["$seconds", 100_i64] }, 45_000_i64] }, 1_i64, 0_i64,
                    ] } },
                } },
            ]
        );
        // A session that has not been live: nobody attended.
        let never_live = report_pipeline(&ReportQuery {
            live_seconds: 0,
            ..query
        });
        assert_eq!(
            never_live[2]
                .get_document("$group")
                .unwrap()
                .get_document("attended")
                .unwrap(),
            &doc! { "$sum": 0_i64 }
        );
    }

    #[test]
    fn attendance_pipeline_sorts_skips_and_limits() {
        let base = AttendanceQuery {
            session_id: id(),
            sort: AttendanceSort::JoinTime,
            order: SortOrder::Asc,
            offset: 0,
            limit: 10,
            now: at(1000),
            timeout: T,
        };
        let p = attendance_pipeline(&base);
        assert_eq!(p.len(), 4);
        assert_eq!(p[0], doc! { "$match": { "sessionId": session_id(id()) } });
        assert_eq!(
            p[1],
            doc! { "$set": {
                "watchSecondsNow": { "$add": [credited(), credit_of(us(1000))] },
                "joinKey": exact_of("joinTime"),
            } }
        );
        assert_eq!(p[2], doc! { "$sort": { "joinKey": 1, "userId": 1 } });
        assert_eq!(p[3], doc! { "$limit": 10_i64 });

        let p = attendance_pipeline(&AttendanceQuery {
            sort: AttendanceSort::Name,
            order: SortOrder::Desc,
            offset: 20,
            ..base
        });
        assert_eq!(
            p[1],
            doc! { "$set": {
                "watchSecondsNow": watch_seconds_at(at(1000), T),
                "nameKey": { "$toLower": "$userName" },
            } }
        );
        assert_eq!(p[2], doc! { "$sort": { "nameKey": -1, "userId": 1 } });
        assert_eq!(p[3], doc! { "$skip": 20_i64 });
        assert_eq!(p[4], doc! { "$limit": 10_i64 });

        let p = attendance_pipeline(&AttendanceQuery {
            sort: AttendanceSort::WatchTime,
            order: SortOrder::Desc,
            ..base
        });
        assert_eq!(
            p[2],
            doc! { "$sort": { "watchSecondsNow": -1, "userId": 1 } }
        );
    }

    #[test]
    fn overview_pipeline_is_exact() {
        let query = OverviewQuery {
            from: at(0),
            to: at(86_400),
            top: 5,
            by: PopularBy::WatchTime,
        };
        let p = overview_pipeline(&query);
        assert_eq!(
            p[0],
            doc! { "$match": {
                "startTime": { "$gte": bdate(0), "$lte": bdate(86_400) },
                "$expr": { "$and": [
                    { "$gte": [exact_of("startTime"), us(0)] },
                    { "$lt": [exact_of("startTime"), us(86_400)] },
                ] },
            } }
        );
        assert_eq!(
            p[1],
            doc! { "$lookup": {
                "from": "session_participants",
                "localField": "_id",
                "foreignField": "sessionId",
                "pipeline": [{ "$group": {
                    "_id": Bson::Null,
                    "records": { "$sum": 1_i64 },
                    "watchSeconds": { "$sum": credited() },
                } }],
                "as": "stats",
            } }
        );
        assert_eq!(
            p[2],
            doc! { "$set": {
                "participants": { "$ifNull": ["$participants", 0_i64] },
                "records": first_of("stats", "records"),
                "watchSeconds": first_of("stats", "watchSeconds"),
            } }
        );
        assert_eq!(
            p[3],
            doc! { "$facet": {
                "totals": [{ "$group": {
                    "_id": Bson::Null,
                    "sessions": { "$sum": 1_i64 },
                    "participants": { "$sum": "$records" },
                    "watchSeconds": { "$sum": "$watchSeconds" },
                } }],
                "popular": [
                    { "$sort": { "watchSeconds": -1, "_id": 1 } },
                    { "$limit": 5_i64 },
                    { "$project": {
                        "title": 1, "status": 1, "isLive": 1, "startTime": 1, "micros.startTime": 1,
                        "participants": 1, "watchSeconds": 1,
                    } },
                ],
            } }
        );
        // By participants; no popular facet when none is asked for ($limit 0 is invalid).
        let by_count = overview_pipeline(&OverviewQuery {
            by: PopularBy::Participants,
            ..query
        });
        let facet = by_count[3].get_document("$facet").unwrap();
        assert_eq!(
            facet.get_array("popular").unwrap()[0],
            Bson::Document(doc! { "$sort": { "participants": -1, "_id": 1 } })
        );
        let none = overview_pipeline(&OverviewQuery { top: 0, ..query });
        assert!(!none[3]
            .get_document("$facet")
            .unwrap()
            .contains_key("popular"));
    }

    #[test]
    fn participation_pipeline_is_exact() {
        let query = ParticipationQuery {
            user_id: UserId::parse("user456").unwrap(),
            limit: 20,
        };
        assert_eq!(
            participation_pipeline(&query),
            vec![
                doc! { "$match": { "userId": "user456" } },
                doc! { "$lookup": {
                    "from": "live_sessions",
                    "localField": "sessionId",
                    "foreignField": "_id",
                    "pipeline": [{ "$project": {
                        "title": 1, "status": 1, "isLive": 1, "startTime": 1, "micros.startTime": 1,
                    } }],
                    "as": "session",
                } },
                doc! { "$unwind": "$session" },
                doc! { "$set": { "watchSeconds": credited(), "joinKey": exact_of("joinTime") } },
                doc! { "$facet": {
                    "totals": [{ "$group": {
                        "_id": Bson::Null,
                        "sessions": { "$sum": 1_i64 },
                        "watchSeconds": { "$sum": "$watchSeconds" },
                    } }],
                    "rows": [
                        { "$sort": { "joinKey": -1, "sessionId": 1 } },
                        { "$limit": 20_i64 },
                    ],
                } },
            ]
        );
    }

    #[test]
    fn lookup_results_are_read_through_their_first_element() {
        assert_eq!(
            first_of("stats", "records"),
            Bson::Document(doc! { "$ifNull": [
                { "$let": {
                    "vars": { "first": { "$arrayElemAt": ["$stats", 0] } },
                    "in": "$$first.records",
                } },
                0_i64,
            ] })
        );
    }

    #[test]
    fn reconcile_pipeline_is_exact() {
        assert_eq!(
            reconcile_pipeline(),
            vec![
                doc! { "$lookup": {
                    "from": "session_participants",
                    "localField": "_id",
                    "foreignField": "sessionId",
                    "pipeline": [{ "$group": { "_id": Bson::Null, "n": { "$sum": 1_i64 } } }],
                    "as": "counted",
                } },
                doc! { "$project": {
                    "participants": 1,
                    "actual": first_of("counted", "n"),
                } },
                doc! { "$match": { "$expr": { "$ne": ["$participants", "$actual"] } } },
            ]
        );
        assert_eq!(
            reconcile_update(id(), Bson::Int64(3), 4),
            (
                doc! { "_id": session_id(id()), "participants": 3_i64 },
                doc! { "$set": { "participants": 4_i64 } },
            )
        );
    }

    #[test]
    fn index_specifications() {
        let sessions = session_indexes();
        assert_eq!(sessions.len(), 2);
        assert_eq!(
            sessions[0].keys,
            doc! { "listRank": 1, "listTimeKey": 1, "_id": 1 }
        );
        let options = sessions[0].options.as_ref().unwrap();
        assert_eq!(options.name.as_deref(), Some("list_order"));
        assert_eq!(options.unique, None);
        assert_eq!(sessions[1].keys, doc! { "startTime": 1 });

        let participants = participant_indexes();
        assert_eq!(participants.len(), 2);
        assert_eq!(participants[0].keys, doc! { "sessionId": 1, "userId": 1 });
        let options = participants[0].options.as_ref().unwrap();
        assert_eq!(options.unique, Some(true));
        assert_eq!(options.name.as_deref(), Some("session_user_unique"));
        assert_eq!(participants[1].keys, doc! { "userId": 1 });
        assert_eq!(participants[1].options.as_ref().unwrap().unique, None);
    }

    #[test]
    fn transactions_are_detected_from_hello() {
        let standalone = doc! { "isWritablePrimary": true, "logicalSessionTimeoutMinutes": 30 };
        assert!(!hello_supports_transactions(&standalone));
        let replica = doc! { "isWritablePrimary": true, "setName": "rs0", "logicalSessionTimeoutMinutes": 30 };
        assert!(hello_supports_transactions(&replica));
        let mongos = doc! { "isWritablePrimary": true, "msg": "isdbgrid", "logicalSessionTimeoutMinutes": 30 };
        assert!(hello_supports_transactions(&mongos));
        let no_sessions = doc! { "setName": "rs0", "logicalSessionTimeoutMinutes": Bson::Null };
        assert!(!hello_supports_transactions(&no_sessions));
    }
}
