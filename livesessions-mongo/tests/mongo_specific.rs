//! What only this store has: counter repair, transaction detection, indexes, the stored
//! dates beside the exact times, joins that their caller gives up on, documents the
//! original application wrote, and the event log's waits and its two ways of appending. Runs against `LIVESESSIONS_TEST_MONGODB_URI` like the
//! conformance suite, and is counted as ignored without it.

mod legacy;
#[macro_use]
mod server;

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone as _, Utc};
use livesessions_core::{
    Actor, AnalyticsStore, AttendanceStore, Error, EventId, EventKind, EventLog, JoinInput,
    JoinOutcome, LiveSession, LiveSessions, ManualClock, NewSession, Participant,
    ParticipationQuery, Presence, Result, SessionId, SessionStore, UserId,
};
use livesessions_mongo::mongodb::bson::{doc, oid::ObjectId, Bson, DateTime, Document};
use livesessions_mongo::mongodb::options::{ClientOptions, ServerAddress};
use livesessions_mongo::mongodb::{Client, Database};
use livesessions_mongo::{MongoStore, TransactionMode};

async fn scratch() -> Database {
    server::scratch_database().await.0
}

/// A session id as the store writes it: a UUID, BSON binary subtype 4.
fn uuid(id: SessionId) -> Bson {
    Bson::from(livesessions_mongo::mongodb::bson::Uuid::from(*id.as_uuid()))
}

/// A live session created through `service`.
async fn live_session(service: &LiveSessions) -> LiveSession {
    service
        .create(
            Some(&admin()),
            NewSession {
                is_live: true,
                ..NewSession::new(
                    "Reconcile",
                    "Sarah Khan",
                    "https://youtu.be/dQw4w9WgXcQ",
                    "2031-05-01T10:00:00Z",
                )
            },
            None,
        )
        .await
        .expect("create")
}

/// 10:00 UTC on 1 May 2031, where the tests' clocks start.
fn start() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2031, 5, 1, 10, 0, 0).unwrap()
}

/// `secs` seconds after [`start`].
fn at(secs: i64) -> chrono::DateTime<Utc> {
    start() + chrono::Duration::seconds(secs)
}

/// Creates the indexes of `store` and a service on it whose clock starts at [`start`].
async fn serve(store: &MongoStore) -> (LiveSessions, ManualClock) {
    store.ensure_indexes().await.expect("indexes");
    let clock = ManualClock::new(start());
    let service = LiveSessions::builder(Arc::new(store.clone()))
        .clock(Arc::new(clock.clone()))
        .build();
    (service, clock)
}

/// `who` joins `session` through `service`.
async fn join(service: &LiveSessions, who: &Actor, session: SessionId) -> JoinOutcome {
    service
        .join(
            Some(who),
            JoinInput {
                session_id: session.to_string(),
                ..Default::default()
            },
        )
        .await
        .expect("join")
}

/// A heartbeat of `who` in `session` through `service`.
async fn heartbeat(service: &LiveSessions, who: &Actor, session: SessionId) -> Participant {
    service
        .heartbeat(Some(who), session)
        .await
        .expect("heartbeat")
}

/// `who` leaves `session` through `service`.
async fn leave(service: &LiveSessions, who: &Actor, session: SessionId) -> Participant {
    service.leave(Some(who), session).await.expect("leave")
}

/// A live session opened at a given time, on a store of a scratch database.
struct Class {
    database: Database,
    store: MongoStore,
    service: LiveSessions,
    clock: ManualClock,
    session: LiveSession,
}

impl Class {
    /// A heartbeat of `who` in the class's session at `t`, straight to the store (whatever the
    /// service's clock says), with a 90 s presence timeout.
    async fn heartbeat_at(&self, who: &Actor, t: chrono::DateTime<Utc>) -> Result<Participant> {
        let presence = Presence::new(t, Duration::from_secs(90));
        self.store
            .heartbeat(self.session.id, &who.user_id, presence)
            .await
    }
}

/// A [`Class`] on a store in transaction mode `mode`, its session opened at `opening`.
async fn class(mode: TransactionMode, opening: chrono::DateTime<Utc>) -> Class {
    let database = scratch().await;
    let store = MongoStore::new(database.clone()).with_transactions(mode);
    let (service, clock) = serve(&store).await;
    clock.set(opening);
    let session = live_session(&service).await;
    Class {
        database,
        store,
        service,
        clock,
        session,
    }
}

