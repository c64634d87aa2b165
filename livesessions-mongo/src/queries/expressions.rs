//! The aggregation expressions every pipeline is built from: exact times, the credited
//! seconds, `credit(c)`, and the stage that sets the BSON dates from the exact times.

use std::time::Duration;

use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use livesessions_core::attendance::timeout_delta;

use crate::codec::micros;

/// T in microseconds.
pub(super) fn timeout_us(timeout: Duration) -> i64 {
    timeout_delta(timeout)
        .num_microseconds()
        .unwrap_or(i64::MAX)
}

/// The exact time of `field` in microseconds: `micros.<field>`, or for documents without it
/// the BSON date × 1000; null when the field is missing or null (or not a date).
pub(super) fn exact(field: &str) -> Bson {
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
pub(super) fn is_present() -> Bson {
    Bson::Document(doc! { "$ne": [exact("presentSince"), Bson::Null] })
}

/// The credited seconds, reading the original application's `watchDuration` (minutes) when `watchSeconds` is
/// missing.
pub(super) fn credited_seconds() -> Bson {
    Bson::Document(doc! {
        "$toLong": { "$ifNull": [
            "$watchSeconds",
            { "$multiply": [{ "$ifNull": ["$watchDuration", 0_i64] }, 60_i64] },
        ] }
    })
}

/// `lastSeen + T`, in microseconds.
pub(super) fn presence_cap(timeout: Duration) -> Bson {
    Bson::Document(doc! { "$add": [exact("lastSeen"), timeout_us(timeout)] })
}

/// The seconds `credit(c)` adds (`c` in microseconds): 0 when no interval is open, else
/// `max(0, whole seconds from presentSince to min(c, lastSeen + T))`, truncated like chrono's
/// `num_seconds`.
pub(super) fn credit_seconds(c: Bson, timeout: Duration) -> Bson {
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
/// time is missing is left alone) and keeps the original application's `watchDuration` (whole minutes) in step
/// with `watchSeconds`.
pub(super) fn finish_stage(fields: &[&str]) -> Document {
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

/// Watch seconds as of `c`: credited plus what `credit(c)` adds, the open interval up to
/// `min(c, lastSeen + T)`.
pub(super) fn watch_seconds_at(c: DateTime<Utc>, timeout: Duration) -> Bson {
    Bson::Document(doc! { "$add": [credited_seconds(), credit_seconds(micros(c), timeout)] })
}

/// `field` of the first document of the array `array` (the result of a `$lookup`), or 0 when
/// the array is empty.
///
/// Written with `$let` on the first element rather than as `"$array.field"`: MongoDB resolves
/// a path through an array of documents to the array of their values, but not every
/// MongoDB-compatible engine does (SecantusDB 0.7 resolves it to nothing).
pub(super) fn first_of(array: &str, field: &str) -> Bson {
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
