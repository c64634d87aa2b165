//! Sessions' participant counts in count shards (see
//! [`PARTICIPANT_COUNTS`](crate::documents::PARTICIPANT_COUNTS)): a first join of a session
//! without a capacity adds one to a random shard instead of the session document, and every
//! reader of a session adds its shards' sum to the document's `participants`.

use std::collections::HashMap;

use bson::{Bson, Document};
use futures::TryStreamExt;
use livesessions_core::{LiveSession, SessionId};
use mongodb::action::Action;
use mongodb::ClientSession;

use super::transaction::Failure;
use super::MongoStore;
use crate::codec::{session_from_document, session_id, Reader};
use crate::documents::{COUNT_SHARDS, PARTICIPANT_COUNTS};
use crate::queries;

/// A shard chosen at random, so that simultaneous first joins of one session seldom write the
/// same document.
fn random_shard() -> i32 {
    (uuid::Uuid::new_v4().as_u128() % COUNT_SHARDS as u128) as i32
}

impl MongoStore {
    /// Creates the count shards of a new session, each at 0.
    pub(super) async fn insert_count_shards(
        &self,
        id: SessionId,
        s: Option<&mut ClientSession>,
    ) -> Result<(), Failure> {
        self.participant_counts
            .insert_many(queries::count_shard_documents(id))
            .optional(s, |a, s| a.session(s))
            .await?;
        Ok(())
    }

    /// Counts a first join of session `id` in one of its shards; false when it has none (a
    /// session inserted before the shards existed, or deleted), and then nothing was written.
    pub(super) async fn count_in_shard(
        &self,
        id: SessionId,
        s: Option<&mut ClientSession>,
    ) -> Result<bool, Failure> {
        let counted = self
            .participant_counts
            .update_one(
                queries::count_shard_filter(id, random_shard()),
                queries::add_to_shard(1),
            )
            .optional(s, |a, s| a.session(s))
            .await?;
        Ok(counted.matched_count > 0)
    }

    /// The sum of the shards of each of `ids` that has shards.
    async fn shard_sums(
        &self,
        ids: Vec<Bson>,
        s: Option<&mut ClientSession>,
    ) -> Result<HashMap<SessionId, i64>, Failure> {
        let aggregate = self
            .participant_counts
            .aggregate(queries::count_sums_pipeline(ids));
        let documents: Vec<Document> = match s {
            Some(s) => {
                let mut cursor = aggregate.session(&mut *s).await?;
                cursor.stream(s).try_collect().await?
            }
            None => aggregate.await?.try_collect().await?,
        };
        let mut sums = HashMap::with_capacity(documents.len());
        for document in &documents {
            let r = Reader::new(document, PARTICIPANT_COUNTS);
            let id = SessionId::from_uuid(r.uuid("_id")?);
            // A capped session's shards may sum below zero for a moment (see
            // `fold_count_shards`); the total never does.
            sums.insert(id, r.int("n")?);
        }
        Ok(sums)
    }

    /// Reads session documents as sessions whose `participants` include their shards, with
    /// their reserved seats counted ([`MongoStore::reserved_seats`]).
    pub(super) async fn counted_sessions(
        &self,
        documents: &[Document],
        mut s: Option<&mut ClientSession>,
    ) -> Result<Vec<LiveSession>, Failure> {
        let mut sessions = documents
            .iter()
            .map(session_from_document)
            .collect::<Result<Vec<_>, _>>()?;
        if sessions.is_empty() {
            return Ok(sessions);
        }
        let ids = sessions
            .iter()
            .map(|session| session_id(session.id))
            .collect();
        let sums = self.shard_sums(ids, s.as_deref_mut()).await?;
        for session in &mut sessions {
            if let Some(n) = sums.get(&session.id) {
                session.participants = session.participants.saturating_add_signed(*n);
            }
        }
        self.reserved_seats(&mut sessions, s).await?;
        Ok(sessions)
    }

    /// Reads one session document as a session whose `participants` include its shards.
    pub(super) async fn counted_session(
        &self,
        document: &Document,
        s: Option<&mut ClientSession>,
    ) -> Result<LiveSession, Failure> {
        let mut sessions = self
            .counted_sessions(std::slice::from_ref(document), s)
            .await?;
        Ok(sessions.remove(0))
    }

    /// Moves what the shards of session `id` count onto its document's `participants`, shard
    /// by shard (`+c` on the document, then `-c` on the shard), so that a session given a
    /// capacity after joins were counted in its shards checks its seats against them all.
    /// The total stays the same throughout in a transaction; without one, a reader between
    /// the two writes sees it `c` too high (never too low: a seat is never given twice), and
    /// a crash there leaves it so until `reconcile_participant_counts`.
    pub(super) async fn fold_count_shards(
        &self,
        id: SessionId,
        mut s: Option<&mut ClientSession>,
    ) -> Result<(), Failure> {
        let find = self
            .participant_counts
            .find(queries::nonzero_count_shards_of(id));
        let shards: Vec<Document> = match s.as_deref_mut() {
            Some(s) => {
                let mut cursor = find.session(&mut *s).await?;
                cursor.stream(s).try_collect().await?
            }
            None => find.await?.try_collect().await?,
        };
        for shard in shards {
            let n = Reader::new(&shard, PARTICIPANT_COUNTS).int("count")?;
            let Some(Bson::Document(shard_id)) = shard.get("_id") else {
                continue;
            };
            self.sessions
                .update_one(queries::session_filter(id), queries::add_to_participants(n))
                .optional(s.as_deref_mut(), |a, s| a.session(s))
                .await?;
            self.participant_counts
                .update_one(
                    bson::doc! { "_id": shard_id.clone() },
                    queries::add_to_shard(-n),
                )
                .optional(s.as_deref_mut(), |a, s| a.session(s))
                .await?;
        }
        Ok(())
    }
}
