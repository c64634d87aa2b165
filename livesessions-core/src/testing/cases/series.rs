//! Series: creating all occurrences or none, listing them in order, "this and following"
//! changes, cancelling one occurrence, and the attendance summary (attended N of M).

use std::sync::Arc;

use chrono::TimeDelta;

use crate::error::{Conflict, Error};
use crate::ids::{SeriesId, SessionId};
use crate::ports::Store;
use crate::series::{SeriesScope, SeriesSummaryQuery};
use crate::session::{LiveSession, SessionStatus, SessionUpdate};
use crate::testing::harness::Act::{Beat, Join, Leave};
use crate::testing::harness::{rfc3339, Harness};

/// Creates a series of `h` titled `title`: daily at `start` (seconds after time zero) with an
/// hour's end time, `count` occurrences, in UTC. Answers the occurrences as stored, in order.
async fn daily(h: &Harness, title: &str, start: i64, count: u32) -> Vec<LiveSession> {
    let first = h
        .create_with(title, start, |fields| {
            fields.end_time = Some(rfc3339(h.at(start + 3600)));
            fields.recurrence = Some(format!("FREQ=DAILY;COUNT={count}"));
        })
        .await;
    let link = first
        .series
        .clone()
        .expect("a session created with a rule is in a series");
    let occurrences = occurrences(h, link.id).await;
    assert_eq!(
        occurrences[0], first,
        "create answers the first occurrence as stored"
    );
    occurrences
}

async fn occurrences(h: &Harness, id: SeriesId) -> Vec<LiveSession> {
    h.store
        .series_sessions(id)
        .await
        .unwrap_or_else(|e| panic!("series_sessions failed: {e}"))
}

const DAY: i64 = 86_400;

/// A session created with a repeat rule is a series: one ordinary scheduled session per
/// occurrence, stored whole (every field, the series id and the rule on each), listed by
/// start, each with the first's duration; an unknown series lists nothing.
pub async fn a_series_is_created_with_every_occurrence_in_order(store: Arc<dyn Store>) {
    let h = Harness::new(Arc::clone(&store));
    let sessions = daily(&h, "weekly class", 600, 4).await;
    assert_eq!(sessions.len(), 4);
    let link = sessions[0].series.clone().expect("a series link");
    assert_eq!(link.recurrence.as_str(), "FREQ=DAILY;COUNT=4");
    for (i, s) in sessions.iter().enumerate() {
        let start = h.at(600 + i as i64 * DAY);
        assert_eq!(
            s.fields.start_time, start,
            "occurrence {i} starts a day after the last"
        );
        assert_eq!(s.fields.end_time, Some(start + TimeDelta::hours(1)));
        assert_eq!(s.series.as_ref(), Some(&link));
        assert_eq!(s.fields.title, sessions[0].fields.title);
        assert_eq!(s.status, SessionStatus::Scheduled);
        assert_eq!((s.version, s.participants), (1, 0));
        assert_eq!(h.session(s.id).await, *s, "each reads back whole by id");
    }
    let views = h
        .service
        .series(None, link.id)
        .await
        .expect("anyone may list a series");
    let ids: Vec<SessionId> = views.iter().map(|v| v.session.id).collect();
    assert_eq!(ids, sessions.iter().map(|s| s.id).collect::<Vec<_>>());
    assert!(occurrences(&h, SeriesId::new()).await.is_empty());
    assert!(matches!(
        h.service.series(None, SeriesId::new()).await,
        Err(Error::NotFound { .. })
    ));
}

/// `insert_series` is all or nothing: a series with one id that already exists is
/// `Conflict(AlreadyExists)` and stores none of its other occurrences.
pub async fn creating_a_series_is_all_or_nothing(store: Arc<dyn Store>) {
    let h = Harness::new(Arc::clone(&store));
    let existing = daily(&h, "existing", 0, 2).await;
    let link = crate::series::SeriesLink {
        id: SeriesId::new(),
        recurrence: existing[0].series.clone().expect("a link").recurrence,
    };
    let mut clash: Vec<LiveSession> = (0..3)
        .map(|i| {
            let mut s = existing[0].clone();
            s.id = SessionId::new();
            s.fields.start_time = h.at(10 * DAY + i * DAY);
            s.fields.end_time = None;
            s.series = Some(link.clone());
            s
        })
        .collect();
    clash[2].id = existing[1].id;
    let refused = store.insert_series(&clash).await;
    assert!(
        matches!(
            refused,
            Err(Error::Conflict(Conflict::AlreadyExists { .. }))
        ),
        "a series with a taken id is AlreadyExists, got {refused:?}"
    );
    assert!(
        occurrences(&h, link.id).await.is_empty(),
        "nothing of it is stored"
    );
    for s in &clash[..2] {
        assert_eq!(store.get_session(s.id).await.expect("get"), None);
    }
    assert_eq!(
        h.session(existing[1].id).await,
        existing[1],
        "the existing one is unchanged"
    );
    // A valid series is stored whole.
    clash[2].id = SessionId::new();
    store.insert_series(&clash).await.expect("insert_series");
    assert_eq!(occurrences(&h, link.id).await.len(), 3);
}

