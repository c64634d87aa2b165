//! The session lifecycle (scheduled, live, ended, cancelled), through the service, and the store's `end_session`.

use std::sync::Arc;

use crate::error::Error;
use crate::ids::SessionId;
use crate::ports::Store;
use crate::session::{SessionAction, SessionStatus};
use crate::testing::harness::Act::{Beat, Join};
use crate::testing::harness::{assert_not_found, assert_refused, assert_version_mismatch, Harness};

/// Every allowed transition: create (scheduled, or live with "Mark as Live"), start from
/// scheduled, start while live (no-op), end from live, end while ended (no-op), restart from
/// ended (keeping the first start time and adding up live time), and `isLive` in an update.
pub async fn lifecycle_start_end_restart(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let created = h.create("lifecycle", 0).await;
    assert_eq!(created.status, SessionStatus::Scheduled);
    assert!(!created.is_live());
    assert_eq!(created.started_at, None);
    assert_eq!(created.ended_at, None);
    assert_eq!(created.live_since, None);
    assert_eq!(created.live_seconds, 0);
    assert_eq!(created.version, 1);

    h.set(10);
    let started = h.start(created.id).await;
    assert_eq!(started.status, SessionStatus::Live);
    assert_eq!(started.started_at, Some(h.at(10)));
    assert_eq!(started.live_since, Some(h.at(10)));
    assert_eq!(started.updated_at, h.at(10));
    assert_eq!(started.version, 2);
    assert_eq!(h.session(created.id).await, started);

    h.set(20);
    h.assert_again_unchanged(SessionAction::Start, &started)
        .await;

    h.set(70);
    let ended = h.end(created.id).await;
    assert_eq!(ended.status, SessionStatus::Ended);
    assert_eq!(ended.ended_at, Some(h.at(70)));
    assert_eq!(ended.live_since, None);
    assert_eq!(ended.live_seconds, 60);
    assert_eq!(ended.started_at, Some(h.at(10)));
    assert_eq!(ended.version, 3);
    assert_eq!(h.session(created.id).await, ended);

    h.set(80);
    h.assert_again_unchanged(SessionAction::End, &ended).await;

    // A restart through `isLive: true` in an update.
    h.set(100);
    let restarted = h
        .try_update(created.id, |update| update.is_live = Some(true))
        .await
        .expect("restart with isLive: true");
    assert_eq!(restarted.status, SessionStatus::Live);
    assert_eq!(
        restarted.started_at,
        Some(h.at(10)),
        "startedAt is the first start"
    );
    assert_eq!(restarted.live_since, Some(h.at(100)));
    assert_eq!(restarted.live_seconds, 60);
    assert_eq!(restarted.version, 4);
    assert_eq!(h.session(created.id).await, restarted);

    // `isLive: false` together with a field change: one new version.
    h.set(130);
    let ended = h
        .try_update(created.id, |update| {
            update.fields.title = Some(format!("{} lifecycle (recording)", h.tag));
            update.is_live = Some(false);
        })
        .await
        .expect("end with isLive: false");
    assert_eq!(ended.status, SessionStatus::Ended);
    assert_eq!(ended.ended_at, Some(h.at(130)));
    assert_eq!(ended.live_seconds, 90, "live periods add up: 60 + 30");
    assert_eq!(ended.version, 5);
    assert_eq!(
        ended.fields.title.as_str(),
        format!("{} lifecycle (recording)", h.tag)
    );
    assert_eq!(h.session(created.id).await, ended);

    // "Mark as Live": created and started in one call.
    h.set(200);
    let marked = h
        .try_create(crate::session::NewSession {
            is_live: true,
            ..h.new_session("marked live", 200)
        })
        .await
        .expect("create live");
    assert_eq!(marked.status, SessionStatus::Live);
    assert_eq!(marked.started_at, Some(h.at(200)));
    assert_eq!(marked.live_since, Some(h.at(200)));
    assert_eq!(h.session(marked.id).await, marked);

    // Cancelling a scheduled session.
    let doomed = h.create("to cancel", 300).await;
    h.set(210);
    let cancelled = h.cancel(doomed.id).await;
    assert_eq!(cancelled.status, SessionStatus::Cancelled);
    assert_eq!(cancelled.version, 2);
    assert_eq!(cancelled.updated_at, h.at(210));
    assert_eq!(cancelled.started_at, None);
    assert_eq!(h.session(doomed.id).await, cancelled);
}

