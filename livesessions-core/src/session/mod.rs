//! The [`LiveSession`] aggregate and its lifecycle; its fields, the requests that create and
//! change it, and its list order live in the submodules.

mod capacity;
mod fields;
mod input;
mod listing;
mod lobby;
pub(crate) mod status;

use chrono::{DateTime, Utc};

use crate::error::{Conflict, Error, Result};
use crate::ids::SessionId;
use crate::series::SeriesLink;
use crate::values::TimeZone;

pub use capacity::check_seat;
pub use fields::{SessionFields, SessionPatch, MAX_SESSION_LENGTH};
pub use input::{NewSession, SessionInput, SessionUpdate};
pub use listing::{Cursor, ListKey, ListQuery, Page, StatusFilter};
pub use status::{SessionAction, SessionStatus};

/// Whether a lifecycle action changed anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The status (or its times) changed.
    Changed,
    /// The action was a no-op (start while live, end while ended).
    Unchanged,
}

/// A scheduled live class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    /// Identity (UUIDv7).
    pub id: SessionId,
    /// What the admin describes: title, description, instructor, video, thumbnail, start time
    /// and zone.
    pub fields: SessionFields,
    /// Lifecycle status.
    pub status: SessionStatus,
    /// When it first went live.
    pub started_at: Option<DateTime<Utc>>,
    /// When it last ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Start of the current live period (set while live).
    pub live_since: Option<DateTime<Utc>>,
    /// Seconds spent live in finished live periods (restarts add up).
    pub live_seconds: i64,
    /// Distinct users who joined.
    pub participants: u64,
    /// The seats held for roster members who have not joined yet, as the store counted them
    /// when it read the session (see [`LiveSession::seats_left`]). Never stored: every store
    /// computes it from the roster and the participants, and only for a session with a
    /// capacity (0 without one). Stores ignore it on writes.
    pub reserved_seats: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version, starting at 1 and bumped by every change.
    pub version: u64,
    /// The series this session is an occurrence of, if any (set when the series is created,
    /// never changed).
    pub series: Option<SeriesLink>,
}

impl LiveSession {
    /// A new scheduled session created at `now` from validated fields.
    pub fn new(fields: SessionFields, now: DateTime<Utc>) -> Self {
        LiveSession {
            id: SessionId::new(),
            fields,
            status: SessionStatus::Scheduled,
            started_at: None,
            ended_at: None,
            live_since: None,
            live_seconds: 0,
            participants: 0,
            reserved_seats: 0,
            created_at: now,
            updated_at: now,
            version: 1,
            series: None,
        }
    }

    /// Whether the session is live (`isLive` in JSON).
    pub fn is_live(&self) -> bool {
        self.status == SessionStatus::Live
    }

    /// Starts the session at `now`: scheduled or ended → live; live → no-op.
    pub fn start(&mut self, now: DateTime<Utc>) -> Result<Transition> {
        match self.status {
            SessionStatus::Live => Ok(Transition::Unchanged),
            SessionStatus::Scheduled | SessionStatus::Ended => {
                self.status = SessionStatus::Live;
                self.started_at.get_or_insert(now);
                self.live_since = Some(now);
                self.touch(now);
                Ok(Transition::Changed)
            }
            SessionStatus::Cancelled => Err(self.refuse(SessionAction::Start)),
        }
    }

    /// Ends the session at `now`: live → ended; ended → no-op.
    ///
    /// Closing the participants' open presence intervals is the store's part of ending
    /// ([`AttendanceStore::end_session`](crate::AttendanceStore::end_session)).
    pub fn end(&mut self, now: DateTime<Utc>) -> Result<Transition> {
        match self.status {
            SessionStatus::Ended => Ok(Transition::Unchanged),
            SessionStatus::Live => {
                let since = self.live_since.take().unwrap_or(now);
                self.live_seconds += (now - since).num_seconds().max(0);
                self.status = SessionStatus::Ended;
                self.ended_at = Some(now);
                self.touch(now);
                Ok(Transition::Changed)
            }
            SessionStatus::Scheduled | SessionStatus::Cancelled => {
                Err(self.refuse(SessionAction::End))
            }
        }
    }

