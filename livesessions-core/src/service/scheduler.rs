//! The scheduler: starts sessions at their start time (`auto_start`) and ends them at their
//! end time (`auto_end`), through the ordinary transitions and their version checks, so that
//! several instances running it start and end each session exactly once.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{with_retries, LiveSessions};
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::ids::SessionId;
use crate::session::LiveSession;

/// How often [`LiveSessions::run_scheduler`] asks the store for due sessions.
pub const SCHEDULER_INTERVAL: Duration = Duration::from_secs(1);

/// How many sessions of each kind (to start, to end) one tick handles at most.
const BATCH: usize = 100;

/// What one [`LiveSessions::tick`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchedulerTick {
    /// Sessions this tick started, in the order it started them.
    pub started: Vec<SessionId>,
    /// Sessions this tick ended, in the order it ended them.
    pub ended: Vec<SessionId>,
    /// Due sessions that were no longer due when read again (another instance or an admin
    /// changed them first).
    pub skipped: usize,
    /// Due sessions whose change failed (a storage error, or concurrent changes that kept
    /// refusing the write); a later tick tries them again.
    pub failed: usize,
    /// Whether the store returned a full batch: more sessions may be due right away.
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
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<SchedulerTick> {
        let due = self.store.due_sessions(now, BATCH).await?;
        let starts = due.iter().filter(|s| s.due_to_start(now)).count();
        let mut tick = SchedulerTick {
            more: starts >= BATCH || due.len() - starts >= BATCH,
            ..SchedulerTick::default()
        };
        for session in due {
            match self.apply_schedule(session.id, now).await {
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
                    tracing::warn!(session = %session.id, %error, "scheduled change failed");
                    tick.failed += 1;
                }
            }
        }
        Ok(tick)
    }

    /// Reads the session again and starts or ends it if it is still due at `now`. Answers the
    /// event and the stored session, or `None` when it is no longer due (or gone).
    async fn apply_schedule(
        &self,
        id: SessionId,
        now: DateTime<Utc>,
    ) -> Result<Option<(EventKind, LiveSession)>> {
        with_retries(true, || async move {
            let Some(mut session) = self.store.get_session(id).await? else {
                return Ok(Ok(None));
            };
            if session.due_to_start(now) {
                session.start(now)?;
                let written = self.store.update_session(&session, EventKind::Live).await;
                Ok(written.map(|stored| Some((EventKind::Live, stored))))
            } else if session.due_to_end(now) {
                session.end_as_scheduled(now)?;
                let written = self
                    .store
                    .end_session(&session, self.settings.presence_timeout)
                    .await;
                Ok(written.map(|stored| Some((EventKind::Ended, stored))))
            } else {
                Ok(Ok(None))
            }
        })
        .await
        .or_else(|error| match error {
            // The session went away between the due query and the write.
            Error::NotFound { .. } => Ok(None),
            error => Err(error),
        })
    }

    /// Runs the scheduler until `shutdown` completes: a [`LiveSessions::tick`] at the
    /// service's clock every [`SCHEDULER_INTERVAL`] (at once again after a full batch). Hosts
    /// spawn it as a task; any number of instances may run it on one store.
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
            let pause = if again { Duration::ZERO } else { interval };
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}
