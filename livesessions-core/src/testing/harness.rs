//! What every case needs: a service on the store under test with a manual clock, an admin,
//! users, and short ways to call the use cases and to recognise errors.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, TimeZone as _, Utc};

use crate::actor::Actor;
use crate::analytics::{AttendancePage, AttendanceSort, Participation, SessionReport, SortOrder};
use crate::attendance::Participant;
use crate::clock::ManualClock;
use crate::error::{Conflict, Error, Result};
use crate::ids::{SessionId, UserId};
use crate::ports::{JoinOutcome, Store};
use crate::service::{JoinInput, LiveSessions, ServiceSettings};
use crate::session::{
    LiveSession, NewSession, SessionAction, SessionInput, SessionStatus, SessionUpdate,
};

/// The presence timeout every case runs with (the default: 90 s).
pub(crate) const T: i64 = 90;

/// The environment variable that scales the sizes of the heavy cases (the concurrency cases,
/// and the race case, which runs fewer seeds):
/// a factor in (0, 1], 1 by default. A slow test server runs them at, say, `0.2`; their
/// assertions follow the sizes and never loosen.
pub(crate) const SCALE_VARIABLE: &str = "LIVESESSIONS_TEST_SCALE";

tokio::task_local! {
    /// The scale a [`Fixture`](crate::testing::Fixture) set for the case it runs.
    pub(crate) static SCALE: f64;
}

/// The factor of the running case: the fixture's ([`SCALE`]), else the one read from
/// [`SCALE_VARIABLE`]. An unreadable value fails the case with a message naming the variable.
pub(crate) fn scale() -> f64 {
    if let Ok(factor) = SCALE.try_with(|factor| *factor) {
        return factor;
    }
    match std::env::var(SCALE_VARIABLE) {
        Err(_) => 1.0,
        Ok(text) => match text.trim().parse::<f64>() {
            Ok(factor) if factor > 0.0 && factor <= 1.0 => factor,
            _ => panic!("{SCALE_VARIABLE}={text:?} is not a factor in (0, 1]"),
        },
    }
}

/// `full` scaled by [`scale`], rounded up to a multiple of `step` and at least `step`.
pub(crate) fn scaled(full: usize, step: usize) -> usize {
    let wanted = (full as f64 * scale()).ceil() as usize;
    wanted.div_ceil(step).max(1) * step
}

/// What a user does in a [`Harness::play`] timeline, and when: seconds after time zero.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Act {
    /// Joins the session.
    Join(i64),
    /// Sends a heartbeat.
    Beat(i64),
    /// Leaves the session.
    Leave(i64),
}

impl Act {
    fn secs(self) -> i64 {
        match self {
            Act::Join(secs) | Act::Beat(secs) | Act::Leave(secs) => secs,
        }
    }
}

/// A service on the store under test, driven by a manual clock.
pub(crate) struct Harness {
    pub store: Arc<dyn Store>,
    pub clock: ManualClock,
    pub service: LiveSessions,
    pub admin: Actor,
    /// A short random word that makes this case's user ids, titles and times its own.
    pub tag: String,
    /// Time zero of the case: the clock starts here and [`Harness::at`] counts from here.
    pub base: DateTime<Utc>,
}

impl Harness {
    /// A harness on `store` with a fresh tag, time zero and admin.
    pub fn new(store: Arc<dyn Store>) -> Self {
        let random = uuid::Uuid::new_v4();
        let tag = random.simple().to_string()[..8].to_owned();
        // A whole hour somewhere in 2030–2041, different for every case, so that time-range
        // queries of one case do not see another's sessions even on a shared store.
        let hours = i64::from(
            u32::from_be_bytes(random.as_bytes()[8..12].try_into().expect("four bytes")) % 100_000,
        );
        let base = Utc
            .with_ymd_and_hms(2030, 1, 1, 0, 0, 0)
            .single()
            .expect("a valid time")
            + TimeDelta::hours(hours);
        let clock = ManualClock::new(base);
        let service = LiveSessions::builder(Arc::clone(&store))
            .clock(Arc::new(clock.clone()))
            .settings(ServiceSettings {
                presence_timeout: Duration::from_secs(T as u64),
                ..ServiceSettings::default()
            })
            .build();
        let admin = Actor::admin(UserId::parse(&format!("{tag}-admin")).expect("a valid id"))
            .with_name("Admin")
            .with_email("admin@example.com");
        Harness {
            store,
            clock,
            service,
            admin,
            tag,
            base,
        }
    }

