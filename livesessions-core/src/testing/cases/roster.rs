//! Rosters: restricted sessions, adding and removing members, self-registration, and the
//! attendance status of every member and walk-in, computed by the store.

use std::sync::Arc;

use crate::actor::Actor;
use crate::analytics::SortOrder;
use crate::error::{Conflict, Error, Result};
use crate::ids::SessionId;
use crate::ports::Store;
use crate::roster::{
    AttendanceStatus, MemberInput, RosterPage, RosterQuery, RosterRow, RosterSort, RosterView,
    StatusCounts,
};
use crate::testing::harness::{Act, Harness};

fn rows_of(h: &Harness, people: &[&Actor]) -> Vec<MemberInput> {
    people
        .iter()
        .map(|who| MemberInput {
            user_id: Some(who.user_id.to_string()),
            user_name: who.name.clone(),
            email: who.email.clone(),
        })
        .inspect(|row| {
            assert!(row
                .user_id
                .as_deref()
                .is_some_and(|id| id.starts_with(&h.tag)))
        })
        .collect()
}

pub(super) async fn add(h: &Harness, id: SessionId, people: &[&Actor]) -> u64 {
    h.service
        .add_to_roster(Some(&h.admin), id, &rows_of(h, people))
        .await
        .unwrap_or_else(|e| panic!("adding to the roster failed: {e}"))
}

async fn roster(h: &Harness, id: SessionId, view: RosterView) -> RosterPage {
    h.service
        .roster(Some(&h.admin), id, view)
        .await
        .unwrap_or_else(|e| panic!("reading the roster failed: {e}"))
}

fn everything() -> RosterView {
    RosterView {
        limit: RosterQuery::MAX_LIMIT,
        ..RosterView::default()
    }
}

fn status_of<'a>(h: &Harness, page: &'a RosterPage, name: &str) -> &'a RosterRow {
    let id = h.user_id(name);
    page.rows
        .iter()
        .find(|r| r.user_id == id)
        .unwrap_or_else(|| panic!("{name} is missing from the roster view"))
}

fn is_not_on_roster<T: std::fmt::Debug>(result: &Result<T>) -> bool {
    matches!(result, Err(Error::NotOnRoster))
}

/// A restricted session refuses a walk-in (`NotOnRoster`, nothing recorded, the count
/// unchanged), admits a roster member and an admin, and refuses a member again once removed.
pub async fn a_restricted_session_refuses_a_walk_in_and_admits_a_member(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h
        .create_with("members only", 0, |f| f.restricted = Some(true))
        .await;
    assert!(session.fields.restricted);
    h.start(session.id).await;
    let (ada, walk_in) = (h.user("ada"), h.user("walkin"));
    add(&h, session.id, &[&ada]).await;
    let refused = h.try_join(&walk_in, session.id).await;
    assert!(
        is_not_on_roster(&refused),
        "a walk-in joining a restricted session must be NotOnRoster, not {refused:?}"
    );
    assert_eq!(h.session(session.id).await.participants, 0);
    assert!(h
        .store
        .get_participant(session.id, &walk_in.user_id)
        .await
        .expect("get_participant")
        .is_none());
    assert!(h.join(&ada, session.id).await.first_join);
    assert!(
        h.join(&h.admin, session.id).await.first_join,
        "admins may join"
    );
    assert_eq!(h.session(session.id).await.participants, 2);
    h.service
        .remove_from_roster(Some(&h.admin), session.id, &ada.user_id)
        .await
        .expect("removing a member");
    let again = h.try_join(&ada, session.id).await;
    assert!(
        is_not_on_roster(&again),
        "a removed member may not join a restricted session again: {again:?}"
    );
    let open = h.create("anyone", 0).await;
    assert!(h.join(&walk_in, open.id).await.first_join);
}

