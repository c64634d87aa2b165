//! Filters, updates and the list order of `live_sessions`.

use bson::{doc, Bson, Document};
use livesessions_core::{ListQuery, LiveSession, SessionId, StatusFilter};

use super::search::{gram_filter, grams_filter};
use crate::codec::{long, session_fields, session_id};

/// `{_id: <uuid>}`.
pub fn session_filter(id: SessionId) -> Document {
    doc! { "_id": session_id(id) }
}

/// The session at the version an update expects to replace.
pub fn session_version_filter(id: SessionId, expected_version: u64) -> Document {
    doc! { "_id": session_id(id), "version": long(expected_version) }
}

/// Replaces every field of a session except `_id` and the store's `participants` counter.
pub fn replace_session_update(session: &LiveSession) -> Document {
    doc! { "$set": session_fields(session) }
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
/// equality on the list index's first field. The search is a case-insensitive regular
/// expression on the three fields, which no index bounds: see [`indexed_list_filter`].
pub fn list_filter(query: &ListQuery) -> Document {
    list_filter_with(query, None)
}

/// The first `limit` sessions of [`list_filter`] in the list order, read from the trigram
/// index (run on `live_sessions`): a first `$match` on the one trigram `first` of the term, a
/// single equality that every server's planner serves from the index (SecantusDB's plans only
/// those; MongoDB merges the two stages and plans them together), then the list filter with
/// all the term's trigrams ([`grams_filter`]), the list order and the limit.
pub fn indexed_list_pipeline(
    query: &ListQuery,
    first: &str,
    grams: &[String],
    limit: i64,
) -> Vec<Document> {
    vec![
        doc! { "$match": gram_filter(first) },
        doc! { "$match": list_filter_with(query, Some(grams_filter(grams))) },
        doc! { "$sort": list_sort() },
        doc! { "$limit": limit },
    ]
}

fn list_filter_with(query: &ListQuery, grams: Option<Document>) -> Document {
    let mut clauses: Vec<Document> = Vec::new();
    clauses.extend(grams);
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

/// The sessions that may be due to start at `now`: scheduled with `autoStart`, `startTime` up
/// to `now` and no `endTime` or one not before `now`. Dates keep milliseconds, so the bounds
/// are taken at `now`'s millisecond and the caller checks the exact times
/// ([`LiveSession::due_to_start`](livesessions_core::LiveSession::due_to_start)).
pub fn due_to_start_filter(now: chrono::DateTime<chrono::Utc>) -> Document {
    let now = bson::DateTime::from_millis(now.timestamp_millis());
    doc! {
        "status": "scheduled",
        "autoStart": true,
        "startTime": { "$lte": now },
        "$or": [{ "endTime": null }, { "endTime": { "$gte": now } }],
    }
}

/// The sessions that may be due to end at `now`: live with `autoEnd` and `endTime` up to
/// `now` (at `now`'s millisecond; the caller checks the exact times).
pub fn due_to_end_filter(now: chrono::DateTime<chrono::Utc>) -> Document {
    let now = bson::DateTime::from_millis(now.timestamp_millis());
    doc! { "status": "live", "autoEnd": true, "endTime": { "$lte": now } }
}

/// The live sessions having `endWhenEmptyMinutes`: those that may have to end for having
/// nobody watching (the caller checks their participants' `lastSeen`).
pub fn empty_candidates_filter() -> Document {
    doc! { "status": "live", "endWhenEmptyMinutes": { "$gte": 1 } }
}

/// The latest `lastSeen` of the participants of each of `sessions`, one document per session
/// that has participants: `{ _id: sessionId, lastSeen: Date, micros: long }` (`micros` the
/// exact latest, where the documents carry it). Read through the `{sessionId, userId}` index.
pub fn latest_seen_pipeline(sessions: Vec<Bson>) -> Vec<Document> {
    vec![
        doc! { "$match": { "sessionId": { "$in": sessions } } },
        doc! { "$group": {
            "_id": "$sessionId",
            "lastSeen": { "$max": "$lastSeen" },
            "micros": { "$max": "$micros.lastSeen" },
        } },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_escaping_makes_every_metacharacter_literal() {
        assert_eq!(escape_regex("a.b*c"), r"a\.b\*c");
        assert_eq!(escape_regex(r"^[x]{2}$|\d"), r"\^\[x\]\{2\}\$\|\\d");
        assert_eq!(escape_regex("Ünïcode ok"), "Ünïcode ok");
    }
}
