//! Participants and the attendance and watch-time rules.
//!
//! The rules are pure functions on [`Participant`] so that the in-memory store applies them
//! directly, SQL and MongoDB stores can mirror them in one statement each, and property tests can
//! check them against arbitrary operation sequences.
//!
//! With T the presence timeout, `credit(c)` adds `max(0, min(c, last_seen + T) − present_since)`
//! seconds and closes the open interval. A participant holds at most one open interval, so
//! several tabs or replayed heartbeats never credit twice. Events may arrive late (from a
//! second server, or after a concurrent start, end or leave): an interval only opens at a time
//! inside the current live period and not before the participant's last leave, so every
//! credited second lies inside a live period and is credited once.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::ids::{SessionId, UserId};
use crate::values::{Email, UserName};

/// The presence timeout T used when none is configured: 90 seconds (clients heartbeat every 30).
pub const DEFAULT_PRESENCE_TIMEOUT: Duration = Duration::from_secs(90);

/// One user's attendance of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// The session.
    pub session_id: SessionId,
    /// The user.
    pub user_id: UserId,
    /// Display name at the last join.
    pub user_name: UserName,
    /// Email at the last join.
    pub email: Email,
    /// First join (`joinTime` in the JSON API).
    pub first_joined_at: DateTime<Utc>,
    /// Most recent join.
    pub last_joined_at: DateTime<Utc>,
    /// Most recent join or heartbeat.
    pub last_seen: DateTime<Utc>,
    /// Most recent leave.
    pub left_at: Option<DateTime<Utc>>,
    /// Start of the open presence interval; `None` when not present.
    pub present_since: Option<DateTime<Utc>>,
    /// The first time an interval opened (the first presence while live); `None` while the
    /// participant has never been present. Attendance status reads it (absent, lobby only,
    /// late).
    pub first_present_at: Option<DateTime<Utc>>,
    /// Watch time credited from closed intervals, in seconds.
    pub watch_seconds: i64,
    /// How many times the user joined.
    pub join_count: u64,
    /// When the record was created.
    pub created_at: DateTime<Utc>,
}

/// Who joins: the identity comes from the verified token (an [`Actor`](crate::Actor)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joiner {
    /// The user.
    pub user_id: UserId,
    /// Display name.
    pub user_name: UserName,
    /// Email.
    pub email: Email,
}

impl Participant {
    /// The record created by a user's first join at `at` (before the presence rule applies).
    pub fn first_join(session_id: SessionId, joiner: Joiner, at: DateTime<Utc>) -> Self {
        Participant {
            session_id,
            user_id: joiner.user_id,
            user_name: joiner.user_name,
            email: joiner.email,
            first_joined_at: at,
            last_joined_at: at,
            last_seen: at,
            left_at: None,
            present_since: None,
            first_present_at: None,
            watch_seconds: 0,
            join_count: 1,
            created_at: at,
        }
    }

    /// A later join at `at`: bumps the join count and last join time, refreshes name and email.
    /// The presence rule is applied separately ([`Participant::touch`]).
    pub fn rejoin(&mut self, joiner: Joiner, at: DateTime<Utc>) {
        self.user_name = joiner.user_name;
        self.email = joiner.email;
        self.join_count += 1;
        if at > self.last_joined_at {
            self.last_joined_at = at;
        }
    }

    /// Whether an interval is open.
    pub fn is_present(&self) -> bool {
        self.present_since.is_some()
    }

    /// `credit(c)`: adds the open interval's seconds, capped at `last_seen + T`, and closes it.
    pub fn credit(&mut self, c: DateTime<Utc>, timeout: Duration) {
        if let Some(since) = self.present_since.take() {
            let cap = self.last_seen + timeout_delta(timeout);
            let until = c.min(cap);
            self.watch_seconds += (until - since).num_seconds().max(0);
        }
    }

