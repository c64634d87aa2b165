//! [`MemoryStore`]: a complete, concurrency-safe store in process memory.
//!
//! Every operation takes one lock for its whole duration, so each is atomic exactly as the
//! ports require. Suitable for tests, examples and single-process deployments that can lose
//! their data on restart.
//!
//! It keeps an [`EventLog`] too: every change appends its event under the same lock, and
//! [`EventLog::wait_for_events`] is woken by the store's own writes.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::analytics::{
    AttendancePage, AttendanceQuery, AttendanceRow, AttendanceSort, Overview, OverviewQuery,
    Participation, ParticipationQuery, ParticipationRow, PopularBy, PopularSession, ReportQuery,
    SessionReport, SortOrder,
};
use crate::attendance::Participant;
use crate::error::{Conflict, Error, Result};
use crate::events::{EventId, EventKind, EventLog, LogPosition, LoggedEvent};
use crate::ids::{SeriesId, SessionId, UserId};
use crate::ports::EmptySession;
use crate::ports::{
    AnalyticsStore, AttendanceStore, HealthCheck, JoinOutcome, JoinRequest, SessionStore,
};
use crate::presence::Presence;
use crate::roster::{RosterMember, StatusCounts, StatusRule};
use crate::series::{SeriesAttendance, SeriesSummary, SeriesSummaryQuery};
use crate::session::{ListQuery, LiveSession, Page, SessionStatus};
use crate::values::Seat;

#[derive(Debug, Default)]
struct Inner {
    sessions: HashMap<SessionId, LiveSession>,
    participants: HashMap<SessionId, BTreeMap<UserId, Participant>>,
    log: Log,
    calendar_feeds: crate::calendar::FeedTokens,
    rosters: Rosters,
}

impl Inner {
    /// The seats held for the roster members of `session` who have not joined: counted only
    /// when it has a capacity (0 otherwise), from the roster and the participants, under the
    /// lock the caller holds.
    fn reserved_seats(&self, session: &LiveSession) -> u64 {
        if session.fields.capacity.is_none() {
            return 0;
        }
        let joined = self.participants.get(&session.id);
        self.rosters.get(&session.id).map_or(0, |roster| {
            roster
                .keys()
                .filter(|user| !joined.is_some_and(|ps| ps.contains_key(*user)))
                .count() as u64
        })
    }

    /// `session` as the store answers it: with its reserved seats counted now.
    fn seated(&self, session: &LiveSession) -> LiveSession {
        let mut session = session.clone();
        session.reserved_seats = self.reserved_seats(&session);
        session
    }
}

/// Each session's roster, by user id.
type Rosters = HashMap<SessionId, BTreeMap<UserId, RosterMember>>;

/// The event log: events in id order, the last id given, and the pruned floor.
#[derive(Debug, Default)]
struct Log {
    events: VecDeque<LoggedEvent>,
    last: i64,
    pruned_through: EventId,
    fail_appends: bool,
}

impl Log {
    /// Fails when appends are made to fail ([`MemoryStore::fail_event_appends`]); called
    /// before a change that will append, so a failed append leaves the change undone.
    fn check(&self) -> Result<()> {
        if self.fail_appends {
            Err(Error::storage(std::io::Error::other(
                "the event log refuses appends (fault injected)",
            )))
        } else {
            Ok(())
        }
    }

    fn append(&mut self, kind: EventKind, session_id: SessionId) {
        self.last += 1;
        self.events.push_back(LoggedEvent {
            id: EventId::new(self.last).unwrap_or_default(),
            kind,
            session_id,
            at: Utc::now(),
        });
    }
}

