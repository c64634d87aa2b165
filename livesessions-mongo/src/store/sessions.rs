//! [`SessionStore`] on `live_sessions`: updates guarded by the version, deletes that take the
//! participants and the roster along, each change with its event (in one transaction where
//! the deployment has them).

use async_trait::async_trait;
use bson::doc;
use livesessions_core::EmptySession;
use livesessions_core::{
    Conflict, Error, EventKind, ListQuery, LiveSession, Page, Result, SeriesId, SessionId,
    SessionStore,
};
use mongodb::action::Action;
use mongodb::options::ReturnDocument;
use mongodb::ClientSession;
use std::collections::HashMap;

use super::transaction::{detached, in_transaction, Failure};
use super::{all_documents, MongoStore};
use crate::codec::{session_document, session_id, Reader};
use crate::documents::{PARTICIPANTS, SESSIONS};
use crate::error::{classify, to_domain, ErrorClass};
use crate::queries;

impl MongoStore {
    /// The error for an update whose version filter matched nothing.
    async fn version_failure(
        &self,
        session: &LiveSession,
        s: Option<&mut ClientSession>,
    ) -> Failure {
        let found = self
            .sessions
            .find_one(queries::session_filter(session.id))
            .projection(queries::version_projection())
            .optional(s, |a, s| a.session(s))
            .await;
        match found {
            Err(error) => Failure::Driver(error),
            Ok(None) => Error::session_not_found(session.id).into(),
            Ok(Some(document)) => match Reader::new(&document, SESSIONS).opt_count("version") {
                Err(error) => error.into(),
                Ok(actual) => Conflict::VersionMismatch {
                    expected: session.version.saturating_sub(1),
                    actual: Some(actual.unwrap_or(1)),
                }
                .into(),
            },
        }
    }

    /// Replaces the stored session if it is at `session.version - 1`.
    pub(super) async fn replace_session(
        &self,
        session: &LiveSession,
        mut s: Option<&mut ClientSession>,
    ) -> std::result::Result<LiveSession, Failure> {
        let updated = self
            .sessions
            .find_one_and_update(
                queries::session_version_filter(session.id, session.version.saturating_sub(1)),
                queries::replace_session_update(session),
            )
            .return_document(ReturnDocument::After)
            .optional(s.as_deref_mut(), |a, s| a.session(s))
            .await?;
        match updated {
            Some(document) => Ok(self.counted_session(&document, s).await?),
            None => Err(self.version_failure(session, s).await),
        }
    }

    /// Inserts the session (with no participants counted) and its count shards, and appends
    /// `created`, and `live` for a session created live.
    async fn insert_steps(
        &self,
        session: &LiveSession,
        mut s: Option<&mut ClientSession>,
    ) -> std::result::Result<(), Failure> {
        let mut document = session_document(session);
        document.insert("participants", 0_i64);
        self.sessions
            .insert_one(document)
            .optional(s.as_deref_mut(), |a, s| a.session(s))
            .await
            .map_err(|e| match classify(&e) {
                // The session exists: an answer, not contention to retry.
                ErrorClass::DuplicateKey => {
                    Failure::Domain(to_domain(e, "session", session.id.to_string()))
                }
                _ => Failure::Driver(e),
            })?;
        self.insert_count_shards(session.id, s.as_deref_mut())
            .await?;
        self.append_event(EventKind::Created, session.id, s.as_deref_mut())
            .await?;
        if session.is_live() {
            self.append_event(EventKind::Live, session.id, s).await?;
        }
        Ok(())
    }

    /// Replaces the session (as [`MongoStore::replace_session`]) and appends `event`.
    async fn update_steps(
        &self,
        session: &LiveSession,
        event: EventKind,
        mut s: Option<&mut ClientSession>,
    ) -> std::result::Result<LiveSession, Failure> {
        let stored = self.replace_session(session, s.as_deref_mut()).await?;
        self.append_event(event, session.id, s).await?;
        Ok(stored)
    }

