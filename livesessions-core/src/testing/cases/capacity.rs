//! Capacity: a first join beyond it is refused inside the store's atomic join, rejoins always
//! pass, and a capacity below the participants already counted is refused.

use std::collections::HashSet;
use std::sync::Arc;

use crate::actor::Actor;
use crate::error::{Conflict, Error, Result};
use crate::ids::SessionId;
use crate::ports::{JoinOutcome, Store};
use crate::service::LiveSessions;
use crate::testing::harness::{scaled, Harness};

fn is_full<T: std::fmt::Debug>(result: &Result<T>, capacity: u32) -> bool {
    matches!(result, Err(Error::Conflict(Conflict::SessionFull { capacity: c })) if *c == capacity)
}

fn join_task(
    service: &LiveSessions,
    who: &Actor,
    id: SessionId,
) -> impl std::future::Future<Output = Result<JoinOutcome>> + Send + 'static {
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
    }
}

/// A session with capacity 2 admits two users, refuses a third with `SessionFull` (nothing
/// recorded for them, the count unchanged), and still admits rejoins of the two, also while
/// scheduled (the lobby) and once live. Without a capacity nobody is refused.
pub async fn a_full_session_refuses_a_new_user_and_admits_a_rejoin(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h
        .create_with("two seats", 100, |f| f.capacity = Some("2".into()))
        .await;
    assert_eq!(session.seats_left(), Some(2));
    let (amal, badr, chen) = (h.user("amal"), h.user("badr"), h.user("chen"));
    assert!(h.join(&amal, session.id).await.first_join);
    let second = h.join(&badr, session.id).await;
    assert!(second.first_join);
    assert_eq!(second.session.participants, 2);
    assert_eq!(second.session.seats_left(), Some(0));
    let refused = h.try_join(&chen, session.id).await;
    assert!(
        is_full(&refused, 2),
        "a first join beyond the capacity must be SessionFull, not {refused:?}"
    );
    let again = h.join(&amal, session.id).await;
    assert!(!again.first_join, "a rejoin of a full session passes");
    assert_eq!(h.participant(&amal, session.id).await.join_count, 2);
    let live = h.start(session.id).await;
    assert_eq!(live.participants, 2);
    assert!(!h.join(&badr, session.id).await.first_join);
    assert!(is_full(&h.try_join(&chen, session.id).await, 2));
    let stored = h.session(session.id).await;
    assert_eq!(stored.participants, 2, "a refused join counts nobody");
    let page = h.try_attendance(session.id, 100).await.expect("attendance");
    assert_eq!(page.total, 2, "a refused join records nobody");

    // Raising the capacity opens a seat; removing it opens all.
    h.try_update(session.id, |u| u.fields.capacity = Some("3".into()))
        .await
        .expect("raise the capacity");
    assert!(h.join(&chen, session.id).await.first_join);
    assert!(is_full(&h.try_join(&h.user("dana"), session.id).await, 3));
    let open = h
        .try_update(session.id, |u| u.fields.capacity = Some(String::new()))
        .await
        .expect("remove the capacity");
    assert_eq!(open.fields.capacity, None);
    assert!(h.join(&h.user("dana"), session.id).await.first_join);
    assert_eq!(h.session(session.id).await.participants, 4);
}