    /// Whether the scheduler should start the session at `now`: it is scheduled with
    /// `auto_start`, its start time has come and its end time (if any) has not. A session whose
    /// whole window passed while no scheduler ran stays scheduled.
    pub fn due_to_start(&self, now: DateTime<Utc>) -> bool {
        self.status == SessionStatus::Scheduled
            && self.fields.auto_start
            && self.fields.start_time <= now
            && self.fields.end_time.is_none_or(|end| now < end)
    }

    /// Whether the scheduler should end the session at `now`: it is live with `auto_end` and
    /// its end time has come.
    pub fn due_to_end(&self, now: DateTime<Utc>) -> bool {
        self.is_live() && self.fields.auto_end && self.fields.end_time.is_some_and(|end| end <= now)
    }

    /// Ends a live session as the scheduler does at `now`: as of its end time, or of the start
    /// of its current live period if that is later (it was started after its end time), never
    /// after `now`. Live time is counted to that instant, as [`LiveSession::end`] counts it;
    /// `updated_at` is `now`. Without an end time this is [`LiveSession::end`] at `now`.
    pub fn end_as_scheduled(&mut self, now: DateTime<Utc>) -> Result<Transition> {
        let at = match (self.fields.end_time, self.live_since) {
            (Some(end), Some(since)) => end.max(since).min(now),
            (Some(end), None) => end.min(now),
            (None, _) => now,
        };
        let transition = self.end(at)?;
        if transition == Transition::Changed {
            self.updated_at = now;
        }
        Ok(transition)
    }

    /// When the live session ends for having had nobody watching for
    /// [`SessionFields::end_when_empty`] minutes: the moment it became empty plus those
    /// minutes. It became empty when the last participant stopped counting as watching (their
    /// latest `last_seen` plus `presence_timeout`), or at the start of the current live period
    /// if that is later (nobody ever watched this period). `last_seen` is the latest of all the
    /// session's participants, `None` when there are none. `None` unless live with the option.
    pub fn empty_end(
        &self,
        last_seen: Option<DateTime<Utc>>,
        presence_timeout: std::time::Duration,
    ) -> Option<DateTime<Utc>> {
        let minutes = self.fields.end_when_empty?;
        let since = self.live_period_start()?;
        let timeout = crate::attendance::timeout_delta(presence_timeout);
        let empty_since = last_seen
            .and_then(|seen| seen.checked_add_signed(timeout))
            .map_or(since, |gone| gone.max(since));
        empty_since.checked_add_signed(minutes.duration())
    }

    /// Whether the scheduler should end the session at `now` for having had nobody watching
    /// ([`LiveSession::empty_end`] has come).
    pub fn due_to_end_empty(
        &self,
        now: DateTime<Utc>,
        last_seen: Option<DateTime<Utc>>,
        presence_timeout: std::time::Duration,
    ) -> bool {
        self.empty_end(last_seen, presence_timeout)
            .is_some_and(|at| at <= now)
    }

    /// Ends a live session that nobody watched, as the scheduler does at `now`: as of
    /// [`LiveSession::empty_end`], never after `now` (so a scheduler that was down catches up
    /// exactly); `updated_at` is `now`. Without the option this is [`LiveSession::end`] at `now`.
    pub fn end_when_empty(
        &mut self,
        now: DateTime<Utc>,
        last_seen: Option<DateTime<Utc>>,
        presence_timeout: std::time::Duration,
    ) -> Result<Transition> {
        let at = self
            .empty_end(last_seen, presence_timeout)
            .map_or(now, |at| at.min(now));
        let transition = self.end(at)?;
        if transition == Transition::Changed {
            self.updated_at = now;
        }
        Ok(transition)
    }

    /// Cancels a scheduled session.
    pub fn cancel(&mut self, now: DateTime<Utc>) -> Result<Transition> {
        match self.status {
            SessionStatus::Scheduled => {
                self.status = SessionStatus::Cancelled;
                self.touch(now);
                Ok(Transition::Changed)
            }
            _ => Err(self.refuse(SessionAction::Cancel)),
        }
    }

