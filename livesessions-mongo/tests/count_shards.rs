//! The participant counts in count shards (`session_participant_counts`): a stampede of first
//! joins counts exactly without writing the session document, with and without transactions;
//! a capacity set after joins were counted in the shards checks its seats against them; a
//! delete takes the shards along; the repair counts them; a session without shards (inserted
//! before them) counts on its document. Runs against `LIVESESSIONS_TEST_MONGODB_URI`, counted
//! as ignored without it; `LIVESESSIONS_TEST_MONGODB_SCALE` scales the stampede (2 000 users
//! at 1).

#[macro_use]
mod server;

use std::sync::Arc;

use futures::future::join_all;
use livesessions_core::{
    Actor, Conflict, Error, JoinInput, JoinOutcome, ListQuery, LiveSession, LiveSessions,
    NewSession, SessionId, SessionInput, SessionStore, SessionUpdate, StatusFilter, UserId,
};
use livesessions_mongo::mongodb::bson::{doc, Bson, Document};
use livesessions_mongo::mongodb::Database;
use livesessions_mongo::{MongoStore, TransactionMode};

fn uuid(id: SessionId) -> Bson {
    Bson::from(livesessions_mongo::mongodb::bson::Uuid::from(*id.as_uuid()))
}

fn admin() -> Actor {
    Actor::admin(UserId::parse("admin").unwrap())
}

fn student(name: &str) -> Actor {
    Actor::user(UserId::parse(name).unwrap())
        .with_name(name)
        .with_email(format!("{name}@example.com"))
}

struct Class {
    database: Database,
    store: MongoStore,
    service: Arc<LiveSessions>,
    session: LiveSession,
}

/// A live session on a store of a scratch database, in transaction mode `mode`.
async fn class(mode: TransactionMode) -> Class {
    let (database, _) = server::scratch_database().await;
    let store = MongoStore::new(database.clone()).with_transactions(mode);
    store.ensure_indexes().await.expect("indexes");
    let service = Arc::new(LiveSessions::builder(Arc::new(store.clone())).build());
    let session = service
        .create(
            Some(&admin()),
            NewSession {
                is_live: true,
                ..NewSession::new(
                    "Count shards",
                    "Sarah Khan",
                    "https://youtu.be/dQw4w9WgXcQ",
                    "2031-05-01T10:00:00Z",
                )
            },
            None,
        )
        .await
        .expect("create");
    Class {
        database,
        store,
        service,
        session,
    }
}

impl Class {
    async fn join(&self, who: &Actor) -> livesessions_core::Result<JoinOutcome> {
        self.service
            .join(
                Some(who),
                JoinInput {
                    session_id: self.session.id.to_string(),
                    ..Default::default()
                },
            )
            .await
    }

    /// The session document's own `participants`, and what its shards sum to.
    async fn stored_counts(&self) -> (i64, i64, usize) {
        let document = self
            .database
            .collection::<Document>("live_sessions")
            .find_one(doc! { "_id": uuid(self.session.id) })
            .await
            .unwrap()
            .unwrap();
        let shards: Vec<Document> = {
            use futures::TryStreamExt;
            self.database
                .collection::<Document>("session_participant_counts")
                .find(doc! { "sessionId": uuid(self.session.id) })
                .await
                .unwrap()
                .try_collect()
                .await
                .unwrap()
        };
        let sum = shards.iter().map(|d| d.get_i64("count").unwrap()).sum();
        (document.get_i64("participants").unwrap(), sum, shards.len())
    }

    async fn records(&self) -> u64 {
        self.database
            .collection::<Document>("session_participants")
            .count_documents(doc! { "sessionId": uuid(self.session.id) })
            .await
            .unwrap()
    }

    async fn participants(&self) -> u64 {
        self.store
            .get_session(self.session.id)
            .await
            .unwrap()
            .unwrap()
            .participants
    }
}

/// How many joins of a stampede are in flight at once.
const WORKERS: usize = 16;

fn users() -> usize {
    let scale = server::scale().unwrap_or(1.0);
    ((2000.0 * scale).round() as usize).max(40)
}