    /// Inserts every occurrence of a series, each with its events, in one transaction.
    async fn insert_series_steps(
        &self,
        sessions: &[LiveSession],
        mut s: Option<&mut ClientSession>,
    ) -> std::result::Result<(), Failure> {
        for session in sessions {
            self.insert_steps(session, s.as_deref_mut()).await?;
        }
        Ok(())
    }

    /// Without transactions: one ordered `insert_many` of the occurrences; when it fails part
    /// way, the occurrences it inserted are deleted again (by id and series id, so a clashing
    /// session of another series stays), then the count shards are inserted and the events
    /// appended.
    async fn insert_series_compensated(
        &self,
        sessions: &[LiveSession],
    ) -> std::result::Result<(), Failure> {
        let Some(link) = sessions.first().and_then(|s| s.series.clone()) else {
            return Ok(());
        };
        let documents = sessions.iter().map(|session| {
            let mut document = session_document(session);
            document.insert("participants", 0_i64);
            document
        });
        if let Err(error) = self.sessions.insert_many(documents).ordered(true).await {
            let ids: Vec<bson::Bson> = sessions.iter().map(|s| session_id(s.id)).collect();
            let mut filter = queries::series_filter(link.id);
            filter.insert("_id", doc! { "$in": ids });
            self.sessions.delete_many(filter).await?;
            return Err(match classify(&error) {
                ErrorClass::DuplicateKey => {
                    Failure::Domain(to_domain(error, "session", link.id.to_string()))
                }
                _ => Failure::Driver(error),
            });
        }
        for session in sessions {
            self.insert_count_shards(session.id, None).await?;
            self.append_event(EventKind::Created, session.id, None)
                .await?;
            if session.is_live() {
                self.append_event(EventKind::Live, session.id, None).await?;
            }
        }
        Ok(())
    }

    async fn delete_steps(
        &self,
        id: SessionId,
        mut s: Option<&mut ClientSession>,
    ) -> std::result::Result<bool, Failure> {
        // The session goes first so that no join can find it while its participants are
        // being removed.
        let deleted = self
            .sessions
            .delete_one(queries::session_filter(id))
            .optional(s.as_deref_mut(), |a, s| a.session(s))
            .await?;
        self.participants
            .delete_many(queries::participants_of(id))
            .optional(s.as_deref_mut(), |a, s| a.session(s))
            .await?;
        self.delete_roster(id, s.as_deref_mut()).await?;
        // Last: a join that counted in a shard after the participants went finds the session
        // gone and removes its record; in a transaction, deleting the shards conflicts with
        // any join counting in one.
        self.participant_counts
            .delete_many(queries::count_shards_of(id))
            .optional(s.as_deref_mut(), |a, s| a.session(s))
            .await?;
        let deleted = deleted.deleted_count > 0;
        if deleted {
            self.append_event(EventKind::Deleted, id, s).await?;
        }
        Ok(deleted)
    }
}

#[async_trait]
impl SessionStore for MongoStore {
    async fn insert_session(&self, session: &LiveSession) -> Result<()> {
        if self.supports_transactions().await? {
            in_transaction!(self, |s| self.insert_steps(session, s))
        } else {
            // The insert and its events are appended even if the caller gives up in between.
            let store = self.clone();
            let session = session.clone();
            detached(async move {
                store
                    .insert_steps(&session, None)
                    .await
                    .map_err(Failure::into_error)
            })
            .await
        }
    }

    async fn get_session(&self, id: SessionId) -> Result<Option<LiveSession>> {
        self.find_session(id, None)
            .await
            .map_err(Failure::into_error)
    }

    async fn update_session(&self, session: &LiveSession, event: EventKind) -> Result<LiveSession> {
        if self.supports_transactions().await? {
            in_transaction!(self, |s| self.update_steps(session, event, s))
        } else {
            // The update and its event are appended even if the caller gives up in between.
            let store = self.clone();
            let session = session.clone();
            detached(async move {
                store
                    .update_steps(&session, event, None)
                    .await
                    .map_err(Failure::into_error)
            })
            .await
        }
    }