    /// The presence timeout T of the service.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(T as u64)
    }

    /// `secs` seconds after time zero.
    pub fn at(&self, secs: i64) -> DateTime<Utc> {
        self.base + TimeDelta::seconds(secs)
    }

    /// Sets the clock to `secs` seconds after time zero (backwards too).
    pub fn set(&self, secs: i64) {
        self.clock.set(self.at(secs));
    }

    /// A signed-in user of this case: id `<tag>-<name>`, display name `name`.
    pub fn user(&self, name: &str) -> Actor {
        Actor::user(self.user_id(name))
            .with_name(name)
            .with_email(format!("{name}@example.com"))
    }

    /// `count` users of this case, the `i`-th named `name(i)`.
    pub fn users(&self, count: usize, name: impl Fn(usize) -> String) -> Vec<Actor> {
        (0..count).map(|i| self.user(&name(i))).collect()
    }

    /// The id of the user `name` of this case: `<tag>-<name>`.
    pub fn user_id(&self, name: &str) -> UserId {
        UserId::parse(&format!("{}-{name}", self.tag)).expect("a valid user id")
    }

    /// The request to create a session of this case titled `<tag> <title>`, starting `start`
    /// seconds after time zero.
    pub fn new_session(&self, title: &str, start: i64) -> NewSession {
        NewSession::new(
            format!("{} {title}", self.tag),
            "Sarah Khan",
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            rfc3339(self.at(start)),
        )
    }

    /// Creates a session through the service as the admin of this case.
    pub async fn try_create(&self, new: NewSession) -> Result<LiveSession> {
        self.service.create(Some(&self.admin), new, None).await
    }

    /// Creates a scheduled session from the request [`Harness::new_session`] makes, its fields
    /// first changed by `change`.
    pub async fn create_with(
        &self,
        title: &str,
        start: i64,
        change: impl FnOnce(&mut SessionInput),
    ) -> LiveSession {
        let mut new = self.new_session(title, start);
        change(&mut new.fields);
        self.try_create(new)
            .await
            .unwrap_or_else(|e| panic!("creating session {title:?} failed: {e}"))
    }

    /// Creates a scheduled session.
    pub async fn create(&self, title: &str, start: i64) -> LiveSession {
        self.create_with(title, start, |_| {}).await
    }

    /// Changes a session through the service as the admin of this case, without an upload: the
    /// update is the empty one as `change` changes it.
    pub async fn try_update(
        &self,
        id: SessionId,
        change: impl FnOnce(&mut SessionUpdate),
    ) -> Result<LiveSession> {
        let mut update = SessionUpdate::default();
        change(&mut update);
        self.service
            .update(Some(&self.admin), id, update, None)
            .await
    }

    /// Creates a session and starts it now.
    pub async fn create_live(&self, title: &str) -> LiveSession {
        let session = self.create(title, 0).await;
        self.start(session.id).await
    }

    /// Creates sessions in every status: (scheduled, live, ended, cancelled). The scheduled one
    /// starts at 100, the cancelled one at 200, the others at 0; the end is at 60, where the
    /// clock stays.
    pub async fn one_of_each(&self) -> [LiveSession; 4] {
        let scheduled = self.create("scheduled", 100).await;
        let live = self.create_live("live").await;
        let ended = self.create_live("ended").await;
        self.set(60);
        let ended = self.end(ended.id).await;
        let cancelled = self.create("cancelled", 200).await;
        let cancelled = self.cancel(cancelled.id).await;
        [scheduled, live, ended, cancelled]
    }

    /// Starts a session as the admin.
    pub async fn start(&self, id: SessionId) -> LiveSession {
        self.service
            .start(Some(&self.admin), id)
            .await
            .unwrap_or_else(|e| panic!("starting the session failed: {e}"))
    }

    /// Ends a session as the admin.
    pub async fn end(&self, id: SessionId) -> LiveSession {
        self.service
            .end(Some(&self.admin), id)
            .await
            .unwrap_or_else(|e| panic!("ending the session failed: {e}"))
    }

    /// Cancels a session as the admin.
    pub async fn cancel(&self, id: SessionId) -> LiveSession {
        self.service
            .cancel(Some(&self.admin), id)
            .await
            .unwrap_or_else(|e| panic!("cancelling the session failed: {e}"))
    }

    /// Tries `action` on a session: start, end and cancel as the admin of this case, join as
    /// `who`. Answers the session as the action left it.
    pub async fn try_act(
        &self,
        action: SessionAction,
        who: &Actor,
        id: SessionId,
    ) -> Result<LiveSession> {
        match action {
            SessionAction::Start => self.service.start(Some(&self.admin), id).await,
            SessionAction::End => self.service.end(Some(&self.admin), id).await,
            SessionAction::Cancel => self.service.cancel(Some(&self.admin), id).await,
            SessionAction::Join => self.try_join(who, id).await.map(|o| o.session),
        }
    }

    /// Does `action` again as the admin (a start while live, an end while ended) and asserts that
    /// it changes nothing: the answer and the stored session are still `session`.
    pub async fn assert_again_unchanged(&self, action: SessionAction, session: &LiveSession) {
        let again = self
            .try_act(action, &self.admin, session.id)
            .await
            .unwrap_or_else(|e| panic!("{action} again failed: {e}"));
        assert_eq!(&again, session, "{action} again changes nothing");
        assert_eq!(&self.session(session.id).await, session);
    }

    /// `who` joins a session through the service.
    pub async fn try_join(&self, who: &Actor, id: SessionId) -> Result<JoinOutcome> {
        self.service
            .join(
                Some(who),
                JoinInput {
                    session_id: id.to_string(),
                    ..Default::default()
                },
            )
            .await
    }

    /// `who` joins a session; a refusal fails the case.
    pub async fn join(&self, who: &Actor, id: SessionId) -> JoinOutcome {
        self.try_join(who, id)
            .await
            .unwrap_or_else(|e| panic!("{} joining failed: {e}", who.user_id))
    }

    /// `who` sends a heartbeat; a refusal fails the case.
    pub async fn heartbeat(&self, who: &Actor, id: SessionId) -> Participant {
        self.service
            .heartbeat(Some(who), id)
            .await
            .unwrap_or_else(|e| panic!("{}'s heartbeat failed: {e}", who.user_id))
    }

    /// `who` leaves; a refusal fails the case.
    pub async fn leave(&self, who: &Actor, id: SessionId) -> Participant {
        self.service
            .leave(Some(who), id)
            .await
            .unwrap_or_else(|e| panic!("{} leaving failed: {e}", who.user_id))
    }

    /// A session's report, asked for by the admin of this case.
    pub async fn report(&self, id: SessionId, threshold_percent: Option<u8>) -> SessionReport {
        self.service
            .report(Some(&self.admin), id, threshold_percent)
            .await
            .unwrap_or_else(|e| panic!("report failed: {e}"))
    }

    /// Plays the presence of several users, each line `(who, session, acts)` the acts of one
    /// user in one session: every act of every line in the order of their times (acts at the
    /// same time in the order given), the clock set to each act's time. The clock stays at the
    /// last act's time.
    pub async fn play(&self, lines: &[(&Actor, SessionId, &[Act])]) {
        let mut acts: Vec<(&Actor, SessionId, Act)> = lines
            .iter()
            .flat_map(|&(who, id, acts)| acts.iter().map(move |&act| (who, id, act)))
            .collect();
        acts.sort_by_key(|&(_, _, act)| act.secs());
        for (who, id, act) in acts {
            self.set(act.secs());
            match act {
                Act::Join(_) => {
                    self.join(who, id).await;
                }
                Act::Beat(_) => {
                    self.heartbeat(who, id).await;
                }
                Act::Leave(_) => {
                    self.leave(who, id).await;
                }
            }
        }
    }

    /// `who`'s participation (at most `limit` rows), asked for by `caller`.
    pub async fn participation(&self, caller: &Actor, who: &Actor, limit: u32) -> Participation {
        self.service
            .participation(Some(caller), &who.user_id, limit)
            .await
            .unwrap_or_else(|e| panic!("participation of {} failed: {e}", who.user_id))
    }

    /// The session as stored.
    pub async fn session(&self, id: SessionId) -> LiveSession {
        self.store
            .get_session(id)
            .await
            .unwrap_or_else(|e| panic!("get_session failed: {e}"))
            .unwrap_or_else(|| panic!("session {id} is missing"))
    }

    /// The participant as stored.
    pub async fn participant(&self, who: &Actor, id: SessionId) -> Participant {
        self.store
            .get_participant(id, &who.user_id)
            .await
            .unwrap_or_else(|e| panic!("get_participant failed: {e}"))
            .unwrap_or_else(|| panic!("participant {} is missing", who.user_id))
    }

    /// Credited watch seconds of a stored participant.
    pub async fn credited(&self, who: &Actor, id: SessionId) -> i64 {
        self.participant(who, id).await.watch_seconds
    }

    /// The first `limit` rows of a session's attendance in join order, asked for by the admin of
    /// this case.
    pub async fn try_attendance(&self, id: SessionId, limit: u32) -> Result<AttendancePage> {
        self.service
            .attendance(
                Some(&self.admin),
                id,
                AttendanceSort::JoinTime,
                SortOrder::Asc,
                0,
                limit,
            )
            .await
    }

    /// A page of a session's attendance in the given order, asked for by the admin of this case.
    pub async fn attendance(
        &self,
        id: SessionId,
        sort: AttendanceSort,
        order: SortOrder,
        offset: u64,
        limit: u32,
    ) -> AttendancePage {
        self.service
            .attendance(Some(&self.admin), id, sort, order, offset, limit)
            .await
            .unwrap_or_else(|e| panic!("attendance failed: {e}"))
    }

    /// User ids (without the tag) of the rows of an attendance page.
    pub fn names(&self, page: &AttendancePage) -> Vec<String> {
        page.rows
            .iter()
            .map(|row| self.untag(row.participant.user_id.as_str()))
            .collect()
    }

    /// A user id without this case's tag.
    pub fn untag(&self, id: &str) -> String {
        id.strip_prefix(&format!("{}-", self.tag))
            .unwrap_or(id)
            .to_owned()
    }
}

/// RFC 3339 with microseconds and `Z`.
pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Asserts that `result` is `Conflict(InvalidTransition { status, action })`.
#[track_caller]
pub(crate) fn assert_refused<T: std::fmt::Debug>(
    result: Result<T>,
    status: SessionStatus,
    action: SessionAction,
) {
    match result {
        Err(Error::Conflict(Conflict::InvalidTransition {
            status: s,
            action: a,
        })) if s == status && a == action => {}
        other => panic!(
            "expected Conflict(InvalidTransition {{ status: {status}, action: {action} }}), got {other:?}"
        ),
    }
}

/// Asserts that `result` is `Conflict(VersionMismatch)`.
#[track_caller]
pub(crate) fn assert_version_mismatch<T: std::fmt::Debug>(result: Result<T>) {
    match result {
        Err(Error::Conflict(Conflict::VersionMismatch { .. })) => {}
        other => panic!("expected Conflict(VersionMismatch), got {other:?}"),
    }
}

/// Asserts that `result` is `NotFound`.
#[track_caller]
pub(crate) fn assert_not_found<T: std::fmt::Debug>(result: Result<T>) {
    match result {
        Err(Error::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}