/// Every action the lifecycle does not allow is `Conflict(InvalidTransition)` naming the status
/// and the action, and changes nothing: end or nothing else while scheduled, cancel while live
/// or ended, anything while cancelled, and joining an ended or cancelled session.
pub async fn lifecycle_refuses_every_other_action(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let student = h.user("student");

    // Each session, its status and the actions refused in it.
    let [scheduled, live, ended, cancelled] = h.one_of_each().await;
    for (session, status, refused) in [
        (
            &scheduled,
            SessionStatus::Scheduled,
            &[SessionAction::End][..],
        ),
        (&live, SessionStatus::Live, &[SessionAction::Cancel]),
        (
            &ended,
            SessionStatus::Ended,
            &[SessionAction::Cancel, SessionAction::Join],
        ),
        (
            &cancelled,
            SessionStatus::Cancelled,
            &[
                SessionAction::Start,
                SessionAction::End,
                SessionAction::Cancel,
                SessionAction::Join,
            ],
        ),
    ] {
        for &action in refused {
            assert_refused(
                h.try_act(action, &student, session.id).await,
                status,
                action,
            );
        }
        assert_eq!(&h.session(session.id).await, session);
    }
    // A start through `isLive: true` in an update is refused as a start.
    assert_refused(
        h.try_update(cancelled.id, |update| update.is_live = Some(true))
            .await,
        SessionStatus::Cancelled,
        SessionAction::Start,
    );
    assert_eq!(h.session(cancelled.id).await, cancelled);

    for id in [ended.id, cancelled.id] {
        assert_eq!(
            h.session(id).await.participants,
            0,
            "a refused join is not counted"
        );
        assert_eq!(
            h.store
                .get_participant(id, &student.user_id)
                .await
                .expect("get_participant"),
            None,
            "a refused join creates no participant"
        );
    }

    // A refused field change together with a refused transition changes nothing either.
    let refused = h
        .try_update(scheduled.id, |update| {
            update.fields.title = Some("renamed".into());
            update.is_live = Some(false);
        })
        .await;
    assert_refused(refused, SessionStatus::Scheduled, SessionAction::End);
    assert_eq!(h.session(scheduled.id).await, scheduled);

    // Unknown sessions.
    let missing = SessionId::new();
    assert_not_found(h.service.start(Some(&h.admin), missing).await);
    assert_not_found(h.service.end(Some(&h.admin), missing).await);
    assert_not_found(h.service.cancel(Some(&h.admin), missing).await);
}

/// `end_session` stores the ended session and credits present participants in one step: with
/// a stale version it is `Conflict(VersionMismatch)` and credits nobody; for a missing session
/// it is `NotFound`.
pub async fn end_session_port_checks_the_version_first(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h.create_live("end port").await;
    let ahmed = h.user("ahmed");
    h.play(&[(&ahmed, session.id, &[Join(0), Beat(60)])]).await;

    let live = h.session(session.id).await;
    let mut ended = live.clone();
    ended.end(h.at(60)).expect("end a live session");
    assert_eq!(ended.version, live.version + 1);

    let mut stale = ended.clone();
    stale.version = live.version;
    assert_version_mismatch(h.store.end_session(&stale, h.timeout()).await);
    assert_eq!(
        h.session(session.id).await,
        live,
        "the session is unchanged"
    );
    let participant = h.participant(&ahmed, session.id).await;
    assert_eq!(
        participant.present_since,
        Some(h.at(0)),
        "a refused end closes no interval"
    );
    assert_eq!(
        participant.watch_seconds, 0,
        "a refused end credits nothing"
    );

    let stored = h
        .store
        .end_session(&ended, h.timeout())
        .await
        .expect("end_session");
    assert_eq!(stored.status, SessionStatus::Ended);
    assert_eq!(stored.participants, 1);
    assert_eq!(h.session(session.id).await, stored);
    let participant = h.participant(&ahmed, session.id).await;
    assert_eq!(participant.present_since, None);
    assert_eq!(participant.watch_seconds, 60);

    let mut missing = ended.clone();
    missing.id = SessionId::new();
    match h.store.end_session(&missing, h.timeout()).await {
        Err(Error::NotFound { .. }) => {}
        other => panic!("end_session of a missing session: expected NotFound, got {other:?}"),
    }
}
