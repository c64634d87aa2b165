//! The schedule: the store's due query and the scheduler on top of it.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::TimeDelta;

use crate::clock::ManualClock;
use crate::ids::SessionId;
use crate::ports::Store;
use crate::service::{LiveSessions, SchedulerTick};
use crate::session::{LiveSession, SessionStatus};
use crate::testing::harness::Act::{Beat, Join};
use crate::testing::harness::{rfc3339, Harness};

/// Creates a session of `h` starting at `start` with `end` (seconds after time zero) and the
/// automatic start and end as given.
async fn scheduled(
    h: &Harness,
    title: &str,
    start: i64,
    end: Option<i64>,
    auto_start: bool,
    auto_end: bool,
) -> LiveSession {
    h.create_with(title, start, |fields| {
        fields.end_time = end.map(|end| rfc3339(h.at(end)));
        fields.auto_start = Some(auto_start);
        fields.auto_end = Some(auto_end);
    })
    .await
}

/// The ids `store.due_sessions(now, limit)` returns, of the sessions in `ours`, in order.
async fn due(
    store: &dyn Store,
    now: chrono::DateTime<chrono::Utc>,
    limit: usize,
    ours: &[SessionId],
) -> Vec<SessionId> {
    store
        .due_sessions(now, limit)
        .await
        .expect("due_sessions")
        .into_iter()
        .map(|s| s.id)
        .filter(|id| ours.contains(id))
        .collect()
}

/// `due_sessions` returns exactly the sessions due to start (scheduled, automatic start, start
/// time reached to the microsecond, end time not reached) in start order, then the sessions
/// due to end (live, automatic end, end time reached) in end order; at most `limit` of each;
/// nothing else: no manual sessions, no cancelled or ended ones, no missed windows. The
/// sessions are read back whole.
pub async fn due_sessions_returns_what_the_scheduler_acts_on(store: Arc<dyn Store>) {
    let h = Harness::new(Arc::clone(&store));
    let early = scheduled(&h, "early", 100, Some(200), true, false).await;
    let later = scheduled(&h, "later", 150, None, true, false).await;
    let _manual = scheduled(&h, "manual", 100, Some(200), false, false).await;
    let cancelled = scheduled(&h, "cancelled", 100, None, true, false).await;
    h.cancel(cancelled.id).await;
    let _missed = scheduled(&h, "missed", 10, Some(20), true, false).await;
    let ending = scheduled(&h, "ending", 0, Some(50), false, true).await;
    h.set(5);
    let ending = h.start(ending.id).await;
    let ended = scheduled(&h, "ended", 0, Some(40), false, true).await;
    h.start(ended.id).await;
    h.set(30);
    h.end(ended.id).await;
    let live_manual_end = scheduled(&h, "live manual", 0, Some(45), false, false).await;
    h.start(live_manual_end.id).await;
    let ours: Vec<SessionId> = vec![
        early.id,
        later.id,
        _manual.id,
        cancelled.id,
        _missed.id,
        ending.id,
        ended.id,
        live_manual_end.id,
    ];

    assert_eq!(
        due(&*store, h.at(49), 10, &ours).await,
        Vec::<SessionId>::new(),
        "nothing is due before the first start or end time"
    );
    assert_eq!(
        due(&*store, h.at(50), 10, &ours).await,
        [ending.id],
        "a live session with an automatic end is due from its end time on"
    );
    let just_before = h.at(100) - TimeDelta::microseconds(1);
    assert_eq!(
        due(&*store, just_before, 10, &ours).await,
        [ending.id],
        "a start one microsecond away is not due"
    );
    let at_100 = store
        .due_sessions(h.at(100), 10)
        .await
        .expect("due_sessions");
    let ids: Vec<SessionId> = at_100.iter().map(|s| s.id).collect();
    assert_eq!(
        ids,
        [early.id, ending.id],
        "sessions due to start come first, then those due to end"
    );
    assert_eq!(at_100[0], h.session(early.id).await, "read back whole");
    assert_eq!(
        due(&*store, h.at(160), 10, &ours).await,
        [early.id, later.id, ending.id],
        "due to start in start order"
    );
    assert_eq!(
        due(&*store, h.at(160), 1, &ours).await,
        [early.id, ending.id],
        "at most `limit` of each kind, the earliest"
    );
    assert_eq!(
        due(&*store, h.at(200), 10, &ours).await,
        [later.id, ending.id],
        "a session is no longer due to start at its end time"
    );
}