fn admin() -> Actor {
    Actor::admin(UserId::parse("admin").unwrap())
}

fn student(name: &str) -> Actor {
    Actor::user(UserId::parse(name).unwrap())
        .with_name(name)
        .with_email(format!("{name}@example.com"))
}

server_test! {
    async fn reconcile_repairs_counters() {
        let Class {
            database,
            store,
            service,
            session,
            ..
        } = class(TransactionMode::Never, start()).await;
        for name in ["ahmed", "sara"] {
            join(&service, &student(name), session.id).await;
        }
        assert_eq!(store.reconcile_participant_counts().await.unwrap(), 0);
        // A crash between the participant insert and the `$inc` leaves the counter short.
        let sessions = database.collection::<Document>("live_sessions");
        sessions
            .update_one(
                doc! { "_id": uuid(session.id) },
                doc! { "$set": { "participants": 1_i64 } },
            )
            .await
            .unwrap();
        assert_eq!(store.reconcile_participant_counts().await.unwrap(), 1);
        assert_eq!(
            store
                .get_session(session.id)
                .await
                .unwrap()
                .unwrap()
                .participants,
            2
        );
        database.drop().await.unwrap();
    }
}

server_test! {
    async fn transactions_follow_the_deployment() {
        let database = scratch().await;
        // Whether this deployment commits a multi-document transaction (a replica set or a
        // sharded cluster does, a standalone server refuses it).
        let probe = database.collection::<Document>("probe");
        probe.insert_one(doc! { "n": 0 }).await.unwrap();
        let mut session = database.client().start_session().await.unwrap();
        let committed = async {
            session.start_transaction().await?;
            probe
                .insert_one(doc! { "n": 1 })
                .session(&mut session)
                .await?;
            session.commit_transaction().await
        }
        .await;
        let store = MongoStore::new(database.clone());
        assert_eq!(
            store.supports_transactions().await.unwrap(),
            committed.is_ok(),
            "Auto uses transactions exactly when the deployment has them: {committed:?}"
        );
        let never = store.clone().with_transactions(TransactionMode::Never);
        assert!(!never.supports_transactions().await.unwrap());
        let always = store.clone().with_transactions(TransactionMode::Always);
        assert!(always.supports_transactions().await.unwrap());
        database.drop().await.unwrap();
    }
}

server_test! {
    /// The indexes, by name: the list order, the start time, the scheduler's two, the
    /// series' and the search trigrams on sessions, the unique
    /// (session, user) and the user on participants, the append time on events, the unique
    /// file name of thumbnails. Creating them twice is harmless.
    async fn indexes_are_created_once_by_name() {
        let database = scratch().await;
        let store = MongoStore::new(database.clone());
        store.ensure_indexes().await.unwrap();
        store.ensure_indexes().await.unwrap();
        let names = |collection: &'static str| {
            let database = database.clone();
            async move {
                let mut names = database
                    .collection::<Document>(collection)
                    .list_index_names()
                    .await
                    .unwrap();
                names.sort();
                names
            }
        };
        assert_eq!(
            names("live_sessions").await,
            [
                "_id_",
                "calendar_order",
                "due_empty",
                "due_end",
                "due_start",
                "list_order",
                "search_grams",
                "series",
                "start_time"
            ]
        );
        assert_eq!(
            names("session_participants").await,
            ["_id_", "session_user_unique", "user"]
        );
        assert_eq!(
            names("live_session_thumbnails.files").await,
            ["_id_", "filename_unique"]
        );
        assert_eq!(
            names("live_session_events").await,
            ["_id_", "appended_at"]
        );
        assert_eq!(
            names("live_session_calendar_feeds").await,
            ["_id_", "token_hash_unique"]
        );
        // A token hash names one user.
        let feeds = database.collection::<Document>("live_session_calendar_feeds");
        feeds
            .insert_one(doc! { "_id": "ana", "tokenHash": "ab" })
            .await
            .unwrap();
        feeds
            .insert_one(doc! { "_id": "ben", "tokenHash": "ab" })
            .await
            .expect_err("a second user with the same token hash");
        // One record per (session, user).
        let participants = database.collection::<Document>("session_participants");
        let id = SessionId::new();
        let record = || doc! { "sessionId": uuid(id), "userId": "ahmed" };
        participants.insert_one(record()).await.unwrap();
        participants
            .insert_one(record())
            .await
            .expect_err("a second record of the same user in the same session");
        participants
            .insert_one(doc! { "sessionId": uuid(SessionId::new()), "userId": "ahmed" })
            .await
            .expect("the same user in another session");
        database.drop().await.unwrap();
    }
}

