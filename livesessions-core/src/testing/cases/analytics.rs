//! Analytics: session reports, attendance lists, overviews and participation.

use std::sync::Arc;

use crate::actor::Actor;
use crate::analytics::{AttendanceSort, PopularBy, SortOrder};
use crate::error::Error;
use crate::ids::SessionId;
use crate::ports::Store;
use crate::session::SessionStatus;
use crate::testing::harness::Act::{Beat, Join, Leave};
use crate::testing::harness::{assert_not_found, Harness};

/// A session report as of now: participants, watching, total/average/maximum watch seconds
/// with open intervals counted provisionally (capped at `last_seen + T`), live seconds, and how
/// many attended at least the threshold (inclusive; nobody without live time).
pub async fn session_report_numbers(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h.create_live("report").await;
    let [ahmed, sara, bilal] = ["ahmed", "sara", "bilal"].map(|n| h.user(n));
    let s = session.id;
    h.play(&[
        (&ahmed, s, &[Join(0), Beat(30), Beat(60)]),
        (&sara, s, &[Join(10), Leave(40)]),
        (&bilal, s, &[Join(20)]),
    ])
    .await;

    // At 100: ahmed 0..100 open (cap 150) = 100; sara 10..40 = 30; bilal 20..100 open (cap 110)
    // = 80. Watching at 100: ahmed (seen 60) and bilal (seen 20), both within 90 s.
    h.set(100);
    let r = h.report(session.id, None).await;
    assert_eq!(r.session_id, session.id);
    assert_eq!(r.participants, 3);
    assert_eq!(r.watching, 2);
    assert_eq!(r.total_watch_seconds, 210);
    assert_eq!(r.average_watch_seconds(), 70.0);
    assert_eq!(r.max_watch_seconds, 100);
    assert_eq!(r.live_seconds, 100);
    assert_eq!(r.threshold_percent, 75);
    assert_eq!(
        r.attended, 2,
        "ahmed (100 %) and bilal (80 %) watched at least 75 %"
    );
    assert_eq!(
        h.report(session.id, Some(80)).await.attended,
        2,
        "80 % of 100 s is met by 80 s"
    );
    assert_eq!(h.report(session.id, Some(81)).await.attended, 1);
    assert_eq!(h.report(session.id, Some(100)).await.attended, 1);
    assert_eq!(h.report(session.id, Some(30)).await.attended, 3);
    assert_eq!(h.report(session.id, Some(0)).await.attended, 3);
    match h
        .service
        .report(Some(&h.admin), session.id, Some(101))
        .await
    {
        Err(Error::Validation(_)) => {}
        other => panic!("a threshold over 100 %: expected Validation, got {other:?}"),
    }

    // Later, open intervals are capped: ahmed 0..150 = 150, bilal 20..110 = 90.
    h.set(400);
    let r = h.report(session.id, None).await;
    assert_eq!(r.total_watch_seconds, 150 + 30 + 90);
    assert_eq!(r.max_watch_seconds, 150);
    assert_eq!(r.watching, 0);
    assert_eq!(r.live_seconds, 400);
    assert_eq!(r.attended, 0, "nobody watched 75 % of 400 s");

    // After the end the same figures are credited.
    let ended = h.end(session.id).await;
    h.set(1000);
    let r = h.report(session.id, Some(30)).await;
    assert_eq!(r.total_watch_seconds, 270);
    assert_eq!(r.average_watch_seconds(), 90.0);
    assert_eq!(r.live_seconds, ended.live_seconds);
    assert_eq!(r.live_seconds, 400);
    assert_eq!(r.attended, 1, "only ahmed's 150 s reach 30 % of 400 s");

    // A session that was never live: no live time, nobody attended.
    let scheduled = h.create("not yet", 5000).await;
    h.join(&ahmed, scheduled.id).await;
    let r = h.report(scheduled.id, Some(0)).await;
    assert_eq!(r.participants, 1);
    assert_eq!(r.total_watch_seconds, 0);
    assert_eq!(r.live_seconds, 0);
    assert_eq!(r.attended, 0);
    assert_eq!(r.watching, 0);

    // No participants at all.
    let empty = h.create_live("empty").await;
    let r = h.report(empty.id, None).await;
    assert_eq!(r.participants, 0);
    assert_eq!(r.total_watch_seconds, 0);
    assert_eq!(r.average_watch_seconds(), 0.0);
    assert_eq!(r.max_watch_seconds, 0);
    assert_eq!(r.attended, 0);

    assert_not_found(
        h.service
            .report(Some(&h.admin), SessionId::new(), None)
            .await,
    );
}