    /// Checks that participants may join now.
    pub fn check_joinable(&self) -> Result<()> {
        if self.status.accepts_joins() {
            Ok(())
        } else {
            Err(self.refuse(SessionAction::Join))
        }
    }

    /// Where the current live period began: `live_since` while live, `None` otherwise. The
    /// presence rule opens intervals only from here on ([`Participant::touch`](crate::Participant::touch)).
    /// A live session stored without `live_since` (written by another application) gives the
    /// earliest time there is, so that any time counts.
    pub fn live_period_start(&self) -> Option<DateTime<Utc>> {
        if self.is_live() {
            Some(self.live_since.unwrap_or(DateTime::<Utc>::MIN_UTC))
        } else {
            None
        }
    }

    /// Seconds the session has been live in total, as of `now`.
    pub fn live_duration_at(&self, now: DateTime<Utc>) -> i64 {
        let current = self
            .live_since
            .map(|since| (now - since).num_seconds().max(0))
            .unwrap_or(0);
        self.live_seconds + current
    }

    /// Applies a validated partial update of the descriptive fields ([`SessionFields::apply`]);
    /// on an error nothing changes.
    pub fn apply(
        &mut self,
        patch: SessionPatch,
        now: DateTime<Utc>,
        default_zone: TimeZone,
    ) -> Result<()> {
        self.fields.apply(patch, default_zone)?;
        self.touch(now);
        Ok(())
    }

    /// The key that orders this session in lists.
    pub fn list_key(&self) -> ListKey {
        ListKey::new(self.status, self.fields.start_time, self.id)
    }

    fn touch(&mut self, now: DateTime<Utc>) {
        self.updated_at = now;
        self.version += 1;
    }

    fn refuse(&self, action: SessionAction) -> Error {
        Error::Conflict(Conflict::InvalidTransition {
            status: self.status,
            action,
        })
    }
}

