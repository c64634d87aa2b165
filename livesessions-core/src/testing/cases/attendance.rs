//! Joins, presence and watch time, with a manual clock and T = 90 s.

use std::sync::Arc;

use chrono::TimeDelta;

use crate::actor::Actor;
use crate::ids::SessionId;
use crate::ports::Store;
use crate::service::JoinInput;
use crate::testing::harness::Act::{Beat, Join, Leave};
use crate::testing::harness::{assert_not_found, assert_refused, Harness};
use crate::{Presence, SessionAction, SessionStatus};

/// The first join creates the participant and counts the user; later joins of the same user
/// do not change the count, bump `join_count` and `last_joined_at` and keep the first join
/// time and the open interval. Every participant field reads back exactly (to the microsecond).
pub async fn join_is_idempotent(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h.create_live("joins").await;
    let ahmed = h.user("ahmed");

    let first = h.join(&ahmed, session.id).await;
    assert!(first.first_join);
    assert_eq!(first.session.id, session.id);
    assert_eq!(first.session.participants, 1);
    let p = &first.participant;
    assert_eq!(p.session_id, session.id);
    assert_eq!(p.user_id, ahmed.user_id);
    assert_eq!(p.user_name.as_str(), "ahmed");
    assert_eq!(p.email.as_str(), "ahmed@example.com");
    assert_eq!(p.first_joined_at, h.at(0));
    assert_eq!(p.last_joined_at, h.at(0));
    assert_eq!(p.last_seen, h.at(0));
    assert_eq!(p.created_at, h.at(0));
    assert_eq!(p.left_at, None);
    assert_eq!(
        p.present_since,
        Some(h.at(0)),
        "joining a live session opens an interval"
    );
    assert_eq!(p.watch_seconds, 0);
    assert_eq!(p.join_count, 1);
    assert_eq!(h.participant(&ahmed, session.id).await, first.participant);
    assert_eq!(h.session(session.id).await.participants, 1);

    h.clock.set(h.at(20) + TimeDelta::microseconds(123_457));
    let second = h.join(&ahmed, session.id).await;
    assert!(!second.first_join, "a rejoin is not a first join");
    assert_eq!(second.session.participants, 1, "a rejoin does not count");
    let p = &second.participant;
    assert_eq!(p.join_count, 2);
    assert_eq!(p.first_joined_at, h.at(0));
    assert_eq!(p.created_at, h.at(0));
    assert_eq!(
        p.last_joined_at,
        h.at(20) + TimeDelta::microseconds(123_457)
    );
    assert_eq!(p.last_seen, h.at(20) + TimeDelta::microseconds(123_457));
    assert_eq!(
        p.present_since,
        Some(h.at(0)),
        "a rejoin keeps the open interval"
    );
    assert_eq!(h.participant(&ahmed, session.id).await, second.participant);
    assert_eq!(h.session(session.id).await.participants, 1);

    let sara = h.user("sara");
    let third = h.join(&sara, session.id).await;
    assert!(third.first_join);
    assert_eq!(third.session.participants, 2);
    for _ in 0..3 {
        h.join(&sara, session.id).await;
    }
    assert_eq!(h.session(session.id).await.participants, 2);
    assert_eq!(h.participant(&sara, session.id).await.join_count, 4);
    let page = h.try_attendance(session.id, 100).await.expect("attendance");
    assert_eq!(page.total, 2, "one participant record per user");

    // Joining a scheduled session counts too, without opening an interval.
    let scheduled = h.create("scheduled", 3600).await;
    let joined = h.join(&ahmed, scheduled.id).await;
    assert!(joined.first_join);
    assert_eq!(joined.session.participants, 1);
    assert_eq!(joined.participant.present_since, None);
    assert_eq!(h.session(scheduled.id).await.participants, 1);
    assert_eq!(
        h.session(session.id).await.participants,
        2,
        "counts are per session"
    );
}