server_test! {
    async fn legacy_documents_are_reported_or_served() {
        let database = scratch().await;
        let store = MongoStore::new(database.clone());
        let (service, _clock) = serve(&store).await;
        let sessions = database.collection::<Document>("live_sessions");
        let participants = database.collection::<Document>("session_participants");
        sessions
            .insert_one(legacy::legacy_session(Bson::ObjectId(ObjectId::new())))
            .await
            .unwrap();
        let error = store
            .list_sessions(&Default::default())
            .await
            .expect_err("an ObjectId session cannot be listed");
        let text = format!("{:?}", error);
        assert!(text.contains("_id"), "{text}");
        sessions.delete_many(doc! {}).await.unwrap();

        // A participant the original application wrote under a UUID session is read and credited.
        let joined = Bson::DateTime(DateTime::from_millis(1_736_935_320_000));
        let orphan = SessionId::new();
        participants
            .insert_one(legacy::legacy_participant(
                uuid(orphan),
                "user456",
                joined.clone(),
            ))
            .await
            .unwrap();
        let participant = store
            .get_participant(orphan, &UserId::parse("user456").unwrap())
            .await
            .unwrap()
            .expect("the original application's participant");
        assert_eq!(participant.watch_seconds, 45 * 60);
        assert_eq!(participant.join_count, 1);
        let left = store
            .leave(
                orphan,
                &participant.user_id,
                Presence::new(
                    Utc.timestamp_opt(1_736_935_400, 0).unwrap(),
                    Duration::from_secs(90),
                ),
            )
            .await
            .unwrap();
        assert_eq!(left.watch_seconds, 45 * 60);
        assert_eq!(left.watch_minutes(), 45);
        // Its session does not exist: a user's participation leaves the record out.
        let history = store
            .participation(&ParticipationQuery {
                user_id: participant.user_id.clone(),
                limit: 10,
                now: at(0),
                timeout: Duration::from_secs(90),
            })
            .await
            .unwrap();
        assert_eq!(history.sessions_joined, 0);
        assert!(history.sessions.is_empty());

        // A join over a record the original application wrote counts as a rejoin: its first join
        // and its credited minutes are kept.
        let session = live_session(&service).await;
        participants
            .insert_one(legacy::legacy_participant(
                uuid(session.id),
                "ahmed",
                joined.clone(),
            ))
            .await
            .unwrap();
        let rejoined = join(&service, &student("ahmed"), session.id).await;
        assert!(!rejoined.first_join);
        assert_eq!(rejoined.participant.join_count, 2);
        assert_eq!(
            rejoined.participant.first_joined_at,
            Utc.timestamp_millis_opt(1_736_935_320_000).unwrap()
        );
        assert_eq!(rejoined.participant.watch_seconds, 45 * 60);
        assert_eq!(rejoined.participant.email.as_str(), "ahmed@example.com");
        let history = store
            .participation(&ParticipationQuery {
                user_id: rejoined.participant.user_id.clone(),
                limit: 10,
                now: at(0),
                timeout: Duration::from_secs(90),
            })
            .await
            .unwrap();
        assert_eq!(history.sessions_joined, 1);
        assert_eq!(history.total_watch_seconds, 45 * 60);
        database.drop().await.unwrap();
    }
}

