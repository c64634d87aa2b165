//! The count shards of sessions' participant counts (see
//! [`PARTICIPANT_COUNTS`](crate::documents::PARTICIPANT_COUNTS)): their documents, the `$inc`
//! of a first join, and the sums readers add to each session's `participants`.

use bson::{doc, Bson, Document};
use livesessions_core::SessionId;

use crate::codec::session_id;
use crate::documents::{COUNT_SHARDS, PARTICIPANT_COUNTS};

/// The `_id` of shard `shard` of session `id`.
fn shard_id(id: SessionId, shard: i32) -> Document {
    doc! { "sessionId": session_id(id), "shard": shard }
}

/// The [`COUNT_SHARDS`] shard documents of a new session, each counting 0.
pub fn count_shard_documents(id: SessionId) -> Vec<Document> {
    (0..COUNT_SHARDS)
        .map(|shard| doc! { "_id": shard_id(id, shard), "sessionId": session_id(id), "count": 0_i64 })
        .collect()
}

/// Shard `shard` of session `id`.
pub fn count_shard_filter(id: SessionId, shard: i32) -> Document {
    doc! { "_id": shard_id(id, shard) }
}

/// Adds `n` to a shard's count.
pub fn add_to_shard(n: i64) -> Document {
    doc! { "$inc": { "count": n } }
}

/// The shards of session `id`.
pub fn count_shards_of(id: SessionId) -> Document {
    doc! { "sessionId": session_id(id) }
}

/// The shards of session `id` that count something (what a capped session moves onto its
/// document before taking a seat).
pub fn nonzero_count_shards_of(id: SessionId) -> Document {
    doc! { "sessionId": session_id(id), "count": { "$ne": 0_i64 } }
}

/// Adds `n` to a session document's `participants`.
pub fn add_to_participants(n: i64) -> Document {
    doc! { "$inc": { "participants": n } }
}

/// The sum of the shards of each of `sessions` that has shards: `{ _id: sessionId, n: long }`,
/// run on [`PARTICIPANT_COUNTS`] through its {sessionId} index.
pub fn count_sums_pipeline(sessions: Vec<Bson>) -> Vec<Document> {
    vec![
        doc! { "$match": { "sessionId": { "$in": sessions } } },
        doc! { "$group": { "_id": "$sessionId", "n": { "$sum": "$count" } } },
    ]
}

/// A `$lookup` stage (on `live_sessions`) that puts `[{ n: <the sum of the session's shards> }]`
/// (or `[]`) into the field `name`.
pub fn lookup_count_shards(name: &str) -> Document {
    doc! {
        "$lookup": {
            "from": PARTICIPANT_COUNTS,
            "localField": "_id",
            "foreignField": "sessionId",
            "pipeline": [{ "$group": { "_id": Bson::Null, "n": { "$sum": "$count" } } }],
            "as": name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_session_gets_every_shard_at_zero() {
        let id = SessionId::new();
        let shards = count_shard_documents(id);
        assert_eq!(shards.len(), COUNT_SHARDS as usize);
        assert_eq!(
            shards[3],
            doc! {
                "_id": { "sessionId": session_id(id), "shard": 3 },
                "sessionId": session_id(id),
                "count": 0_i64,
            }
        );
        assert_eq!(
            count_shard_filter(id, 3),
            doc! { "_id": shards[3].get_document("_id").unwrap().clone() }
        );
    }
}
