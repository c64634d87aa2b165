//! The event log on PostgreSQL: numbering, `NOTIFY`, and the listener that wakes waiting
//! readers.
//!
//! # Numbering
//!
//! Writers insert their events with `id` NULL, in the change's own transaction (the join in
//! its own statement). An id from a sequence taken at insert time would not do: a transaction
//! that took id 10 may commit after a reader has read id 11, and the reader would never see
//! 10. Instead a numbering step gives ids to the events that have committed, in one short
//! transaction serialized by an advisory lock (its key derived from the schema name): it first
//! coalesces the waiting `participants` events to the last one of each session, then numbers
//! the rest after the greatest id given so far, in the order they were staged, and ends with a
//! `NOTIFY` of the last id. Every reader ([`EventLog::read_events`],
//! [`EventLog::log_position`]) runs it first, so every event committed before the call is
//! readable by it, and an event committed later gets an id above every id read before.
//!
//! # Waking
//!
//! Changes other than joins also `NOTIFY` the store's channel (one per schema) when they
//! commit, so tailers in other instances read at once; joins do not (a stampede would
//! serialize its commits on the notification queue's lock), and the tailers' poll picks their
//! coalesced counts up. [`EventLog::wait_for_events`] starts one listener per store (shared by
//! its clones) on a connection of its own, outside the store's pool; after it (re)connects it
//! wakes every waiter, as notifications sent while it was away are lost. While the database is
//! down it retries with growing pauses (at most [`MAX_PAUSE`]) and waiters fall back to their
//! timeout. It stops when the store's pool is closed or the last clone of the store is
//! dropped.

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use livesessions_core::events::{EventId, EventLog, LogPosition, LoggedEvent};
use livesessions_core::Result;
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use sqlx::Postgres;
use tokio::task::AbortHandle;

use super::{map_error, quote_ident, PostgresStore};
use crate::events::{insert_event, LogStatements, LogWaker};
use crate::queries::Queries;

/// The shared statements' runners on Postgres.
type Q = Queries<Postgres>;

/// The first pause before the listener connects again; it doubles up to [`MAX_PAUSE`].
const MIN_PAUSE: Duration = Duration::from_millis(250);
/// The longest pause between the listener's connection attempts.
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// FNV-1a (64 bits) of `text`: a stable hash for the lock key and the channel name.
fn fnv1a(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The key of the advisory lock that serializes numbering (and pruning) in `schema`.
fn lock_key(schema: &str) -> i64 {
    i64::from_ne_bytes(fnv1a(&format!("livesessions events lock {schema}")).to_ne_bytes())
}

/// The `NOTIFY` channel of the log in `schema` (an identifier short enough for any schema).
fn channel(schema: &str) -> String {
    format!(
        "livesessions_events_{:016x}",
        fnv1a(&format!("livesessions events channel {schema}"))
    )
}

/// The event log's statements in one schema.
#[derive(Debug)]
pub(super) struct EventStatements {
    /// Appends an event (parameters: kind, session id) and notifies the channel at commit;
    /// returns `id` NULL (the event is numbered later).
    pub append: String,
    /// The numbering step: several statements run as one implicit transaction (no
    /// parameters).
    pub number: String,
    /// Takes the numbering lock until the end of the transaction.
    pub lock: String,
    /// Reading, bounds and pruning.
    pub log: LogStatements,
    /// The `NOTIFY` channel.
    pub channel: String,
}

impl EventStatements {
    /// The statements on the log of `schema` (unquoted).
    pub(super) fn new(schema: &str) -> Self {
        let s = quote_ident(schema);
        let events = format!("{s}.events");
        let state = format!("{s}.event_log_state");
        let channel = channel(schema);
        let lock = format!("SELECT pg_advisory_xact_lock({})", lock_key(schema));
        EventStatements {
            append: format!(
                "WITH e AS ({} RETURNING session_id) \
                 SELECT NULL::bigint AS id, pg_notify('{channel}', 'pending')::text AS notified \
                 FROM e",
                insert_event::<Postgres>(&events)
            ),
            // One implicit transaction: the lock is held until both statements are done, and
            // the second one's snapshot, taken after the lock was granted, sees every round
            // numbered before.
            number: format!(
                "{lock}; \
                 WITH pending AS ( \
                    SELECT staged, kind, session_id FROM {events} WHERE id IS NULL \
                 ), ranked AS ( \
                    SELECT staged, kind = 'participants' AND staged < max(staged) \
                        FILTER (WHERE kind = 'participants') OVER (PARTITION BY session_id) \
                        AS superseded \
                    FROM pending \
                 ), dropped AS ( \
                    DELETE FROM {events} e USING ranked r \
                    WHERE e.id IS NULL AND e.staged = r.staged AND r.superseded \
                 ), base AS ( \
                    SELECT GREATEST(COALESCE((SELECT max(id) FROM {events}), 0), \
                                    (SELECT pruned_through FROM {state})) AS last \
                 ), numbered AS ( \
                    UPDATE {events} e SET id = base.last + k.n \
                    FROM (SELECT staged, row_number() OVER (ORDER BY staged) AS n \
                          FROM ranked WHERE NOT superseded) k, base \
                    WHERE e.id IS NULL AND e.staged = k.staged \
                    RETURNING e.id \
                 ) \
                 SELECT pg_notify('{channel}', max(id)::text) FROM numbered HAVING count(*) > 0"
            ),
            lock,
            log: LogStatements::new::<Postgres>(&events, &state),
            channel,
        }
    }
}

/// The listener of a store and its clones, and the waiters it wakes.
#[derive(Debug, Default)]
pub(super) struct Listener {
    waker: LogWaker,
    task: OnceLock<AbortHandle>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(task) = self.task.get() {
            task.abort();
        }
    }
}

