//! The search plans against the server (`LIVESESSIONS_TEST_MONGODB_URI`): which index a list
//! page reads, the backfill, and the figures of `BENCHMARKS.md` (an ignored test).

use std::time::{Duration, Instant};

use bson::{doc, Document};
use chrono::{TimeZone as _, Utc};
use livesessions_core::{
    ListQuery, LiveSession, NewSession, SessionInput, SessionStore, StatusFilter,
};

use super::*;
use crate::codec::session_document;

/// A store on a scratch database of its own, with its indexes.
async fn scratch_store() -> MongoStore {
    let uri = std::env::var("LIVESESSIONS_TEST_MONGODB_URI")
        .expect("LIVESESSIONS_TEST_MONGODB_URI is not set, but these tests were built with it");
    let client = mongodb::Client::with_uri_str(&uri).await.unwrap();
    let name = format!("ls_test_{}", uuid::Uuid::new_v4().simple());
    let store = MongoStore::new(client.database(&name));
    store.ensure_indexes().await.unwrap();
    store
}

/// Session `g` of the seeded shape (`BENCHMARKS.md`, "Seeding"): title `<subject> class <g>`,
/// one subject in 8; instructor `Instructor <g % 500>`; description `Seeded session <g>`.
fn seeded(g: u64) -> LiveSession {
    const SUBJECTS: [&str; 8] = [
        "Algebra",
        "Biology",
        "Chemistry",
        "Drawing",
        "English",
        "French",
        "Geology",
        "History",
    ];
    let start = Utc.timestamp_opt(1_736_935_200, 0).unwrap() + Duration::from_secs(g * 60);
    let fields = NewSession {
        fields: SessionInput {
            title: Some(format!("{} class {g}", SUBJECTS[(g % 8) as usize])),
            description: Some(format!("Seeded session {g}")),
            instructor: Some(format!("Instructor {}", g % 500)),
            video_url: Some("https://youtu.be/dQw4w9WgXcQ".into()),
            start_time: Some(start.to_rfc3339()),
            ..SessionInput::default()
        },
        is_live: false,
    }
    .validate()
    .unwrap();
    LiveSession::new(fields, start - Duration::from_secs(3600))
}

/// Inserts sessions `0..count` of the seeded shape, 1 000 a command.
async fn seed(store: &MongoStore, count: u64) {
    for chunk in (0..count).collect::<Vec<_>>().chunks(1000) {
        let documents: Vec<Document> = chunk
            .iter()
            .map(|g| session_document(&seeded(*g)))
            .collect();
        store.sessions.insert_many(documents).await.unwrap();
    }
}

fn search(term: &str) -> ListQuery {
    ListQuery {
        status: StatusFilter::All,
        search: Some(term.to_owned()),
        limit: 20,
        after: None,
    }
}

/// The server's `executionStats` explanation of the pipeline of a page read from the trigram
/// index.
async fn explain(store: &MongoStore, query: &ListQuery, first: &str, grams: &[String]) -> Document {
    let aggregate = doc! {
        "aggregate": store.sessions.name(),
        "pipeline": queries::indexed_list_pipeline(query, first, grams, i64::from(query.limit) + 1),
        "cursor": {},
    };
    store
        .database
        .run_command(doc! { "explain": aggregate, "verbosity": "executionStats" })
        .await
        .unwrap()
}

/// The greatest `totalDocsExamined` anywhere in an explanation.
fn docs_examined(explained: &bson::Bson) -> i64 {
    match explained {
        bson::Bson::Document(d) => d
            .iter()
            .map(|(key, value)| match (key.as_str(), value) {
                ("totalDocsExamined", bson::Bson::Int32(n)) => i64::from(*n),
                ("totalDocsExamined", bson::Bson::Int64(n)) => *n,
                ("totalDocsExamined", bson::Bson::Double(n)) => *n as i64,
                _ => docs_examined(value),
            })
            .max()
            .unwrap_or(0),
        bson::Bson::Array(a) => a.iter().map(docs_examined).max().unwrap_or(0),
        _ => 0,
    }
}

