//! The event log: one event per committed change, none for a change that failed or rolled back,
//! ids that increase in the order events become readable, and pruning.
//!
//! These cases take a [`LoggedStore`]; [`event_log_tests!`](crate::event_log_tests) runs them.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{TimeDelta, Utc};

use crate::error::Error;
use crate::events::{EventId, EventKind, EventLog, LoggedEvent};
use crate::ids::SessionId;
use crate::ports::JoinRequest;
use crate::presence::Presence;
use crate::session::LiveSession;
use crate::testing::harness::{scaled, Harness};
use crate::testing::LoggedStore;

/// Every event after `after`, read in pages of `page`.
async fn read_all(log: &dyn EventLog, after: EventId, page: usize) -> Vec<LoggedEvent> {
    let mut events = Vec::new();
    let mut from = after;
    loop {
        let batch = log.read_events(from, page).await.expect("read_events");
        assert!(
            batch.len() <= page,
            "read_events returned {} events for a limit of {page}",
            batch.len()
        );
        let Some(last) = batch.last() else {
            return events;
        };
        from = last.id;
        let done = batch.len() < page;
        events.extend(batch);
        if done {
            return events;
        }
    }
}

fn assert_increasing(events: &[LoggedEvent]) {
    for pair in events.windows(2) {
        assert!(
            pair[0].id < pair[1].id,
            "event ids must increase in read order: {:?} then {:?}",
            pair[0],
            pair[1]
        );
    }
}

/// Reads what followed `after` and checks it is exactly `expected` (kind and session, in
/// order); returns the new position.
async fn expect_events(
    log: &dyn EventLog,
    after: EventId,
    expected: &[(EventKind, SessionId)],
    what: &str,
) -> EventId {
    let events = read_all(log, after, 100).await;
    let got: Vec<(EventKind, SessionId)> = events.iter().map(|e| (e.kind, e.session_id)).collect();
    assert_eq!(got, expected, "the events appended by {what}");
    assert_increasing(&events);
    if let Some(first) = events.first() {
        assert!(
            first.id > after,
            "{what}: an event at or before the position read from"
        );
    }
    let now = Utc::now();
    for event in &events {
        assert!(
            event.at <= now + TimeDelta::minutes(1) && event.at >= now - TimeDelta::hours(1),
            "{what}: an event appended at {} by the store's clock, now is {now}",
            event.at
        );
    }
    events.last().map_or(after, |e| e.id)
}

async fn position(log: &dyn EventLog) -> EventId {
    log.log_position().await.expect("log_position").last
}

/// Each change of the ports appends exactly its event: `created` (and `live` for a session
/// created live), `updated`, `live`, `participants` on a first join only, `ended`,
/// `cancelled`, `deleted`. Heartbeats, leaves and rejoins append nothing.
pub async fn every_change_appends_its_event(s: LoggedStore) {
    use EventKind::*;
    let h = Harness::new(s.store.clone());
    let log = &*s.log;
    let mut at = position(log).await;

    let a = h.create("a", 3600).await;
    at = expect_events(log, at, &[(Created, a.id)], "create").await;
    h.try_update(a.id, |u| u.fields.title = Some(format!("{} a2", h.tag)))
        .await
        .expect("update");
    at = expect_events(log, at, &[(Updated, a.id)], "update").await;
    h.start(a.id).await;
    at = expect_events(log, at, &[(Live, a.id)], "start").await;
    let ana = h.user("ana");
    h.join(&ana, a.id).await;
    at = expect_events(log, at, &[(Participants, a.id)], "a first join").await;
    h.join(&ana, a.id).await;
    h.heartbeat(&ana, a.id).await;
    h.leave(&ana, a.id).await;
    at = expect_events(log, at, &[], "a rejoin, a heartbeat and a leave").await;
    h.end(a.id).await;
    at = expect_events(log, at, &[(Ended, a.id)], "end").await;
    h.start(a.id).await;
    at = expect_events(log, at, &[(Live, a.id)], "a restart").await;

    let b = h.create_live("b").await;
    at = expect_events(log, at, &[(Created, b.id), (Live, b.id)], "create live").await;
    let c = h.create("c", 7200).await;
    h.cancel(c.id).await;
    at = expect_events(log, at, &[(Created, c.id), (Cancelled, c.id)], "cancel").await;
    h.service
        .delete(Some(&h.admin), c.id)
        .await
        .expect("delete");
    at = expect_events(log, at, &[(Deleted, c.id)], "delete").await;
    assert_eq!(
        position(log).await,
        at,
        "log_position().last is the last id read"
    );
}

/// Changes that fail append nothing: a stale version, a join of an unknown or ended session,
/// deleting a session that does not exist.
pub async fn failed_changes_append_nothing(s: LoggedStore) {
    let h = Harness::new(s.store.clone());
    let live = h.create_live("live").await;
    let ended = h.create_live("ended").await;
    h.end(ended.id).await;
    let at = position(&*s.log).await;

    let mut stale = live.clone();
    stale.fields.title = crate::values::Title::parse("stale").expect("a title");
    assert!(s
        .store
        .update_session(&stale, EventKind::Updated)
        .await
        .is_err());
    let ana = h.user("ana");
    assert!(h.try_join(&ana, SessionId::new()).await.is_err());
    assert!(h.try_join(&ana, ended.id).await.is_err());
    assert!(!s
        .store
        .delete_session(SessionId::new())
        .await
        .expect("delete"));
    expect_events(&*s.log, at, &[], "changes that failed").await;
}