/// Adding is all or nothing and idempotent: members already on the roster keep their entry
/// (its time and origin) and get the new name and email; invalid rows store nothing; an unknown
/// session is `NotFound`; removing keeps others; deleting the session deletes its roster.
pub async fn adding_to_the_roster_is_all_or_nothing(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h.create("roster", 3600).await;
    let (ada, bo, cy) = (h.user("ada"), h.user("bo"), h.user("cy"));
    h.set(10);
    assert_eq!(add(&h, session.id, &[&ada, &bo]).await, 2);
    let first = h
        .store
        .roster_member(session.id, &ada.user_id)
        .await
        .expect("roster_member")
        .expect("ada is on the roster");
    assert_eq!(first.added_at, h.at(10));
    assert!(!first.registered);
    h.set(20);
    let renamed = ada
        .clone()
        .with_name("Ada L.")
        .with_email("ada.l@example.com");
    assert_eq!(add(&h, session.id, &[&renamed, &cy]).await, 1);
    let again = h
        .store
        .roster_member(session.id, &ada.user_id)
        .await
        .expect("roster_member")
        .expect("ada is still on the roster");
    assert_eq!(
        (
            again.user_name.as_str(),
            again.email.as_str(),
            again.added_at
        ),
        ("Ada L.", "ada.l@example.com", h.at(10))
    );
    let mut bad = rows_of(&h, &[&h.user("dan"), &h.user("eve")]);
    bad[1].email = Some("not an email".into());
    let refused = h
        .service
        .add_to_roster(Some(&h.admin), session.id, &bad)
        .await;
    assert!(
        matches!(&refused, Err(Error::Validation(errors)) if errors[0].field == "rows[2].email"),
        "an invalid row names its row: {refused:?}"
    );
    assert_eq!(roster(&h, session.id, everything()).await.members, 3);
    let unknown = h
        .service
        .add_to_roster(Some(&h.admin), SessionId::new(), &rows_of(&h, &[&ada]))
        .await;
    assert!(
        matches!(unknown, Err(Error::NotFound { .. })),
        "{unknown:?}"
    );
    let student = h.user("student");
    let forbidden = h
        .service
        .add_to_roster(Some(&student), session.id, &rows_of(&h, &[&ada]))
        .await;
    assert!(matches!(forbidden, Err(Error::Forbidden)), "{forbidden:?}");
    assert!(h
        .store
        .remove_roster_member(session.id, &bo.user_id)
        .await
        .expect("remove"));
    assert!(!h
        .store
        .remove_roster_member(session.id, &bo.user_id)
        .await
        .expect("remove again"));
    let page = roster(&h, session.id, everything()).await;
    assert_eq!(page.members, 2);
    assert_eq!(page.counts.absent, 2);
    assert!(h
        .store
        .delete_session(session.id)
        .await
        .expect("delete_session"));
    assert!(h
        .store
        .roster_member(session.id, &ada.user_id)
        .await
        .expect("roster_member")
        .is_none());
}

