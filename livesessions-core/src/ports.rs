//! The ports: what the service needs from the outside world.
//!
//! A storage adapter implements [`SessionStore`], [`AttendanceStore`] and [`AnalyticsStore`]
//! (usually on one type, which then is a [`Store`]) and proves itself with the
//! [conformance suite](crate::testing). Each method's documentation says what it must return;
//! the suite checks it.

use std::fmt::Debug;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::analytics::{
    AttendancePage, AttendanceQuery, Overview, OverviewQuery, Participation, ParticipationQuery,
    ReportQuery, SessionReport,
};
use crate::attendance::{Joiner, Participant};
use crate::error::Result;
use crate::events::EventKind;
use crate::ids::{SeriesId, SessionId, UserId};
use crate::presence::Presence;
use crate::roster::RosterStore;
use crate::series::{SeriesSummary, SeriesSummaryQuery};
use crate::session::{ListQuery, LiveSession, Page};

/// Sessions: create, read, change, delete, list.
#[async_trait]
pub trait SessionStore: Debug + Send + Sync + 'static {
    /// Stores a new session. An existing id is `Conflict(AlreadyExists)`.
    async fn insert_session(&self, session: &LiveSession) -> Result<()>;

    /// The session, or `None`.
    async fn get_session(&self, id: SessionId) -> Result<Option<LiveSession>>;

    /// Replaces the stored session with `session` if the stored version is
    /// `session.version - 1` (the caller bumped it). A missing session is `NotFound`; another
    /// version is `Conflict(VersionMismatch)`. The `participants` count is the store's: the
    /// value in `session` is ignored and the stored one kept.
    /// `event` is what the change is (`updated`, `live` or `cancelled`): a store with an
    /// [`EventLog`](crate::events::EventLog) appends it in the same transaction.
    /// Returns the session as stored.
    async fn update_session(&self, session: &LiveSession, event: EventKind) -> Result<LiveSession>;

    /// Deletes the session and all its participants. Returns whether it existed.
    async fn delete_session(&self, id: SessionId) -> Result<bool>;

    /// A page of sessions matching the query, in [`ListKey`](crate::ListKey) order, starting
    /// after `query.after`. `next` is set when more sessions may follow (the key of the last item).
    async fn list_sessions(&self, query: &ListQuery) -> Result<Page<LiveSession>>;

    /// The sessions the scheduler has to act on at `now`, from an index (never a scan of every
    /// session): at most `limit` due to start ([`LiveSession::due_to_start`]: scheduled,
    /// `auto_start`, `start_time <= now`, no `end_time` or `now < end_time`), earliest start
    /// first, followed by at most `limit` due to end ([`LiveSession::due_to_end`]: live,
    /// `auto_end`, `end_time <= now`), earliest end first.
    async fn due_sessions(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<LiveSession>>;

    /// Stores the occurrences of a new series (each as [`SessionStore::insert_session`] would,
    /// with its `created` event) in one atomic operation: all of them or, on any error (an
    /// existing id is `Conflict(AlreadyExists)`), none.
    async fn insert_series(&self, sessions: &[LiveSession]) -> Result<()>;

    /// Every occurrence of the series, earliest start first (then by id), from an index on
    /// the series id; empty when there is no such series.
    async fn series_sessions(&self, series_id: SeriesId) -> Result<Vec<LiveSession>>;

    /// At most `limit` live sessions that nobody has watched for their
    /// `end_when_empty` minutes at `now` ([`LiveSession::due_to_end_empty`], with T =
    /// `presence_timeout` and the latest `last_seen` of each session's participants), each
    /// with that latest `last_seen`. Read from indexes: the live sessions having the option,
    /// and each one's participants by session (never a scan of every session).
    async fn empty_sessions(
        &self,
        now: DateTime<Utc>,
        presence_timeout: Duration,
        limit: usize,
    ) -> Result<Vec<EmptySession>>;
}

/// A live session nobody watches, as [`SessionStore::empty_sessions`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmptySession {
    /// The session.
    pub session: LiveSession,
    /// The latest `last_seen` of its participants, `None` when nobody joined it.
    pub last_seen: Option<DateTime<Utc>>,
}

/// The result of a join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinOutcome {
    /// The participant after the join and the presence rule.
    pub participant: Participant,
    /// The session after the join (with its new participant count).
    pub session: LiveSession,
    /// Whether this was the user's first join (the count went up by one).
    pub first_join: bool,
}

/// A join request as the store receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRequest {
    /// The session.
    pub session_id: SessionId,
    /// Who joins.
    pub joiner: Joiner,
    /// When (the service's clock), and the presence timeout T.
    pub presence: Presence,
    /// Whether the joiner is an admin: admins may join restricted sessions without being on
    /// their roster.
    pub admin: bool,
}