/// A store in process memory. Clones share the same data.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    inner: Arc<RwLock<Inner>>,
    appended: Arc<Notify>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied change: every mutation
        // below is computed first and written in one step.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the rosters, the sessions and their participants, under the write lock
    /// (`roster/memory.rs` implements the roster port with it).
    pub(crate) fn with_rosters<R>(
        &self,
        f: impl FnOnce(
            &mut Rosters,
            &HashMap<SessionId, LiveSession>,
            &HashMap<SessionId, BTreeMap<UserId, Participant>>,
        ) -> R,
    ) -> R {
        let mut inner = self.write();
        let inner = &mut *inner;
        f(&mut inner.rosters, &inner.sessions, &inner.participants)
    }

    /// Wakes the readers waiting in [`EventLog::wait_for_events`].
    /// Runs `f` on the calendar feed tokens, the sessions and their participants, under the
    /// write lock (`calendar/memory.rs` implements the calendar port with it).
    pub(crate) fn with_calendar<R>(
        &self,
        f: impl FnOnce(
            &mut crate::calendar::FeedTokens,
            &HashMap<SessionId, LiveSession>,
            &HashMap<SessionId, BTreeMap<UserId, Participant>>,
            &Rosters,
        ) -> R,
    ) -> R {
        let mut inner = self.write();
        let inner = &mut *inner;
        f(
            &mut inner.calendar_feeds,
            &inner.sessions,
            &inner.participants,
            &inner.rosters,
        )
    }

    fn wake(&self) {
        self.appended.notify_waiters();
    }

    /// Makes every change that would append an event fail with `Storage` (and change
    /// nothing) while `fail` is true: fault injection for tests of the outbox rule.
    #[cfg(feature = "testing")]
    pub fn fail_event_appends(&self, fail: bool) {
        self.write().log.fail_appends = fail;
    }
}

fn check_version(stored: &LiveSession, new: &LiveSession) -> Result<()> {
    if stored.version + 1 == new.version {
        Ok(())
    } else {
        Err(Conflict::VersionMismatch {
            expected: new.version.saturating_sub(1),
            actual: Some(stored.version),
        }
        .into())
    }
}

fn replace_session(inner: &mut Inner, new: &LiveSession) -> Result<LiveSession> {
    let stored = inner
        .sessions
        .get_mut(&new.id)
        .ok_or_else(|| Error::session_not_found(new.id))?;
    check_version(stored, new)?;
    let participants = stored.participants;
    *stored = new.clone();
    stored.participants = participants;
    Ok(stored.clone())
}