/// Two services on one store tick at the same times, concurrently: every session is started
/// once and ended once (never before it started), by one of them; a start missed while no
/// scheduler ran is made when the next one runs if the end time has not come; a session past
/// its end time is ended as of its end time, with its live time and its participants' watch
/// time counted to that instant; a session whose whole window was missed stays scheduled.
pub async fn the_scheduler_starts_and_ends_each_session_once(store: Arc<dyn Store>) {
    let h = Harness::new(Arc::clone(&store));
    let other = LiveSessions::builder(Arc::clone(&store))
        .clock(Arc::new(ManualClock::new(h.at(0))))
        .settings(h.service.settings().clone())
        .build();
    let a = scheduled(&h, "a", 10, Some(70), true, true).await;
    let b = scheduled(&h, "b", 20, None, true, false).await;
    let missed_start = scheduled(&h, "missed start", 30, Some(1000), true, true).await;
    let missed_window = scheduled(&h, "missed window", 40, Some(50), true, true).await;
    let ours = [a.id, b.id, missed_start.id, missed_window.id];

    let mut started = Vec::new();
    let mut ended = Vec::new();
    let mut tick_both = |ticks: [SchedulerTick; 2]| {
        for tick in ticks {
            started.extend(tick.started.into_iter().filter(|id| ours.contains(id)));
            ended.extend(tick.ended.into_iter().filter(|id| ours.contains(id)));
        }
    };
    for secs in [0, 10, 10, 25] {
        let (x, y) = tokio::join!(h.service.tick(h.at(secs)), other.tick(h.at(secs)));
        tick_both([x.expect("tick"), y.expect("tick")]);
    }
    assert_eq!(h.session(a.id).await.started_at, Some(h.at(10)));
    assert_eq!(
        h.session(b.id).await.started_at,
        Some(h.at(25)),
        "started at the first tick after its start time"
    );

    // A participant watches `a` from 30 on, heartbeats until 60.
    let student = h.user("student");
    h.set(30);
    h.play(&[(&student, a.id, &[Join(30), Beat(60)])]).await;

    // Downtime until 500: `a` ended at 70, `missed start` started late, `missed window` gone.
    let (x, y) = tokio::join!(h.service.tick(h.at(500)), other.tick(h.at(500)));
    tick_both([x.expect("tick"), y.expect("tick")]);
    for secs in [500, 1000, 1000, 1001] {
        let (x, y) = tokio::join!(h.service.tick(h.at(secs)), other.tick(h.at(secs)));
        tick_both([x.expect("tick"), y.expect("tick")]);
    }

    let count = |ids: &[SessionId], id: SessionId| ids.iter().filter(|x| **x == id).count();
    for id in [a.id, b.id, missed_start.id] {
        assert_eq!(
            count(&started, id),
            1,
            "every due session starts exactly once"
        );
    }
    assert_eq!(count(&started, missed_window.id), 0);
    for id in [a.id, missed_start.id] {
        assert_eq!(count(&ended, id), 1, "every due session ends exactly once");
    }
    assert_eq!(
        count(&ended, b.id),
        0,
        "without an automatic end it stays live"
    );

    let a = h.session(a.id).await;
    assert_eq!(a.status, SessionStatus::Ended);
    assert_eq!(a.ended_at, Some(h.at(70)), "ended as of its end time");
    assert_eq!(a.live_seconds, 60, "live from its start to its end time");
    assert_eq!(
        h.credited(&student, a.id).await,
        40,
        "watch time counted from the join to the end time (before last seen + T)"
    );
    let late = h.session(missed_start.id).await;
    assert_eq!(
        late.started_at,
        Some(h.at(500)),
        "a missed start is made late"
    );
    assert_eq!(late.ended_at, Some(h.at(1000)));
    assert_eq!(late.live_seconds, 500);
    assert_eq!(h.session(b.id).await.status, SessionStatus::Live);
    let window = h.session(missed_window.id).await;
    assert_eq!(
        window.status,
        SessionStatus::Scheduled,
        "a missed window stays scheduled"
    );
    assert_eq!(window.version, 1);
    let all: HashSet<SessionId> = started.iter().chain(&ended).copied().collect();
    assert!(all.iter().all(|id| ours.contains(id)));
}