    /// The presence rule at `t` (after a join or on a heartbeat). `live_since` is the start of
    /// the session's current live period, `None` when it is not live.
    ///
    /// A time older than `last_seen` or than the last leave (`left_at`) is ignored: a heartbeat
    /// sent before a leave and delivered after it does not reopen the interval the leave closed.
    /// While live and from the current period's start on, an interval is opened (or, after a gap
    /// longer than T, the old one is credited up to `last_seen + T` and a new one opened); an
    /// event stamped before that start (sent before a concurrent start or restart) opens
    /// nothing, as while not live. `last_seen` becomes `t`. The first interval ever opened
    /// sets `first_present_at`.
    pub fn touch(
        &mut self,
        t: DateTime<Utc>,
        live_since: Option<DateTime<Utc>>,
        timeout: Duration,
    ) {
        if t < self.last_seen || self.left_at.is_some_and(|left| t < left) {
            return;
        }
        if live_since.is_some_and(|since| t >= since) {
            match self.present_since {
                None => self.present_since = Some(t),
                Some(_) if t - self.last_seen > timeout_delta(timeout) => {
                    self.credit(self.last_seen + timeout_delta(timeout), timeout);
                    self.present_since = Some(t);
                }
                Some(_) => {}
            }
            if self.first_present_at.is_none() {
                self.first_present_at = self.present_since;
            }
        }
        self.last_seen = t;
    }

    /// `leave(t)`: credits the open interval at `t` and records the leave (`left_at` keeps the
    /// latest leave when a late one arrives). Leaving twice is harmless.
    pub fn leave(&mut self, t: DateTime<Utc>, timeout: Duration) {
        self.credit(t, timeout);
        self.left_at = Some(self.left_at.map_or(t, |left| left.max(t)));
    }

    /// Whether the participant counts as watching at `now`: present and seen within T.
    pub fn is_watching(&self, now: DateTime<Utc>, timeout: Duration) -> bool {
        self.present_since.is_some() && self.last_seen >= now - timeout_delta(timeout)
    }

    /// Watch seconds as of `now`: the credited seconds plus what crediting the open interval at
    /// `now` would add. Reports and attendance lists show this figure.
    pub fn watch_seconds_at(&self, now: DateTime<Utc>, timeout: Duration) -> i64 {
        let open = self
            .present_since
            .map(|since| {
                let until = now.min(self.last_seen + timeout_delta(timeout));
                (until - since).num_seconds().max(0)
            })
            .unwrap_or(0);
        self.watch_seconds + open
    }

    /// Watch time in whole minutes, rounded down (`watchDuration` in the JSON API).
    pub fn watch_minutes(&self) -> i64 {
        self.watch_seconds / 60
    }
}

