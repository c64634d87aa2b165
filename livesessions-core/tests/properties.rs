//! Property tests of the rules of DESIGN §3: random operation sequences through the service
//! hold the invariants of §3.4, and no validating constructor panics on any input.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike as _, TimeDelta, TimeZone as _, Utc};
use livesessions_core::values::{parse_instant, parse_start_time};
use livesessions_core::{
    Actor, AttendanceSort, Cursor, Description, Email, Error, Instructor, JoinInput, ListKey,
    ListQuery, LiveSessions, ManualClock, MemoryStore, NewSession, SessionId, SortOrder, Store,
    ThumbnailKey, ThumbnailUrl, TimeZone, Title, UserId, UserName, VideoUrl,
};
use proptest::prelude::*;

const USERS: usize = 4;

/// One step of a sequence. "Late" events come from a second server instance whose clock lags
/// behind (a delayed request): their times may be older than the user's last heartbeat, which
/// the presence rule must ignore.
#[derive(Debug, Clone)]
enum Op {
    Join(usize),
    Heartbeat(usize),
    Leave(usize),
    LateJoin(usize, i64),
    LateHeartbeat(usize, i64),
    Start,
    End,
    Cancel,
    Advance(i64),
}

fn op() -> impl Strategy<Value = Op> {
    let user = 0..USERS;
    prop_oneof![
        4 => user.clone().prop_map(Op::Join),
        6 => user.clone().prop_map(Op::Heartbeat),
        2 => user.clone().prop_map(Op::Leave),
        1 => (user.clone(), 1..300i64).prop_map(|(u, lag)| Op::LateJoin(u, lag)),
        3 => (user, 1..300i64).prop_map(|(u, lag)| Op::LateHeartbeat(u, lag)),
        2 => Just(Op::Start),
        1 => Just(Op::End),
        1 => Just(Op::Cancel),
        6 => (0..=120i64).prop_map(Op::Advance),
        1 => (121..=100_000i64).prop_map(Op::Advance),
    ]
}

struct World {
    store: Arc<MemoryStore>,
    clock: ManualClock,
    service: LiveSessions,
    /// The lagging instance: same store, its own clock.
    late_clock: ManualClock,
    late_service: LiveSessions,
    admin: Actor,
    users: Vec<Actor>,
    session: SessionId,
    /// Users who have joined successfully.
    joined: Vec<bool>,
    /// The time of the last start or end; a lagging instance is never behind it (see below).
    lifecycle_at: DateTime<Utc>,
    /// Per user, the time of their last leave.
    left_at: HashMap<usize, DateTime<Utc>>,
}

fn service_on(store: &Arc<MemoryStore>, clock: &ManualClock) -> LiveSessions {
    LiveSessions::builder(store.clone() as Arc<dyn Store>)
        .clock(Arc::new(clock.clone()))
        .build()
}