/// Many first joins at once on a session with a tenth as many seats admit exactly the
/// capacity: that many first joins succeed, the rest are `SessionFull`, and the count equals
/// the participant records. 10 000 joins on capacity 1 000 (scaled by
/// `LIVESESSIONS_TEST_SCALE`: at 0.05, 500 on 50).
pub async fn concurrent_first_joins_admit_exactly_the_capacity(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let joins = scaled(10_000, 10);
    let capacity = joins / 10;
    let session = h
        .create_with("crowded", 0, |f| f.capacity = Some(capacity.to_string()))
        .await;
    let session = h.start(session.id).await;
    let users = h.users(joins, |i| format!("crowd{i:05}"));
    let handles: Vec<_> = users
        .iter()
        .map(|who| tokio::spawn(join_task(&h.service, who, session.id)))
        .collect();
    let mut admitted = HashSet::new();
    let mut refused = 0;
    for (who, handle) in users.iter().zip(handles) {
        match handle.await.expect("a join task panicked") {
            Ok(outcome) => {
                assert!(outcome.first_join, "{} joined once", who.user_id);
                assert!(
                    outcome.session.participants <= capacity as u64,
                    "a join saw {} participants over the capacity {capacity}",
                    outcome.session.participants
                );
                admitted.insert(who.user_id.clone());
            }
            Err(Error::Conflict(Conflict::SessionFull { capacity: c })) => {
                assert_eq!(c as usize, capacity);
                refused += 1;
            }
            Err(e) => panic!("{} joining failed: {e} ({e:?})", who.user_id),
        }
    }
    assert_eq!(
        admitted.len(),
        capacity,
        "exactly the capacity is admitted ({refused} refused)"
    );
    assert_eq!(refused, joins - capacity);
    let stored = h.session(session.id).await;
    assert_eq!(
        stored.participants, capacity as u64,
        "the count is the capacity"
    );
    assert_eq!(stored.seats_left(), Some(0));
    let page = h
        .try_attendance(session.id, 10_000)
        .await
        .expect("attendance");
    assert_eq!(page.total, capacity as u64, "the records are the count");
    let recorded: HashSet<_> = page
        .rows
        .iter()
        .map(|r| r.participant.user_id.clone())
        .collect();
    assert_eq!(
        recorded, admitted,
        "the admitted users are the ones recorded"
    );
    // Everyone admitted may come back.
    let back = users
        .iter()
        .find(|u| admitted.contains(&u.user_id))
        .expect("one admitted");
    assert!(!h.join(back, session.id).await.first_join);
}

/// A capacity below the participants already counted is a validation error naming
/// `capacity`, and changes nothing; equal to them is accepted (the session is then full). A
/// capacity of zero or text that is not a number is refused when creating and updating.
pub async fn capacity_below_the_participants_is_refused(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h.create_live("lowered").await;
    for name in ["a", "b", "c"] {
        h.join(&h.user(name), session.id).await;
    }
    let names_capacity = |result: Result<crate::LiveSession>| match result {
        Err(Error::Validation(errors)) => {
            assert_eq!(
                errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
                ["capacity"]
            );
        }
        other => panic!("expected a validation error naming capacity, got {other:?}"),
    };
    names_capacity(
        h.try_update(session.id, |u| u.fields.capacity = Some("2".into()))
            .await,
    );
    assert_eq!(h.session(session.id).await.fields.capacity, None);
    let full = h
        .try_update(session.id, |u| u.fields.capacity = Some("3".into()))
        .await
        .expect("a capacity equal to the count");
    assert_eq!(full.seats_left(), Some(0));
    assert!(is_full(&h.try_join(&h.user("d"), session.id).await, 3));
    for bad in ["0", "-4", "many", "1.5"] {
        names_capacity(
            h.try_update(session.id, |u| u.fields.capacity = Some(bad.into()))
                .await,
        );
        let mut new = h.new_session("bad capacity", 0);
        new.fields.capacity = Some(bad.into());
        names_capacity(h.try_create(new).await);
    }
}