/// The attendance list sorts by join time, watch time (as of now) and name (ignoring case),
/// both ways, breaks ties by user id (ascending, whatever the order), pages with offset and
/// limit, and always gives the total.
pub async fn attendance_sorts_and_pages(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h.create_live("attendance").await;
    let named = |id: &str, name: &str| {
        Actor::user(h.user_id(id))
            .with_name(name)
            .with_email(format!("{id}@example.com"))
    };
    // user   name    joins  watch seconds at 100
    // carol  carol   0      50 (left at 50)
    // alice  Alice   10     30 (left at 40)
    // bob    bob     10     50 (left at 60)
    // dave   Dave    20     30 (left at 50)
    // erin   ALICE   30     70 (present, seen at 30: 30..100)
    let carol = named("carol", "carol");
    let alice = named("alice", "Alice");
    let bob = named("bob", "bob");
    let dave = named("dave", "Dave");
    let erin = named("erin", "ALICE");
    let s = session.id;
    h.play(&[
        (&carol, s, &[Join(0), Leave(50)]),
        (&alice, s, &[Join(10), Leave(40)]),
        (&bob, s, &[Join(10), Leave(60)]),
        (&dave, s, &[Join(20), Leave(50)]),
        (&erin, s, &[Join(30)]),
    ])
    .await;
    h.set(100);

    use AttendanceSort::{JoinTime, Name, WatchTime};
    use SortOrder::{Asc, Desc};
    let expectations: [(AttendanceSort, SortOrder, [&str; 5]); 6] = [
        (JoinTime, Asc, ["carol", "alice", "bob", "dave", "erin"]),
        (JoinTime, Desc, ["erin", "dave", "alice", "bob", "carol"]),
        (WatchTime, Asc, ["alice", "dave", "bob", "carol", "erin"]),
        (WatchTime, Desc, ["erin", "bob", "carol", "alice", "dave"]),
        (Name, Asc, ["alice", "erin", "bob", "carol", "dave"]),
        (Name, Desc, ["dave", "carol", "bob", "alice", "erin"]),
    ];
    for (sort, order, expected) in expectations {
        assert_eq!(
            h.names(&h.attendance(session.id, sort, order, 0, 100).await),
            expected,
            "sorted by {sort:?} {order:?}"
        );
        assert_eq!(
            h.names(&h.attendance(session.id, sort, order, 1, 3).await),
            expected[1..4],
            "sorted by {sort:?} {order:?}, offset 1, limit 3"
        );
        assert_eq!(
            h.names(&h.attendance(session.id, sort, order, 4, 10).await),
            expected[4..],
            "sorted by {sort:?} {order:?}, offset 4"
        );
    }

    let page = h.attendance(session.id, WatchTime, Desc, 0, 2).await;
    assert_eq!(page.total, 5);
    assert_eq!(page.rows.len(), 2);
    assert_eq!(
        page.rows[0].watch_seconds_now, 70,
        "erin's open interval, as of now"
    );
    assert_eq!(
        page.rows[0].participant.watch_seconds, 0,
        "erin has nothing credited yet"
    );
    assert_eq!(page.rows[1].watch_seconds_now, 50);
    assert_eq!(
        page.rows[0].participant,
        h.participant(&erin, session.id).await
    );
    assert_eq!(
        page.rows[1].participant,
        h.participant(&bob, session.id).await
    );

    let beyond = h.attendance(session.id, JoinTime, Asc, 5, 10).await;
    assert!(beyond.rows.is_empty());
    assert_eq!(beyond.total, 5);

    let empty = h.create("nobody", 0).await;
    let page = h.attendance(empty.id, Name, Asc, 0, 10).await;
    assert!(page.rows.is_empty());
    assert_eq!(page.total, 0);
}