/// The timeout as a chrono duration (saturating at a year, far beyond any sane setting).
pub fn timeout_delta(timeout: Duration) -> chrono::TimeDelta {
    let secs = timeout.as_secs().min(365 * 24 * 3600) as i64;
    chrono::TimeDelta::seconds(secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const T: Duration = DEFAULT_PRESENCE_TIMEOUT;

    /// Live since well before every time the tests use.
    const LIVE: Option<DateTime<Utc>> = Some(DateTime::<Utc>::MIN_UTC);

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
    }

    fn participant(t: i64) -> Participant {
        Participant::first_join(
            SessionId::new(),
            Joiner {
                user_id: UserId::parse("u1").unwrap(),
                user_name: UserName::parse("Ahmed").unwrap(),
                email: Email::parse("a@example.com").unwrap(),
            },
            at(t),
        )
    }

    #[test]
    fn heartbeats_credit_on_leave() {
        let mut p = participant(0);
        p.touch(at(0), LIVE, T);
        assert_eq!(p.present_since, Some(at(0)));
        assert_eq!(p.first_present_at, Some(at(0)));
        p.touch(at(30), LIVE, T);
        p.touch(at(60), LIVE, T);
        p.leave(at(75), T);
        assert_eq!(p.watch_seconds, 75);
        assert!(!p.is_present());
        p.leave(at(100), T);
        assert_eq!(p.watch_seconds, 75);
        assert_eq!(p.left_at, Some(at(100)));
    }

    #[test]
    fn gaps_longer_than_the_timeout_are_capped() {
        let mut p = participant(0);
        p.touch(at(0), LIVE, T);
        p.touch(at(30), LIVE, T);
        // Silent for 500 s: the first interval counts up to last_seen + T = 120.
        p.touch(at(530), LIVE, T);
        assert_eq!(p.watch_seconds, 120);
        assert_eq!(p.present_since, Some(at(530)));
        // Leaving long after the last heartbeat only counts up to last_seen + T.
        p.leave(at(1000), T);
        assert_eq!(p.watch_seconds, 120 + 90);
    }

    #[test]
    fn stale_heartbeats_are_ignored_and_not_live_only_updates_last_seen() {
        let mut p = participant(0);
        p.touch(at(100), None, T);
        assert_eq!(p.present_since, None);
        assert_eq!(p.last_seen, at(100));
        p.touch(at(50), LIVE, T);
        assert_eq!(p.present_since, None);
        assert_eq!(p.last_seen, at(100));
        p.touch(at(120), LIVE, T);
        assert_eq!(p.present_since, Some(at(120)));
        // A second tab's heartbeat does not open another interval.
        p.touch(at(130), LIVE, T);
        assert_eq!(p.present_since, Some(at(120)));
        p.credit(at(150), T);
        assert_eq!(p.watch_seconds, 30);
    }

    #[test]
    fn an_event_older_than_the_last_leave_does_not_reopen_the_interval() {
        let mut p = participant(0);
        p.touch(at(0), LIVE, T);
        p.leave(at(60), T);
        assert_eq!(p.watch_seconds, 60);
        // A heartbeat sent at 50 by a lagging server arrives after the leave.
        p.touch(at(50), LIVE, T);
        assert_eq!(
            p.present_since, None,
            "a late heartbeat reopened the interval"
        );
        assert_eq!(p.last_seen, at(0));
        // A late leave does not move the last leave back.
        p.leave(at(30), T);
        assert_eq!(p.left_at, Some(at(60)));
        p.touch(at(59), LIVE, T);
        assert_eq!(p.present_since, None);
        // Coming back after the leave opens a new interval.
        p.touch(at(70), LIVE, T);
        assert_eq!(p.present_since, Some(at(70)));
        p.leave(at(100), T);
        assert_eq!(p.watch_seconds, 60 + 30);
    }

    #[test]
    fn an_event_from_before_the_live_period_opens_nothing() {
        let mut p = participant(0);
        // Live since 120; a heartbeat stamped 100 arrives after the start.
        p.touch(at(100), Some(at(120)), T);
        assert_eq!(p.present_since, None);
        assert_eq!(p.first_present_at, None);
        assert_eq!(p.last_seen, at(100));
        p.touch(at(120), Some(at(120)), T);
        assert_eq!(p.present_since, Some(at(120)));
        assert_eq!(p.first_present_at, Some(at(120)));
        p.credit(at(150), T);
        assert_eq!(p.watch_seconds, 30);
        // After a restart at 400, an event stamped between the periods opens nothing either.
        p.touch(at(300), Some(at(400)), T);
        assert_eq!(p.present_since, None);
        p.touch(at(410), Some(at(400)), T);
        assert_eq!(p.present_since, Some(at(410)));
        assert_eq!(
            p.first_present_at,
            Some(at(120)),
            "only the first presence counts"
        );
    }

    #[test]
    fn watching_and_provisional_watch_time() {
        let mut p = participant(0);
        p.touch(at(0), LIVE, T);
        assert!(p.is_watching(at(90), T));
        assert!(!p.is_watching(at(91), T));
        assert_eq!(p.watch_seconds_at(at(60), T), 60);
        assert_eq!(p.watch_seconds_at(at(500), T), 90);
        p.watch_seconds = 125;
        assert_eq!(p.watch_minutes(), 2);
    }
}
