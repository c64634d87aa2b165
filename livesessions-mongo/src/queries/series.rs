//! Series: the filter of a series' occurrences and the pipeline of its attendance summary.

use bson::{doc, Document};
use livesessions_core::{SeriesId, SeriesSummaryQuery};

use super::expressions::credited_seconds;
use crate::codec::uuid;
use crate::documents::PARTICIPANTS;

/// The occurrences of a series (served by the partial index `series`).
pub fn series_filter(id: SeriesId) -> Document {
    doc! { "seriesId": uuid(*id.as_uuid()) }
}

/// The occurrences of a series in start order, then by id.
pub fn series_sort() -> Document {
    doc! { "startTime": 1, "_id": 1 }
}

/// The ended occurrences of a series.
pub fn ended_in_series_filter(id: SeriesId) -> Document {
    doc! { "seriesId": uuid(*id.as_uuid()), "status": "ended" }
}

/// The students of a series, run on `live_sessions`: one document per student after
/// `query.after`, by user id, at most `query.limit + 1` (one more tells that a next page
/// exists): `{_id: userId, userName, email, attended, watchSeconds}`. `attended` counts the
/// ended occurrences whose credited seconds meet the threshold of their `liveSeconds` (the
/// session report's rule); name and email are those of the latest join.
pub fn series_students_pipeline(query: &SeriesSummaryQuery) -> Vec<Document> {
    let mut after = doc! {};
    if let Some(user) = &query.after {
        after.insert("p.userId", doc! { "$gt": user.as_str() });
    }
    let threshold = i64::from(query.threshold_percent);
    let attended = doc! {
        "$and": [
            { "$eq": ["$status", "ended"] },
            { "$gt": ["$liveSeconds", 0_i64] },
            { "$gte": [
                { "$multiply": ["$p.watchSeconds", 100_i64] },
                { "$multiply": ["$liveSeconds", threshold] },
            ] },
        ]
    };
    vec![
        doc! { "$match": series_filter(query.series_id) },
        doc! { "$project": { "_id": 1, "status": 1, "liveSeconds": 1 } },
        doc! {
            "$lookup": {
                "from": PARTICIPANTS,
                "localField": "_id",
                "foreignField": "sessionId",
                "pipeline": [{ "$set": { "watchSeconds": credited_seconds() } }],
                "as": "p",
            }
        },
        doc! { "$unwind": "$p" },
        doc! { "$match": after },
        doc! { "$sort": { "p.userId": 1, "p.lastJoinTime": -1, "p.sessionId": 1 } },
        doc! {
            "$group": {
                "_id": "$p.userId",
                "userName": { "$first": "$p.userName" },
                "email": { "$first": "$p.email" },
                "attended": { "$sum": { "$cond": [attended, 1_i64, 0_i64] } },
                "watchSeconds": { "$sum": "$p.watchSeconds" },
            }
        },
        doc! { "$sort": { "_id": 1 } },
        doc! { "$limit": i64::from(query.limit) + 1 },
    ]
}