/// An event exists if and only if its change committed: while the store's appends fail, every
/// change that would append fails and leaves the data as it was; once they work again, each
/// change appends its event.
pub async fn an_event_exists_iff_its_change_committed(s: LoggedStore) {
    use EventKind::*;
    let faults = s.faults.clone().expect(
        "this case needs fault injection: give the fixture EventLogFaults \
         (Fixture::with_event_log)",
    );
    let h = Harness::new(s.store.clone());
    let live = h.create_live("live").await;
    let scheduled = h.create("scheduled", 3600).await;
    let ana = h.user("ana");
    let bo = h.user("bo");
    h.join(&ana, live.id).await;
    let before_live = s
        .store
        .get_session(live.id)
        .await
        .expect("get")
        .expect("live");
    let ana_before = s
        .store
        .get_participant(live.id, &ana.user_id)
        .await
        .expect("get_participant")
        .expect("ana");
    let at = position(&*s.log).await;

    faults.fail_appends(true).await;
    let outcome = async {
        let storage = |what: &str, result: Result<(), Error>| match result {
            Err(Error::Storage(_) | Error::Unavailable(_)) => {}
            other => panic!("{what} while the event log fails: {other:?}, not Storage"),
        };
        let mut copy: LiveSession = scheduled.clone();
        copy.id = SessionId::new();
        storage("insert_session", s.store.insert_session(&copy).await);
        assert_eq!(
            s.store.get_session(copy.id).await.expect("get"),
            None,
            "a session whose event could not be appended was stored"
        );
        storage(
            "start",
            h.service
                .start(Some(&h.admin), scheduled.id)
                .await
                .map(drop),
        );
        storage(
            "a first join",
            s.store
                .join(&JoinRequest {
                    session_id: live.id,
                    joiner: crate::attendance::Joiner {
                        user_id: bo.user_id.clone(),
                        user_name: crate::values::UserName::parse("bo").expect("a name"),
                        email: crate::values::Email::parse("bo@example.com").expect("an email"),
                    },
                    presence: Presence::new(h.service.now(), h.timeout()),
                    admin: false,
                })
                .await
                .map(drop),
        );
        storage(
            "end",
            h.service.end(Some(&h.admin), live.id).await.map(drop),
        );
        storage(
            "delete",
            s.store.delete_session(scheduled.id).await.map(drop),
        );
    };
    let result = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(outcome)).await;
    faults.fail_appends(false).await;
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }

    assert_eq!(
        s.store.get_session(scheduled.id).await.expect("get"),
        Some(scheduled.clone()),
        "the scheduled session changed although its changes failed"
    );
    assert_eq!(
        s.store.get_session(live.id).await.expect("get"),
        Some(before_live.clone()),
        "the live session changed although its changes failed"
    );
    assert_eq!(
        s.store
            .get_participant(live.id, &bo.user_id)
            .await
            .expect("get"),
        None,
        "a participant whose event could not be appended was stored"
    );
    assert_eq!(
        s.store
            .get_participant(live.id, &ana.user_id)
            .await
            .expect("get"),
        Some(ana_before),
        "an end that failed still credited a participant"
    );
    expect_events(&*s.log, at, &[], "changes whose appends failed").await;

    h.start(scheduled.id).await;
    h.join(&bo, live.id).await;
    h.end(live.id).await;
    assert!(s.store.delete_session(scheduled.id).await.expect("delete"));
    expect_events(
        &*s.log,
        at,
        &[
            (Live, scheduled.id),
            (Participants, live.id),
            (Ended, live.id),
            (Deleted, scheduled.id),
        ],
        "the same changes once appends work again",
    )
    .await;
}

/// Reading from any id returns exactly the events that followed it, in order, whatever the
/// page size.
pub async fn reading_from_an_id_returns_exactly_what_followed(s: LoggedStore) {
    use EventKind::*;
    let h = Harness::new(s.store.clone());
    let log = &*s.log;
    let start = position(log).await;
    let mut expected = Vec::new();
    for i in 0..12 {
        let session = h.create(&format!("s{i}"), 3600 + i).await;
        expected.push((Created, session.id));
        if i % 3 == 0 {
            h.start(session.id).await;
            expected.push((Live, session.id));
        } else if i % 5 == 0 {
            h.cancel(session.id).await;
            expected.push((Cancelled, session.id));
        }
    }
    let all = read_all(log, start, 1000).await;
    let got: Vec<_> = all.iter().map(|e| (e.kind, e.session_id)).collect();
    assert_eq!(
        got, expected,
        "the events, in the order the changes were made"
    );
    assert_increasing(&all);
    for page in [1, 2, 5] {
        assert_eq!(
            read_all(log, start, page).await,
            all,
            "read in pages of {page}"
        );
    }
    for (k, event) in all.iter().enumerate() {
        assert_eq!(
            read_all(log, event.id, 1000).await,
            all[k + 1..],
            "reading after event {k} ({})",
            event.id
        );
    }
    let last = all.last().expect("events").id;
    assert_eq!(position(log).await, last, "log_position().last");
    assert!(log.read_events(last, 10).await.expect("read").is_empty());
}