async fn stampede(mode: TransactionMode) {
    let class = class(mode).await;
    let n = users();
    let (_, _, shards) = class.stored_counts().await;
    assert_eq!(shards, 16, "a new session has its shards");
    let class = Arc::new(class);
    // Every fourth user joins twice (two tabs), the second right after the first. At most
    // `WORKERS` joins are in flight: each holds a transaction open on the server, and
    // SecantusDB fails every command once about a thousand are open.
    let mut joins: Vec<usize> = Vec::new();
    for i in 0..n {
        joins.push(i);
        if i % 4 == 0 {
            joins.push(i);
        }
    }
    let queue = Arc::new(std::sync::Mutex::new(joins));
    let tasks: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (class, queue) = (class.clone(), queue.clone());
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                loop {
                    let Some(i) = queue.lock().unwrap().pop() else {
                        return outcomes;
                    };
                    outcomes.push(class.join(&student(&format!("s{i:05}"))).await);
                }
            })
        })
        .collect();
    let outcomes: Vec<JoinOutcome> = join_all(tasks)
        .await
        .into_iter()
        .flat_map(|t| t.unwrap())
        .map(|o| o.expect("join"))
        .collect();
    assert_eq!(outcomes.iter().filter(|o| o.first_join).count(), n);
    assert!(outcomes.iter().all(|o| o.session.participants <= n as u64));
    // Rejoins later count nothing more.
    for i in (0..n).step_by(7) {
        assert!(
            !class
                .join(&student(&format!("s{i:05}")))
                .await
                .unwrap()
                .first_join
        );
    }
    assert_eq!(class.records().await, n as u64);
    assert_eq!(class.participants().await, n as u64);
    let (own, shards, _) = class.stored_counts().await;
    assert_eq!((own, shards), (0, n as i64), "counted in the shards only");
    let listed = class
        .store
        .list_sessions(&ListQuery {
            status: StatusFilter::All,
            search: None,
            limit: 10,
            after: None,
        })
        .await
        .unwrap();
    assert_eq!(listed.items[0].participants, n as u64);
    assert_eq!(class.store.reconcile_participant_counts().await.unwrap(), 0);
    class.database.drop().await.unwrap();
}

server_test! {
    /// 2 000 users (scaled) join one session, 16 joins at a time, a quarter of the users twice
    /// (the two tabs' joins in flight together): the count is exactly the number of records,
    /// all of it in the shards, with transactions.
    async fn a_stampede_of_first_joins_counts_exactly_with_transactions() {
        stampede(TransactionMode::Auto).await;
    }
}

server_test! {
    /// The same without transactions.
    async fn a_stampede_of_first_joins_counts_exactly_without_transactions() {
        stampede(TransactionMode::Never).await;
    }
}

server_test! {
    /// Joins counted in the shards move onto the session document when it has a capacity, so
    /// its seats are checked against all of them.
    async fn a_capacity_set_later_counts_the_joins_in_the_shards() {
        for mode in [TransactionMode::Auto, TransactionMode::Never] {
            let class = class(mode).await;
            for name in ["a", "b", "c"] {
                class.join(&student(name)).await.unwrap();
            }
            assert_eq!(class.stored_counts().await.0, 0);
            class
                .service
                .update(
                    Some(&admin()),
                    class.session.id,
                    SessionUpdate {
                        fields: SessionInput {
                            capacity: Some("4".into()),
                            ..SessionInput::default()
                        },
                        ..SessionUpdate::default()
                    },
                    None,
                )
                .await
                .expect("capacity 4 with 3 participants");
            let fourth = class.join(&student("d")).await.unwrap();
            assert_eq!(fourth.session.participants, 4);
            assert!(matches!(
                class.join(&student("e")).await,
                Err(Error::Conflict(Conflict::SessionFull { capacity: 4 }))
            ));
            assert_eq!(class.stored_counts().await.0, 4, "{mode:?}");
            assert_eq!(class.stored_counts().await.1, 0, "{mode:?}");
            assert_eq!(class.participants().await, 4);
            assert_eq!(class.records().await, 4);
            class.database.drop().await.unwrap();
        }
    }
}