impl World {
    async fn new() -> World {
        let start = Utc
            .with_ymd_and_hms(2030, 6, 1, 12, 0, 0)
            .single()
            .expect("a time");
        let store = Arc::new(MemoryStore::new());
        let clock = ManualClock::new(start);
        let late_clock = ManualClock::new(start);
        let service = service_on(&store, &clock);
        let late_service = service_on(&store, &late_clock);
        let admin = Actor::admin(UserId::parse("admin").expect("id"));
        let session = service
            .create(
                Some(&admin),
                NewSession {
                    title: "Property".into(),
                    instructor: "Ferris".into(),
                    video_url: "https://youtu.be/abc".into(),
                    start_time: "2030-06-01T12:00:00Z".into(),
                    ..Default::default()
                },
                None,
            )
            .await
            .expect("create");
        let users = (0..USERS)
            .map(|i| {
                Actor::user(UserId::parse(&format!("user{i}")).expect("id"))
                    .with_name(format!("User {i}"))
                    .with_email(format!("user{i}@example.com"))
            })
            .collect();
        World {
            store,
            clock,
            service,
            late_clock,
            late_service,
            admin,
            users,
            session: session.id,
            joined: vec![false; USERS],
            lifecycle_at: start,
            left_at: HashMap::new(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        use livesessions_core::Clock as _;
        self.clock.now()
    }

    /// Sets the lagging instance's clock `lag` seconds behind. It is never set before the last
    /// start or end, nor before the user's last leave: the presence rule orders a user's
    /// events by `last_seen` only, so an event stamped before one of those but stored after it
    /// is a race the rules do not resolve (it could open an interval before the start or
    /// re-open one a leave already credited).
    fn lag(&self, user: usize, lag: i64) {
        let mut at = self.now() - TimeDelta::seconds(lag);
        at = at.max(self.lifecycle_at);
        if let Some(left) = self.left_at.get(&user) {
            at = at.max(*left);
        }
        self.late_clock.set(at);
    }

    async fn participants(&self) -> u64 {
        self.store_session().await.participants
    }

    async fn store_session(&self) -> livesessions_core::LiveSession {
        use livesessions_core::SessionStore as _;
        self.store
            .get_session(self.session)
            .await
            .expect("get_session")
            .expect("the session exists")
    }

    async fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let before = self.participants().await;
        let join_input = || JoinInput {
            session_id: self.session.to_string(),
            ..Default::default()
        };
        let result: Result<(), Error> = match *op {
            Op::Join(u) | Op::LateJoin(u, _) => {
                let service = if let Op::LateJoin(_, lag) = *op {
                    self.lag(u, lag);
                    &self.late_service
                } else {
                    &self.service
                };
                match service.join(Some(&self.users[u]), join_input()).await {
                    Ok(outcome) => {
                        prop_assert_eq!(
                            outcome.first_join,
                            !self.joined[u],
                            "first_join must say whether the user joined before"
                        );
                        let expected = before + u64::from(!self.joined[u]);
                        prop_assert_eq!(outcome.session.participants, expected);
                        self.joined[u] = true;
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Op::Heartbeat(u) => self
                .service
                .heartbeat(Some(&self.users[u]), self.session)
                .await
                .map(drop),
            Op::LateHeartbeat(u, lag) => {
                self.lag(u, lag);
                self.late_service
                    .heartbeat(Some(&self.users[u]), self.session)
                    .await
                    .map(drop)
            }
            Op::Leave(u) => {
                let result = self
                    .service
                    .leave(Some(&self.users[u]), self.session)
                    .await
                    .map(drop);
                if result.is_ok() {
                    self.left_at.insert(u, self.now());
                }
                result
            }
            Op::Start => {
                let result = self.service.start(Some(&self.admin), self.session).await;
                if result.is_ok() {
                    self.lifecycle_at = self.now();
                }
                result.map(drop)
            }
            Op::End => {
                let result = self.service.end(Some(&self.admin), self.session).await;
                if result.is_ok() {
                    self.lifecycle_at = self.now();
                }
                result.map(drop)
            }
            Op::Cancel => self
                .service
                .cancel(Some(&self.admin), self.session)
                .await
                .map(drop),
            Op::Advance(secs) => {
                self.clock.advance_secs(secs);
                Ok(())
            }
        };
        match result {
            Ok(()) => {}
            // Refused transitions and joins into ended or cancelled sessions.
            Err(Error::Conflict(_)) => {}
            // Heartbeats and leaves of users who never joined.
            Err(Error::NotFound { .. }) => {
                let user = match *op {
                    Op::Heartbeat(u) | Op::LateHeartbeat(u, _) | Op::Leave(u) => u,
                    _ => return Err(TestCaseError::fail(format!("{op:?}: unexpected NotFound"))),
                };
                prop_assert!(!self.joined[user], "{:?}: NotFound for a participant", op);
            }
            Err(other) => {
                return Err(TestCaseError::fail(format!("{op:?} failed: {other}")));
            }
        }
        if matches!(op, Op::Join(u) | Op::LateJoin(u, _) if self.joined[*u]) {
            // Checked above: the count went up only on a first join.
        } else {
            prop_assert_eq!(
                self.participants().await,
                before,
                "{:?} changed the count",
                op
            );
        }
        self.check().await
    }

    /// The invariants of DESIGN §3.4.
    async fn check(&self) -> Result<(), TestCaseError> {
        use livesessions_core::AttendanceStore as _;
        let session = self.store_session().await;
        let now = self.now();
        let live = session.live_duration_at(now);
        prop_assert!(session.live_seconds >= 0);
        prop_assert!(live >= 0);
        let joined = self.joined.iter().filter(|j| **j).count() as u64;
        prop_assert_eq!(
            session.participants,
            joined,
            "participants = distinct joined users"
        );
        let page = self
            .service
            .attendance(
                Some(&self.admin),
                self.session,
                AttendanceSort::JoinTime,
                SortOrder::Asc,
                0,
                100,
            )
            .await
            .expect("attendance");
        prop_assert_eq!(page.total, joined, "participants = participant records");
        let timeout = self.service.settings().presence_timeout;
        for (u, user) in self.users.iter().enumerate() {
            let p = self
                .store
                .get_participant(self.session, &user.user_id)
                .await
                .expect("get_participant");
            prop_assert_eq!(p.is_some(), self.joined[u]);
            let Some(p) = p else { continue };
            prop_assert!(p.watch_seconds >= 0, "negative credit: {:?}", p);
            let now_seconds = p.watch_seconds_at(now, timeout);
            prop_assert!(now_seconds >= p.watch_seconds);
            prop_assert!(
                now_seconds <= live,
                "{} watched {} s of a session live for {} s: {:?}",
                user.user_id,
                now_seconds,
                live,
                p
            );
            if !session.is_live() {
                prop_assert!(p.present_since.is_none(), "open interval while not live");
            }
        }
        let report = self
            .service
            .report(Some(&self.admin), self.session, None)
            .await
            .expect("report");
        prop_assert!(report.total_watch_seconds >= 0);
        prop_assert!(report.max_watch_seconds <= live);
        prop_assert!(report.attended <= report.participants);
        prop_assert!(report.watching <= report.participants);
        Ok(())
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
}

proptest! {
    #[test]
    fn operation_sequences_hold_the_invariants(ops in prop::collection::vec(op(), 1..40)) {
        runtime().block_on(async {
            let mut world = World::new().await;
            world.check().await?;
            for op in &ops {
                world.apply(op).await?;
            }
            Ok::<(), TestCaseError>(())
        })?;
    }

    #[test]
    fn rejoining_never_changes_the_count(
        rejoins in prop::collection::vec((0..USERS, 0..200i64), 1..30),
    ) {
        runtime().block_on(async {
            let mut world = World::new().await;
            world.apply(&Op::Start).await?;
            for u in 0..USERS {
                world.apply(&Op::Join(u)).await?;
            }
            for (u, advance) in rejoins {
                world.apply(&Op::Advance(advance)).await?;
                world.apply(&Op::Join(u)).await?;
                prop_assert_eq!(world.participants().await, USERS as u64);
            }
            Ok::<(), TestCaseError>(())
        })?;
    }

    #[test]
    fn validating_constructors_never_panic(text in any::<String>(), limit in any::<u32>()) {
        check_all_constructors(&text, limit);
    }

    #[test]
    fn validating_constructors_never_panic_on_near_misses(
        text in "(https?|javascript|data|file|ftp)?:?/{0,3}[a-zA-Z0-9.:@/?=&%#_~ \\-\\[\\]]{0,60}|[0-9T:.Z+-]{0,40}|[A-Za-z_/+-]{0,30}|[A-Za-z0-9_-]{0,40}\\.?(png|jpg|gif|webp|svg)?",
    ) {
        check_all_constructors(&text, 50);
    }

    #[test]
    fn cursors_round_trip(rank in 0i16..=3, time_key in any::<i64>(), id in any::<u128>()) {
        let key = ListKey {
            rank,
            time_key,
            id: SessionId::from_uuid(uuid::Uuid::from_u128(id)),
        };
        let text = Cursor(key).encode();
        prop_assert!(text.len() <= 64);
        prop_assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        prop_assert_eq!(Cursor::decode(&text).expect("decodes").0, key);
        let query = ListQuery::parse(None, None, None, Some(&text)).expect("a valid query");
        prop_assert_eq!(query.after, Some(Cursor(key)));
    }
}

/// Calls every validating constructor; checks that what they accept obeys their rules.
fn check_all_constructors(text: &str, limit: u32) {
    let chars = |s: &str| s.chars().count();
    if let Ok(v) = Title::parse(text) {
        assert!((1..=200).contains(&chars(v.as_str())));
        assert_eq!(v.as_str(), v.as_str().trim());
    }
    if let Ok(v) = Instructor::parse(text) {
        assert!((1..=100).contains(&chars(v.as_str())));
    }
    if let Ok(v) = Description::parse(text) {
        assert!(chars(v.as_str()) <= 5000);
    }
    if let Ok(v) = UserName::parse(text) {
        assert!((1..=100).contains(&chars(v.as_str())));
        assert!(!v.as_str().chars().any(char::is_control));
    }
    if let Ok(v) = Email::parse(text) {
        assert!(v.as_str().contains('@') && chars(v.as_str()) <= 254);
    }
    if let Ok(v) = VideoUrl::parse(text) {
        assert!(v.as_str().starts_with("https://") || v.as_str().starts_with("http://"));
        assert!(chars(v.as_str()) <= 2048);
        if let Some(embed) = v.embed_url() {
            assert!(
                embed.starts_with("https://www.youtube.com/embed/")
                    || embed.starts_with("https://player.vimeo.com/video/")
            );
        }
    }
    if let Ok(v) = ThumbnailUrl::parse(text) {
        assert!(v.as_str().starts_with("https://") || v.as_str().starts_with("http://"));
    }
    if let Ok(key) = ThumbnailKey::parse(text) {
        assert!(!key.as_str().contains('/') && !key.as_str().contains(".."));
    }
    let _ = TimeZone::parse(text);
    let _ = parse_instant(text, "from");
    for zone in [
        TimeZone::UTC,
        TimeZone::parse("Europe/Berlin").expect("a known zone"),
    ] {
        if let Ok(at) = parse_start_time(text, "startTime", zone) {
            // Stored in UTC: the RFC 3339 form (four-digit years) reads back as the same instant.
            if (0..=9999).contains(&at.year()) {
                assert_eq!(
                    parse_start_time(&at.to_rfc3339(), "startTime", zone),
                    Ok(at)
                );
            }
        }
    }
    let _ = Cursor::decode(text);
    let _ = ListQuery::parse(Some(text), Some(text), Some(limit), Some(text));
    let _ = ListQuery::parse(None, Some(text), None, None);
    if let Ok(id) = UserId::parse(text) {
        assert!((1..=128).contains(&chars(id.as_str())));
    }
    if let Ok(id) = text.parse::<SessionId>() {
        assert_eq!(id.to_string().parse::<SessionId>().expect("round trip"), id);
    }
}