server_test! {
    /// A join without transactions whose caller gives up after the participant's upsert reached
    /// the server (a request timeout drops the join's future there) still counts the participant:
    /// the `$inc` (of a count shard) runs anyway. A proxy holds back the server's answer to the upsert until the
    /// caller has given up.
    async fn a_join_given_up_after_its_upsert_is_still_counted() {
        let uri = server::uri();
        let mut options = ClientOptions::parse(&uri)
            .await
            .expect("a usable MongoDB URI");
        let upstream = match options.hosts.first() {
            Some(ServerAddress::Tcp { host, port }) => format!("{host}:{}", port.unwrap_or(27017)),
            other => panic!("this test needs a host:port server address, not {other:?}"),
        };
        let proxy = server::proxy::Proxy::start(upstream).await;
        options.hosts = vec![ServerAddress::Tcp {
            host: proxy.address.ip().to_string(),
            port: Some(proxy.address.port()),
        }];
        options.direct_connection = Some(true);
        let database_name = format!("ls_test_{}", uuid::Uuid::new_v4().simple());
        let proxied = Client::with_options(options).expect("a client through the proxy");
        let store =
            MongoStore::new(proxied.database(&database_name)).with_transactions(TransactionMode::Never);
        let (service, _clock) = serve(&store).await;
        let session = live_session(&service).await;
        // Watched directly, not through the proxy.
        let direct = server::client().await.database(&database_name);

        proxy.hold_answer_to("session_participants");
        let ahmed = student("ahmed");
        let join = service.join(
            Some(&ahmed),
            JoinInput {
                session_id: session.id.to_string(),
                ..Default::default()
            },
        );
        tokio::select! {
            outcome = join => panic!("the join ended while its upsert's answer was held: {outcome:?}"),
            () = proxy.command_sent() => {}
        }
        // The join's future is dropped here, as a request timeout drops it. The upsert was sent;
        // wait until the server has written the record.
        let participants = direct.collection::<Document>("session_participants");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while participants.count_documents(doc! {}).await.unwrap() == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the upsert never reached the server"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        proxy.release();

        // Read directly too: the session document's counter plus its count shards.
        let reader = MongoStore::new(direct.clone());
        let counted = || async {
            reader
                .get_session(session.id)
                .await
                .unwrap()
                .expect("the session")
                .participants
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while counted().await == 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            counted().await,
            1,
            "the participant whose join was given up is counted"
        );
        assert_eq!(participants.count_documents(doc! {}).await.unwrap(), 1);
        assert_eq!(store.reconcile_participant_counts().await.unwrap(), 0);
        direct.drop().await.unwrap();
    }
}

server_test! {
    /// Every participant time is stored twice: exactly, in microseconds under `micros`, and as the
    /// BSON date of its millisecond under its own name (what other programs read); the whole
    /// minutes of `watchDuration` follow `watchSeconds`. Joins, heartbeats and leaves keep both in
    /// step.
    async fn stored_dates_and_minutes_follow_the_exact_times() {
        let t0 = start() + chrono::Duration::microseconds(123_456);
        let Class {
            database,
            service,
            clock,
            session,
            ..
        } = class(TransactionMode::Auto, t0).await;
        let ahmed = student("ahmed");
        let participants = database.collection::<Document>("session_participants");
        let stored = || async {
            participants
                .find_one(doc! { "sessionId": uuid(session.id), "userId": "ahmed" })
                .await
                .unwrap()
                .expect("ahmed's record")
        };
        let check = |document: &Document| {
            let exact = document.get_document("micros").expect("micros");
            for field in [
                "joinTime",
                "lastJoinTime",
                "lastSeen",
                "leftAt",
                "presentSince",
                "createdAt",
            ] {
                match (document.get(field), exact.get(field)) {
                    (Some(Bson::DateTime(date)), Some(Bson::Int64(us))) => assert_eq!(
                        date.timestamp_millis(),
                        us.div_euclid(1000),
                        "{field}: the date is the exact time's millisecond"
                    ),
                    (Some(Bson::Null), Some(Bson::Null)) => {}
                    other => panic!("{field}: a date and its exact time, found {other:?}"),
                }
            }
            let seconds = document.get_i64("watchSeconds").unwrap();
            assert_eq!(document.get_i64("watchDuration").unwrap(), seconds / 60);
            seconds
        };

        join(&service, &ahmed, session.id).await;
        check(&stored().await);
        for step in [
            Duration::from_micros(50_000_250),
            Duration::from_micros(45_500_001),
        ] {
            clock.advance(step);
            heartbeat(&service, &ahmed, session.id).await;
            check(&stored().await);
        }
        clock.advance(Duration::from_micros(24_500_777));
        let left = leave(&service, &ahmed, session.id).await;
        let document = stored().await;
        assert_eq!(check(&document), 120, "credited from the join to the leave");
        assert_eq!(document.get_i64("watchDuration").unwrap(), 2);
        assert_eq!(document.get("presentSince"), Some(&Bson::Null));
        assert_eq!(
            left.left_at,
            Some(t0 + chrono::Duration::microseconds(120_001_028)),
            "the exact time reads back"
        );
        database.drop().await.unwrap();
    }
}