/// Attendance: joins, heartbeats, leaves, and ending a session.
#[async_trait]
pub trait AttendanceStore: Debug + Send + Sync + 'static {
    /// One atomic operation: checks the session exists (`NotFound`) and accepts joins
    /// (`Conflict(InvalidTransition { action: Join })` unless scheduled or live), and, when the
    /// session is `restricted` and the joiner is no admin, that the joiner is on its roster
    /// ([`Error::NotOnRoster`](crate::Error::NotOnRoster)); creates the
    /// participant on the first join and increments the session's `participants` by exactly one,
    /// or on a rejoin bumps `join_count` and `last_joined_at` and refreshes name and email; then
    /// applies the presence rule at `presence.at` ([`Participant::touch`] with the session's
    /// [`LiveSession::live_period_start`], read in the same atomic operation).
    /// Concurrent joins of one user count once; concurrent joins of many users all count.
    /// An interval opened for the first time sets the participant's `first_present_at`.
    async fn join(&self, request: &JoinRequest) -> Result<JoinOutcome>;

    /// Applies the presence rule at `presence.at` to the participant (`NotFound` when the session or the
    /// participant does not exist), with the start of the session's current live period
    /// ([`LiveSession::live_period_start`]) as it is when the participant is updated: an
    /// interval opened after a concurrent end must not stay open.
    async fn heartbeat(
        &self,
        session_id: SessionId,
        user_id: &UserId,
        presence: Presence,
    ) -> Result<Participant>;

    /// [`Participant::leave`] at `presence.at` (`NotFound` when there is no participant).
    async fn leave(
        &self,
        session_id: SessionId,
        user_id: &UserId,
        presence: Presence,
    ) -> Result<Participant>;

    /// One atomic operation: stores `ended` (a session the service just moved to `ended`,
    /// version rules as [`SessionStore::update_session`]) and credits every present participant
    /// of it at `ended.ended_at` ([`Participant::credit`]). Returns the stored session.
    async fn end_session(&self, ended: &LiveSession, timeout: Duration) -> Result<LiveSession>;

    /// One participant, or `None`.
    async fn get_participant(
        &self,
        session_id: SessionId,
        user_id: &UserId,
    ) -> Result<Option<Participant>>;

    /// How many participants of the session are watching at `presence.at` (present, seen
    /// within T).
    async fn watching(&self, session_id: SessionId, presence: Presence) -> Result<u64>;

    /// [`AttendanceStore::watching`] of several sessions, in the order given (a list page asks
    /// it for every live session on the page). The default asks one session at a time; stores
    /// that can answer in one query override it.
    async fn watching_many(
        &self,
        session_ids: &[SessionId],
        presence: Presence,
    ) -> Result<Vec<u64>> {
        let mut counts = Vec::with_capacity(session_ids.len());
        for id in session_ids {
            counts.push(self.watching(*id, presence).await?);
        }
        Ok(counts)
    }
}

/// Analytics computed by the store, in the database (never by loading every participant).
#[async_trait]
pub trait AnalyticsStore: Debug + Send + Sync + 'static {
    /// The report of one session (`NotFound` if it does not exist). Watch seconds are as of
    /// `query.now` ([`Participant::watch_seconds_at`]). `statuses` counts every roster member
    /// and every participant by [`StatusRule::status`](crate::roster::StatusRule::status)
    /// under [`ReportQuery::status_rule`].
    async fn session_report(&self, query: &ReportQuery) -> Result<SessionReport>;

    /// A page of a session's attendance (`NotFound` if the session does not exist).
    async fn attendance(&self, query: &AttendanceQuery) -> Result<AttendancePage>;

    /// Totals and popular sessions for sessions starting in the range.
    async fn overview(&self, query: &OverviewQuery) -> Result<Overview>;

    /// One user's participation history; each row's `status` and `late` follow
    /// [`StatusRule::status`](crate::roster::StatusRule::status) with the row's session's own
    /// live time as of `query.now`, its threshold (75 when it has none) and its late rule
    /// (`started_at + late_after`).
    async fn participation(&self, query: &ParticipationQuery) -> Result<Participation>;

    /// The attendance summary of a series, computed in the database: `occurrences` and `ended`
    /// count the series' sessions (all, and those with status `ended`); each student who joined
    /// any occurrence, by user id after `query.after`, at most `query.limit` of them (`next`
    /// set when more follow), with the ended occurrences they attended (credited watch seconds
    /// meet `threshold_percent` of that occurrence's `live_seconds`, the rule of
    /// [`attended`](crate::memory::attended)) and their credited watch seconds over all
    /// occurrences; name and email from their latest join. An unknown series is `NotFound`.
    async fn series_summary(&self, query: &SeriesSummaryQuery) -> Result<SeriesSummary>;
}

/// A complete store: sessions, attendance, analytics and rosters on one backend.
pub trait Store: SessionStore + AttendanceStore + AnalyticsStore + RosterStore {}

impl<T: SessionStore + AttendanceStore + AnalyticsStore + RosterStore> Store for T {}

/// A store that can tell whether its backend is reachable (readiness probes).
#[async_trait]
pub trait HealthCheck: Debug + Send + Sync + 'static {
    /// `Ok` when the backend answers; `Unavailable` otherwise.
    async fn ping(&self) -> Result<()>;
}