/// The overview counts sessions starting in `[from, to)`, their participant records and the
/// average credited watch seconds, and ranks popular sessions by participants or by credited
/// watch time (ties by session id), at most `top` of them.
pub async fn overview_totals_and_popular_sessions(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    // In range [0, 3600): a (start 0), b (1000), f (2000), c (3599). Out: d (3600), e (-1).
    let a = h.create("a", 0).await;
    let b = h.create("b", 1000).await;
    let f = h.create("f", 2000).await;
    let c = h.create("c", 3599).await;
    let d = h.create("d", 3600).await;
    let e = h.create("e", -1).await;
    for s in [&a, &b, &f, &d, &e] {
        h.start(s.id).await;
    }
    let [u1, u2, u3, u4] = ["u1", "u2", "u3", "u4"].map(|n| h.user(n));
    h.play(&[
        (&u1, a.id, &[Join(0), Leave(10)]),
        (&u2, a.id, &[Join(0), Leave(20)]),
        (&u3, a.id, &[Join(0)]),
        (&u1, b.id, &[Join(0), Beat(80), Leave(100)]),
        (&u4, f.id, &[Join(0), Beat(80), Leave(100)]),
        (&u1, d.id, &[Join(0), Leave(5)]),
        (&u2, d.id, &[Join(0), Leave(5)]),
        (&u1, e.id, &[Join(0), Leave(7)]),
    ])
    .await;
    // Credited: a 10 + 20 (u3 still present: nothing credited yet), b 100, f 100, c none.
    let (first_tie, second_tie) = if b.id < f.id {
        (b.id, f.id)
    } else {
        (f.id, b.id)
    };

    let overview = |from: i64, to: i64, top: u32, by: PopularBy| {
        let h = &h;
        async move {
            h.service
                .overview(Some(&h.admin), h.at(from), h.at(to), top, by)
                .await
                .expect("overview")
        }
    };
    let o = overview(0, 3600, 10, PopularBy::Participants).await;
    assert_eq!(o.sessions, 4);
    assert_eq!(o.participants, 5);
    assert_eq!(o.average_watch_seconds(), 46.0, "(30 + 100 + 100) / 5");
    let ids: Vec<SessionId> = o.popular.iter().map(|p| p.session_id).collect();
    assert_eq!(ids, [a.id, first_tie, second_tie, c.id]);
    let top = &o.popular[0];
    assert_eq!(top.title, a.fields.title);
    assert_eq!(top.status, SessionStatus::Live);
    assert_eq!(top.start_time, h.at(0));
    assert_eq!(top.participants, 3);
    assert_eq!(top.total_watch_seconds, 30);
    assert_eq!(o.popular[3].participants, 0);
    assert_eq!(o.popular[3].total_watch_seconds, 0);
    assert_eq!(o.popular[3].status, SessionStatus::Scheduled);

    let o = overview(0, 3600, 2, PopularBy::Participants).await;
    assert_eq!(o.sessions, 4, "top limits the list, not the totals");
    let ids: Vec<SessionId> = o.popular.iter().map(|p| p.session_id).collect();
    assert_eq!(ids, [a.id, first_tie]);

    let o = overview(0, 3600, 10, PopularBy::WatchTime).await;
    let ids: Vec<SessionId> = o.popular.iter().map(|p| p.session_id).collect();
    assert_eq!(ids, [first_tie, second_tie, a.id, c.id]);
    assert_eq!(o.popular[0].total_watch_seconds, 100);

    let o = overview(0, 3600, 0, PopularBy::WatchTime).await;
    assert!(o.popular.is_empty());
    assert_eq!(o.participants, 5);

    let o = overview(-1, 1, 10, PopularBy::Participants).await;
    assert_eq!(o.sessions, 2, "a and e");
    assert_eq!(o.participants, 4);
    assert_eq!(o.average_watch_seconds(), 37.0 / 4.0);
    let ids: Vec<SessionId> = o.popular.iter().map(|p| p.session_id).collect();
    assert_eq!(ids, [a.id, e.id]);

    let o = overview(3600, 3601, 10, PopularBy::Participants).await;
    assert_eq!(o.sessions, 1, "d starts at the range's start");
    assert_eq!(o.average_watch_seconds(), 5.0);

    let o = overview(-7200, -3600, 10, PopularBy::WatchTime).await;
    assert_eq!(o.sessions, 0);
    assert_eq!(o.participants, 0);
    assert_eq!(o.average_watch_seconds(), 0.0);
    assert!(o.popular.is_empty());

    match h
        .service
        .overview(
            Some(&h.admin),
            h.at(10),
            h.at(10),
            10,
            PopularBy::Participants,
        )
        .await
    {
        Err(Error::Validation(_)) => {}
        other => panic!("an empty range: expected Validation, got {other:?}"),
    }
}