/// "This and following" changes the edited occurrence and every later one that is still
/// scheduled (title, and the start moved by the same offset with the same new duration, one
/// version each); earlier, live, ended and cancelled occurrences keep everything. "This" is an
/// ordinary update of one session.
pub async fn this_and_following_changes_only_later_scheduled_ones(store: Arc<dyn Store>) {
    let h = Harness::new(Arc::clone(&store));
    let s = daily(&h, "series", 600, 6).await;
    let cancelled = h.cancel(s[3].id).await;
    let live = h.start(s[4].id).await;
    let ended = h.start(s[5].id).await;
    let ended = h.end(ended.id).await;
    let moved_start = s[1].fields.start_time + TimeDelta::minutes(30);
    let update = SessionUpdate {
        fields: crate::session::SessionInput {
            title: Some(format!("{} renamed", h.tag)),
            start_time: Some(rfc3339(moved_start)),
            end_time: Some(rfc3339(moved_start + TimeDelta::minutes(90))),
            ..Default::default()
        },
        expected_version: Some(1),
        ..Default::default()
    };
    let changed = h
        .service
        .update_in_scope(
            Some(&h.admin),
            s[1].id,
            update,
            SeriesScope::Following,
            None,
        )
        .await
        .expect("this and following");
    let changed_ids: Vec<SessionId> = changed.iter().map(|c| c.id).collect();
    assert_eq!(
        changed_ids,
        [s[1].id, s[2].id],
        "the edited one first, then later scheduled ones"
    );
    for original in [&s[1], &s[2]] {
        let now = h.session(original.id).await;
        let start = original.fields.start_time + TimeDelta::minutes(30);
        assert_eq!(now.fields.title.as_str(), format!("{} renamed", h.tag));
        assert_eq!(now.fields.start_time, start);
        assert_eq!(now.fields.end_time, Some(start + TimeDelta::minutes(90)));
        assert_eq!(now.version, 2, "one version per session");
        assert_eq!(now.series, original.series);
    }
    assert_eq!(
        h.session(s[0].id).await,
        s[0],
        "an earlier occurrence is untouched"
    );
    assert_eq!(
        h.session(s[3].id).await,
        cancelled,
        "a cancelled one is skipped"
    );
    assert_eq!(
        h.session(s[4].id).await.fields,
        live.fields,
        "a live one is skipped"
    );
    assert_eq!(
        h.session(s[5].id).await.fields,
        ended.fields,
        "an ended one is skipped"
    );

    // "This" is one ordinary update.
    let only = SessionUpdate {
        fields: crate::session::SessionInput {
            title: Some(format!("{} only", h.tag)),
            ..Default::default()
        },
        ..Default::default()
    };
    let changed = h
        .service
        .update_in_scope(Some(&h.admin), s[1].id, only, SeriesScope::This, None)
        .await
        .expect("this one");
    assert_eq!(changed.len(), 1);
    assert_eq!(
        h.session(s[2].id).await.fields.title.as_str(),
        format!("{} renamed", h.tag)
    );
}

/// Cancelling one occurrence is an ordinary cancel: the others stay scheduled and the series
/// still lists all of them.
pub async fn cancelling_one_occurrence_keeps_the_rest(store: Arc<dyn Store>) {
    let h = Harness::new(Arc::clone(&store));
    let s = daily(&h, "series", 0, 3).await;
    h.cancel(s[1].id).await;
    let now = occurrences(&h, s[0].series.as_ref().expect("a link").id).await;
    let statuses: Vec<SessionStatus> = now.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        [
            SessionStatus::Scheduled,
            SessionStatus::Cancelled,
            SessionStatus::Scheduled
        ]
    );
}