server_test! {
    /// Deleting a session deletes its shards; the repair counts them; a session without shards
    /// (inserted before they existed) is counted on its document.
    async fn shards_go_with_their_session_and_are_repaired() {
        let first = class(TransactionMode::Never).await;
        let counts = first
            .database
            .collection::<Document>("session_participant_counts");
        for name in ["a", "b"] {
            first.join(&student(name)).await.unwrap();
        }
        // A count one too high (as a crash between moving a shard's count and clearing it
        // leaves it).
        counts
            .update_one(
                doc! { "sessionId": uuid(first.session.id), "count": 0_i64 },
                doc! { "$inc": { "count": 1_i64 } },
            )
            .await
            .unwrap();
        assert_eq!(first.participants().await, 3);
        assert_eq!(first.store.reconcile_participant_counts().await.unwrap(), 1);
        assert_eq!(first.participants().await, 2);
        assert_eq!(first.store.reconcile_participant_counts().await.unwrap(), 0);

        // No shards: counted on the document, as before them.
        counts
            .delete_many(doc! { "sessionId": uuid(first.session.id) })
            .await
            .unwrap();
        first
            .database
            .collection::<Document>("live_sessions")
            .update_one(
                doc! { "_id": uuid(first.session.id) },
                doc! { "$set": { "participants": 2_i64 } },
            )
            .await
            .unwrap();
        assert_eq!(first.join(&student("c")).await.unwrap().session.participants, 3);
        assert_eq!(first.stored_counts().await.0, 3);

        assert!(first.store.delete_session(first.session.id).await.unwrap());
        let other = class(TransactionMode::Auto).await;
        other.join(&student("a")).await.unwrap();
        assert!(other.store.delete_session(other.session.id).await.unwrap());
        assert_eq!(
            other
                .database
                .collection::<Document>("session_participant_counts")
                .count_documents(doc! {})
                .await
                .unwrap(),
            0,
            "the shards went with their session"
        );
        first.database.drop().await.unwrap();
        other.database.drop().await.unwrap();
    }
}

/// The figures of `BENCHMARKS.md` ("MongoDB: the join rate on one hot session"): first joins
/// of distinct users, `LIVESESSIONS_BENCH_JOINS` (default 400) per run from 32 tasks, on one
/// session counted in its shards (after) and on one whose shards were removed, so that its
/// joins `$inc` its document (before: the previous path), alternately, two rounds, with and
/// without transactions; prints joins per second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "prints figures; run with --ignored --nocapture and LIVESESSIONS_TEST_MONGODB_URI"]
async fn join_rate_figures() {
    let joins: usize = std::env::var("LIVESESSIONS_BENCH_JOINS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(400);
    const TASKS: usize = 32;
    for round in 1..=2 {
        for mode in [TransactionMode::Auto, TransactionMode::Never] {
            for sharded in [round % 2 == 1, round % 2 == 0] {
                let class = Arc::new(class(mode).await);
                if !sharded {
                    class
                        .database
                        .collection::<Document>("session_participant_counts")
                        .delete_many(doc! {})
                        .await
                        .unwrap();
                }
                let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
                let started = std::time::Instant::now();
                let tasks: Vec<_> = (0..TASKS)
                    .map(|_| {
                        let (class, next) = (class.clone(), next.clone());
                        tokio::spawn(async move {
                            loop {
                                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                if i >= joins {
                                    break;
                                }
                                let outcome = class.join(&student(&format!("u{i:06}"))).await;
                                assert!(outcome.expect("join").first_join);
                            }
                        })
                    })
                    .collect();
                for task in join_all(tasks).await {
                    task.unwrap();
                }
                let elapsed = started.elapsed();
                assert_eq!(class.participants().await, joins as u64);
                assert_eq!(class.records().await, joins as u64);
                println!(
                    "round {round} {mode:?} {}: {joins} joins in {:.2?}: {:.0} joins/s",
                    if sharded {
                        "shards (after)"
                    } else {
                        "session document (before)"
                    },
                    elapsed,
                    joins as f64 / elapsed.as_secs_f64()
                );
                class.database.drop().await.unwrap();
            }
        }
    }
}