/// One user's participation: sessions joined, total credited watch time, and the rows of the
/// most recently joined sessions (by first join, newest first), at most `limit` of them.
pub async fn participation_of_one_user(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let p1 = h.create_live("p1").await;
    let p2 = h.create_live("p2").await;
    let p3 = h.create_live("p3").await;
    let ahmed = h.user("ahmed");
    let sara = h.user("sara");
    h.play(&[
        (&ahmed, p1.id, &[Join(0), Join(30), Leave(40)]), // 0..40
        (&ahmed, p2.id, &[Join(10), Leave(50)]),          // 10..50
        (&sara, p2.id, &[Join(10), Leave(50)]),           // 10..50
        (&ahmed, p3.id, &[Join(20)]),
    ])
    .await;
    h.set(60);

    let history = h.participation(&ahmed, &ahmed, 10).await;
    assert_eq!(history.user_id, ahmed.user_id);
    assert_eq!(history.sessions_joined, 3);
    assert_eq!(
        history.total_watch_seconds, 80,
        "credited only: p3 is still open"
    );
    let ids: Vec<SessionId> = history.sessions.iter().map(|r| r.session_id).collect();
    assert_eq!(ids, [p3.id, p2.id, p1.id], "newest first join first");
    let row = &history.sessions[2];
    assert_eq!(row.title, p1.fields.title);
    assert_eq!(row.status, SessionStatus::Live);
    assert_eq!(row.start_time, p1.fields.start_time);
    assert_eq!(row.first_joined_at, h.at(0));
    assert_eq!(row.last_joined_at, h.at(30));
    assert_eq!(row.watch_seconds, 40);
    assert_eq!(row.join_count, 2);
    assert_eq!(history.sessions[0].watch_seconds, 0);
    assert_eq!(history.sessions[1].watch_seconds, 40);

    let limited = h.participation(&h.admin, &ahmed, 2).await;
    assert_eq!(limited.sessions_joined, 3, "the limit applies to rows only");
    assert_eq!(limited.total_watch_seconds, 80);
    let ids: Vec<SessionId> = limited.sessions.iter().map(|r| r.session_id).collect();
    assert_eq!(ids, [p3.id, p2.id]);

    h.end(p2.id).await;
    let sara_history = h.participation(&h.admin, &sara, 10).await;
    assert_eq!(sara_history.sessions_joined, 1);
    assert_eq!(sara_history.total_watch_seconds, 40);
    assert_eq!(sara_history.sessions[0].status, SessionStatus::Ended);

    let nobody = h.user("nobody");
    let empty = h.participation(&nobody, &nobody, 10).await;
    assert_eq!(empty.sessions_joined, 0);
    assert_eq!(empty.total_watch_seconds, 0);
    assert!(empty.sessions.is_empty());
}