    async fn delete_session(&self, id: SessionId) -> Result<bool> {
        if self.supports_transactions().await? {
            in_transaction!(self, |s| self.delete_steps(id, s))
        } else {
            // Both deletes and the event run to their end even if the caller gives up in
            // between.
            let store = self.clone();
            detached(async move {
                store
                    .delete_steps(id, None)
                    .await
                    .map_err(Failure::into_error)
            })
            .await
        }
    }

    async fn list_sessions(&self, query: &ListQuery) -> Result<Page<LiveSession>> {
        let limit = query.limit.max(1) as usize;
        let plan = self.list_plan(query).await?;
        let documents = self
            .list_documents(query, &plan, i64::try_from(limit + 1).unwrap_or(i64::MAX))
            .await?;
        let more = documents.len() > limit;
        let items = self
            .counted_sessions(&documents[..documents.len().min(limit)], None)
            .await
            .map_err(Failure::into_error)?;
        Ok(Page::of_sessions(items, more))
    }

    async fn due_sessions(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Vec<LiveSession>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut due = Vec::new();
        for (filter, sort) in [
            (queries::due_to_start_filter(now), doc! { "startTime": 1 }),
            (queries::due_to_end_filter(now), doc! { "endTime": 1 }),
        ] {
            let documents =
                all_documents(self.sessions.find(filter).sort(sort).limit(limit)).await?;
            let sessions = self
                .counted_sessions(&documents, None)
                .await
                .map_err(Failure::into_error)?;
            for session in sessions {
                if session.due_to_start(now) || session.due_to_end(now) {
                    due.push(session);
                }
            }
        }
        Ok(due)
    }

    async fn insert_series(&self, sessions: &[LiveSession]) -> Result<()> {
        if self.supports_transactions().await? {
            in_transaction!(self, |s| self.insert_series_steps(sessions, s))
        } else {
            let store = self.clone();
            let sessions = sessions.to_vec();
            detached(async move {
                store
                    .insert_series_compensated(&sessions)
                    .await
                    .map_err(Failure::into_error)
            })
            .await
        }
    }

    async fn series_sessions(&self, series_id: SeriesId) -> Result<Vec<LiveSession>> {
        let documents = all_documents(
            self.sessions
                .find(queries::series_filter(series_id))
                .sort(queries::series_sort()),
        )
        .await?;
        self.counted_sessions(&documents, None)
            .await
            .map_err(Failure::into_error)
    }

    async fn empty_sessions(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        presence_timeout: std::time::Duration,
        limit: usize,
    ) -> Result<Vec<EmptySession>> {
        let documents = all_documents(
            self.sessions
                .find(queries::empty_candidates_filter())
                .sort(doc! { "liveSince": 1, "_id": 1 }),
        )
        .await?;
        // Only those live for their minutes already can be due; their participants are read next.
        let mut candidates = Vec::new();
        let sessions = self
            .counted_sessions(&documents, None)
            .await
            .map_err(Failure::into_error)?;
        for session in sessions {
            if session.due_to_end_empty(now, None, presence_timeout) {
                candidates.push(session);
            }
        }
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let ids = candidates.iter().map(|s| session_id(s.id)).collect();
        let latest = all_documents(
            self.participants
                .aggregate(queries::latest_seen_pipeline(ids)),
        )
        .await?;
        let mut seen = HashMap::new();
        for document in &latest {
            let r = Reader::new(document, PARTICIPANTS);
            let id = SessionId::from_uuid(r.uuid("_id")?);
            let date = r.opt_date("lastSeen")?;
            let exact = r
                .opt_int("micros")?
                .filter(|us| Some(us.div_euclid(1000)) == date.map(|d| d.timestamp_millis()))
                .and_then(chrono::DateTime::from_timestamp_micros);
            if let Some(last_seen) = exact.or(date) {
                seen.insert(id, last_seen);
            }
        }
        Ok(candidates
            .into_iter()
            .filter_map(|session| {
                let last_seen = seen.get(&session.id).copied();
                session
                    .due_to_end_empty(now, last_seen, presence_timeout)
                    .then_some(EmptySession { session, last_seen })
            })
            .take(limit)
            .collect())
    }
}
