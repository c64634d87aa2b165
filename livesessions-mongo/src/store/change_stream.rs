//! Waiting for new events: a change stream on `live_session_events` where the deployment has
//! change streams (a replica set or a sharded cluster), a plain sleep otherwise.

use std::sync::atomic::Ordering;
use std::time::Duration;

use livesessions_core::EventId;
use mongodb::error::Error as DriverError;
use tokio::time::Instant;

use super::MongoStore;
use crate::error::{classify, ErrorClass};
use crate::queries;

/// The longest a single `getMore` of the change stream waits on the server. Short, so that a
/// wait ends on time without cutting a request in the middle; the shorter of this and a
/// quarter of the caller's wait is used.
const LONGEST_AWAIT: Duration = Duration::from_millis(250);

/// The shortest, so that a very short wait does not turn into a busy loop of `getMore`s.
const SHORTEST_AWAIT: Duration = Duration::from_millis(10);

/// A wait shorter than this is slept: opening a stream and looking for events would take most
/// of it, and would mostly be cut off half-way.
const SHORTEST_WATCHED_WAIT: Duration = Duration::from_millis(50);

impl MongoStore {
    /// Waits until an event after `after` may exist, or at most `max_wait`.
    ///
    /// Opens a change stream of inserts into the log, then looks for an event after `after`
    /// (one appended before the stream opened), then waits on the stream. When the deployment
    /// refuses change streams (a standalone server) this store stops asking and sleeps from
    /// then on; on any other error (the server is down) it sleeps out the wait, so a reader
    /// that calls in a loop polls once per `max_wait` and never spins. A wait shorter than
    /// [`SHORTEST_WATCHED_WAIT`] is slept.
    pub(super) async fn wait_for_inserts(&self, after: EventId, max_wait: Duration) {
        let deadline = Instant::now() + max_wait;
        let wait = async {
            if max_wait >= SHORTEST_WATCHED_WAIT && self.change_streams.load(Ordering::Relaxed) {
                match self.watch_until(after, max_wait, deadline).await {
                    Ok(()) => return,
                    Err(Watch::Refused) => self.change_streams.store(false, Ordering::Relaxed),
                    Err(Watch::Failed) => {}
                }
            }
            tokio::time::sleep_until(deadline).await;
        };
        // A server that stops answering mid-request cannot hold the caller past its wait.
        let _ = tokio::time::timeout_at(deadline, wait).await;
    }

    /// Returns once an event after `after` may exist, or (after sleeping out the rest) at the
    /// deadline.
    async fn watch_until(
        &self,
        after: EventId,
        max_wait: Duration,
        deadline: Instant,
    ) -> Result<(), Watch> {
        let await_time = (max_wait / 4).clamp(SHORTEST_AWAIT, LONGEST_AWAIT);
        let mut stream = self
            .events
            .watch()
            .pipeline(queries::inserted_events())
            .max_await_time(await_time)
            .await
            .map_err(Watch::opening)?;
        let appended = self
            .events
            .find_one(queries::events_after(after))
            .projection(queries::event_id_projection())
            .await
            .map_err(|_| Watch::Failed)?;
        if appended.is_some() {
            return Ok(());
        }
        // A `getMore` started with less than `await_time` left would outlast the wait.
        while deadline.saturating_duration_since(Instant::now()) >= await_time {
            if stream
                .next_if_any()
                .await
                .map_err(|_| Watch::Failed)?
                .is_some()
            {
                return Ok(());
            }
        }
        drop(stream);
        tokio::time::sleep_until(deadline).await;
        Ok(())
    }
}

/// Why a wait on the change stream ended without an insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Watch {
    /// The deployment does not offer change streams.
    Refused,
    /// Anything else: unreachable, interrupted, a cursor that was lost.
    Failed,
}

impl Watch {
    /// A failure to open the stream: refused when the server answered with anything but a
    /// transient error (a standalone server answers 40573, "only supported on replica sets").
    fn opening(error: DriverError) -> Self {
        match classify(&error) {
            ErrorClass::Other if matches!(*error.kind, mongodb::error::ErrorKind::Command(_)) => {
                Watch::Refused
            }
            _ => Watch::Failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use bson::doc;
    use livesessions_core::{Error, EventLog};
    use mongodb::error::{CommandError, ErrorKind};

    use super::*;
    use crate::store::TransactionMode;

    fn command_error(code: i32) -> DriverError {
        let command: CommandError =
            bson::from_document(doc! { "code": code, "codeName": "X", "errmsg": "no" }).unwrap();
        ErrorKind::Command(command).into()
    }

    #[test]
    fn a_refusal_is_told_apart_from_an_outage() {
        // "The $changeStream stage is only supported on replica sets".
        assert_eq!(Watch::opening(command_error(40573)), Watch::Refused);
        for code in [112, 91, 10107, 6] {
            assert_eq!(Watch::opening(command_error(code)), Watch::Failed, "{code}");
        }
        let io: DriverError = ErrorKind::Io(std::sync::Arc::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )))
        .into();
        assert_eq!(Watch::opening(io), Watch::Failed);
    }

    /// While the deployment cannot be reached a wait lasts its time (no early return a tailer
    /// would spin on, no panic) and reads answer `Unavailable`.
    #[tokio::test]
    async fn waits_sleep_out_an_outage() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let store = MongoStore::connect(&format!("mongodb://127.0.0.1:{port}/db"))
            .await
            .unwrap()
            .with_transactions(TransactionMode::Always);
        for max_wait in [Duration::from_millis(300), Duration::from_millis(2500)] {
            let started = Instant::now();
            store.wait_for_events(EventId::ZERO, max_wait).await;
            let waited = started.elapsed();
            assert!(
                waited >= max_wait - Duration::from_millis(20)
                    && waited < max_wait + Duration::from_millis(500),
                "waited {waited:?} of {max_wait:?}"
            );
        }
        assert!(
            store.change_streams.load(Ordering::Relaxed),
            "an outage is no refusal"
        );
        let error = store.read_events(EventId::ZERO, 10).await.unwrap_err();
        assert!(matches!(error, Error::Unavailable(_)), "{error:?}");
    }
}