/// A rejoin refreshes the participant's name and email; names and emails from the request body
/// are used when the token has none.
pub async fn join_refreshes_name_and_email(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h.create_live("names").await;
    let plain = Actor::user(h.user_id("ahmed"));
    let joined = h
        .service
        .join(
            Some(&plain),
            JoinInput {
                session_id: session.id.to_string(),
                user_id: Some(plain.user_id.to_string()),
                user_name: Some("Ahmed".into()),
                email: Some("ahmed@example.com".into()),
            },
        )
        .await
        .expect("join with name and email from the body");
    assert_eq!(joined.participant.user_name.as_str(), "Ahmed");
    assert_eq!(joined.participant.email.as_str(), "ahmed@example.com");

    h.set(10);
    let renamed = Actor::user(h.user_id("ahmed"))
        .with_name("Ahmed Ali")
        .with_email("ahmed.ali@example.org");
    let rejoined = h.join(&renamed, session.id).await;
    assert_eq!(rejoined.participant.user_name.as_str(), "Ahmed Ali");
    assert_eq!(rejoined.participant.email.as_str(), "ahmed.ali@example.org");
    let stored = h.participant(&renamed, session.id).await;
    assert_eq!(stored.user_name.as_str(), "Ahmed Ali");
    assert_eq!(stored.email.as_str(), "ahmed.ali@example.org");
    assert_eq!(stored.join_count, 2);
    assert_eq!(h.session(session.id).await.participants, 1);
}

/// Joining an unknown session, and heartbeats or leaves of someone who never joined (or of an
/// unknown session), are `NotFound` and create nothing.
pub async fn unknown_sessions_and_participants_are_not_found(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h.create_live("known").await;
    let stranger = h.user("stranger");
    let missing = SessionId::new();

    assert_not_found(h.try_join(&stranger, missing).await);
    assert_not_found(h.service.heartbeat(Some(&stranger), session.id).await);
    assert_not_found(h.service.leave(Some(&stranger), session.id).await);
    assert_not_found(h.service.heartbeat(Some(&stranger), missing).await);
    assert_not_found(h.service.leave(Some(&stranger), missing).await);
    let presence = Presence::new(h.at(0), h.timeout());
    assert_not_found(
        h.store
            .heartbeat(session.id, &stranger.user_id, presence)
            .await,
    );
    assert_not_found(h.store.leave(session.id, &stranger.user_id, presence).await);
    assert_not_found(h.service.get(None, missing).await);
    assert_eq!(
        h.store
            .get_participant(session.id, &stranger.user_id)
            .await
            .expect("get_participant"),
        None
    );
    assert_eq!(h.session(session.id).await.participants, 0);
}

/// Heartbeats keep one interval open; a leave credits it (75 s for join at 0, heartbeats at 30
/// and 60, leave at 75); a second leave credits nothing more; a later rejoin opens a new
/// interval that the end credits.
pub async fn heartbeats_and_leave_credit_watch_time(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h.create_live("credit").await;
    let ahmed = h.user("ahmed");
    h.join(&ahmed, session.id).await;
    h.set(30);
    let p = h.heartbeat(&ahmed, session.id).await;
    assert_eq!(p.present_since, Some(h.at(0)));
    assert_eq!(p.last_seen, h.at(30));
    assert_eq!(p.watch_seconds, 0);
    h.set(60);
    h.heartbeat(&ahmed, session.id).await;
    h.set(75);
    let left = h.leave(&ahmed, session.id).await;
    assert_eq!(left.watch_seconds, 75);
    assert_eq!(left.present_since, None);
    assert_eq!(left.left_at, Some(h.at(75)));
    assert_eq!(h.participant(&ahmed, session.id).await, left);

    h.set(100);
    let again = h.leave(&ahmed, session.id).await;
    assert_eq!(again.watch_seconds, 75, "leaving twice is harmless");
    assert_eq!(again.left_at, Some(h.at(100)));

    h.set(200);
    let rejoined = h.join(&ahmed, session.id).await;
    assert_eq!(rejoined.participant.present_since, Some(h.at(200)));
    assert_eq!(rejoined.participant.watch_seconds, 75);
    h.set(230);
    h.heartbeat(&ahmed, session.id).await;
    h.set(250);
    h.end(session.id).await;
    let p = h.participant(&ahmed, session.id).await;
    assert_eq!(p.watch_seconds, 125, "75 + 50");
    assert_eq!(p.present_since, None);
    assert_eq!(p.watch_minutes(), 2);
}

