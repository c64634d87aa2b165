//! Concurrency: the class-start stampede and presence events arriving all at once.

use std::collections::HashSet;
use std::sync::Arc;

use crate::actor::Actor;
use crate::attendance::Participant;
use crate::ids::SessionId;
use crate::ports::{JoinOutcome, Store};
use crate::service::LiveSessions;
use crate::testing::harness::{scaled, Harness};

/// Spawns every future at once on the runtime and waits for all of them.
async fn all_at_once<T, F>(futures: Vec<F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut results = Vec::with_capacity(handles.len());
    for handle in handles {
        results.push(handle.await.expect("a concurrent task panicked"));
    }
    results
}

fn join_task(
    service: &LiveSessions,
    who: &Actor,
    id: SessionId,
) -> impl std::future::Future<Output = JoinOutcome> + Send + 'static {
    let service = service.clone();
    let who = who.clone();
    async move {
        service
            .join(
                Some(&who),
                crate::service::JoinInput {
                    session_id: id.to_string(),
                    ..Default::default()
                },
            )
            .await
            .unwrap_or_else(|e| panic!("{} joining failed: {e} ({e:?})", who.user_id))
    }
}

/// A heartbeat of `who` (a leave when `leaving`) as a task of its own.
fn presence_task(
    service: &LiveSessions,
    who: &Actor,
    id: SessionId,
    leaving: bool,
) -> impl std::future::Future<Output = Participant> + Send + 'static {
    let service = service.clone();
    let who = who.clone();
    async move {
        let (what, result) = if leaving {
            ("leaving", service.leave(Some(&who), id).await)
        } else {
            ("heartbeat", service.heartbeat(Some(&who), id).await)
        };
        result.unwrap_or_else(|e| panic!("{} {what} failed: {e} ({e:?})", who.user_id))
    }
}

async fn all_participants(h: &Harness, id: SessionId) -> (u64, Vec<Participant>) {
    let page = h.try_attendance(id, 10_000).await.expect("attendance");
    (
        page.total,
        page.rows.into_iter().map(|r| r.participant).collect(),
    )
}

/// 500 joins spawned at once (400 users, 100 of them twice) count 400 participants, with 400
/// records and 500 joins recorded; 50 simultaneous joins of one user count once. The sizes
/// follow `LIVESESSIONS_TEST_SCALE` (at 0.1: 40 users, 50 joins, 5 tabs).
pub async fn concurrent_joins_count_each_user_once(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h.create_live("stampede").await;
    let students = scaled(400, 4);
    let twice = students / 4;
    let users = h.users(students, |i| format!("student{i:03}"));
    let mut tasks = Vec::new();
    for (i, who) in users.iter().enumerate() {
        tasks.push(join_task(&h.service, who, session.id));
        if i % 4 == 0 {
            tasks.push(join_task(&h.service, who, session.id));
        }
    }
    assert_eq!(tasks.len(), students + twice);
    let outcomes = all_at_once(tasks).await;
    let first_joins = outcomes.iter().filter(|o| o.first_join).count();
    assert_eq!(first_joins, students, "exactly one first join per user");
    assert!(outcomes
        .iter()
        .all(|o| o.session.participants <= students as u64));

    let stored = h.session(session.id).await;
    assert_eq!(
        stored.participants, students as u64,
        "participants counts distinct users"
    );
    let (total, participants) = all_participants(&h, session.id).await;
    assert_eq!(total, students as u64, "one participant record per user");
    assert_eq!(participants.len(), students);
    let distinct: HashSet<_> = participants.iter().map(|p| p.user_id.clone()).collect();
    assert_eq!(distinct.len(), students);
    assert_eq!(
        participants.iter().map(|p| p.join_count).sum::<u64>(),
        (students + twice) as u64,
        "every join is recorded"
    );
    for p in &participants {
        let expected = if h.untag(p.user_id.as_str())["student".len()..]
            .parse::<usize>()
            .expect("a student number")
            % 4
            == 0
        {
            2
        } else {
            1
        };
        assert_eq!(p.join_count, expected, "{}", p.user_id);
        assert_eq!(p.present_since, Some(h.at(0)));
    }

    // One user in many tabs at once.
    let other = h.create_live("one user, many tabs").await;
    let ahmed = h.user("ahmed");
    let tabs = scaled(50, 1);
    let tasks: Vec<_> = (0..tabs)
        .map(|_| join_task(&h.service, &ahmed, other.id))
        .collect();
    let outcomes = all_at_once(tasks).await;
    assert_eq!(outcomes.iter().filter(|o| o.first_join).count(), 1);
    assert_eq!(h.session(other.id).await.participants, 1);
    assert_eq!(
        h.participant(&ahmed, other.id).await.join_count,
        tabs as u64
    );
    assert_eq!(
        h.session(session.id).await.participants,
        students as u64,
        "joins of another session do not touch this one"
    );
}

/// Heartbeats and leaves of many users arriving at the same moment (several per user, as from
/// several tabs) are all applied and credited exactly once. 60 users (scaled by
/// `LIVESESSIONS_TEST_SCALE`, at least 2).
pub async fn concurrent_heartbeats_and_leaves_keep_credit(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h.create_live("busy").await;
    let viewers = scaled(60, 2);
    let users = h.users(viewers, |i| format!("viewer{i:02}"));
    let (stay, go) = users.split_at(viewers / 2);
    let joins = users
        .iter()
        .map(|who| join_task(&h.service, who, session.id))
        .collect();
    all_at_once(joins).await;
    assert_eq!(h.session(session.id).await.participants, viewers as u64);

    let heartbeat = |who: &Actor| presence_task(&h.service, who, session.id, false);
    let leave = |who: &Actor| presence_task(&h.service, who, session.id, true);

    // At 30 s: three heartbeats per user, all at once.
    h.set(30);
    let round: Vec<_> = users
        .iter()
        .flat_map(|who| [heartbeat(who), heartbeat(who), heartbeat(who)])
        .collect();
    let seen = all_at_once(round).await;
    assert!(seen.iter().all(|p| p.present_since == Some(h.at(0))));

    // At 60 s: half of them heartbeat twice, the other half leave twice, all at once.
    h.set(60);
    let beats: Vec<_> = stay
        .iter()
        .flat_map(|who| [heartbeat(who), heartbeat(who)])
        .collect();
    let leaves: Vec<_> = go.iter().flat_map(|who| [leave(who), leave(who)]).collect();
    let beats = tokio::spawn(all_at_once(beats));
    let leaves = tokio::spawn(all_at_once(leaves));
    beats.await.expect("heartbeats");
    leaves.await.expect("leaves");

    h.set(90);
    h.end(session.id).await;
    let (total, participants) = all_participants(&h, session.id).await;
    assert_eq!(total, viewers as u64);
    let stayed: HashSet<_> = stay.iter().map(|a| a.user_id.clone()).collect();
    for p in &participants {
        let expected = if stayed.contains(&p.user_id) { 90 } else { 60 };
        assert_eq!(p.watch_seconds, expected, "{}", p.user_id);
        assert_eq!(p.present_since, None);
        assert_eq!(p.last_seen, h.at(if expected == 90 { 60 } else { 30 }));
    }
    let report = h.report(session.id, None).await;
    assert_eq!(report.total_watch_seconds, stay.len() as i64 * (90 + 60));
    assert_eq!(report.max_watch_seconds, 90);
    assert_eq!(report.participants, viewers as u64);
    assert_eq!(
        report.attended,
        stay.len() as u64,
        "those who stayed watched all 90 s"
    );
}