/// The participant `user_id` of `session_id`, to change, or `NotFound`.
fn participant_mut<'a>(
    inner: &'a mut Inner,
    session_id: SessionId,
    user_id: &UserId,
) -> Result<&'a mut Participant> {
    inner
        .participants
        .get_mut(&session_id)
        .and_then(|ps| ps.get_mut(user_id))
        .ok_or_else(|| Error::participant_not_found(session_id, user_id))
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn insert_session(&self, session: &LiveSession) -> Result<()> {
        // One session is a series of one: the same check, write and events.
        self.insert_series(std::slice::from_ref(session)).await
    }

    async fn get_session(&self, id: SessionId) -> Result<Option<LiveSession>> {
        let inner = self.read();
        Ok(inner.sessions.get(&id).map(|s| inner.seated(s)))
    }

    async fn update_session(&self, session: &LiveSession, event: EventKind) -> Result<LiveSession> {
        let mut inner = self.write();
        inner.log.check()?;
        let stored = replace_session(&mut inner, session)?;
        let stored = inner.seated(&stored);
        inner.log.append(event, session.id);
        drop(inner);
        self.wake();
        Ok(stored)
    }

    async fn delete_session(&self, id: SessionId) -> Result<bool> {
        let mut inner = self.write();
        if !inner.sessions.contains_key(&id) {
            return Ok(false);
        }
        inner.log.check()?;
        inner.participants.remove(&id);
        inner.rosters.remove(&id);
        inner.sessions.remove(&id);
        inner.log.append(EventKind::Deleted, id);
        drop(inner);
        self.wake();
        Ok(true)
    }

    async fn list_sessions(&self, query: &ListQuery) -> Result<Page<LiveSession>> {
        let inner = self.read();
        let mut matching: Vec<&LiveSession> = inner
            .sessions
            .values()
            .filter(|s| query.matches(s))
            .filter(|s| query.after.is_none_or(|c| s.list_key() > c.0))
            .collect();
        matching.sort_by_key(|s| s.list_key());
        let limit = query.limit as usize;
        let more = matching.len() > limit;
        let items: Vec<LiveSession> = matching
            .into_iter()
            .take(limit)
            .map(|s| inner.seated(s))
            .collect();
        Ok(Page::of_sessions(items, more))
    }

    /// In memory, a pass over the sessions (as every query of this store is).
    async fn due_sessions(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<LiveSession>> {
        let inner = self.read();
        let mut starts: Vec<&LiveSession> = inner
            .sessions
            .values()
            .filter(|s| s.due_to_start(now))
            .collect();
        starts.sort_by_key(|s| (s.fields.start_time, s.id));
        let mut ends: Vec<&LiveSession> = inner
            .sessions
            .values()
            .filter(|s| s.due_to_end(now))
            .collect();
        ends.sort_by_key(|s| (s.fields.end_time, s.id));
        Ok(starts
            .into_iter()
            .take(limit)
            .chain(ends.into_iter().take(limit))
            .map(|s| inner.seated(s))
            .collect())
    }

    async fn insert_series(&self, sessions: &[LiveSession]) -> Result<()> {
        let mut inner = self.write();
        if let Some(taken) = sessions.iter().find(|s| inner.sessions.contains_key(&s.id)) {
            return Err(Conflict::AlreadyExists {
                entity: "session",
                id: taken.id.to_string(),
            }
            .into());
        }
        inner.log.check()?;
        for session in sessions {
            let mut stored = session.clone();
            stored.participants = 0;
            inner.sessions.insert(session.id, stored);
            inner.log.append(EventKind::Created, session.id);
            if session.is_live() {
                inner.log.append(EventKind::Live, session.id);
            }
        }
        drop(inner);
        self.wake();
        Ok(())
    }

    async fn series_sessions(&self, series_id: SeriesId) -> Result<Vec<LiveSession>> {
        let inner = self.read();
        let mut sessions: Vec<LiveSession> = inner
            .sessions
            .values()
            .filter(|s| s.series.as_ref().is_some_and(|l| l.id == series_id))
            .map(|s| inner.seated(s))
            .collect();
        sessions.sort_by_key(|s| (s.fields.start_time, s.id));
        Ok(sessions)
    }

    /// In memory, a pass over the sessions and the participants of those having the option.
    async fn empty_sessions(
        &self,
        now: DateTime<Utc>,
        presence_timeout: Duration,
        limit: usize,
    ) -> Result<Vec<EmptySession>> {
        let inner = self.read();
        let mut empty: Vec<EmptySession> = inner
            .sessions
            .values()
            .filter(|s| s.is_live() && s.fields.end_when_empty.is_some())
            .filter_map(|s| {
                let last_seen = inner
                    .participants
                    .get(&s.id)
                    .and_then(|ps| ps.values().map(|p| p.last_seen).max());
                s.due_to_end_empty(now, last_seen, presence_timeout)
                    .then(|| EmptySession {
                        session: inner.seated(s),
                        last_seen,
                    })
            })
            .collect();
        empty.sort_by_key(|e| (e.session.live_since, e.session.id));
        empty.truncate(limit);
        Ok(empty)
    }
}

#[async_trait]
impl AttendanceStore for MemoryStore {
    async fn join(&self, request: &JoinRequest) -> Result<JoinOutcome> {
        let Presence { at, timeout } = request.presence;
        let mut inner = self.write();
        let session = inner
            .sessions
            .get(&request.session_id)
            .ok_or_else(|| Error::session_not_found(request.session_id))?;
        session.check_joinable()?;
        if session.fields.restricted
            && !request.admin
            && !inner
                .rosters
                .get(&request.session_id)
                .is_some_and(|roster| roster.contains_key(&request.joiner.user_id))
        {
            return Err(Error::NotOnRoster);
        }
        let live = session.live_period_start();
        let known = inner
            .participants
            .get(&request.session_id)
            .is_some_and(|ps| ps.contains_key(&request.joiner.user_id));
        if !known && session.fields.capacity.is_some() {
            // Checked under the store's lock, with the insert below: exact under concurrency.
            let on_roster = inner
                .rosters
                .get(&request.session_id)
                .is_some_and(|roster| roster.contains_key(&request.joiner.user_id));
            inner
                .seated(session)
                .check_seat_for_new_participant(Seat::of(on_roster))?;
        }
        if !known {
            inner.log.check()?;
        }
        let participants = inner.participants.entry(request.session_id).or_default();
        let (participant, first_join) = match participants.get_mut(&request.joiner.user_id) {
            Some(existing) => {
                existing.rejoin(request.joiner.clone(), at);
                existing.touch(at, live, timeout);
                (existing.clone(), false)
            }
            None => {
                let mut p = Participant::first_join(request.session_id, request.joiner.clone(), at);
                p.touch(at, live, timeout);
                participants.insert(p.user_id.clone(), p.clone());
                (p, true)
            }
        };
        let session = inner
            .sessions
            .get_mut(&request.session_id)
            .ok_or_else(|| Error::session_not_found(request.session_id))?;
        if first_join {
            session.participants += 1;
        }
        let session = session.clone();
        let session = inner.seated(&session);
        if first_join {
            inner
                .log
                .append(EventKind::Participants, request.session_id);
            drop(inner);
            self.wake();
        }
        Ok(JoinOutcome {
            participant,
            session,
            first_join,
        })
    }

