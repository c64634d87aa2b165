//! Lists: status filters, search, order and cursor pagination.

use std::collections::HashSet;
use std::sync::Arc;

use crate::ids::SessionId;
use crate::ports::Store;
use crate::session::{Cursor, ListQuery, NewSession, SessionInput, SessionStatus, StatusFilter};
use crate::testing::harness::Harness;

fn query(search: &str, status: StatusFilter, limit: u32, after: Option<Cursor>) -> ListQuery {
    ListQuery {
        status,
        search: Some(search.to_owned()),
        limit,
        after,
    }
}

async fn list(h: &Harness, query: &ListQuery) -> (Vec<SessionId>, Option<Cursor>) {
    let page = h
        .store
        .list_sessions(query)
        .await
        .unwrap_or_else(|e| panic!("list_sessions({query:?}) failed: {e}"));
    (page.items.iter().map(|s| s.id).collect(), page.next)
}

async fn ids_matching(h: &Harness, search: &str) -> Vec<SessionId> {
    let (mut ids, next) = list(h, &query(search, StatusFilter::All, 100, None)).await;
    assert_eq!(next, None, "a list shorter than its limit has no next page");
    ids.sort();
    ids
}

async fn create_with(h: &Harness, title: String, instructor: &str, description: &str) -> SessionId {
    let request = NewSession {
        fields: SessionInput {
            title: Some(title),
            instructor: Some(instructor.to_owned()),
            description: Some(description.to_owned()),
            ..h.new_session("unused", 0).fields
        },
        ..h.new_session("unused", 0)
    };
    h.try_create(request).await.expect("create").id
}

fn sorted(mut ids: Vec<SessionId>) -> Vec<SessionId> {
    ids.sort();
    ids
}

/// Each status filter lists exactly the sessions in that status, `all` lists every one, and
/// only signed-in callers see video URLs in lists.
pub async fn list_filters_by_status(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let [scheduled, live, ended, cancelled] = h.one_of_each().await;
    for (status, session) in [
        (SessionStatus::Scheduled, &scheduled),
        (SessionStatus::Live, &live),
        (SessionStatus::Ended, &ended),
        (SessionStatus::Cancelled, &cancelled),
    ] {
        let (ids, next) = list(&h, &query(&h.tag, StatusFilter::Only(status), 50, None)).await;
        assert_eq!(
            ids,
            [session.id],
            "status={status} lists only {status} sessions"
        );
        assert_eq!(next, None);
    }
    let (ids, _) = list(&h, &query(&h.tag, StatusFilter::All, 50, None)).await;
    assert_eq!(
        sorted(ids),
        sorted(vec![scheduled.id, live.id, ended.id, cancelled.id])
    );

    let page = h
        .service
        .list(None, &query(&h.tag, StatusFilter::All, 50, None))
        .await
        .expect("list");
    assert_eq!(page.items.len(), 4);
    assert!(
        page.items.iter().all(|v| v.video().is_none()),
        "anonymous visitors do not see video URLs"
    );
    let student = h.user("student");
    let page = h
        .service
        .list(Some(&student), &query(&h.tag, StatusFilter::All, 50, None))
        .await
        .expect("list");
    assert!(
        page.items
            .iter()
            .all(|v| v.video().is_some() == (v.session.status != SessionStatus::Scheduled)),
        "signed-in users see video URLs once a session has gone live (not in the lobby)"
    );
    let listed_live = page
        .items
        .iter()
        .find(|v| v.session.id == live.id)
        .expect("the live session is listed");
    assert_eq!(listed_live.session, h.session(live.id).await);
}

