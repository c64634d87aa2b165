//! Property tests of the domain rules: random operation sequences through the service
//! hold the attendance invariants (no negative duration, credit never above the live time,
//! one record per counted participant), and no validating constructor panics on any input.

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
/// behind (a delayed request): their times may be older than the user's last heartbeat or
/// leave, or than the last start or end of the session, and the presence rule must neither
/// reopen a closed interval nor credit time outside the live periods because of them.
#[derive(Debug, Clone)]
enum Op {
    Join(usize),
    Heartbeat(usize),
    Leave(usize),
    LateJoin(usize, i64),
    LateHeartbeat(usize, i64),
    LateLeave(usize, i64),
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
        3 => (user.clone(), 1..300i64).prop_map(|(u, lag)| Op::LateHeartbeat(u, lag)),
        1 => (user, 1..300i64).prop_map(|(u, lag)| Op::LateLeave(u, lag)),
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
    /// Per user, the credited seconds at the last check (they never go down).
    credited: HashMap<usize, i64>,
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
                NewSession::new(
                    "Property",
                    "Ferris",
                    "https://youtu.be/abc",
                    "2030-06-01T12:00:00Z",
                ),
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
            credited: HashMap::new(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        use livesessions_core::Clock as _;
        self.clock.now()
    }

    /// Sets the lagging instance's clock `lag` seconds behind, wherever that falls: before the
    /// user's last heartbeat or leave, before the last start or end, even before the session
    /// was created.
    fn lag(&self, lag: i64) {
        self.late_clock.set(self.now() - TimeDelta::seconds(lag));
    }

    /// The instance `op` goes through: for a late op the lagging one, its clock set back first.
    fn instance(&self, op: &Op) -> &LiveSessions {
        match *op {
            Op::LateJoin(_, lag) | Op::LateHeartbeat(_, lag) | Op::LateLeave(_, lag) => {
                self.lag(lag);
                &self.late_service
            }
            _ => &self.service,
        }
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
        let (admin, id) = (Some(&self.admin), self.session);
        let result: Result<(), Error> = match *op {
            Op::Join(u) | Op::LateJoin(u, _) => {
                match self
                    .instance(op)
                    .join(Some(&self.users[u]), join_input())
                    .await
                {
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
            Op::Heartbeat(u) | Op::LateHeartbeat(u, _) => self
                .instance(op)
                .heartbeat(Some(&self.users[u]), self.session)
                .await
                .map(drop),
            Op::Leave(u) | Op::LateLeave(u, _) => self
                .instance(op)
                .leave(Some(&self.users[u]), self.session)
                .await
                .map(drop),
            Op::Start => self.service.start(admin, id).await.map(drop),
            Op::End => self.service.end(admin, id).await.map(drop),
            Op::Cancel => self.service.cancel(admin, id).await.map(drop),
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
                    Op::Heartbeat(u)
                    | Op::LateHeartbeat(u, _)
                    | Op::Leave(u)
                    | Op::LateLeave(u, _) => u,
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

    /// The invariants of the attendance rules.
    async fn check(&mut self) -> Result<(), TestCaseError> {
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
            let before = self.credited.insert(u, p.watch_seconds).unwrap_or(0);
            prop_assert!(
                p.watch_seconds >= before,
                "credited seconds went down from {} to {}: {:?}",
                before,
                p.watch_seconds,
                p
            );
            if let Some(since) = p.present_since {
                prop_assert!(session.is_live(), "open interval while not live: {:?}", p);
                prop_assert!(
                    session.live_since.is_some_and(|start| since >= start),
                    "open interval from before the live period began at {:?}: {:?}",
                    session.live_since,
                    p
                );
                prop_assert!(
                    p.left_at.is_none_or(|left| since >= left),
                    "a late event reopened an interval the leave closed: {:?}",
                    p
                );
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