/// Statuses as DESIGN's rules give them, with threshold 50 % and late after 5 minutes, for a
/// class live from 0 to 3600: present, present and late, lobby only, absent, and a late
/// partial walk-in; the same counts in the session report, and the statuses in each user's
/// participation history.
pub async fn roster_statuses_follow_the_rules(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    h.set(-600);
    let session = h
        .create_with("statuses", 0, |f| {
            f.attendance_threshold = Some("50".into());
            f.late_after_minutes = Some("5".into());
        })
        .await;
    let (ada, bo, cy, di, ed) = (
        h.user("ada"),
        h.user("bo"),
        h.user("cy"),
        h.user("di"),
        h.user("ed"),
    );
    assert_eq!(add(&h, session.id, &[&ada, &bo, &cy, &di]).await, 4);
    let before_start = roster(&h, session.id, everything()).await;
    assert_eq!(before_start.counts.absent, 4);
    h.play(&[
        (&cy, session.id, &[Act::Join(-60), Act::Leave(-30)]),
        (&ada, session.id, &[Act::Join(-10)]),
    ])
    .await;
    h.set(0);
    h.start(session.id).await;
    let beats = |from: i64| -> Vec<Act> { (from..3600).step_by(60).map(Act::Beat).collect() };
    let ada_acts = beats(0);
    let mut bo_acts = vec![Act::Join(600)];
    bo_acts.extend(beats(660));
    h.play(&[
        (&ada, session.id, &ada_acts),
        (&bo, session.id, &bo_acts),
        (
            &ed,
            session.id,
            &[
                Act::Join(1200),
                Act::Beat(1260),
                Act::Beat(1320),
                Act::Beat(1380),
                Act::Beat(1440),
                Act::Leave(1500),
            ],
        ),
    ])
    .await;
    h.set(3600);
    h.end(session.id).await;

    let page = roster(&h, session.id, everything()).await;
    let expect = [
        ("ada", AttendanceStatus::Present, false, true),
        ("bo", AttendanceStatus::Present, true, true),
        ("cy", AttendanceStatus::LobbyOnly, false, true),
        ("di", AttendanceStatus::Absent, false, true),
        ("ed", AttendanceStatus::Partial, true, false),
    ];
    for (name, status, late, member) in expect {
        let row = status_of(&h, &page, name);
        assert_eq!(
            (row.status, row.late, row.member.is_some()),
            (status, late, member),
            "{name}'s status"
        );
    }
    assert_eq!(status_of(&h, &page, "ed").watch_seconds_now, 300);
    assert_eq!(status_of(&h, &page, "di").watch_seconds_now, 0);
    assert!(status_of(&h, &page, "di").participant.is_none());
    assert_eq!(
        status_of(&h, &page, "bo")
            .participant
            .as_ref()
            .and_then(|p| p.first_present_at),
        Some(h.at(600))
    );
    let counts = StatusCounts {
        present: 2,
        partial: 1,
        lobby_only: 1,
        absent: 1,
        late: 2,
    };
    assert_eq!(page.counts, counts);
    assert_eq!((page.total, page.members), (5, 4));
    let report = h.report(session.id, None).await;
    assert_eq!(report.threshold_percent, 50, "the session's own threshold");
    assert_eq!(report.statuses, counts);
    assert_eq!(report.roster_members, 4);

    let history = h.participation(&h.admin, &bo, 10).await;
    let row = &history.sessions[0];
    assert_eq!(
        (row.attendance, row.late),
        (AttendanceStatus::Present, true)
    );
    let history = h.participation(&cy, &cy, 10).await;
    assert_eq!(history.sessions[0].attendance, AttendanceStatus::LobbyOnly);
    let history = h.participation(&ed, &ed, 10).await;
    assert_eq!(
        (history.sessions[0].attendance, history.sessions[0].late),
        (AttendanceStatus::Partial, true)
    );
}

/// Removing a member who attended keeps their participant record and their status: they are
/// a walk-in now.
pub async fn removing_a_member_who_attended_keeps_their_attendance(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h.create("remove", 0).await;
    let ada = h.user("ada");
    add(&h, session.id, &[&ada]).await;
    h.set(0);
    h.start(session.id).await;
    h.play(&[(
        &ada,
        session.id,
        &[Act::Join(0), Act::Beat(60), Act::Leave(100)],
    )])
    .await;
    h.set(120);
    h.end(session.id).await;
    h.service
        .remove_from_roster(Some(&h.admin), session.id, &ada.user_id)
        .await
        .expect("removing ada");
    let missing = h
        .service
        .remove_from_roster(Some(&h.admin), session.id, &ada.user_id)
        .await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
    assert_eq!(h.credited(&ada, session.id).await, 100);
    let page = roster(&h, session.id, everything()).await;
    assert_eq!(page.members, 0);
    let row = status_of(&h, &page, "ada");
    assert!(row.member.is_none());
    assert_eq!(row.status, AttendanceStatus::Present);
    assert_eq!(row.watch_seconds_now, 100);
    assert_eq!(h.report(session.id, None).await.participants, 1);
}

/// Self-registration: refused while closed, then open: the caller is a member (registered),
/// registering twice changes nothing, unregistering removes only their own registration;
/// an ended session closes registration.
pub async fn registration_lets_users_add_themselves_where_open(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let closed = h.create("closed", 3600).await;
    let ada = h.user("ada");
    let refused = h.service.register(Some(&ada), closed.id, None, None).await;
    assert!(
        matches!(refused, Err(Error::Conflict(Conflict::RegistrationClosed))),
        "{refused:?}"
    );
    let open = h
        .create_with("open", 3600, |f| f.registration = Some("open".into()))
        .await;
    h.set(5);
    let member = h
        .service
        .register(Some(&ada), open.id, None, None)
        .await
        .expect("registering");
    assert!(member.registered);
    assert_eq!(
        (member.user_id.clone(), member.added_at),
        (ada.user_id.clone(), h.at(5))
    );
    h.set(9);
    let again = h
        .service
        .register(Some(&ada), open.id, None, None)
        .await
        .expect("registering again");
    assert_eq!(again.added_at, h.at(5));
    assert_eq!(roster(&h, open.id, everything()).await.members, 1);
    let bo = h.user("bo");
    add(&h, open.id, &[&bo]).await;
    let own = h.service.unregister(Some(&bo), open.id).await;
    assert!(
        matches!(own, Err(Error::Forbidden)),
        "an admin's entry stays: {own:?}"
    );
    assert!(h
        .service
        .unregister(Some(&ada), open.id)
        .await
        .expect("unregister"));
    assert!(h
        .service
        .my_roster_entry(Some(&ada), open.id)
        .await
        .expect("entry")
        .is_none());
    h.set(3600);
    h.start(open.id).await;
    h.end(open.id).await;
    let late = h.service.register(Some(&ada), open.id, None, None).await;
    assert!(
        matches!(late, Err(Error::Conflict(Conflict::RegistrationClosed))),
        "{late:?}"
    );
}

