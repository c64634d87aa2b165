//! Calendar feeds: feed tokens kept as hashes (rotation invalidates the old token at once,
//! revocation, unknown tokens) and which sessions a feed holds.
//!
//! These cases take a [`CalendarStore`]; [`calendar_feed_tests!`](crate::calendar_feed_tests)
//! runs them.

use chrono::TimeDelta;

use crate::calendar::{CalendarFeeds, CalendarQuery, FeedToken, STALE_AFTER};
use crate::error::Error;
use crate::ids::SessionId;
use crate::session::LiveSession;
use crate::testing::harness::Harness;
use crate::testing::CalendarStore;

fn feeds(h: &Harness, stores: &CalendarStore) -> CalendarFeeds {
    CalendarFeeds::new(stores.feeds.clone()).with_clock(std::sync::Arc::new(h.clock.clone()))
}

fn assert_no_feed<T: std::fmt::Debug>(result: crate::error::Result<T>, what: &str) {
    match result {
        Err(Error::NotFound { entity, id }) => {
            assert_eq!(entity, "calendar feed", "{what}");
            assert!(
                id.is_empty(),
                "{what}: a missing feed names no id, got {id:?}"
            );
        }
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
}

/// A token resolves to its user; setting a new one for the user makes the old one unknown at
/// once; another user's token is untouched; a hash nobody has is unknown.
pub async fn rotating_a_feed_token_invalidates_the_old_one(stores: CalendarStore) {
    let h = Harness::new(stores.store.clone());
    let store = &stores.feeds;
    let ana = h.user_id("ana");
    let ben = h.user_id("ben");
    let (first, second, other) = (
        FeedToken::generate(),
        FeedToken::generate(),
        FeedToken::generate(),
    );
    assert_eq!(
        store.feed_user(&first.hash()).await.expect("feed_user"),
        None
    );
    store
        .set_feed_token(&ana, &first.hash(), h.at(0))
        .await
        .expect("set_feed_token");
    store
        .set_feed_token(&ben, &other.hash(), h.at(0))
        .await
        .expect("set_feed_token");
    assert_eq!(
        store.feed_user(&first.hash()).await.expect("feed_user"),
        Some(ana.clone())
    );
    store
        .set_feed_token(&ana, &second.hash(), h.at(10))
        .await
        .expect("set_feed_token (rotation)");
    assert_eq!(
        store.feed_user(&first.hash()).await.expect("feed_user"),
        None,
        "a rotated token must stop working at once"
    );
    assert_eq!(
        store.feed_user(&second.hash()).await.expect("feed_user"),
        Some(ana.clone())
    );
    assert_eq!(
        store.feed_user(&other.hash()).await.expect("feed_user"),
        Some(ben),
        "rotating one user's token must leave the others'"
    );

    // The same through the service: the old URL's token is NotFound, like any unknown one.
    let feeds = feeds(&h, &stores);
    let caller = h.user("ana");
    let a = feeds.rotate_token(Some(&caller)).await.expect("rotate");
    let b = feeds.rotate_token(Some(&caller)).await.expect("rotate");
    assert_ne!(a, b);
    assert_no_feed(feeds.user_feed(a.expose()).await, "the rotated token");
    assert_no_feed(feeds.user_feed(second.expose()).await, "the replaced token");
    let (owner, _) = feeds.user_feed(b.expose()).await.expect("the new token");
    assert_eq!(owner, ana);
}

/// Revoking removes the token (and says whether there was one); a revoked token is unknown, as
/// are malformed ones and well-formed ones nobody was given.
pub async fn revoked_and_unknown_feed_tokens_are_not_found(stores: CalendarStore) {
    let h = Harness::new(stores.store.clone());
    let store = &stores.feeds;
    let ana = h.user_id("ana");
    let token = FeedToken::generate();
    assert!(!store.revoke_feed_token(&ana).await.expect("revoke (none)"));
    store
        .set_feed_token(&ana, &token.hash(), h.at(0))
        .await
        .expect("set_feed_token");
    assert!(store.revoke_feed_token(&ana).await.expect("revoke"));
    assert_eq!(
        store.feed_user(&token.hash()).await.expect("feed_user"),
        None
    );
    assert!(!store.revoke_feed_token(&ana).await.expect("revoke again"));

    let feeds = feeds(&h, &stores);
    let caller = h.user("ana");
    let live = feeds.rotate_token(Some(&caller)).await.expect("rotate");
    feeds.revoke_token(Some(&caller)).await.expect("revoke");
    assert_no_feed(feeds.user_feed(live.expose()).await, "a revoked token");
    assert_no_feed(
        feeds.user_feed(FeedToken::generate().expose()).await,
        "an unknown token",
    );
    assert_no_feed(feeds.user_feed("not-a-token").await, "a malformed token");
    assert!(matches!(
        feeds.rotate_token(None).await,
        Err(Error::Unauthenticated)
    ));
    assert!(matches!(
        feeds.revoke_token(None).await,
        Err(Error::Unauthenticated)
    ));
    // A user may get a token again after revoking.
    let again = feeds.rotate_token(Some(&caller)).await.expect("rotate");
    assert_eq!(feeds.user_feed(again.expose()).await.expect("feed").0, ana);
}

fn ids_of(sessions: &[LiveSession], ours: &[SessionId]) -> Vec<SessionId> {
    sessions
        .iter()
        .map(|s| s.id)
        .filter(|id| ours.contains(id))
        .collect()
}

/// The public feed: live sessions, scheduled ones up to [`STALE_AFTER`] past their start,
/// cancelled ones still ahead; never ended ones; by start time; at most `limit`.
pub async fn the_public_feed_holds_upcoming_live_and_cancelled_upcoming(stores: CalendarStore) {
    let h = Harness::new(stores.store.clone());
    let stale = STALE_AFTER.num_seconds();
    // Created at time zero; the feed is read an hour later (now = 3600).
    let live = h.create_live("live").await; // start 0
    let ended = h.create_live("ended").await;
    let ended = h.end(ended.id).await;
    let late = h.create("late", 3600 - stale).await; // exactly STALE_AFTER past: in
    let stale_one = h.create("stale", 3600 - stale - 1).await; // one second more: out
    let soon = h.create("soon", 7200).await;
    let later = h.create("later", 9000).await;
    let called_off = h.create("called off", 8000).await;
    let called_off = h.cancel(called_off.id).await;
    let called_off_past = h.create("called off, past", 1800).await;
    let called_off_past = h.cancel(called_off_past.id).await;
    let ours = [
        live.id,
        ended.id,
        late.id,
        stale_one.id,
        soon.id,
        later.id,
        called_off.id,
        called_off_past.id,
    ];
    let now = h.at(3600);
    let found = stores
        .feeds
        .calendar_sessions(&CalendarQuery::public(now))
        .await
        .expect("calendar_sessions");
    assert_eq!(
        ids_of(&found, &ours),
        vec![late.id, live.id, soon.id, called_off.id, later.id],
        "the public feed: live, scheduled (up to STALE_AFTER late) and cancelled-upcoming, by start"
    );
    let cancelled = found
        .iter()
        .find(|s| s.id == called_off.id)
        .expect("the cancelled session");
    assert_eq!(cancelled.status, crate::SessionStatus::Cancelled);
    assert_eq!(cancelled.version, called_off.version);

    let limited = stores
        .feeds
        .calendar_sessions(&CalendarQuery {
            user: None,
            now,
            limit: 2,
        })
        .await
        .expect("calendar_sessions");
    assert!(limited.len() <= 2, "at most `limit` sessions");
    // Rescheduling moves a session in the order and bumps its version.
    h.set(60);
    let moved = h
        .try_update(soon.id, |u| {
            u.fields.start_time = Some(crate::testing::harness::rfc3339(h.at(9500)));
        })
        .await
        .expect("reschedule");
    let found = stores
        .feeds
        .calendar_sessions(&CalendarQuery::public(now + TimeDelta::zero()))
        .await
        .expect("calendar_sessions");
    assert_eq!(
        ids_of(&found, &ours),
        vec![late.id, live.id, called_off.id, later.id, soon.id]
    );
    let again = found.iter().find(|s| s.id == soon.id).expect("moved");
    assert_eq!(again.fields.start_time, h.at(9500));
    assert_eq!(again.version, moved.version);
    assert!(moved.version > soon.version);
}

/// A user's feed holds the sessions the user joined (while scheduled or live), under the same
/// rule as the public feed, and nobody else's.
pub async fn a_users_feed_holds_the_sessions_the_user_joined(stores: CalendarStore) {
    let h = Harness::new(stores.store.clone());
    let ana = h.user("ana");
    let ben = h.user("ben");
    let live = h.create_live("live").await;
    let upcoming = h.create("upcoming", 7200).await;
    let bens = h.create("ben's", 5000).await;
    let not_joined = h.create("nobody's", 6000).await;
    let ended = h.create_live("ended").await;
    let cancelled = h.create("cancelled", 8000).await;
    h.join(&ana, live.id).await;
    h.join(&ana, upcoming.id).await;
    h.join(&ana, ended.id).await;
    h.join(&ana, cancelled.id).await;
    h.join(&ben, bens.id).await;
    h.join(&ben, live.id).await;
    let ended = h.end(ended.id).await;
    let cancelled = h.cancel(cancelled.id).await;
    let ours = [
        live.id,
        upcoming.id,
        bens.id,
        not_joined.id,
        ended.id,
        cancelled.id,
    ];
    let now = h.at(60);
    let of = |user: &crate::Actor| CalendarQuery::of_user(user.user_id.clone(), now);
    let anas = stores
        .feeds
        .calendar_sessions(&of(&ana))
        .await
        .expect("calendar_sessions");
    assert_eq!(
        ids_of(&anas, &ours),
        vec![live.id, upcoming.id, cancelled.id],
        "ana's feed: her live, upcoming and cancelled-upcoming sessions, by start"
    );
    assert_eq!(anas.len(), 3, "ana's feed holds nothing of other cases");
    let live_in_feed = anas.iter().find(|s| s.id == live.id).expect("live");
    assert_eq!(
        live_in_feed.participants, 2,
        "the participant count as get_session gives it"
    );
    let bens_feed = stores
        .feeds
        .calendar_sessions(&of(&ben))
        .await
        .expect("calendar_sessions");
    assert_eq!(
        bens_feed.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![live.id, bens.id]
    );
    let nobody = stores
        .feeds
        .calendar_sessions(&CalendarQuery::of_user(h.user_id("carl"), now))
        .await
        .expect("calendar_sessions");
    assert!(nobody.is_empty());
    let one = stores
        .feeds
        .calendar_sessions(&CalendarQuery {
            limit: 1,
            ..of(&ana)
        })
        .await
        .expect("calendar_sessions");
    assert_eq!(one.iter().map(|s| s.id).collect::<Vec<_>>(), vec![live.id]);

    // Through the service, with a token.
    let feeds = feeds(&h, &stores);
    let token = feeds.rotate_token(Some(&ana)).await.expect("rotate");
    let (owner, sessions) = feeds.user_feed(token.expose()).await.expect("feed");
    assert_eq!(owner, ana.user_id);
    assert_eq!(
        sessions.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![live.id, upcoming.id, cancelled.id]
    );
}

/// A user's feed also holds the sessions the user is on the roster of, added by an admin or
/// registered, once each even when the user joined them too.
pub async fn a_users_feed_holds_the_sessions_of_their_rosters(stores: CalendarStore) {
    let h = Harness::new(stores.store.clone());
    let dana = h.user("dana");
    let listed = h.create("listed", 3000).await;
    let open = h
        .create_with("open", 4000, |f| f.registration = Some("open".into()))
        .await;
    let both = h.create("both", 5000).await;
    let other = h.create("other", 6000).await;
    let rows = |who: &crate::Actor| {
        vec![crate::roster::MemberInput {
            user_id: Some(who.user_id.to_string()),
            user_name: who.name.clone(),
            email: who.email.clone(),
        }]
    };
    for id in [listed.id, both.id] {
        h.service
            .add_to_roster(Some(&h.admin), id, &rows(&dana))
            .await
            .expect("adding dana");
    }
    h.service
        .register(Some(&dana), open.id, None, None)
        .await
        .expect("dana registers");
    h.join(&dana, both.id).await;
    h.service
        .add_to_roster(Some(&h.admin), other.id, &rows(&h.user("erin")))
        .await
        .expect("adding erin");
    let feed = stores
        .feeds
        .calendar_sessions(&CalendarQuery::of_user(dana.user_id.clone(), h.at(60)))
        .await
        .expect("calendar_sessions");
    assert_eq!(
        feed.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![listed.id, open.id, both.id],
        "dana's feed: her roster sessions and registrations, each once, by start"
    );
}
