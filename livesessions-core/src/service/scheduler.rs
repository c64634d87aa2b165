//! The scheduler: starts sessions at their start time (`auto_start`), ends them at their end
//! time (`auto_end`) and ends those nobody has watched for their `end_when_empty` minutes,
//! through the ordinary transitions and their version checks, so that several instances
//! running it start and end each session exactly once.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use rand::seq::SliceRandom;

use super::{with_retries, LiveSessions};
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::ids::SessionId;
use crate::session::LiveSession;

/// How often [`LiveSessions::run_scheduler`] asks the store for due sessions.
pub const SCHEDULER_INTERVAL: Duration = Duration::from_secs(1);

/// How many sessions of each kind (to start, to end, nobody watching) one tick handles at most.
/// Large, so that instances ticking together, each in its own random order, rarely reach the
/// same session at the same time: a burst due at one instant is one batch, not ten that every
/// instance works through together.
const BATCH: usize = 1000;

/// How many due sessions one tick changes at once. Each change is a read and a versioned
/// write; overlapping a few keeps the store busy instead of waiting on one round trip at a
/// time.
const CONCURRENCY: usize = 4;

/// What one [`LiveSessions::tick`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchedulerTick {
    /// Sessions this tick started, in the order their starts were written.
    pub started: Vec<SessionId>,
    /// Sessions this tick ended, in the order their ends were written.
    pub ended: Vec<SessionId>,
    /// Due sessions that were no longer due when read again (another instance or an admin
    /// changed them first).
    pub skipped: usize,
    /// Due sessions whose change failed (a storage error, or concurrent changes that kept
    /// refusing the write); a later tick tries them again.
    pub failed: usize,
    /// Whether the store returned a full batch of one kind: more sessions may be due right
    /// away.
    pub more: bool,
}