/// After a silence longer than T the old interval is credited only up to `last_seen + T` and a
/// new one opens; a leave long after the last heartbeat is capped the same way; a gap of
/// exactly T is not a break.
pub async fn gaps_longer_than_the_timeout_are_capped(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h.create_live("gaps").await;
    let ahmed = h.user("ahmed");
    h.play(&[(&ahmed, session.id, &[Join(0), Beat(30)])]).await;
    h.set(530);
    let p = h.heartbeat(&ahmed, session.id).await;
    assert_eq!(p.watch_seconds, 120, "0..(30 + 90)");
    assert_eq!(p.present_since, Some(h.at(530)));
    assert_eq!(p.last_seen, h.at(530));
    h.set(1000);
    let p = h.leave(&ahmed, session.id).await;
    assert_eq!(p.watch_seconds, 210, "120 + 530..(530 + 90)");

    h.set(1100);
    h.join(&ahmed, session.id).await;
    h.set(1190);
    let p = h.heartbeat(&ahmed, session.id).await;
    assert_eq!(
        p.present_since,
        Some(h.at(1100)),
        "a gap of exactly T keeps the interval"
    );
    assert_eq!(p.watch_seconds, 210);
    h.set(1200);
    let p = h.leave(&ahmed, session.id).await;
    assert_eq!(p.watch_seconds, 310, "210 + 100");
    assert_eq!(h.participant(&ahmed, session.id).await.watch_seconds, 310);
}

/// Heartbeats (and joins) with a time older than `last_seen` change nothing but the join
/// bookkeeping: they neither move `last_seen` back nor open or credit intervals.
pub async fn stale_heartbeats_are_ignored(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h.create_live("stale").await;
    let ahmed = h.user("ahmed");
    h.play(&[(&ahmed, session.id, &[Join(100), Beat(150)])])
        .await;
    h.set(120);
    let p = h.heartbeat(&ahmed, session.id).await;
    assert_eq!(
        p.last_seen,
        h.at(150),
        "a stale heartbeat does not move last_seen back"
    );
    assert_eq!(p.present_since, Some(h.at(100)));
    assert_eq!(p.watch_seconds, 0);

    h.set(400);
    let p = h.heartbeat(&ahmed, session.id).await;
    assert_eq!(p.watch_seconds, 140, "100..(150 + 90)");
    assert_eq!(p.present_since, Some(h.at(400)));
    h.set(300);
    let p = h.heartbeat(&ahmed, session.id).await;
    assert_eq!(p.last_seen, h.at(400));
    assert_eq!(p.present_since, Some(h.at(400)));
    assert_eq!(p.watch_seconds, 140);

    h.set(430);
    let p = h.leave(&ahmed, session.id).await;
    assert_eq!(p.watch_seconds, 170, "140 + 30");
    assert_eq!(p.last_seen, h.at(400), "a leave does not move last_seen");

    // A stale join after the leave: counted as a join, but no interval opens.
    h.set(350);
    let rejoined = h.join(&ahmed, session.id).await;
    assert!(!rejoined.first_join);
    assert_eq!(rejoined.participant.join_count, 2);
    assert_eq!(rejoined.participant.last_joined_at, h.at(350));
    assert_eq!(rejoined.participant.last_seen, h.at(400));
    assert_eq!(rejoined.participant.present_since, None);
    assert_eq!(
        h.participant(&ahmed, session.id).await,
        rejoined.participant
    );
    h.set(500);
    h.end(session.id).await;
    assert_eq!(h.credited(&ahmed, session.id).await, 170);
}