/// Creates a session of `h` starting at time zero with `end_when_empty` minutes (or none) and
/// starts it at `start` (the clock is left there).
async fn live_with_empty_minutes(
    h: &Harness,
    title: &str,
    minutes: Option<u16>,
    start: i64,
) -> LiveSession {
    let session = h
        .create_with(title, 0, |fields| {
            fields.end_when_empty_minutes = minutes.map(|m| m.to_string());
        })
        .await;
    h.set(start);
    h.start(session.id).await
}

/// The ids `store.empty_sessions(now, T, limit)` returns, of the sessions in `ours`, with the
/// latest `last_seen` each came with.
async fn empty(
    h: &Harness,
    secs: i64,
    ours: &[SessionId],
) -> Vec<(SessionId, Option<chrono::DateTime<chrono::Utc>>)> {
    h.store
        .empty_sessions(h.at(secs), h.timeout(), 10)
        .await
        .expect("empty_sessions")
        .into_iter()
        .filter(|e| ours.contains(&e.session.id))
        .map(|e| (e.session.id, e.last_seen))
        .collect()
}

/// `empty_sessions` returns exactly the live sessions having `end_when_empty` that nobody has
/// watched for that long: the moment a session became empty is its participants' latest
/// `last_seen` plus T, or the start of its live period if later; it is due that many minutes
/// after. A session someone watches is not due; a heartbeat moves the moment on; a session
/// nobody ever joined is due its minutes after its start; sessions without the option, or no
/// longer live, never are. Each comes with the latest `last_seen`, read back whole.
pub async fn empty_sessions_returns_the_live_sessions_nobody_watches(store: Arc<dyn Store>) {
    let h = Harness::new(Arc::clone(&store));
    let watched = live_with_empty_minutes(&h, "watched", Some(1), 0).await;
    let nobody = live_with_empty_minutes(&h, "nobody", Some(2), 0).await;
    let without = live_with_empty_minutes(&h, "without", None, 0).await;
    let ended = live_with_empty_minutes(&h, "ended", Some(1), 0).await;
    h.end(ended.id).await;
    let early_joiner = h
        .create_with("early joiner", 0, |fields| {
            fields.end_when_empty_minutes = Some("1".into());
        })
        .await;
    let student = h.user("student");
    let other = h.user("other");
    let early = h.user("early");
    // `early` joins `early joiner` while it is scheduled; `watched` has two students, the
    // later seen at 40: empty from 130, due at 190.
    h.play(&[
        (&early, early_joiner.id, &[Join(0)]),
        (&student, watched.id, &[Join(10), Beat(40)]),
        (&other, watched.id, &[Join(20)]),
        (&other, without.id, &[Join(20)]),
    ])
    .await;
    let ours = [watched.id, nobody.id, without.id, ended.id, early_joiner.id];
    let ids = |found: Vec<(SessionId, _)>| found.into_iter().map(|(id, _)| id).collect::<Vec<_>>();

    assert_eq!(
        ids(empty(&h, 119, &ours).await),
        Vec::<SessionId>::new(),
        "nothing is due yet"
    );
    assert_eq!(
        empty(&h, 120, &ours).await,
        [(nobody.id, None)],
        "a session nobody ever joined is due its minutes after its start"
    );
    assert!(
        !ids(empty(&h, 189, &ours).await).contains(&watched.id),
        "not due while someone was seen within T plus the minutes"
    );
    let found = h
        .store
        .empty_sessions(h.at(190), h.timeout(), 10)
        .await
        .expect("empty_sessions")
        .into_iter()
        .find(|e| e.session.id == watched.id)
        .expect("due T plus the minutes after the last heartbeat");
    assert_eq!(found.last_seen, Some(h.at(40)));
    assert_eq!(
        found.session,
        h.session(watched.id).await,
        "read back whole"
    );

    // A heartbeat at 150 moves the empty moment to 240: due at 300, not before.
    h.play(&[(&student, watched.id, &[Beat(150)])]).await;
    assert!(!ids(empty(&h, 299, &ours).await).contains(&watched.id));
    assert!(empty(&h, 300, &ours)
        .await
        .contains(&(watched.id, Some(h.at(150)))));

    // Seen only before the live period began (joined while scheduled): empty from the start.
    h.set(400);
    h.start(early_joiner.id).await;
    assert!(!ids(empty(&h, 459, &ours).await).contains(&early_joiner.id));
    assert!(
        empty(&h, 460, &ours)
            .await
            .contains(&(early_joiner.id, Some(h.at(0)))),
        "empty from the start of the live period"
    );
    let late = ids(empty(&h, 100_000, &ours).await);
    assert!(
        !late.contains(&without.id) && !late.contains(&ended.id),
        "never without the option, nor once ended"
    );
    assert_eq!(late.len(), 3);
    let limited = h
        .store
        .empty_sessions(h.at(100_000), h.timeout(), 1)
        .await
        .expect("empty_sessions");
    assert_eq!(limited.len(), 1, "at most `limit`");
}