impl LiveSessions {
    /// Starts every session due to start at `now` ([`LiveSession::due_to_start`]) and ends
    /// every session due to end ([`LiveSession::due_to_end`], ended as of its end time:
    /// [`LiveSession::end_as_scheduled`]), at most a batch of each; publishes `live` and
    /// `ended` as the admin's start and end do. Each session is read again and changed with
    /// the store's version check, so a session several instances find due is changed by one
    /// of them only. Fails only when the store cannot list the due sessions; a session whose
    /// change fails is counted in [`SchedulerTick::failed`].
    ///
    /// A missed start (no scheduler ran at the start time) still starts while the end time has
    /// not come; a session whose whole window passed stays scheduled.
    ///
    /// It also ends, at most a batch of them, the live sessions that nobody has watched for
    /// their `end_when_empty` minutes ([`SessionStore::empty_sessions`](crate::SessionStore::empty_sessions)),
    /// as of the moment those minutes ran out ([`LiveSession::end_when_empty`]); a session due
    /// to end both at its end time and for nobody watching ends as of the earlier moment.
    ///
    /// The due sessions are changed several at a time, in an order of this tick's own, so that
    /// instances ticking together mostly take different sessions.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<SchedulerTick> {
        let timeout = self.settings.presence_timeout;
        let scheduled = self.store.due_sessions(now, BATCH).await?;
        let empty = self.store.empty_sessions(now, timeout, BATCH).await?;
        let starts = scheduled.iter().filter(|s| s.due_to_start(now)).count();
        let mut tick = SchedulerTick {
            more: starts >= BATCH || scheduled.len() - starts >= BATCH || empty.len() >= BATCH,
            ..SchedulerTick::default()
        };
        // One entry per session, with what the query for sessions nobody watches found.
        let mut found: HashMap<SessionId, Option<Option<DateTime<Utc>>>> =
            scheduled.iter().map(|s| (s.id, None)).collect();
        for e in &empty {
            found.insert(e.session.id, Some(e.last_seen));
        }
        let mut due: Vec<(SessionId, Option<Option<DateTime<Utc>>>)> = found.into_iter().collect();
        // Instances ticking together read the same batch: each works through it in its own
        // order, so that they mostly change different sessions instead of racing for the same.
        due.shuffle(&mut rand::rng());
        let mut changes = stream::iter(due)
            .map(|(id, empty)| async move { (id, self.apply_due(id, empty, now).await) })
            .buffer_unordered(CONCURRENCY);
        while let Some((id, change)) = changes.next().await {
            match change {
                Ok(Some((EventKind::Live, stored))) => {
                    self.publish(EventKind::Live, &stored);
                    tick.started.push(stored.id);
                }
                Ok(Some((kind, stored))) => {
                    self.publish(kind, &stored);
                    tick.ended.push(stored.id);
                }
                Ok(None) => tick.skipped += 1,
                Err(error) => {
                    tracing::warn!(session = %id, %error, "scheduled change failed");
                    tick.failed += 1;
                }
            }
        }
        Ok(tick)
    }

    /// Reads the session again and starts or ends it if it is still due at `now`: started
    /// when due to start; ended when due to end at its end time, or (`empty` being the latest
    /// `last_seen` the query for sessions nobody watches found, if it found the session) for
    /// having had nobody watching; due both ways, as of the earlier of the two moments.
    /// Answers the event and the stored session, or `None` when it is no longer due (or gone).
    async fn apply_due(
        &self,
        id: SessionId,
        empty: Option<Option<DateTime<Utc>>>,
        now: DateTime<Utc>,
    ) -> Result<Option<(EventKind, LiveSession)>> {
        let timeout = self.settings.presence_timeout;
        with_retries(true, || async move {
            let Some(mut session) = self.store.get_session(id).await? else {
                return Ok(Ok(None));
            };
            if session.due_to_start(now) {
                session.start(now)?;
                let written = self.store.update_session(&session, EventKind::Live).await;
                return Ok(written.map(|stored| Some((EventKind::Live, stored))));
            }
            let at_end_time = session
                .due_to_end(now)
                .then(|| {
                    let mut ended = session.clone();
                    ended.end_as_scheduled(now).map(|_| ended)
                })
                .transpose()?;
            let nobody_watching = empty
                .filter(|seen| session.due_to_end_empty(now, *seen, timeout))
                .map(|seen| {
                    let mut ended = session.clone();
                    ended.end_when_empty(now, seen, timeout).map(|_| ended)
                })
                .transpose()?;
            let session = match (at_end_time, nobody_watching) {
                (None, None) => return Ok(Ok(None)),
                (Some(ended), None) | (None, Some(ended)) => ended,
                (Some(a), Some(b)) if b.ended_at < a.ended_at => b,
                (Some(a), Some(_)) => a,
            };
            let written = self.store.end_session(&session, timeout).await;
            Ok(written.map(|stored| Some((EventKind::Ended, stored))))
        })
        .await
        .or_else(|error| match error {
            // The session went away between the due query and the write.
            Error::NotFound { .. } => Ok(None),
            error => Err(error),
        })
    }

    /// Runs the scheduler until `shutdown` completes: a [`LiveSessions::tick`] at the
    /// service's clock every [`SCHEDULER_INTERVAL`], on its whole multiples since the Unix
    /// epoch (so a start time on a whole second is seen at once, not up to an interval late),
    /// and at once again after a full batch. Hosts spawn it as a task; any number of instances
    /// may run it on one store.
    pub async fn run_scheduler(&self, shutdown: impl Future<Output = ()>) {
        self.run_scheduler_every(SCHEDULER_INTERVAL, shutdown).await;
    }

    /// [`LiveSessions::run_scheduler`] with another interval.
    pub async fn run_scheduler_every(
        &self,
        interval: Duration,
        shutdown: impl Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        loop {
            let again = match self.tick(self.clock.now()).await {
                Ok(tick) => tick.more && tick.failed == 0,
                Err(error) => {
                    tracing::warn!(%error, "the scheduler could not read the due sessions");
                    false
                }
            };
            let pause = if again {
                Duration::ZERO
            } else {
                until_next_multiple(self.clock.now(), interval)
            };
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}

/// How long from `now` to the next whole multiple of `interval` since the Unix epoch (a whole
/// `interval` when `now` is on one); `interval` itself when it is below a microsecond.
fn until_next_multiple(now: DateTime<Utc>, interval: Duration) -> Duration {
    let step = i64::try_from(interval.as_micros()).unwrap_or(i64::MAX);
    if step == 0 {
        return interval;
    }
    let into = now.timestamp_micros().rem_euclid(step);
    Duration::from_micros(u64::try_from(step - into).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_wait_for_the_next_whole_multiple_of_the_interval() {
        let at =
            |micros: i64| DateTime::from_timestamp_micros(1_700_000_000_000_000 + micros).unwrap();
        let second = Duration::from_secs(1);
        assert_eq!(until_next_multiple(at(0), second), second);
        assert_eq!(
            until_next_multiple(at(1), second),
            Duration::from_micros(999_999)
        );
        assert_eq!(
            until_next_multiple(at(999_999), second),
            Duration::from_micros(1)
        );
        assert_eq!(
            until_next_multiple(at(100_000), Duration::from_millis(250)),
            Duration::from_millis(150)
        );
        let before_epoch = DateTime::from_timestamp_micros(-1).unwrap();
        assert_eq!(
            until_next_multiple(before_epoch, second),
            Duration::from_micros(1)
        );
        assert_eq!(until_next_multiple(at(5), Duration::ZERO), Duration::ZERO);
    }
}