/// A rare term is read from the trigram index (the server's explanation names it and examines a
/// handful of documents); a common one (more candidates than the bound) along the list order;
/// both page as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(livesessions_test_mongodb),
    ignore = "set LIVESESSIONS_TEST_MONGODB_URI to run the MongoDB store's own tests (scripts/secantus.sh start prints one)"
)]
async fn a_rare_term_reads_the_trigram_index_and_a_common_one_the_list_order() {
    let store = scratch_store().await;
    let sessions = 1_200;
    seed(&store, sessions).await;

    let rare = search("CLASS 1117");
    let plan = store.list_plan(&rare).await.unwrap();
    let ListPlan::Trigrams { first, grams } = &plan else {
        panic!("{plan:?}");
    };
    assert_eq!(grams, &queries::term_grams("class 1117"));
    assert_eq!(first, "111", "the likely rarest trigram");
    let explained = explain(&store, &rare, first, grams).await;
    let text = explained.to_string();
    assert!(
        text.contains("IXSCAN") && text.contains(queries::SEARCH_INDEX),
        "{text}"
    );
    let docs = docs_examined(&bson::Bson::Document(explained));
    assert!(
        docs < 50,
        "{docs} of {sessions} documents examined for a rare term: {text}"
    );
    let page = store.list_sessions(&rare).await.unwrap();
    let titles: Vec<_> = page.items.iter().map(|s| s.fields.title.as_str()).collect();
    assert_eq!(titles, ["French class 1117"]);

    // Every session has "class": along the list order, a page at a time, as before.
    let common = search("Class");
    assert_eq!(store.list_plan(&common).await.unwrap(), ListPlan::ListOrder);
    let mut all = store
        .list_sessions(&ListQuery {
            search: None,
            ..common.clone()
        })
        .await
        .unwrap()
        .items;
    all.truncate(20);
    let page = store.list_sessions(&common).await.unwrap();
    assert_eq!(page.items, all);

    // Both plans give the same pages, cursor included.
    let middling = ListQuery {
        limit: 7,
        ..search("Instructor 42")
    };
    let plan = store.list_plan(&middling).await.unwrap();
    assert!(matches!(plan, ListPlan::Trigrams { .. }), "{plan:?}");
    let mut by_index = Vec::new();
    let mut by_list = Vec::new();
    for (plan, out) in [(plan, &mut by_index), (ListPlan::ListOrder, &mut by_list)] {
        let mut query = middling.clone();
        loop {
            let documents = store.list_documents(&query, &plan, 8).await.unwrap();
            let items: Vec<LiveSession> = documents
                .iter()
                .take(7)
                .map(|d| crate::codec::session_from_document(d).unwrap())
                .collect();
            let more = documents.len() > 7;
            query.after = items
                .last()
                .map(|s| livesessions_core::Cursor(s.list_key()));
            out.extend(items.into_iter().map(|s| s.id));
            if !more {
                break;
            }
        }
    }
    let expected = (0..sessions)
        .filter(|g| format!("Instructor {}", g % 500).starts_with("Instructor 42"))
        .count();
    assert_eq!(by_index.len(), expected, "Instructor 42 and 420–429");
    assert_eq!(by_index, by_list);
    store.database.drop().await.unwrap();
}

/// Documents written without the trigrams (by an earlier version) get them from
/// `ensure_indexes`, and are then found by a search that reads the index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(livesessions_test_mongodb),
    ignore = "set LIVESESSIONS_TEST_MONGODB_URI to run the MongoDB store's own tests (scripts/secantus.sh start prints one)"
)]
async fn ensure_indexes_fills_in_the_trigrams_of_older_documents() {
    let store = scratch_store().await;
    let old = seeded(7);
    let mut document = session_document(&old);
    document.remove(queries::SEARCH_GRAMS);
    document.remove("description");
    store.sessions.insert_one(document).await.unwrap();
    let rare = search("story class 7");
    assert!(store.list_sessions(&rare).await.unwrap().items.is_empty());
    assert_eq!(store.backfill_search_grams().await.unwrap(), 1);
    store.ensure_indexes().await.unwrap();
    assert_eq!(store.backfill_search_grams().await.unwrap(), 0);
    assert!(matches!(
        store.list_plan(&rare).await.unwrap(),
        ListPlan::Trigrams { .. }
    ));
    let found = store.list_sessions(&rare).await.unwrap().items;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, old.id);
    store.database.drop().await.unwrap();
}

/// The figures of `BENCHMARKS.md` ("MongoDB: search at scale"): `LIVESESSIONS_BENCH_SESSIONS`
/// (default 20 000) seeded sessions, then each term's list page read along the list order (the
/// previous query) and by the store's plan, alternately, 7 times each; prints the medians.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "prints figures; run with --ignored --nocapture and LIVESESSIONS_TEST_MONGODB_URI"]
async fn search_figures() {
    let sessions: u64 = std::env::var("LIVESESSIONS_BENCH_SESSIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let store = scratch_store().await;
    let seeding = Instant::now();
    seed(&store, sessions).await;
    println!("seeded {sessions} sessions in {:.1?}", seeding.elapsed());
    let median = |mut times: Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    for term in [
        "chemistry".to_owned(),
        "Instructor 42".to_owned(),
        format!("class {}", sessions - 1),
        "no such session".to_owned(),
    ] {
        let query = search(&term);
        let (mut before, mut after) = (Vec::new(), Vec::new());
        let mut plan = ListPlan::ListOrder;
        for _ in 0..7 {
            let t = Instant::now();
            let old = store
                .list_documents(&query, &ListPlan::ListOrder, 21)
                .await
                .unwrap();
            before.push(t.elapsed());
            let t = Instant::now();
            plan = store.list_plan(&query).await.unwrap();
            let new = store.list_documents(&query, &plan, 21).await.unwrap();
            after.push(t.elapsed());
            assert_eq!(old, new, "{term}");
        }
        let hits = store
            .list_documents(&query, &ListPlan::ListOrder, 21)
            .await
            .unwrap()
            .len();
        println!(
            "{term:?}: {hits} on the page; before (list order) {:.1?}, after {:.1?} ({})",
            median(before),
            median(after),
            match plan {
                ListPlan::ListOrder => "list order".to_owned(),
                ListPlan::Trigrams { first, .. } => format!("trigram index, {first:?}"),
            }
        );
    }
    store.database.drop().await.unwrap();
}