/// Two tabs of one user (joins and interleaved heartbeats) share one interval and are never
/// credited twice.
pub async fn several_tabs_do_not_double_credit(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h.create_live("tabs").await;
    let ahmed = h.user("ahmed");
    // Tab A joins at 0, tab B at 10.
    h.play(&[(&ahmed, session.id, &[Join(0), Join(10)])]).await;
    for t in [30, 35, 60, 65] {
        h.set(t);
        let p = h.heartbeat(&ahmed, session.id).await;
        assert_eq!(p.present_since, Some(h.at(0)), "one interval for both tabs");
    }
    h.set(62);
    h.heartbeat(&ahmed, session.id).await; // a late heartbeat of tab A
    h.set(80);
    let p = h.leave(&ahmed, session.id).await; // tab A closes
    assert_eq!(p.watch_seconds, 80, "not 80 + 70");
    h.set(95);
    let p = h.heartbeat(&ahmed, session.id).await; // tab B is still open
    assert_eq!(p.present_since, Some(h.at(95)));
    h.set(125);
    h.heartbeat(&ahmed, session.id).await;
    h.set(140);
    let p = h.leave(&ahmed, session.id).await;
    assert_eq!(p.watch_seconds, 125, "80 + 45");
    assert_eq!(p.join_count, 2);
    assert!(p.watch_seconds <= 140, "never more than the live time");
}

/// While a session is scheduled, joins and heartbeats only move `last_seen`; after the start a
/// heartbeat opens the interval that the end credits. Leaving a scheduled session is harmless.
pub async fn heartbeat_while_scheduled_only_updates_last_seen(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h.create("early birds", 40).await;
    let ahmed = h.user("ahmed");
    let sara = h.user("sara");
    let joined = h.join(&ahmed, session.id).await;
    assert_eq!(joined.participant.present_since, None);
    h.join(&sara, session.id).await;
    h.set(20);
    let p = h.leave(&sara, session.id).await;
    assert_eq!(p.watch_seconds, 0);
    assert_eq!(p.left_at, Some(h.at(20)));
    h.set(30);
    let p = h.heartbeat(&ahmed, session.id).await;
    assert_eq!(p.last_seen, h.at(30));
    assert_eq!(p.present_since, None);
    assert_eq!(p.watch_seconds, 0);

    h.set(40);
    h.start(session.id).await;
    h.set(50);
    let p = h.heartbeat(&ahmed, session.id).await;
    assert_eq!(p.present_since, Some(h.at(50)));
    h.set(80);
    h.heartbeat(&ahmed, session.id).await;
    h.set(100);
    h.end(session.id).await;
    assert_eq!(h.credited(&ahmed, session.id).await, 50);
    assert_eq!(h.credited(&sara, session.id).await, 0);
    assert_eq!(h.session(session.id).await.participants, 2);
}

/// Ending a session credits every present participant at the end time, each capped at its own
/// `last_seen + T`, and closes every interval; participants who left keep their credit.
pub async fn end_credits_every_present_participant(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h.create_live("the end").await;
    let [ahmed, sara, bilal, zara] = ["ahmed", "sara", "bilal", "zara"].map(|n| h.user(n));
    let s = session.id;
    h.play(&[
        (&ahmed, s, &[Join(0), Beat(60)]),
        (&bilal, s, &[Join(10), Leave(20)]),
        (&sara, s, &[Join(50)]),
        (&zara, s, &[Join(190), Beat(195)]),
    ])
    .await;

    h.set(200);
    let ended = h.end(session.id).await;
    assert_eq!(ended.ended_at, Some(h.at(200)));
    assert_eq!(ended.live_seconds, 200);
    for (who, expected) in [
        (&ahmed, 150), // 0..(60 + 90)
        (&sara, 90),   // 50..(50 + 90)
        (&bilal, 10),  // left at 20
        (&zara, 10),   // 190..200
    ] {
        let p = h.participant(who, session.id).await;
        assert_eq!(p.watch_seconds, expected, "{}", who.user_id);
        assert_eq!(p.present_since, None, "the end closes every interval");
    }
    let report = h.report(session.id, None).await;
    assert_eq!(report.total_watch_seconds, 260);
    assert_eq!(report.watching, 0);
}