/// The summary counts, for each student who joined any occurrence, the ended occurrences they
/// attended (watched at least the threshold of its live time) out of all ended ones, and their
/// credited watch seconds; pages by user id.
pub async fn the_series_summary_counts_attended_n_of_m(store: Arc<dyn Store>) {
    let h = Harness::new(Arc::clone(&store));
    let s = daily(&h, "series", 0, 3).await;
    let series_id = s[0].series.as_ref().expect("a link").id;
    let [ann, bob, cat] = ["ann", "bob", "cat"].map(|n| h.user(n));
    // Occurrence 0, live 0..600: ann and bob watch all of it.
    h.start(s[0].id).await;
    h.play(&[
        (
            &ann,
            s[0].id,
            &[
                Join(0),
                Beat(60),
                Beat(120),
                Beat(180),
                Beat(240),
                Beat(300),
                Beat(360),
                Beat(420),
                Beat(480),
                Beat(540),
                Leave(600),
            ],
        ),
        (
            &bob,
            s[0].id,
            &[
                Join(0),
                Beat(60),
                Beat(120),
                Beat(180),
                Beat(240),
                Beat(300),
                Beat(360),
                Beat(420),
                Beat(480),
                Beat(540),
                Leave(600),
            ],
        ),
    ])
    .await;
    h.end(s[0].id).await;
    // Occurrence 1, live 1000..1400: ann watches all 400 s, bob only 100 s (25 %).
    h.set(1000);
    h.start(s[1].id).await;
    h.play(&[
        (
            &ann,
            s[1].id,
            &[
                Join(1000),
                Beat(1060),
                Beat(1120),
                Beat(1180),
                Beat(1240),
                Beat(1300),
                Beat(1360),
                Leave(1400),
            ],
        ),
        (&bob, s[1].id, &[Join(1000), Beat(1060), Leave(1100)]),
    ])
    .await;
    h.end(s[1].id).await;
    // Occurrence 2 has not happened: cat registered for it by joining while scheduled.
    h.join(&cat, s[2].id).await;

    let summary = |threshold: u8, limit: u32, after: Option<&crate::ids::UserId>| {
        let query = SeriesSummaryQuery {
            series_id,
            threshold_percent: threshold,
            limit,
            after: after.cloned(),
        };
        let service = h.service.clone();
        let admin = h.admin.clone();
        async move {
            service
                .series_summary(Some(&admin), &query)
                .await
                .unwrap_or_else(|e| panic!("series_summary failed: {e}"))
        }
    };
    let all = summary(75, 10, None).await;
    assert_eq!(
        (all.occurrences, all.ended, all.threshold_percent),
        (3, 2, 75)
    );
    let rows: Vec<(String, u64, u64, i64)> = all
        .students
        .iter()
        .map(|r| {
            (
                h.untag(r.user_id.as_str()),
                r.attended,
                r.ended,
                r.watch_seconds,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("ann".to_owned(), 2, 2, 1000),
            ("bob".to_owned(), 1, 2, 700),
            ("cat".to_owned(), 0, 2, 0),
        ]
    );
    assert_eq!(all.students[0].user_name, "ann");
    assert_eq!(all.students[0].email, "ann@example.com");
    assert_eq!(all.next, None);
    // At 25 % bob's 100 of 400 s counts too; at 26 % it does not.
    let low = summary(25, 10, None).await;
    assert_eq!(low.students[1].attended, 2);
    assert_eq!(summary(26, 10, None).await.students[1].attended, 1);
    // Pages of two, by user id.
    let first = summary(75, 2, None).await;
    assert_eq!(first.students.len(), 2);
    assert_eq!(first.next.as_ref(), Some(&first.students[1].user_id));
    let second = summary(75, 2, first.next.as_ref()).await;
    assert_eq!(second.students.len(), 1);
    assert_eq!(h.untag(second.students[0].user_id.as_str()), "cat");
    assert_eq!(second.next, None);
    // An unknown series is NotFound; the summary is for admins.
    let unknown = h
        .service
        .series_summary(Some(&h.admin), &SeriesSummaryQuery::new(SeriesId::new()))
        .await;
    assert!(
        matches!(unknown, Err(Error::NotFound { .. })),
        "{unknown:?}"
    );
    let user = h.user("ann");
    assert!(matches!(
        h.service
            .series_summary(Some(&user), &SeriesSummaryQuery::new(series_id))
            .await,
        Err(Error::Forbidden)
    ));
}