server_test! {
    /// A heartbeat sent before a leave but delivered after it (newer than the last heartbeat,
    /// older than the leave) changes nothing: it neither reopens the interval nor moves
    /// `lastSeen`.
    async fn a_heartbeat_delivered_after_the_leave_it_preceded_is_ignored() {
        let (c, ahmed) = (class(TransactionMode::Auto, start()).await, student("ahmed"));
        join(&c.service, &ahmed, c.session.id).await;
        c.clock.advance_secs(10);
        heartbeat(&c.service, &ahmed, c.session.id).await;
        c.clock.advance_secs(20);
        let left = leave(&c.service, &ahmed, c.session.id).await;
        assert_eq!(left.watch_seconds, 30);
        c.clock.advance_secs(-10);
        let late = heartbeat(&c.service, &ahmed, c.session.id).await;
        assert_eq!(late.present_since, None, "the interval stays closed");
        assert_eq!(late.last_seen, at(10));
        assert_eq!(late.left_at, Some(at(30)));
        assert_eq!(late.watch_seconds, 30);
        c.clock.advance_secs(100);
        let ended = c.service.end(Some(&admin()), c.session.id).await.expect("end");
        assert_eq!(ended.status, livesessions_core::SessionStatus::Ended);
        let credited = c
            .store
            .get_participant(c.session.id, &ahmed.user_id)
            .await
            .unwrap()
            .expect("ahmed");
        assert_eq!(
            credited.watch_seconds, 30,
            "nothing after the leave is credited"
        );
        c.database.drop().await.unwrap();
    }
}

server_test! {
    /// A heartbeat whose time falls before the current live period (sent before a restart, after
    /// the previous end) only moves `lastSeen`: it opens no interval and credits nothing.
    async fn a_heartbeat_from_before_a_restart_opens_no_interval() {
        let (c, ahmed) = (class(TransactionMode::Auto, start()).await, student("ahmed"));
        join(&c.service, &ahmed, c.session.id).await;
        c.clock.set(at(40));
        heartbeat(&c.service, &ahmed, c.session.id).await;
        c.clock.set(at(50));
        c.service.end(Some(&admin()), c.session.id).await.expect("end");
        c.clock.set(at(100));
        let restarted = c.service
            .start(Some(&admin()), c.session.id)
            .await
            .expect("restart");
        assert_eq!(restarted.live_since, Some(at(100)));

        let late = c
            .heartbeat_at(&ahmed, at(90))
            .await
            .expect("a heartbeat sent before the restart");
        assert_eq!(late.last_seen, at(90));
        assert_eq!(
            late.present_since, None,
            "no interval before the live period"
        );
        assert_eq!(
            late.watch_seconds, 50,
            "the first period, credited by its end"
        );
        let next = c
            .heartbeat_at(&ahmed, at(110))
            .await
            .expect("a heartbeat in the new period");
        assert_eq!(next.present_since, Some(at(110)));
        assert_eq!(next.watch_seconds, 50);
        c.database.drop().await.unwrap();
    }
}

