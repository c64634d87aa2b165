//! The aggregation pipelines of the analytics (session report, attendance, overview,
//! participation) and of the counter repair.

use std::time::Duration;

use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use livesessions_core::attendance::timeout_delta;
use livesessions_core::{
    AttendanceQuery, AttendanceSort, OverviewQuery, ParticipationQuery, PopularBy, ReportQuery,
    SessionId, SortOrder,
};

use super::counts::lookup_count_shards;
use super::expressions::{credited_seconds, exact, first_of, is_present, watch_seconds_at};
use super::participants::participants_of;
use crate::codec::{date, micros, session_id};
use crate::documents::{PARTICIPANTS, SESSIONS};

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

/// What the overview and the participation read of a session (the fields of a
/// [`PopularSession`](livesessions_core::analytics::PopularSession) or a
/// [`ParticipationRow`](livesessions_core::analytics::ParticipationRow)), plus `more`.
fn summary_projection<const N: usize>(more: [&str; N]) -> Document {
    let mut projection =
        doc! { "title": 1, "status": 1, "isLive": 1, "startTime": 1, "micros.startTime": 1 };
    for field in more {
        projection.insert(field, 1);
    }
    projection
}

/// A `$lookup` from `live_sessions` that groups each session's participant records into one
/// document with the `accumulators`, as the array `name` (empty without records: read it
/// with [`first_of`]).
fn lookup_participants(name: &str, accumulators: Document) -> Document {
    let mut group = doc! { "_id": Bson::Null };
    group.extend(accumulators);
    doc! {
        "$lookup": {
            "from": PARTICIPANTS,
            "localField": "_id",
            "foreignField": "sessionId",
            "pipeline": [{ "$group": group }],
            "as": name,
        }
    }
}

/// The overview over sessions starting in the range, run on `live_sessions`: one document
/// `{totals: [{sessions, participants, watchSeconds}], popular: [{_id, title, status,
/// isLive, startTime, participants, watchSeconds}]}`. `participants` of a popular session is
/// its stored count (its counter plus its count shards); totals count participant records.
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
                doc! { "$project": summary_projection(["participants", "watchSeconds"]) },
            ],
        );
    }
    vec![
        doc! { "$match": start_time_range(query.from, query.to) },
        lookup_participants(
            "stats",
            doc! {
                "records": { "$sum": 1_i64 },
                "watchSeconds": { "$sum": credited_seconds() },
            },
        ),
        lookup_count_shards("shards"),
        doc! {
            "$set": {
                "participants": {
                    "$add": [{ "$ifNull": ["$participants", 0_i64] }, first_of("shards", "n")],
                },
                "records": first_of("stats", "records"),
                "watchSeconds": first_of("stats", "watchSeconds"),
            }
        },
        doc! { "$facet": facets },
    ]
}

/// What a participation row reads of its session beyond the summary, for its status rule.
const STATUS_RULE_FIELDS: [&str; 7] = [
    "liveSeconds",
    "liveSince",
    "micros.liveSince",
    "startedAt",
    "micros.startedAt",
    "attendanceThreshold",
    "lateAfterMinutes",
];

/// One user's participation, run on `session_participants`: one document
/// `{totals: [{sessions, watchSeconds}], rows: [participant fields + session: {title, status,
/// isLive, startTime} and the fields of its status rule]}`, newest first join first. Records
/// whose session no longer exists are left out.
pub fn participation_pipeline(query: &ParticipationQuery) -> Vec<Document> {
    vec![
        doc! { "$match": { "userId": query.user_id.as_str() } },
        doc! {
            "$lookup": {
                "from": SESSIONS,
                "localField": "sessionId",
                "foreignField": "_id",
                "pipeline": [{ "$project": summary_projection(STATUS_RULE_FIELDS) }],
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
        lookup_participants("counted", doc! { "n": { "$sum": 1_i64 } }),
        lookup_count_shards("shards"),
        doc! {
            "$project": {
                "participants": 1,
                "actual": first_of("counted", "n"),
                "shards": first_of("shards", "n"),
            }
        },
        doc! { "$match": { "$expr": { "$ne": [
            { "$add": [{ "$ifNull": ["$participants", 0_i64] }, "$shards"] },
            "$actual",
        ] } } },
    ]
}

/// Sets a session's counter to `participants` if it still holds `seen`.
pub fn reconcile_update(id: SessionId, seen: Bson, participants: i64) -> (Document, Document) {
    (
        doc! { "_id": session_id(id), "participants": seen },
        doc! { "$set": { "participants": participants } },
    )
}