/// The roster view's filter, sorts, directions and pages agree with the reference order
/// ([`RosterPage::from_rows`]) over the rows the store reports, with ties broken by user id.
pub async fn the_roster_view_filters_sorts_and_pages(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    h.set(-100);
    let session = h.create("view", 0).await;
    let name = |i: usize| {
        if i.is_multiple_of(2) {
            format!("a{i:02}")
        } else {
            format!("Z{i:02}")
        }
    };
    let members = h.users(20, name);
    // Two walk-ins share a member's name but for its case: by name they tie with that member,
    // and the user id breaks the tie.
    let walk_ins = h.users(5, |i| {
        if i < 2 {
            format!("A{:02}", i * 2)
        } else {
            format!("w{i}")
        }
    });
    let refs: Vec<&Actor> = members.iter().collect();
    add(&h, session.id, &refs).await;
    // Three members only wait in the lobby.
    for who in &members[17..] {
        h.set(-50);
        h.join(who, session.id).await;
        h.leave(who, session.id).await;
    }
    h.set(0);
    h.start(session.id).await;
    // Ten members and five walk-ins watch for different lengths; two pairs tie.
    let mut lines: Vec<(&Actor, Vec<Act>)> = Vec::new();
    for (i, who) in members[..10].iter().chain(&walk_ins).enumerate() {
        let join = (i as i64 % 4) * 60;
        let leave = join + 60 + (i as i64 % 6) * 120;
        lines.push((
            who,
            vec![Act::Join(join), Act::Beat(join + 30), Act::Leave(leave)],
        ));
    }
    let lines: Vec<(&Actor, SessionId, &[Act])> = lines
        .iter()
        .map(|(who, acts)| (*who, session.id, acts.as_slice()))
        .collect();
    h.play(&lines).await;
    h.set(1200);
    h.end(session.id).await;

    let all = roster(&h, session.id, everything()).await;
    assert_eq!((all.total, all.members), (25, 20));
    let rule = h.service.status_rule(&h.session(session.id).await);
    for sort in [
        RosterSort::Name,
        RosterSort::Status,
        RosterSort::WatchTime,
        RosterSort::JoinTime,
    ] {
        for order in [SortOrder::Asc, SortOrder::Desc] {
            for status in [None]
                .into_iter()
                .chain(AttendanceStatus::ALL.into_iter().map(Some))
            {
                for (offset, limit) in [(0, 7), (7, 7), (21, 100)] {
                    let view = RosterView {
                        status,
                        sort,
                        order,
                        offset,
                        limit,
                    };
                    let got = roster(&h, session.id, view).await;
                    let expected = RosterPage::from_rows(
                        all.rows.clone(),
                        &RosterQuery {
                            session_id: session.id,
                            rule,
                            status,
                            sort,
                            order,
                            offset,
                            limit,
                        },
                    );
                    let ids = |p: &RosterPage| -> Vec<String> {
                        p.rows.iter().map(|r| h.untag(r.user_id.as_str())).collect()
                    };
                    assert_eq!(
                        (ids(&got), got.total, got.counts, got.members),
                        (
                            ids(&expected),
                            expected.total,
                            expected.counts,
                            expected.members
                        ),
                        "{sort:?} {order:?} status {status:?} offset {offset} limit {limit}"
                    );
                }
            }
        }
    }
}