/// Search looks in title, instructor and description, ignores ASCII case, and treats `%`, `_`
/// and `\` as the characters they are (never as wildcards or escapes).
pub async fn list_search_is_case_insensitive_and_literal(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tag = h.tag.clone();
    let by_title = create_with(&h, format!("{tag} Rust Basics"), "Sarah Khan", "").await;
    let by_instructor = create_with(
        &h,
        format!("{tag} Cooking"),
        &format!("Quentin {tag} Blake"),
        "",
    )
    .await;
    let by_description = create_with(
        &h,
        format!("{tag} Painting"),
        "Sarah Khan",
        &format!("Watercolour {tag} landscapes\nand more"),
    )
    .await;
    let percent = create_with(&h, format!("{tag} 100% Rust"), "Sarah Khan", "").await;
    let thousand = create_with(&h, format!("{tag} 1000 Rust"), "Sarah Khan", "").await;
    let underscore = create_with(&h, format!("{tag} snake_case"), "Sarah Khan", "").await;
    let no_underscore = create_with(&h, format!("{tag} snakeXcase"), "Sarah Khan", "").await;
    let backslash = create_with(&h, format!("{tag} back\\slash"), "Sarah Khan", "").await;
    let no_backslash = create_with(&h, format!("{tag} backslash"), "Sarah Khan", "").await;
    let upper = tag.to_uppercase();

    let cases: Vec<(String, Vec<SessionId>)> = vec![
        (format!("{upper} rust basics"), vec![by_title]),
        (format!("{tag} RUST BAS"), vec![by_title]),
        (format!("quentin {upper} BLAKE"), vec![by_instructor]),
        (
            format!("WATERCOLOUR {tag} landSCAPES"),
            vec![by_description],
        ),
        (format!("{tag} 100%"), vec![percent]),
        (format!("{tag} 100% r"), vec![percent]),
        (format!("{tag} 1000"), vec![thousand]),
        (format!("{tag} snake_case"), vec![underscore]),
        (format!("{tag} snakeX"), vec![no_underscore]),
        (format!("{tag} back\\slash"), vec![backslash]),
        (format!("{tag} back\\"), vec![backslash]),
        (format!("{tag} backs"), vec![no_backslash]),
        (format!("{tag} nothing like this"), vec![]),
        (
            tag.clone(),
            vec![
                by_title,
                by_instructor,
                by_description,
                percent,
                thousand,
                underscore,
                no_underscore,
                backslash,
                no_backslash,
            ],
        ),
    ];
    for (search, expected) in cases {
        assert_eq!(
            ids_matching(&h, &search).await,
            sorted(expected),
            "search {search:?}"
        );
    }

    // Search and status filter together.
    h.start(percent).await;
    let (ids, _) = list(
        &h,
        &query(&tag, StatusFilter::Only(SessionStatus::Live), 50, None),
    )
    .await;
    assert_eq!(ids, [percent]);
}

/// The list order: live sessions first (by start time), then scheduled ones by start time
/// (soonest first), then ended and then cancelled ones (latest start first); equal keys by id.
pub async fn list_order_follows_the_list_key(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let live_late = h.create("live late", 500).await;
    let live_early = h.create("live early", 100).await;
    h.start(live_late.id).await;
    h.start(live_early.id).await;
    let scheduled_last = h.create("scheduled last", 300).await;
    let tie_a = h.create("tie a", 200).await;
    let tie_b = h.create("tie b", 200).await;
    let scheduled_past = h.create("scheduled past", -1000).await;
    let ended_old = h.create("ended old", 100).await;
    let ended_new = h.create("ended new", 400).await;
    for s in [&ended_old, &ended_new] {
        h.start(s.id).await;
        h.end(s.id).await;
    }
    let cancelled_old = h.create("cancelled old", 50).await;
    let cancelled_new = h.create("cancelled new", 600).await;
    h.cancel(cancelled_old.id).await;
    h.cancel(cancelled_new.id).await;
    let (first_tie, second_tie) = if tie_a.id < tie_b.id {
        (tie_a.id, tie_b.id)
    } else {
        (tie_b.id, tie_a.id)
    };

    let expected = vec![
        live_early.id,
        live_late.id,
        scheduled_past.id,
        first_tie,
        second_tie,
        scheduled_last.id,
        ended_new.id,
        ended_old.id,
        cancelled_new.id,
        cancelled_old.id,
    ];
    let (ids, next) = list(&h, &query(&h.tag, StatusFilter::All, 100, None)).await;
    assert_eq!(ids, expected, "list order");
    assert_eq!(next, None);

    // The same order one item per page.
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let (ids, next) = list(&h, &query(&h.tag, StatusFilter::All, 1, after)).await;
        paged.extend(ids);
        match next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
        assert!(paged.len() <= expected.len(), "paging does not end");
    }
    assert_eq!(paged, expected, "list order one item per page");
}

/// Paging with cursors returns every session exactly once, in order, whatever the page size;
/// `next` is the key of a page's last item and is unset once nothing follows.
pub async fn list_pages_have_no_duplicates_or_gaps(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let mut created = Vec::new();
    for i in 0..23i64 {
        // Pairs of equal start times, so that ties cross page boundaries.
        let s = h.create(&format!("page {i}"), (i / 2) * 60).await;
        match i % 4 {
            0 => {
                h.start(s.id).await;
            }
            1 => {
                h.start(s.id).await;
                h.end(s.id).await;
            }
            2 if i % 8 == 2 => {
                h.cancel(s.id).await;
            }
            _ => {}
        }
        created.push(s.id);
    }
    let (full, next) = list(&h, &query(&h.tag, StatusFilter::All, 100, None)).await;
    assert_eq!(next, None);
    assert_eq!(sorted(full.clone()), sorted(created.clone()));
    let mut keys = Vec::new();
    for id in &full {
        keys.push(h.session(*id).await.list_key());
    }
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "a full list is in strictly increasing list-key order"
    );

    for limit in [1u32, 4, 5, 7, 22, 23] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = h
                .store
                .list_sessions(&query(&h.tag, StatusFilter::All, limit, after))
                .await
                .expect("list_sessions");
            assert!(
                page.items.len() <= limit as usize,
                "a page holds at most limit items"
            );
            seen.extend(page.items.iter().map(|s| s.id));
            match page.next {
                Some(cursor) => {
                    let last = page
                        .items
                        .last()
                        .expect("a page with a next cursor has items");
                    assert_eq!(
                        cursor,
                        Cursor(last.list_key()),
                        "next is the last item's key"
                    );
                    after = Some(cursor);
                }
                None => break,
            }
            assert!(
                seen.len() <= full.len(),
                "paging with limit {limit} does not end"
            );
        }
        assert_eq!(seen, full, "pages of {limit}");
        let unique: HashSet<_> = seen.iter().collect();
        assert_eq!(
            unique.len(),
            seen.len(),
            "no duplicates with pages of {limit}"
        );
    }

    // Pagination within a status filter.
    let scheduled: Vec<SessionId> = {
        let (ids, _) = list(
            &h,
            &query(
                &h.tag,
                StatusFilter::Only(SessionStatus::Scheduled),
                100,
                None,
            ),
        )
        .await;
        ids
    };
    assert_eq!(scheduled.len(), 8);
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let (ids, next) = list(
            &h,
            &query(
                &h.tag,
                StatusFilter::Only(SessionStatus::Scheduled),
                2,
                after,
            ),
        )
        .await;
        seen.extend(ids);
        match next {
            Some(c) => after = Some(c),
            None => break,
        }
        assert!(seen.len() <= scheduled.len(), "paging does not end");
    }
    assert_eq!(seen, scheduled);
}