/// Concurrent writers lose nothing, and a reader tailing the log while they write sees exactly
/// what a reader sees afterwards: no event becomes readable behind a position already read.
pub async fn concurrent_writers_lose_nothing(s: LoggedStore) {
    let h = Arc::new(Harness::new(s.store.clone()));
    let log = s.log.clone();
    let start = position(&*log).await;
    let sessions_count = scaled(24, 4);
    let joins_per_session = scaled(20, 4);

    let done = Arc::new(AtomicBool::new(false));
    let tailer = tokio::spawn({
        let log = log.clone();
        let done = done.clone();
        async move {
            let mut seen = Vec::new();
            let mut at = start;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let batch = log.read_events(at, 50).await.expect("read_events");
                if let Some(last) = batch.last() {
                    at = last.id;
                }
                let empty = batch.is_empty();
                seen.extend(batch);
                if finished && empty {
                    return seen;
                }
                tokio::task::yield_now().await;
            }
        }
    });

    let creates: Vec<_> = (0..sessions_count)
        .map(|i| {
            let h = h.clone();
            tokio::spawn(async move { h.create_live(&format!("c{i}")).await })
        })
        .collect();
    let mut sessions = Vec::new();
    for task in creates {
        sessions.push(task.await.expect("a create panicked"));
    }
    let joins: Vec<_> = sessions
        .iter()
        .flat_map(|session| (0..joins_per_session).map(move |j| (session.id, j)))
        .map(|(id, j)| {
            let h = h.clone();
            tokio::spawn(async move {
                let who = h.user(&format!("u{j}"));
                h.join(&who, id).await;
            })
        })
        .collect();
    for task in joins {
        task.await.expect("a join panicked");
    }
    done.store(true, Ordering::SeqCst);
    let tailed = tailer.await.expect("the tailer panicked");
    let all = read_all(&*log, start, 1000).await;
    assert_increasing(&all);
    assert_eq!(
        tailed.iter().map(|e| e.id).collect::<Vec<_>>(),
        all.iter().map(|e| e.id).collect::<Vec<_>>(),
        "a reader tailing the log during the writes missed or gained events"
    );

    let ids: HashSet<SessionId> = sessions.iter().map(|s| s.id).collect();
    let mut created = HashMap::new();
    let mut last_count = HashMap::new();
    for event in &all {
        assert!(
            ids.contains(&event.session_id),
            "an event of another session: {event:?}"
        );
        match event.kind {
            EventKind::Created => {
                assert!(
                    created.insert(event.session_id, event.id).is_none(),
                    "created twice"
                );
            }
            EventKind::Participants => {
                last_count.insert(event.session_id, event.id);
            }
            EventKind::Live => {}
            other => panic!("unexpected {other} event: {event:?}"),
        }
    }
    assert_eq!(
        created.len(),
        sessions_count,
        "one created event per session"
    );
    for session in &sessions {
        let count = last_count
            .get(&session.id)
            .unwrap_or_else(|| panic!("no participants event for {}", session.id));
        assert!(
            *count > created[&session.id],
            "a participants event before its session's created event"
        );
        assert_eq!(
            s.store
                .get_session(session.id)
                .await
                .expect("get")
                .expect("session")
                .participants,
            joins_per_session as u64
        );
    }
}

/// Pruning deletes the events appended before a time and moves the pruned floor to the last
/// id it deleted; ids keep increasing after it.
pub async fn pruning_moves_the_floor(s: LoggedStore) {
    let h = Harness::new(s.store.clone());
    let log = &*s.log;
    let start = position(log).await;
    for i in 0..3 {
        h.create(&format!("p{i}"), 3600).await;
    }
    let before = read_all(log, start, 100).await;
    assert_eq!(before.len(), 3);
    assert_eq!(
        log.prune_events(Utc::now() - TimeDelta::hours(2))
            .await
            .expect("prune"),
        0,
        "nothing is older than two hours"
    );
    assert_eq!(read_all(log, start, 100).await, before);
    let last = before.last().expect("events").id;
    let pruned = log
        .prune_events(Utc::now() + TimeDelta::minutes(1))
        .await
        .expect("prune");
    assert!(pruned >= 3, "prune reported {pruned} events for at least 3");
    assert!(read_all(log, EventId::ZERO, 100).await.is_empty());
    let bounds = log.log_position().await.expect("log_position");
    assert_eq!(bounds.pruned_through, last, "the pruned floor");
    assert_eq!(bounds.last, last, "the last id stays");
    let next = h.create("after", 3600).await;
    let after = read_all(log, last, 100).await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].session_id, next.id);
    assert!(after[0].id > last, "ids keep increasing after pruning");
}