impl Listener {
    /// Starts listening on `channel`, unless already started.
    fn start(self: &Arc<Self>, pool: &PgPool, channel: &str) {
        self.task.get_or_init(|| {
            tokio::spawn(listen(
                pool.clone(),
                channel.to_owned(),
                Arc::downgrade(self),
            ))
            .abort_handle()
        });
    }
}

/// Wakes the waiters of `shared` for a notification `payload` (`None`: anything may have
/// happened). False when the store is gone.
fn wake(shared: &Weak<Listener>, payload: Option<&str>) -> bool {
    let Some(listener) = shared.upgrade() else {
        return false;
    };
    match payload.and_then(|p| p.parse::<i64>().ok()) {
        Some(id) => listener.waker.appended(id),
        None => listener.waker.wake_all(),
    }
    true
}

/// Listens on `channel` until `pool` is closed or the store is dropped.
async fn listen(pool: PgPool, channel: String, shared: Weak<Listener>) {
    // A pool of its own: the listener holds its connection for good, and must neither take
    // one of the store's nor keep the store's pool from closing.
    let own = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(2))
        .connect_lazy_with((*pool.connect_options()).clone());
    let mut pause = MIN_PAUSE;
    loop {
        let connected = async {
            let mut listener = PgListener::connect_with(&own).await?;
            listener.listen(&channel).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let connected = tokio::select! {
            connected = connected => connected,
            () = pool.close_event() => return,
        };
        if let Ok(mut listener) = connected {
            pause = MIN_PAUSE;
            // Notifications sent while not listening are lost.
            if !wake(&shared, None) {
                return;
            }
            loop {
                let next = tokio::select! {
                    next = listener.try_recv() => next,
                    () = pool.close_event() => return,
                };
                let woken = match next {
                    Ok(Some(notification)) => wake(&shared, Some(notification.payload())),
                    // The connection was lost and is back: wake everyone.
                    Ok(None) => wake(&shared, None),
                    Err(_) => break,
                };
                if !woken {
                    return;
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = pool.close_event() => return,
        }
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

impl PostgresStore {
    /// Numbers the events committed so far (see the module documentation).
    async fn number_events(&self) -> Result<()> {
        sqlx::raw_sql(&self.sql.events.number)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(map_error)
    }
}

#[async_trait]
impl EventLog for PostgresStore {
    async fn read_events(&self, after: EventId, limit: usize) -> Result<Vec<LoggedEvent>> {
        self.number_events().await?;
        Q::read_events(&self.pool, &self.sql.events.log.read, after, limit).await
    }

    async fn log_position(&self) -> Result<LogPosition> {
        self.number_events().await?;
        Q::log_position(&self.pool, &self.sql.events.log.position).await
    }

    async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.pool.begin().await.map_err(map_error)?;
        sqlx::query(&self.sql.events.lock)
            .execute(&mut *tx)
            .await
            .map_err(map_error)?;
        Q::prune_events(tx, &self.sql.events.log, before).await
    }

    /// Woken by `NOTIFY` from every instance's changes but joins, and when the listener
    /// (re)connects; otherwise after `max_wait`.
    async fn wait_for_events(&self, after: EventId, max_wait: Duration) {
        self.listener.start(&self.pool, &self.sql.events.channel);
        self.listener.waker.wait(after, max_wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_schema_has_its_own_lock_and_channel() {
        assert_eq!(lock_key("public"), lock_key("public"));
        assert_ne!(lock_key("public"), lock_key("live"));
        assert_ne!(channel("public"), channel("live"));
        let long = "a".repeat(63);
        assert!(
            channel(&long).len() <= 63,
            "a channel name is an identifier"
        );
    }
}