server_test! {
    /// A thumbnail key holds one image even when uploads race past the store's look-up: the
    /// unique index on the file name refuses a second GridFS file of that name, the refused
    /// upload's chunks are deleted, and the first image reads back unchanged.
    async fn a_thumbnail_key_holds_one_image_under_races() {
        use livesessions_core::{Conflict, Error, ImageKind, ThumbnailKey, ThumbnailStore};
        use futures::io::AsyncWriteExt as _;

        let database = scratch().await;
        let store = MongoStore::new(database.clone());
        store.ensure_indexes().await.unwrap();
        let thumbnails = store.thumbnails();
        let key = ThumbnailKey::generate(ImageKind::Png);
        let first = vec![1u8; 300_000];
        thumbnails.put(&key, &first).await.unwrap();
        let chunks = database.collection::<Document>("live_session_thumbnails.chunks");
        let stored_chunks = chunks.count_documents(doc! {}).await.unwrap();
        assert_eq!(stored_chunks, 2, "300 000 bytes in chunks of 255 KiB");

        // A second file of the same name written straight to the bucket, as an upload that
        // raced past the look-up would.
        let mut upload = thumbnails
            .bucket()
            .open_upload_stream(key.as_str())
            .await
            .unwrap();
        upload.write_all(&[2u8; 300_000]).await.unwrap();
        let refused = upload.close().await.expect_err("a second file of one name");
        assert!(refused.to_string().contains("E11000") || refused.to_string().contains("duplicate"), "{refused}");
        assert_eq!(chunks.count_documents(doc! {}).await.unwrap(), stored_chunks);
        assert_eq!(thumbnails.get(&key).await.unwrap().unwrap().bytes, first);

        // Racing puts of one new key: one wins, the others conflict, the winner's image stays.
        let raced = ThumbnailKey::generate(ImageKind::Gif);
        let puts = (0..4u8).map(|i| {
            let (thumbnails, raced) = (thumbnails.clone(), raced.clone());
            tokio::spawn(async move { (i, thumbnails.put(&raced, &[i; 1000]).await) })
        });
        let mut winners = Vec::new();
        for put in puts {
            match put.await.unwrap() {
                (i, Ok(())) => winners.push(i),
                (_, Err(Error::Conflict(Conflict::AlreadyExists { entity: "thumbnail", .. }))) => {}
                (_, Err(other)) => panic!("a racing put failed otherwise: {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one racing put wins");
        let image = thumbnails.get(&raced).await.unwrap().unwrap();
        assert_eq!(image.bytes, vec![winners[0]; 1000]);
        assert_eq!(image.kind, ImageKind::Gif);
        let files = database.collection::<Document>("live_session_thumbnails.files");
        assert_eq!(files.count_documents(doc! { "filename": raced.as_str() }).await.unwrap(), 1);
        database.drop().await.unwrap();
    }
}

/// Creates a scheduled session straight through the store.
async fn insert_scheduled(store: &MongoStore) -> Result<LiveSession> {
    let fields = NewSession::new(
        "Events",
        "Sarah Khan",
        "https://youtu.be/dQw4w9WgXcQ",
        "2031-05-01T10:00:00Z",
    )
    .validate()
    .expect("valid fields");
    let session = LiveSession::new(fields, start());
    store.insert_session(&session).await.map(|()| session)
}

server_test! {
    /// A wait ends at once when an event followed the position, and as soon as one is appended
    /// while it waits (woken by the change stream). The waits are an hour long, so ending
    /// within the 60 s hang guard means being woken.
    async fn a_wait_for_events_is_woken_by_an_append() {
        let an_hour = Duration::from_secs(3600);
        let database = scratch().await;
        let store = MongoStore::new(database.clone());
        store.ensure_indexes().await.unwrap();
        insert_scheduled(&store).await.unwrap();
        let last = store.log_position().await.unwrap().last;
        assert!(last > EventId::ZERO);

        assert!(
            woken(store.wait_for_events(EventId::ZERO, an_hour)).await,
            "an event was there"
        );

        let writer = tokio::spawn({
            let store = store.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                insert_scheduled(&store).await.unwrap();
            }
        });
        let ended = woken(store.wait_for_events(last, an_hour)).await;
        writer.await.unwrap();
        assert!(ended, "an append did not end an hour-long wait");
        assert_eq!(store.read_events(last, 10).await.unwrap().len(), 1);
        database.drop().await.unwrap();
    }
}

server_test! {
    /// First joins stage their `participants` events instead of taking the log's next id: the
    /// log holds nothing new until it is read, and then one event per session, after the
    /// events appended before, and before a later change of the session (here its end).
    async fn first_joins_stage_their_counts_and_readers_number_them() {
        for mode in [TransactionMode::Auto, TransactionMode::Never] {
            let c = class(mode, start()).await;
            let other = live_session(&c.service).await;
            let events = c.database.collection::<Document>("live_session_events");
            let staged = c.database.collection::<Document>("live_session_staged_events");
            let appended = events.count_documents(doc! {}).await.unwrap();
            for name in ["ana", "bo", "cy"] {
                join(&c.service, &student(name), c.session.id).await;
            }
            join(&c.service, &student("ana"), other.id).await;
            assert_eq!(
                events.count_documents(doc! {}).await.unwrap(),
                appended,
                "{mode:?}: a first join appended to the log itself"
            );
            assert_eq!(staged.count_documents(doc! {}).await.unwrap(), 4, "{mode:?}");
            join(&c.service, &student("dee"), c.session.id).await;
            c.service.end(Some(&admin()), c.session.id).await.unwrap();
            assert_eq!(
                staged.count_documents(doc! {}).await.unwrap(),
                0,
                "{mode:?}: the end left staged events behind"
            );
            let read: Vec<(EventKind, SessionId)> = c
                .store
                .read_events(EventId::new(appended.try_into().unwrap()).unwrap(), 100)
                .await
                .unwrap()
                .iter()
                .map(|e| (e.kind, e.session_id))
                .collect();
            assert_eq!(
                read,
                [
                    (EventKind::Participants, other.id),
                    (EventKind::Participants, c.session.id),
                    (EventKind::Ended, c.session.id),
                ],
                "{mode:?}"
            );
            c.database.drop().await.unwrap();
        }
    }
}

server_test! {
    /// A store with transactions and one without, on the same database, append to one log:
    /// the ids of both increase in the order the changes were made, with no gaps.
    async fn stores_with_and_without_transactions_share_one_log() {
        let database = scratch().await;
        let with = MongoStore::new(database.clone()).with_transactions(TransactionMode::Auto);
        let without = with.clone().with_transactions(TransactionMode::Never);
        with.ensure_indexes().await.unwrap();
        let mut sessions = Vec::new();
        for store in [&without, &with, &without, &with, &with] {
            sessions.push(insert_scheduled(store).await.unwrap().id);
        }
        let events = with.read_events(EventId::ZERO, 100).await.unwrap();
        assert_eq!(
            events.iter().map(|e| (e.id.get(), e.kind, e.session_id)).collect::<Vec<_>>(),
            sessions
                .iter()
                .zip(1..)
                .map(|(id, n)| (n, EventKind::Created, *id))
                .collect::<Vec<_>>()
        );
        database.drop().await.unwrap();
    }
}

server_test! {
    /// Without transactions the log is best-effort: an append that fails fails the change,
    /// which has nevertheless taken place, and leaves no event.
    async fn without_transactions_a_failed_append_follows_its_change() {
        let database = scratch().await;
        let store = MongoStore::new(database.clone()).with_transactions(TransactionMode::Never);
        store.ensure_indexes().await.unwrap();
        let refuse = |on: bool| {
            let database = database.clone();
            async move {
                let validator = if on { doc! { "$expr": false } } else { doc! {} };
                database
                    .run_command(doc! { "collMod": "live_session_events", "validator": validator })
                    .await
                    .unwrap();
            }
        };
        refuse(true).await;
        let fields = NewSession::new(
            "Events",
            "Sarah Khan",
            "https://youtu.be/dQw4w9WgXcQ",
            "2031-05-01T10:00:00Z",
        )
        .validate()
        .unwrap();
        let session = LiveSession::new(fields, start());
        let failed = store.insert_session(&session).await;
        refuse(false).await;
        assert!(matches!(failed, Err(Error::Storage(_))), "{failed:?}");
        assert!(store.get_session(session.id).await.unwrap().is_some());
        assert!(store.read_events(EventId::ZERO, 10).await.unwrap().is_empty());
        insert_scheduled(&store).await.unwrap();
        assert_eq!(store.read_events(EventId::ZERO, 10).await.unwrap().len(), 1);
        database.drop().await.unwrap();
    }
}

/// Whether `wait` ended within a hang guard of 60 s (not a measurement: the waits given are an
/// hour long, so ending within the guard means being woken).
async fn woken(wait: impl std::future::Future<Output = ()>) -> bool {
    tokio::time::timeout(std::time::Duration::from_secs(60), wait)
        .await
        .is_ok()
}