/// A restart after an end keeps the attendance and the count; the new live period is credited
/// from the first heartbeat after the restart, never for the time in between.
pub async fn restart_keeps_attendance_and_credits_the_new_period(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h.create_live("restart").await;
    let ahmed = h.user("ahmed");
    let sara = h.user("sara");
    h.join(&ahmed, session.id).await;
    h.set(60);
    h.end(session.id).await;
    assert_eq!(h.credited(&ahmed, session.id).await, 60);
    h.set(80);
    let p = h.heartbeat(&ahmed, session.id).await;
    assert_eq!(p.present_since, None, "no interval opens while ended");
    assert_eq!(p.last_seen, h.at(80));

    h.set(100);
    let restarted = h.start(session.id).await;
    assert_eq!(restarted.participants, 1, "a restart keeps the count");
    h.set(110);
    let p = h.heartbeat(&ahmed, session.id).await;
    assert_eq!(p.present_since, Some(h.at(110)));
    assert_eq!(p.watch_seconds, 60);
    h.set(120);
    let joined = h.join(&sara, session.id).await;
    assert_eq!(joined.session.participants, 2);
    h.set(140);
    h.heartbeat(&ahmed, session.id).await;
    h.set(170);
    let ended = h.end(session.id).await;
    assert_eq!(ended.live_seconds, 130, "60 + 70");
    assert_eq!(h.credited(&ahmed, session.id).await, 120, "60 + 60");
    assert_eq!(h.credited(&sara, session.id).await, 50);
    assert_eq!(h.session(session.id).await.participants, 2);
}

/// Heartbeats and leaves after the end credit nothing, joins are refused, and nobody's credit
/// exceeds the session's live time.
pub async fn presence_after_the_end_is_not_credited(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h.create_live("after the end").await;
    let ahmed = h.user("ahmed");
    h.play(&[(&ahmed, session.id, &[Join(0), Beat(60)])]).await;
    h.set(100);
    let ended = h.end(session.id).await;
    assert_eq!(h.credited(&ahmed, session.id).await, 100);
    h.set(150);
    let p = h.heartbeat(&ahmed, session.id).await;
    assert_eq!(p.last_seen, h.at(150));
    assert_eq!(p.present_since, None);
    h.set(300);
    let p = h.leave(&ahmed, session.id).await;
    assert_eq!(p.watch_seconds, 100);
    assert!(p.watch_seconds <= ended.live_seconds);
    assert_refused(
        h.try_join(&ahmed, session.id).await,
        SessionStatus::Ended,
        SessionAction::Join,
    );
    let report = h.report(session.id, None).await;
    assert_eq!(report.total_watch_seconds, 100);
    assert_eq!(report.live_seconds, 100);
}

/// `watching` counts participants with an open interval seen within T (inclusive), both from
/// the store and in the service's view of a session; an ended session has nobody watching.
pub async fn watching_counts_recent_present_participants(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let early = h.create("watching", 0).await;
    let [ahmed, sara, bilal, zara] = ["ahmed", "sara", "bilal", "zara"].map(|n| h.user(n));
    h.join(&zara, early.id).await; // while scheduled: not present
    let session = h.start(early.id).await;
    h.play(&[
        (&ahmed, session.id, &[Join(0), Beat(60)]),
        (&sara, session.id, &[Join(0), Leave(60)]),
        (&bilal, session.id, &[Join(0)]),
    ])
    .await;

    let watching = |secs: i64| {
        let h = &h;
        async move {
            h.store
                .watching(session.id, Presence::new(h.at(secs), h.timeout()))
                .await
                .expect("watching")
        }
    };
    // At 60: ahmed (seen 60) and bilal (seen 0, within 90 s).
    assert_eq!(watching(60).await, 2);
    assert_eq!(watching(90).await, 2, "seen exactly T ago still counts");
    assert_eq!(watching(91).await, 1, "bilal was last seen 91 s ago");
    assert_eq!(watching(150).await, 1);
    assert_eq!(watching(151).await, 0);

    h.set(120);
    let view = h.service.get(None, session.id).await.expect("get");
    assert_eq!(view.watching, 1);
    assert!(
        view.video().is_none(),
        "anonymous callers do not see the video URL"
    );
    let view = h.service.get(Some(&zara), session.id).await.expect("get");
    assert!(view.video().is_some());

    h.end(session.id).await;
    assert_eq!(watching(120).await, 0, "nobody watches an ended session");
    assert_eq!(
        h.service.get(None, session.id).await.expect("get").watching,
        0
    );
}
