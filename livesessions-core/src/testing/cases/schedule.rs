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
