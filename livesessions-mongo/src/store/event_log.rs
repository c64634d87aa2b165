//! [`EventLog`] on `live_session_events`: reading in id order, the log's bounds, and pruning.
//! Appending is part of each change ([`append`](super::append)); the readers first number
//! the staged `participants` events of first joins; waiting for new events uses
//! a change stream ([`change_stream`](super::change_stream)).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use livesessions_core::events::{LogPosition, LoggedEvent};
use livesessions_core::{EventId, EventLog, Result};

use super::transaction::Failure;
use super::{all_documents, MongoStore};
use crate::codec::{event_from_document, read_event_id, Reader};
use crate::documents::EVENTS;
use crate::error::map_error;
use crate::queries;

#[async_trait]
impl EventLog for MongoStore {
    async fn read_events(&self, after: EventId, limit: usize) -> Result<Vec<LoggedEvent>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.number_staged_events().await?;
        let documents = all_documents(
            self.events
                .find(queries::events_after(after))
                .sort(queries::event_order())
                .limit(i64::try_from(limit).unwrap_or(i64::MAX)),
        )
        .await?;
        Ok(documents
            .iter()
            .map(event_from_document)
            .collect::<std::result::Result<Vec<_>, _>>()?)
    }

    async fn log_position(&self) -> Result<LogPosition> {
        self.number_staged_events().await?;
        let last = self
            .last_event_id(None)
            .await
            .map_err(Failure::into_error)?;
        let pruned_through = self
            .pruned_through(None)
            .await
            .map_err(Failure::into_error)?;
        Ok(LogPosition {
            last,
            pruned_through,
        })
    }

    /// Finds the greatest id among the events appended before `before`, raises the pruned
    /// floor to it, and then deletes those events up to it. No transaction is needed (nor
    /// wanted: a prune may delete many events): the floor is raised before any event goes, so
    /// a writer that no longer sees the deleted events sees the floor instead and never gives
    /// their ids again; a crash in between leaves events that the next prune deletes.
    async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64> {
        let summary =
            all_documents(self.events.aggregate(queries::prunable_summary(before))).await?;
        let Some(summary) = summary.first() else {
            return Ok(0);
        };
        let through = read_event_id(&Reader::new(summary, EVENTS), "through")?;
        self.log_state
            .update_one(
                queries::log_state_filter(),
                queries::raise_pruned_through(through),
            )
            .upsert(true)
            .await
            .map_err(map_error)?;
        let deleted = self
            .events
            .delete_many(queries::prunable_events(before, through))
            .await
            .map_err(map_error)?;
        Ok(deleted.deleted_count)
    }

    async fn wait_for_events(&self, after: EventId, max_wait: Duration) {
        self.wait_for_inserts(after, max_wait).await;
    }
}