/// Roster members hold reserved seats: with capacity 3 and two members on the roster, one
/// walk-in is admitted and the next is `SessionFull` (an admin not on the roster too), both
/// members are still admitted, a member who joined frees nothing extra, and rejoins pass.
/// `seats_left` counts the seats left for a walk-in throughout.
pub async fn roster_members_hold_reserved_seats(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h
        .create_with("three seats, two held", 0, |f| {
            f.capacity = Some("3".into())
        })
        .await;
    let (ada, bo) = (h.user("ada"), h.user("bo"));
    let (walk1, walk2) = (h.user("walk1"), h.user("walk2"));
    super::roster::add(&h, session.id, &[&ada, &bo]).await;
    let read = h.session(session.id).await;
    assert_eq!(read.reserved_seats, 2, "two members have not joined");
    assert_eq!(read.seats_left(), Some(1), "one seat is left for a walk-in");
    h.start(session.id).await;

    let first = h.join(&walk1, session.id).await;
    assert!(first.first_join);
    assert_eq!(
        (first.session.participants, first.session.reserved_seats),
        (1, 2)
    );
    assert_eq!(first.session.seats_left(), Some(0));
    let refused = h.try_join(&walk2, session.id).await;
    assert!(
        is_full(&refused, 3),
        "a walk-in beyond the seats not held must be SessionFull, not {refused:?}"
    );
    let admin = h.try_join(&h.admin, session.id).await;
    assert!(
        is_full(&admin, 3),
        "an admin not on the roster is a walk-in: {admin:?}"
    );

    let joined = h.join(&ada, session.id).await;
    assert!(joined.first_join, "a member's seat was held");
    assert_eq!(
        (joined.session.participants, joined.session.reserved_seats),
        (2, 1),
        "a member who joins takes their own seat"
    );
    assert_eq!(joined.session.seats_left(), Some(0));
    assert!(
        is_full(&h.try_join(&walk2, session.id).await, 3),
        "a member who joined frees nothing extra"
    );
    assert!(h.join(&bo, session.id).await.first_join);
    for who in [&walk1, &ada, &bo] {
        assert!(
            !h.join(who, session.id).await.first_join,
            "a rejoin of a full session passes"
        );
    }
    let stored = h.session(session.id).await;
    assert_eq!((stored.participants, stored.reserved_seats), (3, 0));
    assert_eq!(stored.seats_left(), Some(0));
    let page = h.try_attendance(session.id, 100).await.expect("attendance");
    assert_eq!(page.total, 3, "the refused walk-ins are recorded nowhere");

    // Without a capacity a roster reserves nothing and nobody is refused.
    let open = h.create_live("no capacity").await;
    super::roster::add(&h, open.id, &[&ada]).await;
    let open = h.session(open.id).await;
    assert_eq!((open.reserved_seats, open.seats_left()), (0, None));
    assert!(h.join(&walk2, open.id).await.first_join);
}

/// Removing a member who has not joined frees their seat for a walk-in; one who joined keeps
/// theirs (they become a walk-in who already holds a seat). A member added to a session whose
/// free seats walk-ins took is still admitted while `participants < capacity`.
pub async fn removing_an_unjoined_member_frees_a_seat(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let session = h
        .create_with("two seats, two held", 0, |f| f.capacity = Some("2".into()))
        .await;
    h.start(session.id).await;
    let (ada, bo, walk) = (h.user("ada"), h.user("bo"), h.user("walk"));
    super::roster::add(&h, session.id, &[&ada, &bo]).await;
    assert_eq!(h.session(session.id).await.seats_left(), Some(0));
    assert!(is_full(&h.try_join(&walk, session.id).await, 2));

    assert!(h.join(&ada, session.id).await.first_join);
    h.service
        .remove_from_roster(Some(&h.admin), session.id, &ada.user_id)
        .await
        .expect("remove a member who joined");
    let after = h.session(session.id).await;
    assert_eq!(
        (after.participants, after.reserved_seats, after.seats_left()),
        (1, 1, Some(0)),
        "removing a member who joined frees nothing"
    );
    assert!(is_full(&h.try_join(&walk, session.id).await, 2));

    h.service
        .remove_from_roster(Some(&h.admin), session.id, &bo.user_id)
        .await
        .expect("remove a member who has not joined");
    let freed = h.session(session.id).await;
    assert_eq!((freed.reserved_seats, freed.seats_left()), (0, Some(1)));
    let walked_in = h.join(&walk, session.id).await;
    assert!(walked_in.first_join, "the freed seat goes to a walk-in");
    assert_eq!(walked_in.session.seats_left(), Some(0));
    assert!(
        is_full(&h.try_join(&bo, session.id).await, 2),
        "once removed, bo is a walk-in of a full session"
    );

    // Members added beyond the free seats: each is admitted only while a seat is left.
    let crowded = h
        .create_with("held beyond", 0, |f| f.capacity = Some("2".into()))
        .await;
    assert!(h.join(&walk, crowded.id).await.first_join);
    super::roster::add(&h, crowded.id, &[&ada, &bo]).await;
    let read = h.session(crowded.id).await;
    assert_eq!((read.reserved_seats, read.seats_left()), (2, Some(0)));
    assert!(h.join(&ada, crowded.id).await.first_join);
    assert!(is_full(&h.try_join(&bo, crowded.id).await, 2));
}