/// The sessions of `ours` that a search for `search` lists, over every page, sorted.
async fn ours_matching(h: &Harness, search: &str, ours: &[SessionId]) -> Vec<SessionId> {
    let mut found = Vec::new();
    let mut after = None;
    loop {
        let (ids, next) = list(h, &query(search, StatusFilter::All, 100, after)).await;
        found.extend(ids.into_iter().filter(|id| ours.contains(id)));
        match next {
            Some(cursor) => after = Some(cursor),
            None => return sorted(found),
        }
    }
}

/// Search edges that an index could get wrong: terms of one or two characters (too short for
/// a trigram), terms of wildcard or quote characters only, quotes inside a term, non-ASCII
/// letters in their exact case, a term spanning two fields (no match), and the text of a
/// session as it is after an update or a delete.
pub async fn list_search_edges_match_substrings_of_one_field(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tag = h.tag.clone();
    let quotes = create_with(&h, format!("{tag} say \"hi\" to 'them'"), "Ann Lee", "").await;
    let wild = create_with(&h, format!("{tag} odd %_% title"), "Ann Lee", "").await;
    let unicode = create_with(&h, format!("{tag} Ünïcode café"), "Zoë Ørsted", "").await;
    let short = create_with(&h, format!("{tag} Qz"), "Ann Lee", "Fields: alpha").await;
    let spanning = create_with(&h, format!("{tag} ends alpha"), "beta Starts", "").await;
    let ours = [quotes, wild, unicode, short, spanning];

    let cases: Vec<(String, Vec<SessionId>)> = vec![
        ("\"hi\" to 'th".to_owned(), vec![quotes]),
        ("\"hi\"".to_owned(), vec![quotes]),
        ("'".to_owned(), vec![quotes]),
        ("\"".to_owned(), vec![quotes]),
        ("%_%".to_owned(), vec![wild]),
        ("%".to_owned(), vec![wild]),
        ("_".to_owned(), vec![wild]),
        ("Ünïcode".to_owned(), vec![unicode]),
        ("é".to_owned(), vec![unicode]),
        ("Zoë Ør".to_owned(), vec![unicode]),
        ("Ünïcode CAFé".to_owned(), vec![unicode]),
        ("qz".to_owned(), vec![short]),
        ("Q".to_owned(), vec![short]),
        ("alpha beta".to_owned(), vec![]),
        ("ALPHA".to_owned(), vec![short, spanning]),
        (format!("{tag} ENDS"), vec![spanning]),
    ];
    for (search, expected) in cases {
        assert_eq!(
            ours_matching(&h, &search, &ours).await,
            sorted(expected),
            "search {search:?}"
        );
    }

    // An update is searched by its new text only; a deleted session is not listed.
    h.try_update(spanning, |u| {
        u.fields.title = Some(format!("{tag} renamed gamma"));
        u.fields.instructor = Some("Delta Person".to_owned());
    })
    .await
    .expect("update");
    assert_eq!(ours_matching(&h, "ends alpha", &ours).await, []);
    assert_eq!(ours_matching(&h, "beta starts", &ours).await, []);
    assert_eq!(ours_matching(&h, "renamed gamma", &ours).await, [spanning]);
    assert_eq!(ours_matching(&h, "delta pers", &ours).await, [spanning]);
    assert!(h.store.delete_session(spanning).await.expect("delete"));
    assert_eq!(ours_matching(&h, "renamed gamma", &ours).await, []);
    assert_eq!(ours_matching(&h, "ALPHA", &ours).await, [short]);
}
