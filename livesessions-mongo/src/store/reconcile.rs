//! Repairing the sessions' participant counts, which a crash between the two writes of a join
//! without transactions leaves one short (or, moving a count shard onto its session, one high).

use bson::Bson;
use livesessions_core::{Result, SessionId};

use super::{all_documents, MongoStore};
use crate::codec::Reader;
use crate::documents::SESSIONS;
use crate::error::map_error;
use crate::queries;

impl MongoStore {
    /// Recomputes every session's participant count from its participant records, with one
    /// aggregation that finds the sessions whose count (`participants` plus the count shards)
    /// is off, and sets `participants` so that the count is right again. Returns how many it
    /// corrected.
    ///
    /// Without transactions a crash between a join's two writes leaves a counter one short;
    /// this repairs it. Run it while no joins are in flight (at startup, say): a join between
    /// its read and its write can make a corrected counter one too high, and a counter that
    /// changed in between is left for the next run.
    pub async fn reconcile_participant_counts(&self) -> Result<u64> {
        let mismatched =
            all_documents(self.sessions.aggregate(queries::reconcile_pipeline())).await?;
        let mut corrected = 0;
        for document in mismatched {
            let reader = Reader::new(&document, SESSIONS);
            let id = SessionId::from_uuid(reader.uuid("_id")?);
            let actual = reader.int("actual")?;
            let shards = reader.int("shards")?;
            let seen = document.get("participants").cloned().unwrap_or(Bson::Null);
            // The document's counter never goes below zero: what the shards hold too much
            // comes off one of them.
            let excess = (shards - actual).max(0);
            let (filter, update) = queries::reconcile_update(id, seen, actual - shards + excess);
            let result = self
                .sessions
                .update_one(filter, update)
                .await
                .map_err(map_error)?;
            let mut changed = result.modified_count > 0;
            if result.matched_count > 0 && excess > 0 {
                self.participant_counts
                    .update_one(
                        queries::count_shard_filter(id, 0),
                        queries::add_to_shard(-excess),
                    )
                    .await
                    .map_err(map_error)?;
                changed = true;
            }
            corrected += u64::from(changed);
        }
        Ok(corrected)
    }
}