    async fn heartbeat(
        &self,
        session_id: SessionId,
        user_id: &UserId,
        Presence { at, timeout }: Presence,
    ) -> Result<Participant> {
        let mut inner = self.write();
        let live = inner
            .sessions
            .get(&session_id)
            .ok_or_else(|| Error::session_not_found(session_id))?
            .live_period_start();
        let p = participant_mut(&mut inner, session_id, user_id)?;
        p.touch(at, live, timeout);
        Ok(p.clone())
    }

    async fn leave(
        &self,
        session_id: SessionId,
        user_id: &UserId,
        Presence { at, timeout }: Presence,
    ) -> Result<Participant> {
        let mut inner = self.write();
        let p = participant_mut(&mut inner, session_id, user_id)?;
        p.leave(at, timeout);
        Ok(p.clone())
    }

    async fn end_session(&self, ended: &LiveSession, timeout: Duration) -> Result<LiveSession> {
        let mut inner = self.write();
        inner.log.check()?;
        let stored = replace_session(&mut inner, ended)?;
        let stored = inner.seated(&stored);
        let at = ended.ended_at.unwrap_or(ended.updated_at);
        if let Some(participants) = inner.participants.get_mut(&ended.id) {
            for p in participants.values_mut() {
                p.credit(at, timeout);
            }
        }
        inner.log.append(EventKind::Ended, ended.id);
        drop(inner);
        self.wake();
        Ok(stored)
    }

    async fn get_participant(
        &self,
        session_id: SessionId,
        user_id: &UserId,
    ) -> Result<Option<Participant>> {
        Ok(self
            .read()
            .participants
            .get(&session_id)
            .and_then(|ps| ps.get(user_id))
            .cloned())
    }

    async fn watching(&self, session_id: SessionId, presence: Presence) -> Result<u64> {
        let Presence { at: now, timeout } = presence;
        Ok(self
            .read()
            .participants
            .get(&session_id)
            .map(|ps| ps.values().filter(|p| p.is_watching(now, timeout)).count() as u64)
            .unwrap_or(0))
    }
}

#[async_trait]
impl AnalyticsStore for MemoryStore {
    async fn session_report(&self, query: &ReportQuery) -> Result<SessionReport> {
        let inner = self.read();
        if !inner.sessions.contains_key(&query.session_id) {
            return Err(Error::session_not_found(query.session_id));
        }
        let empty = BTreeMap::new();
        let participants = inner.participants.get(&query.session_id).unwrap_or(&empty);
        let mut report = SessionReport {
            session_id: query.session_id,
            participants: participants.len() as u64,
            watching: 0,
            total_watch_seconds: 0,
            max_watch_seconds: 0,
            live_seconds: query.live_seconds,
            threshold_percent: query.threshold_percent,
            attended: 0,
            roster_members: 0,
            statuses: StatusCounts::default(),
        };
        let rule = query.status_rule();
        if let Some(roster) = inner.rosters.get(&query.session_id) {
            report.roster_members = roster.len() as u64;
            let absent = roster
                .keys()
                .filter(|m| !participants.contains_key(*m))
                .count() as u64;
            report.statuses.absent += absent;
        }
        for p in participants.values() {
            let (status, late) = rule.status(Some(p));
            report.statuses.add(status, late);
            let seconds = p.watch_seconds_at(query.now, query.timeout);
            report.total_watch_seconds += seconds;
            report.max_watch_seconds = report.max_watch_seconds.max(seconds);
            if p.is_watching(query.now, query.timeout) {
                report.watching += 1;
            }
            if attended(seconds, query.live_seconds, query.threshold_percent) {
                report.attended += 1;
            }
        }
        Ok(report)
    }