/// Two services on one store tick at the same times, concurrently: a live session nobody
/// watches for its `end_when_empty` minutes ends once, by one of them, as of the moment its
/// minutes ran out (its participants' latest `last_seen` plus T plus the minutes, or its start
/// plus the minutes when nobody came), even when no scheduler ran at that moment; live time and
/// watch time count to that instant. A session someone still watches stays live.
pub async fn the_scheduler_ends_sessions_nobody_watches_once(store: Arc<dyn Store>) {
    let h = Harness::new(Arc::clone(&store));
    let other = LiveSessions::builder(Arc::clone(&store))
        .clock(Arc::new(ManualClock::new(h.at(0))))
        .settings(h.service.settings().clone())
        .build();
    let watched = live_with_empty_minutes(&h, "watched", Some(1), 0).await;
    let nobody = live_with_empty_minutes(&h, "nobody", Some(2), 0).await;
    let busy = live_with_empty_minutes(&h, "busy", Some(1), 0).await;
    let ours = [watched.id, nobody.id, busy.id];
    let student = h.user("student");
    let regular = h.user("regular");
    // `student` watches `watched` from 10, last seen at 40 and 150: due at 300.
    // `regular` keeps `busy` watched with a heartbeat every 60 s.
    let beats: Vec<_> = std::iter::once(Join(0))
        .chain((1..=20).map(|i| Beat(i * 60)))
        .collect();
    h.play(&[
        (&student, watched.id, &[Join(10), Beat(40), Beat(150)]),
        (&regular, busy.id, &beats),
    ])
    .await;

    let mut ended = Vec::new();
    // Ticks while the students play: 119 (nothing), then downtime until 1000.
    for secs in [119, 1000, 1000, 1001] {
        let (x, y) = tokio::join!(h.service.tick(h.at(secs)), other.tick(h.at(secs)));
        for tick in [x.expect("tick"), y.expect("tick")] {
            ended.extend(tick.ended.into_iter().filter(|id| ours.contains(id)));
        }
        if secs == 119 {
            assert!(ended.is_empty(), "nothing is due at 119");
        }
    }
    let count = |id: SessionId| ended.iter().filter(|x| **x == id).count();
    assert_eq!(count(watched.id), 1, "ended exactly once");
    assert_eq!(count(nobody.id), 1, "ended exactly once");
    assert_eq!(count(busy.id), 0, "someone watches it: it stays live");

    let watched = h.session(watched.id).await;
    assert_eq!(watched.status, SessionStatus::Ended);
    assert_eq!(
        watched.ended_at,
        Some(h.at(300)),
        "ended as of last seen + T + the minutes, though the scheduler ran only at 1000"
    );
    assert_eq!(watched.live_seconds, 300);
    assert_eq!(watched.updated_at, h.at(1000));
    assert_eq!(
        h.credited(&student, watched.id).await,
        120 + 90,
        "watch time: 10 to 130 (seen at 40, plus T), then 150 to 240 (seen at 150, plus T)"
    );
    let nobody = h.session(nobody.id).await;
    assert_eq!(
        nobody.ended_at,
        Some(h.at(120)),
        "nobody ever joined: its start plus the minutes"
    );
    assert_eq!(nobody.live_seconds, 120);
    assert_eq!(h.session(busy.id).await.status, SessionStatus::Live);
}