/// Many walk-ins and every roster member joining at once: capacity 20 with 5 members and 60
/// walk-ins (scaled by `LIVESESSIONS_TEST_SCALE`, never below 20 walk-ins) admits every member
/// and exactly 15 walk-ins; the rest are `SessionFull`, and the count equals the records.
pub async fn concurrent_walk_ins_leave_the_members_their_seats(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (capacity, members) = (20usize, 5usize);
    let walk_ins = scaled(60, 20);
    let session = h
        .create_with("held under a stampede", 0, |f| {
            f.capacity = Some(capacity.to_string())
        })
        .await;
    let session = h.start(session.id).await;
    let roster = h.users(members, |i| format!("member{i}"));
    let crowd = h.users(walk_ins, |i| format!("walkin{i:03}"));
    super::roster::add(&h, session.id, &roster.iter().collect::<Vec<_>>()).await;
    // Members among the walk-ins, so that they join while the walk-ins stampede.
    let mut everyone: Vec<(&Actor, bool)> = crowd.iter().map(|who| (who, false)).collect();
    for (i, member) in roster.iter().enumerate() {
        everyone.insert(i * walk_ins / members, (member, true));
    }
    let handles: Vec<_> = everyone
        .iter()
        .map(|(who, _)| tokio::spawn(join_task(&h.service, who, session.id)))
        .collect();
    let (mut admitted_members, mut admitted_walk_ins, mut refused) = (0, HashSet::new(), 0);
    for ((who, member), handle) in everyone.iter().zip(handles) {
        match (handle.await.expect("a join task panicked"), member) {
            (Ok(outcome), true) => {
                assert!(outcome.first_join);
                admitted_members += 1;
            }
            (Ok(outcome), false) => {
                assert!(outcome.first_join);
                assert!(outcome.session.participants <= capacity as u64);
                admitted_walk_ins.insert(who.user_id.clone());
            }
            (Err(e), true) => panic!("member {} was refused: {e} ({e:?})", who.user_id),
            (Err(Error::Conflict(Conflict::SessionFull { capacity: c })), false) => {
                assert_eq!(c as usize, capacity);
                refused += 1;
            }
            (Err(e), false) => panic!("{} joining failed: {e} ({e:?})", who.user_id),
        }
    }
    assert_eq!(admitted_members, members, "every member is admitted");
    assert_eq!(
        admitted_walk_ins.len(),
        capacity - members,
        "exactly the seats not held go to walk-ins ({refused} refused)"
    );
    assert_eq!(refused, walk_ins - (capacity - members));
    let stored = h.session(session.id).await;
    assert_eq!(
        (
            stored.participants,
            stored.reserved_seats,
            stored.seats_left()
        ),
        (capacity as u64, 0, Some(0))
    );
    let page = h
        .try_attendance(session.id, 1_000)
        .await
        .expect("attendance");
    assert_eq!(page.total, capacity as u64, "the records are the count");
}
