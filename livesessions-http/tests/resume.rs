//! Over a real socket: event streams served from the store's event log carry ids, and a
//! client that reconnects with `Last-Event-ID` gets what it missed, or a `reset`.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use common::*;
use livesessions_core::events::{EventFeed, EventFeedSettings, LogPosition, LoggedEvent};
use livesessions_core::{
    Actor, Error, EventId, EventLog, JoinInput, LiveSession, LiveSessions, MemoryStore, NewSession,
    Result, SessionInput, SessionUpdate, UserId,
};
use livesessions_http::LiveSessionsApi;

/// The memory store's log, which can be made to fail like a database that went down.
#[derive(Debug)]
struct SwitchableLog {
    store: Arc<MemoryStore>,
    down: AtomicBool,
}

impl SwitchableLog {
    fn check(&self) -> Result<()> {
        if self.down.load(Ordering::SeqCst) {
            Err(Error::Unavailable(None))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl EventLog for SwitchableLog {
    async fn read_events(&self, after: EventId, limit: usize) -> Result<Vec<LoggedEvent>> {
        self.check()?;
        self.store.read_events(after, limit).await
    }
    async fn log_position(&self) -> Result<LogPosition> {
        self.check()?;
        self.store.log_position().await
    }
    async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64> {
        self.check()?;
        self.store.prune_events(before).await
    }
    async fn wait_for_events(&self, after: EventId, max_wait: Duration) {
        self.store.wait_for_events(after, max_wait).await
    }
}

/// An API on a memory store whose events come from its log through a feed. The feed is
/// stepped by hand unless the test runs it.
struct FeedApp {
    base: String,
    store: Arc<MemoryStore>,
    log: Arc<SwitchableLog>,
    service: LiveSessions,
    feed: EventFeed,
    /// The router, to call in process.
    router: axum::Router,
    /// Turns `true` to shut the API down.
    stop: tokio::sync::watch::Sender<bool>,
}

impl FeedApp {
    async fn new(feed_settings: EventFeedSettings) -> FeedApp {
        let store = Arc::new(MemoryStore::new());
        let log = Arc::new(SwitchableLog {
            store: store.clone(),
            down: AtomicBool::new(false),
        });
        let feed = EventFeed::new(log.clone(), store.clone(), feed_settings);
        // The first step notes where the log ends.
        feed.step().await.unwrap();
        // No event sink: every change reaches the log, and the feed broadcasts it.
        let service = LiveSessions::builder(store.clone()).build();
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let router = LiveSessionsApi::new(service.clone())
            .event_feed(feed.clone())
            .settings(settings())
            .shutdown_signal(stopping)
            .router();
        FeedApp {
            base: serve(router.clone()).await,
            store,
            log,
            service,
            feed,
            router,
            stop,
        }
    }

    fn url(&self) -> String {
        format!("{}/api/live-sessions/events", self.base)
    }

    /// Opens a stream that resumes after `last` (sent as `Last-Event-ID`).
    async fn resume(&self, last: &str) -> EventReader {
        EventReader::open_with(
            reqwest::Client::new()
                .get(self.url())
                .header("Last-Event-ID", last),
        )
        .await
    }

    async fn step(&self) {
        self.feed.step().await.unwrap();
    }

    /// A client on the stream sees a session titled `title` created: returns the client and
    /// the event's id (what it would send as `Last-Event-ID`).
    async fn seen(&self, title: &str) -> (EventReader, String) {
        let mut client = EventReader::open(&self.base).await;
        self.create(title, false).await;
        self.step().await;
        let id = client.next_frame_event().await.id.unwrap();
        (client, id)
    }

    fn position(&self) -> i64 {
        self.feed
            .position()
            .expect("the feed has read the log")
            .get()
    }

    async fn create(&self, title: &str, live: bool) -> LiveSession {
        let mut new = NewSession::new(
            title,
            "Someone",
            "https://youtu.be/abc",
            "2030-01-15T10:00:00Z",
        );
        new.is_live = live;
        self.service
            .create(Some(&admin()), new, None)
            .await
            .unwrap()
    }

    async fn join(&self, session: &LiveSession, user: &str) {
        join(&self.service, session, user).await;
    }
}

fn admin() -> Actor {
    Actor::admin(UserId::parse("admin").unwrap())
}

async fn join(service: &LiveSessions, session: &LiveSession, user: &str) {
    let student = Actor::user(UserId::parse(user).unwrap());
    service
        .join(
            Some(&student),
            JoinInput {
                session_id: session.id.to_string(),
                user_name: Some(user.to_owned()),
                email: Some(format!("{user}@example.com")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

/// The next `n` events.
async fn events(reader: &mut EventReader, n: usize) -> Vec<Frame> {
    let mut frames = Vec::with_capacity(n);
    for _ in 0..n {
        frames.push(reader.next_frame_event().await);
    }
    frames
}

fn names(frames: &[Frame]) -> Vec<&str> {
    frames.iter().map(Frame::event_name).collect()
}

fn ids(frames: &[Frame]) -> Vec<i64> {
    frames
        .iter()
        .map(|f| f.numeric_id().expect("an id"))
        .collect()
}

/// Fails when an event arrives within a moment (keep-alives are 15 s apart here).
async fn assert_quiet(reader: &mut EventReader) {
    if let Ok(frame) = reader.next_within(Duration::from_millis(300)).await {
        panic!("expected nothing more, got {frame:?}");
    }
}

/// Asserts a `reset` event for `reason`, whose id is the feed's position; returns that id.
fn assert_reset(frame: &Frame, reason: &str, app: &FeedApp) -> i64 {
    assert_eq!(frame.event_name(), "reset", "{frame:?}");
    let data = frame.json();
    assert_eq!(data["type"], "reset");
    assert_eq!(data["reason"], reason);
    assert!(
        data["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{data}"
    );
    let id = frame
        .numeric_id()
        .expect("a reset says where the stream stands");
    assert_eq!(id, app.position());
    id
}

#[tokio::test]
async fn events_carry_increasing_ids_from_the_position_a_stream_opens_at() {
    let app = FeedApp::new(EventFeedSettings::default()).await;
    let mut reader = EventReader::open(&app.base).await;
    assert_eq!(reader.opening.retry, Some(2000));
    let opened_at = reader
        .opening
        .numeric_id()
        .expect("a new stream says where it starts");
    assert_eq!(opened_at, app.position());

    let session = app.create("Numbered", true).await;
    app.join(&session, "student").await;
    app.service.end(Some(&admin()), session.id).await.unwrap();
    app.step().await;

    let frames = events(&mut reader, 4).await;
    assert_eq!(names(&frames), ["created", "live", "participants", "ended"]);
    let ids = ids(&frames);
    assert!(ids[0] > opened_at, "{ids:?}");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    for frame in &frames {
        assert_eq!(frame.json()["type"], frame.event_name());
        assert_eq!(frame.json()["sessionId"], session.id.to_string());
    }
    assert_eq!(frames[2].json()["participants"], 1);
}

#[tokio::test]
async fn a_reconnect_gets_exactly_what_it_missed_then_live_events_without_duplicates() {
    let app = FeedApp::new(EventFeedSettings::default()).await;
    let mut first = EventReader::open(&app.base).await;
    let class = app.create("Resumed", false).await;
    app.step().await;
    let created = first.next_frame_event().await;
    assert_eq!(created.event_name(), "created");
    let last_seen = created.id.clone().unwrap();
    drop(first);

    // Changes while the client is away.
    let rename = SessionUpdate {
        fields: SessionInput {
            title: Some("Renamed".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    app.service
        .update(Some(&admin()), class.id, rename, None)
        .await
        .unwrap();
    app.service.start(Some(&admin()), class.id).await.unwrap();
    app.join(&class, "ada").await;
    app.join(&class, "grace").await;
    let other = app.create("Called off", false).await;
    app.service.cancel(Some(&admin()), other.id).await.unwrap();

    let mut back = app.resume(&last_seen).await;
    assert_eq!(back.opening.retry, Some(2000));
    assert_eq!(
        back.opening.id, None,
        "a resumed stream keeps the client's id"
    );
    // The feed broadcasts the same changes while the stream replays them: duplicates the
    // stream must skip, whichever comes first.
    app.step().await;

    let missed = events(&mut back, 5).await;
    assert_eq!(
        names(&missed),
        ["updated", "live", "participants", "created", "cancelled"],
        "the two joins are one count"
    );
    let missed_ids = ids(&missed);
    assert!(missed_ids[0] > last_seen.parse::<i64>().unwrap());
    assert!(missed_ids.windows(2).all(|w| w[0] < w[1]), "{missed_ids:?}");
    let class_id = class.id.to_string();
    let other_id = other.id.to_string();
    let sessions: Vec<String> = missed
        .iter()
        .map(|f| f.json()["sessionId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        sessions,
        [&class_id, &class_id, &class_id, &other_id, &other_id].map(String::as_str)
    );
    assert_eq!(missed[2].json()["participants"], 2);
    assert_eq!(missed[4].json()["session"]["status"], "cancelled");

    // Then live events, each once.
    app.service.end(Some(&admin()), class.id).await.unwrap();
    app.step().await;
    let ended = back.next_frame_event().await;
    assert_eq!(ended.event_name(), "ended", "{ended:?}");
    assert!(ended.numeric_id().unwrap() > *missed_ids.last().unwrap());
    assert_quiet(&mut back).await;
}

#[tokio::test]
async fn a_client_that_missed_nothing_gets_only_live_events() {
    let app = FeedApp::new(EventFeedSettings::default()).await;
    let (first, last_seen) = app.seen("Seen").await;
    drop(first);

    let mut back = app.resume(&last_seen).await;
    app.create("New", false).await;
    app.step().await;
    let next = back.next_frame_event().await;
    assert_eq!(next.event_name(), "created");
    assert_eq!(next.json()["session"]["title"], "New");
    assert_quiet(&mut back).await;
}

#[tokio::test]
async fn the_query_parameter_resumes_clients_that_cannot_set_headers() {
    let app = FeedApp::new(EventFeedSettings::default()).await;
    let (first, last_seen) = app.seen("Seen").await;
    drop(first);
    app.create("Missed", false).await;

    let mut back = EventReader::open_with(
        reqwest::Client::new()
            .get(app.url())
            .query(&[("lastEventId", last_seen.as_str())]),
    )
    .await;
    let missed = back.next_frame_event().await;
    assert_eq!(missed.event_name(), "created");
    assert_eq!(missed.json()["session"]["title"], "Missed");

    // The header, which a reconnecting browser updates, wins over the URL's parameter.
    let mut both = EventReader::open_with(
        reqwest::Client::new()
            .get(app.url())
            .query(&[("lastEventId", "garbage")])
            .header("Last-Event-ID", missed.id.as_deref().unwrap()),
    )
    .await;
    app.create("Live", false).await;
    app.step().await;
    let live = both.next_frame_event().await;
    assert_eq!(live.event_name(), "created", "no reset: {live:?}");
    assert_eq!(live.json()["session"]["title"], "Live");
}

#[tokio::test]
async fn an_id_older_than_the_pruned_floor_gets_a_reset_then_live_events() {
    let app = FeedApp::new(EventFeedSettings::default()).await;
    let (first, old) = app.seen("Old").await;
    drop(first);
    app.create("Newer", false).await;
    app.step().await;
    let pruned = app
        .store
        .prune_events(Utc::now() + chrono::TimeDelta::minutes(1))
        .await
        .unwrap();
    assert_eq!(pruned, 2);

    let mut back = app.resume(&old).await;
    let reset = back.next_frame_event().await;
    let at = assert_reset(&reset, "expired", &app);

    app.create("After the reset", false).await;
    app.step().await;
    let next = back.next_frame_event().await;
    assert_eq!(next.event_name(), "created");
    assert_eq!(next.json()["session"]["title"], "After the reset");
    assert!(next.numeric_id().unwrap() > at);

    // An id the log never reached is no better.
    let mut ahead = app.resume(&(app.position() + 1000).to_string()).await;
    assert_reset(&ahead.next_frame_event().await, "expired", &app);
}

#[tokio::test]
async fn a_last_event_id_that_is_not_an_id_gets_a_reset_then_live_events() {
    let app = FeedApp::new(EventFeedSettings::default()).await;
    app.create("Before", false).await;
    app.step().await;
    let mut readers = Vec::new();
    for bad in ["garbage", "-1", "99999999999999999999999999", "1.5"] {
        let mut reader = app.resume(bad).await;
        assert_reset(&reader.next_frame_event().await, "invalid_id", &app);
        readers.push(reader);
    }
    let mut by_query = EventReader::open_with(
        reqwest::Client::new()
            .get(app.url())
            .query(&[("lastEventId", "-7")]),
    )
    .await;
    assert_reset(&by_query.next_frame_event().await, "invalid_id", &app);
    readers.push(by_query);

    app.create("After", false).await;
    app.step().await;
    for reader in &mut readers {
        let next = reader.next_frame_event().await;
        assert_eq!(next.event_name(), "created");
        assert_eq!(next.json()["session"]["title"], "After");
    }
}

#[tokio::test]
async fn a_store_failure_while_replaying_is_a_reset_not_an_error() {
    let app = FeedApp::new(EventFeedSettings::default()).await;
    let (first, last_seen) = app.seen("Seen").await;
    drop(first);

    app.log.down.store(true, Ordering::SeqCst);
    let mut back = app.resume(&last_seen).await;
    assert_reset(&back.next_frame_event().await, "unavailable", &app);

    app.log.down.store(false, Ordering::SeqCst);
    app.create("Back", false).await;
    app.step().await;
    let next = back.next_frame_event().await;
    assert_eq!(next.event_name(), "created");
    assert_eq!(next.json()["session"]["title"], "Back");
}

#[tokio::test]
async fn without_an_event_log_a_last_event_id_gets_a_reset_that_clears_it() {
    let app = app();
    let base = serve(app.router.clone()).await;
    let mut reader = EventReader::open_with(
        reqwest::Client::new()
            .get(format!("{base}/api/live-sessions/events"))
            .header("Last-Event-ID", "5"),
    )
    .await;
    assert_eq!(reader.opening.retry, Some(2000));
    let reset = reader.next_frame_event().await;
    assert_eq!(reset.event_name(), "reset");
    assert_eq!(reset.json()["reason"], "not_resumable");
    assert_eq!(
        reset.id.as_deref(),
        Some(""),
        "an empty id clears the client's"
    );

    app.service
        .create(
            Some(&admin()),
            NewSession::new(
                "Live",
                "Someone",
                "https://youtu.be/abc",
                "2030-01-15T10:00:00Z",
            ),
            None,
        )
        .await
        .unwrap();
    let next = reader.next_frame_event().await;
    assert_eq!(next.event_name(), "created");
    assert_eq!(next.id, None);
}

#[tokio::test]
async fn a_join_stampede_is_a_few_count_events_ending_with_the_final_count() {
    const JOINS: usize = 200;
    let app = FeedApp::new(EventFeedSettings {
        poll_interval: Duration::from_millis(50),
        coalesce_participants: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let tail = tokio::spawn({
        let feed = app.feed.clone();
        async move {
            feed.run(async {
                let _ = stopped.await;
            })
            .await
        }
    });
    let mut reader = EventReader::open(&app.base).await;
    let class = app.create("Stampede", true).await;
    assert_eq!(names(&events(&mut reader, 2).await), ["created", "live"]);

    let joins = (0..JOINS).map(|i| {
        let service = app.service.clone();
        let class = class.clone();
        tokio::spawn(async move { join(&service, &class, &format!("student-{i}")).await })
    });
    for joined in futures::future::join_all(joins).await {
        joined.unwrap();
    }

    // Read until the stream has been quiet for more than two coalescing intervals.
    let mut counts = Vec::new();
    let mut ids = Vec::new();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match reader.next_within(Duration::from_millis(800)).await {
            Ok(Some(frame)) if frame.is_event() => {
                assert_eq!(frame.event_name(), "participants", "{frame:?}");
                counts.push(frame.json()["participants"].as_u64().unwrap());
                ids.push(frame.numeric_id().unwrap());
            }
            Ok(Some(_keep_alive)) => {}
            Ok(None) => panic!("the stream ended"),
            Err(_quiet) if !counts.is_empty() => break,
            Err(_quiet) => assert!(
                tokio::time::Instant::now() < deadline,
                "no count event came"
            ),
        }
    }
    assert_eq!(counts.last(), Some(&(JOINS as u64)), "{counts:?}");
    assert!(counts.len() < JOINS, "{} count events", counts.len());
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    assert!(ids.windows(2).all(|w| w[0] <= w[1]), "{ids:?}");

    stop.send(()).unwrap();
    tokio::time::timeout(PATIENCE, tail).await.unwrap().unwrap();
}

#[tokio::test]
async fn resumed_streams_end_at_shutdown() {
    let app = FeedApp::new(EventFeedSettings::default()).await;
    let (mut first, last_seen) = app.seen("Seen").await;
    app.create("Missed", false).await;
    let mut back = app.resume(&last_seen).await;
    assert_eq!(back.next_frame_event().await.event_name(), "created");

    app.stop.send(true).unwrap();
    for reader in [&mut first, &mut back] {
        loop {
            match reader.next().await {
                None => break,
                Some(frame) => assert!(!frame.is_event() || frame.event_name() == "created"),
            }
        }
    }
}

#[tokio::test]
async fn a_slow_subscriber_of_the_feed_is_dropped_and_resumes_from_its_last_id() {
    // A tiny buffer: a subscriber that does not read falls behind after 2 events.
    let app = FeedApp::new(EventFeedSettings {
        capacity: 2,
        ..Default::default()
    })
    .await;
    let stalled = tower::ServiceExt::oneshot(
        app.router.clone(),
        axum::http::Request::get("/api/live-sessions/events")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(stalled.status(), 200);
    for i in 0..10 {
        app.create(&format!("Session {i}"), false).await;
        // One read a change: each is broadcast on its own.
        app.step().await;
    }
    let body = tokio::time::timeout(
        PATIENCE,
        axum::body::to_bytes(stalled.into_body(), usize::MAX),
    )
    .await
    .expect("the lagging stream was not closed")
    .unwrap();
    let text = String::from_utf8_lossy(&body);
    assert!(!text.contains("Session 9"), "{text}");
    // The last id it received (or the one it opened at) resumes it without a gap.
    let last = text
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("id: "))
        .expect("an id")
        .to_owned();
    let mut back = app.resume(&last).await;
    let mut titles = Vec::new();
    while titles.last().map(String::as_str) != Some("Session 9") {
        let frame = back.next_frame_event().await;
        assert_eq!(frame.event_name(), "created", "{frame:?}");
        titles.push(
            frame.json()["session"]["title"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let received = text.matches("event: created").count();
    let expected: Vec<String> = (received..10).map(|i| format!("Session {i}")).collect();
    assert_eq!(titles, expected);
}