    async fn attendance(&self, query: &AttendanceQuery) -> Result<AttendancePage> {
        let inner = self.read();
        if !inner.sessions.contains_key(&query.session_id) {
            return Err(Error::session_not_found(query.session_id));
        }
        let mut rows: Vec<AttendanceRow> = inner
            .participants
            .get(&query.session_id)
            .map(|ps| {
                ps.values()
                    .map(|p| AttendanceRow {
                        watch_seconds_now: p.watch_seconds_at(query.now, query.timeout),
                        participant: p.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let total = rows.len() as u64;
        rows.sort_by(|a, b| {
            let primary = match query.sort {
                AttendanceSort::JoinTime => a
                    .participant
                    .first_joined_at
                    .cmp(&b.participant.first_joined_at),
                AttendanceSort::WatchTime => a.watch_seconds_now.cmp(&b.watch_seconds_now),
                AttendanceSort::Name => a
                    .participant
                    .user_name
                    .as_str()
                    .to_lowercase()
                    .cmp(&b.participant.user_name.as_str().to_lowercase()),
            };
            let primary = match query.order {
                SortOrder::Asc => primary,
                SortOrder::Desc => primary.reverse(),
            };
            primary.then_with(|| a.participant.user_id.cmp(&b.participant.user_id))
        });
        let rows = rows
            .into_iter()
            .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
            .take(query.limit as usize)
            .collect();
        Ok(AttendancePage { rows, total })
    }

    async fn overview(&self, query: &OverviewQuery) -> Result<Overview> {
        let inner = self.read();
        let mut popular = Vec::new();
        let mut records = 0u64;
        let mut watch = 0i64;
        for s in inner
            .sessions
            .values()
            .filter(|s| s.fields.start_time >= query.from && s.fields.start_time < query.to)
        {
            let (count, seconds) = inner
                .participants
                .get(&s.id)
                .map(|ps| {
                    (
                        ps.len() as u64,
                        ps.values().map(|p| p.watch_seconds).sum::<i64>(),
                    )
                })
                .unwrap_or((0, 0));
            records += count;
            watch += seconds;
            popular.push(PopularSession {
                session_id: s.id,
                title: s.fields.title.clone(),
                status: s.status,
                start_time: s.fields.start_time,
                participants: s.participants,
                total_watch_seconds: seconds,
            });
        }
        let sessions = popular.len() as u64;
        popular.sort_by(|a, b| {
            let measure = match query.by {
                PopularBy::Participants => b.participants.cmp(&a.participants),
                PopularBy::WatchTime => b.total_watch_seconds.cmp(&a.total_watch_seconds),
            };
            measure.then_with(|| a.session_id.cmp(&b.session_id))
        });
        popular.truncate(query.top as usize);
        Ok(Overview {
            sessions,
            participants: records,
            total_watch_seconds: watch,
            popular,
        })
    }

    async fn participation(&self, query: &ParticipationQuery) -> Result<Participation> {
        let inner = self.read();
        let mut rows = Vec::new();
        let mut total = 0i64;
        for (session_id, ps) in &inner.participants {
            let (Some(p), Some(s)) = (ps.get(&query.user_id), inner.sessions.get(session_id))
            else {
                continue;
            };
            total += p.watch_seconds;
            let rule = StatusRule::for_session(s, query.now, query.timeout);
            let (attendance, late) = rule.status(Some(p));
            rows.push(ParticipationRow {
                session_id: *session_id,
                title: s.fields.title.clone(),
                status: s.status,
                start_time: s.fields.start_time,
                first_joined_at: p.first_joined_at,
                last_joined_at: p.last_joined_at,
                watch_seconds: p.watch_seconds,
                join_count: p.join_count,
                attendance,
                late,
            });
        }
        let sessions_joined = rows.len() as u64;
        rows.sort_by(|a, b| {
            b.first_joined_at
                .cmp(&a.first_joined_at)
                .then_with(|| a.session_id.cmp(&b.session_id))
        });
        rows.truncate(query.limit as usize);
        Ok(Participation {
            user_id: query.user_id.clone(),
            sessions_joined,
            total_watch_seconds: total,
            sessions: rows,
        })
    }

    async fn series_summary(&self, query: &SeriesSummaryQuery) -> Result<SeriesSummary> {
        let inner = self.read();
        let sessions: Vec<&LiveSession> = inner
            .sessions
            .values()
            .filter(|s| s.series.as_ref().is_some_and(|l| l.id == query.series_id))
            .collect();
        if sessions.is_empty() {
            return Err(Error::NotFound {
                entity: "series",
                id: query.series_id.to_string(),
            });
        }
        let ended = sessions
            .iter()
            .filter(|s| s.status == SessionStatus::Ended)
            .count() as u64;
        let mut students: BTreeMap<&UserId, (SeriesAttendance, DateTime<Utc>)> = BTreeMap::new();
        for session in &sessions {
            for p in inner
                .participants
                .get(&session.id)
                .into_iter()
                .flatten()
                .map(|(_, p)| p)
            {
                if query
                    .after
                    .as_ref()
                    .is_some_and(|after| &p.user_id <= after)
                {
                    continue;
                }
                let (row, latest) = students.entry(&p.user_id).or_insert_with(|| {
                    (
                        SeriesAttendance {
                            user_id: p.user_id.clone(),
                            user_name: String::new(),
                            email: String::new(),
                            attended: 0,
                            ended,
                            watch_seconds: 0,
                        },
                        DateTime::<Utc>::MIN_UTC,
                    )
                });
                if p.last_joined_at >= *latest {
                    *latest = p.last_joined_at;
                    row.user_name = p.user_name.as_str().to_owned();
                    row.email = p.email.as_str().to_owned();
                }
                row.watch_seconds += p.watch_seconds;
                if session.status == SessionStatus::Ended
                    && attended(
                        p.watch_seconds,
                        session.live_seconds,
                        query.threshold_percent,
                    )
                {
                    row.attended += 1;
                }
            }
        }
        let limit = query.limit as usize;
        let more = students.len() > limit;
        let students: Vec<SeriesAttendance> = students
            .into_values()
            .take(limit)
            .map(|(row, _)| row)
            .collect();
        Ok(SeriesSummary {
            series_id: query.series_id,
            occurrences: sessions.len() as u64,
            ended,
            threshold_percent: query.threshold_percent,
            next: if more {
                students.last().map(|s| s.user_id.clone())
            } else {
                None
            },
            students,
        })
    }
}

#[async_trait]
impl EventLog for MemoryStore {
    async fn read_events(&self, after: EventId, limit: usize) -> Result<Vec<LoggedEvent>> {
        let inner = self.read();
        let events = &inner.log.events;
        let start = events.partition_point(|event| event.id <= after);
        Ok(events.range(start..).take(limit).copied().collect())
    }

    async fn log_position(&self) -> Result<LogPosition> {
        let log = &self.read().log;
        Ok(LogPosition {
            last: EventId::new(log.last).unwrap_or_default(),
            pruned_through: log.pruned_through,
        })
    }

    async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64> {
        let log = &mut self.write().log;
        let mut pruned = 0;
        while log.events.front().is_some_and(|event| event.at < before) {
            if let Some(event) = log.events.pop_front() {
                log.pruned_through = log.pruned_through.max(event.id);
                pruned += 1;
            }
        }
        Ok(pruned)
    }

    async fn wait_for_events(&self, after: EventId, max_wait: Duration) {
        let appended = self.appended.notified();
        tokio::pin!(appended);
        appended.as_mut().enable();
        if self.read().log.last > after.get() {
            return;
        }
        let _ = tokio::time::timeout(max_wait, appended).await;
    }
}

#[async_trait]
impl HealthCheck for MemoryStore {
    async fn ping(&self) -> Result<()> {
        Ok(())
    }
}

pub use crate::analytics::attended;