/// Valid fields for the unit tests of this module's submodules.
#[cfg(test)]
fn test_fields() -> SessionFields {
    NewSession::new(
        "Rust",
        "Ferris",
        "https://youtu.be/abc",
        "2025-01-15T10:00:00Z",
    )
    .validate()
    .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn fields() -> SessionFields {
        test_fields()
    }

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
    }

    /// Asserts that `result` is `Conflict(InvalidTransition { status, action })`.
    #[track_caller]
    fn assert_refused(result: Result<Transition>, status: SessionStatus, action: SessionAction) {
        match result {
            Err(Error::Conflict(Conflict::InvalidTransition {
                status: refused_in,
                action: refused,
            })) => assert_eq!((refused_in, refused), (status, action)),
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    #[test]
    fn lifecycle_table() {
        let mut s = LiveSession::new(fields(), at(0));
        assert_eq!(s.status, SessionStatus::Scheduled);
        assert_eq!(s.version, 1);
        assert_refused(s.end(at(1)), SessionStatus::Scheduled, SessionAction::End);
        assert_eq!(s.start(at(10)).unwrap(), Transition::Changed);
        assert_eq!(s.started_at, Some(at(10)));
        assert_eq!(s.start(at(11)).unwrap(), Transition::Unchanged);
        assert_refused(s.cancel(at(12)), SessionStatus::Live, SessionAction::Cancel);
        assert_eq!(s.end(at(70)).unwrap(), Transition::Changed);
        assert_eq!(s.ended_at, Some(at(70)));
        assert_eq!(s.end(at(80)).unwrap(), Transition::Unchanged);
        assert_eq!(s.live_duration_at(at(1000)), 60);
        // A restart keeps the first start time and adds up live time.
        assert_eq!(s.start(at(100)).unwrap(), Transition::Changed);
        assert_eq!(s.started_at, Some(at(10)));
        assert_eq!(s.live_duration_at(at(130)), 90);
        s.end(at(140)).unwrap();
        assert_eq!(s.live_seconds, 100);
        assert_refused(
            s.cancel(at(150)),
            SessionStatus::Ended,
            SessionAction::Cancel,
        );

        let mut c = LiveSession::new(fields(), at(0));
        assert_eq!(c.cancel(at(1)).unwrap(), Transition::Changed);
        assert_refused(
            c.start(at(2)),
            SessionStatus::Cancelled,
            SessionAction::Start,
        );
        assert_refused(c.end(at(2)), SessionStatus::Cancelled, SessionAction::End);
        assert_refused(
            c.cancel(at(2)),
            SessionStatus::Cancelled,
            SessionAction::Cancel,
        );
        assert!(c.check_joinable().is_err());
    }

    #[test]
    fn the_scheduler_ends_as_of_the_end_time() {
        let mut f = fields();
        f.end_time = Some(f.start_time + chrono::TimeDelta::seconds(100));
        f.auto_start = true;
        f.auto_end = true;
        let start = f.start_time;
        let secs = |n: i64| start + chrono::TimeDelta::seconds(n);
        let mut s = LiveSession::new(f.clone(), secs(-10));
        assert!(!s.due_to_start(secs(-1)));
        assert!(s.due_to_start(secs(0)));
        assert!(s.due_to_start(secs(99)));
        assert!(!s.due_to_start(secs(100)), "a missed window is not started");
        s.start(secs(30)).unwrap();
        assert!(!s.due_to_end(secs(99)));
        assert!(s.due_to_end(secs(100)));
        assert_eq!(s.end_as_scheduled(secs(500)).unwrap(), Transition::Changed);
        assert_eq!(s.ended_at, Some(secs(100)));
        assert_eq!(s.live_seconds, 70);
        assert_eq!(s.updated_at, secs(500));
        assert_eq!(
            s.end_as_scheduled(secs(600)).unwrap(),
            Transition::Unchanged
        );

        // Started after its end time: ended as of the start, with no live time.
        let mut late = LiveSession::new(f, secs(-10));
        late.start(secs(200)).unwrap();
        late.end_as_scheduled(secs(201)).unwrap();
        assert_eq!((late.ended_at, late.live_seconds), (Some(secs(200)), 0));
    }

    #[test]
    fn a_session_nobody_watches_ends_minutes_after_it_became_empty() {
        let t = std::time::Duration::from_secs(90);
        let mut f = fields();
        f.end_when_empty = Some(crate::EmptyMinutes::new(10).unwrap());
        let mut s = LiveSession::new(f, at(0));
        assert_eq!(s.empty_end(None, t), None, "not live");
        s.start(at(100)).unwrap();
        // Nobody ever came: ten minutes after the start.
        assert_eq!(s.empty_end(None, t), Some(at(700)));
        // Seen before the start (joined while scheduled) and gone T later: from the start.
        assert_eq!(s.empty_end(Some(at(5)), t), Some(at(700)));
        assert_eq!(
            s.empty_end(Some(at(50)), t),
            Some(at(740)),
            "gone at 140, after the start"
        );
        // Last seen at 1000: empty from 1090, ends at 1690.
        assert_eq!(s.empty_end(Some(at(1000)), t), Some(at(1690)));
        assert!(!s.due_to_end_empty(at(1689), Some(at(1000)), t));
        assert!(s.due_to_end_empty(at(1690), Some(at(1000)), t));
        // A scheduler that was down ends it as of that moment, never after now.
        let mut late = s.clone();
        late.end_when_empty(at(5000), Some(at(1000)), t).unwrap();
        assert_eq!((late.ended_at, late.updated_at), (Some(at(1690)), at(5000)));
        assert_eq!(late.live_seconds, 1590);
        let mut early = s.clone();
        early.end_when_empty(at(600), None, t).unwrap();
        assert_eq!(early.ended_at, Some(at(600)));
        // Without the option nothing is due.
        s.fields.end_when_empty = None;
        assert_eq!(s.empty_end(None, t), None);
        assert!(!s.due_to_end_empty(at(1_000_000), None, t));
    }
}
