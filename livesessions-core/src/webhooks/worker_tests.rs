//! The worker driven with a manual clock and a scripted transport.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

use super::*;
use crate::clock::ManualClock;
use crate::events::{EventId, EventKind, LoggedEvent};
use crate::ids::SessionId;
use crate::webhooks::{
    backoff_ceiling, register_endpoint, rotate_endpoint_secret, verify, DeliveryQuery,
    DeliveryState, DisabledReason, EndpointInput, EndpointUrl, EventTypes, MemoryWebhooks,
    RegisteredEndpoint, WebhookEndpoint, WebhookSecret, RETRY_WINDOW,
};

/// Answers from a script, then with `fallback`; keeps every request.
#[derive(Debug)]
struct Scripted {
    script: Mutex<VecDeque<TransportOutcome>>,
    fallback: TransportOutcome,
    delay: Duration,
    sent: Mutex<Vec<WebhookRequest>>,
}

impl Scripted {
    fn answering(status: u16) -> Arc<Self> {
        Self::new(Vec::new(), status)
    }

    fn new(script: Vec<TransportOutcome>, status: u16) -> Arc<Self> {
        Arc::new(Scripted {
            script: Mutex::new(script.into()),
            fallback: answered(status),
            delay: Duration::ZERO,
            sent: Mutex::new(Vec::new()),
        })
    }

    fn sent(&self) -> Vec<WebhookRequest> {
        self.sent.lock().unwrap().clone()
    }
}

fn answered(status: u16) -> TransportOutcome {
    TransportOutcome::Answered {
        status,
        latency: Duration::from_millis(12),
    }
}

#[async_trait]
impl WebhookTransport for Scripted {
    async fn send(&self, request: &WebhookRequest) -> TransportOutcome {
        self.sent.lock().unwrap().push(request.clone());
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let next = self.script.lock().unwrap().pop_front();
        next.unwrap_or_else(|| self.fallback.clone())
    }
}

fn start() -> DateTime<Utc> {
    "2030-01-15T10:00:00Z".parse().unwrap()
}

fn event(id: i64, kind: EventKind, session_id: SessionId) -> LoggedEvent {
    LoggedEvent {
        id: EventId::new(id).unwrap(),
        kind,
        session_id,
        at: start(),
    }
}

fn settings() -> WorkerSettings {
    WorkerSettings {
        worker_id: "test-worker".into(),
        ..WorkerSettings::default()
    }
}

async fn endpoint(store: &MemoryWebhooks, url: &str) -> RegisteredEndpoint {
    register_endpoint(
        store,
        &TargetPolicy::default(),
        &EndpointInput {
            url: Some(url.into()),
            ..Default::default()
        },
        start() - TimeDelta::hours(1),
    )
    .await
    .expect("registered")
}

struct Setup {
    clock: ManualClock,
    store: Arc<MemoryWebhooks>,
    transport: Arc<Scripted>,
    worker: WebhookWorker<MemoryWebhooks, Scripted>,
    endpoint: RegisteredEndpoint,
}

async fn setup(transport: Arc<Scripted>) -> Setup {
    let clock = ManualClock::new(start());
    let store = Arc::new(MemoryWebhooks::new());
    let endpoint = endpoint(&store, "https://93.184.216.34/hooks").await;
    let worker = WebhookWorker::new(
        store.clone(),
        transport.clone(),
        Arc::new(clock.clone()),
        settings(),
    )
    .with_seed(11);
    Setup {
        clock,
        store,
        transport,
        worker,
        endpoint,
    }
}

async fn only_delivery(setup: &Setup) -> crate::webhooks::Delivery {
    let page = setup
        .store
        .list_deliveries(&DeliveryQuery::first(setup.endpoint.endpoint.id, 10))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    page.items[0].clone()
}

fn header<'a>(request: &'a WebhookRequest, name: &str) -> &'a str {
    request
        .headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} header"))
}

#[tokio::test]
async fn log_events_are_delivered_signed_with_a_session_summary() {
    use crate::{Actor, LiveSessions, MemoryStore, NewSession, SessionInput, UserId};

    let sessions = Arc::new(MemoryStore::new());
    // The memory store stamps its events with the system clock.
    let now = Utc::now().trunc_subsecs(6);
    let clock = ManualClock::new(now);
    let service = LiveSessions::builder(sessions.clone())
        .clock(Arc::new(clock.clone()))
        .build();
    let hooks = Arc::new(MemoryWebhooks::new());
    let registered = register_endpoint(
        &*hooks,
        &TargetPolicy::default(),
        &EndpointInput {
            url: Some("https://93.184.216.34:8443/in".into()),
            event_types: Some(vec!["session.created".into()]),
            description: None,
        },
        now - TimeDelta::minutes(1),
    )
    .await
    .unwrap();
    let admin = Actor::admin(UserId::parse("admin").unwrap());
    let session = service
        .create(
            Some(&admin),
            NewSession {
                fields: SessionInput {
                    title: Some("Web Development 101".into()),
                    instructor: Some("Sarah Khan".into()),
                    video_url: Some("https://youtu.be/dQw4w9WgXcQ".into()),
                    start_time: Some("2031-01-15T10:00:00Z".into()),
                    ..Default::default()
                },
                is_live: true,
            },
            None,
        )
        .await
        .unwrap();
    let transport = Scripted::answering(200);
    let worker = WebhookWorker::new(
        hooks.clone(),
        transport.clone(),
        Arc::new(clock.clone()),
        settings(),
    )
    .with_event_log(sessions.clone())
    .with_sessions(sessions.clone());

    let round = worker.run_once().await.unwrap();
    // `created` and `live` were logged; the endpoint takes `created` only.
    assert_eq!(
        round,
        WorkerRound {
            enqueued: 1,
            attempted: 1,
            delivered: 1
        }
    );
    assert_eq!(worker.run_once().await.unwrap(), WorkerRound::default());
    let sent = transport.sent();
    let request = &sent[0];
    assert_eq!(request.addrs, vec!["93.184.216.34:8443".parse().unwrap()]);
    assert_eq!(request.timeout, Duration::from_secs(15));
    let id = header(request, "webhook-id");
    let timestamp: i64 = header(request, "webhook-timestamp").parse().unwrap();
    assert_eq!(timestamp, now.timestamp());
    assert!(id.parse::<EventId>().is_ok(), "the event id: {id}");
    assert!(verify(
        &registered.secret,
        id,
        timestamp,
        request.body.as_bytes(),
        header(request, "webhook-signature")
    ));
    let body: serde_json::Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(body["type"], "session.created");
    assert_eq!(body["data"]["sessionId"], session.id.to_string());
    assert_eq!(body["data"]["session"]["title"], "Web Development 101");
    assert_eq!(body["data"]["session"]["status"], "live");
}

#[tokio::test]
async fn failures_are_retried_on_the_schedule_until_the_window_ends() {
    let s = setup(Scripted::answering(503)).await;
    s.store
        .enqueue_events(
            EventId::ZERO,
            &[event(1, EventKind::Live, SessionId::new())],
            start(),
        )
        .await
        .unwrap();
    let mut attempts = 0u32;
    loop {
        let before = s.clock.now();
        let round = s.worker.run_once().await.unwrap();
        assert_eq!(round.attempted, 1, "due at {before}");
        attempts += 1;
        let delivery = only_delivery(&s).await;
        assert_eq!(delivery.attempts, attempts);
        assert_eq!(delivery.first_attempt_at, Some(start()));
        assert_eq!(delivery.last_attempt.as_ref().unwrap().status, Some(503));
        if delivery.state == DeliveryState::Failed {
            break;
        }
        assert_eq!(delivery.state, DeliveryState::Pending);
        let pause = delivery.next_attempt_at - before;
        assert!(pause > TimeDelta::zero());
        assert!(pause <= TimeDelta::from_std(backoff_ceiling(attempts)).unwrap());
        // Not due a moment before its time.
        s.clock
            .set(delivery.next_attempt_at - TimeDelta::milliseconds(1));
        assert_eq!(s.worker.run_once().await.unwrap().attempted, 0);
        s.clock.set(delivery.next_attempt_at);
    }
    let window = TimeDelta::from_std(RETRY_WINDOW).unwrap();
    assert_eq!(
        s.clock.now(),
        start() + window,
        "the last attempt ends the window"
    );
    assert!((12..200).contains(&attempts), "{attempts} attempts");
    assert_eq!(s.transport.sent().len(), attempts as usize);
    s.clock.advance_secs(86_400);
    assert_eq!(s.worker.run_once().await.unwrap().attempted, 0);
}

#[tokio::test]
async fn gone_disables_the_endpoint_and_holds_its_other_deliveries() {
    let s = setup(Scripted::answering(410)).await;
    let events = [
        event(1, EventKind::Live, SessionId::new()),
        event(2, EventKind::Live, SessionId::new()),
    ];
    s.store
        .enqueue_events(EventId::ZERO, &events[..1], start())
        .await
        .unwrap();
    assert_eq!(s.worker.run_once().await.unwrap().attempted, 1);
    let endpoint = s
        .store
        .get_endpoint(s.endpoint.endpoint.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!endpoint.enabled);
    assert_eq!(endpoint.disabled_reason, Some(DisabledReason::Gone));
    assert_eq!(only_delivery(&s).await.state, DeliveryState::Failed);
    // A disabled endpoint gets no new deliveries.
    let cursor = s.store.webhook_cursor().await.unwrap();
    s.store
        .enqueue_events(cursor, &events[1..], start())
        .await
        .unwrap();
    s.clock.advance_secs(60);
    assert_eq!(s.worker.run_once().await.unwrap().attempted, 0);
}

#[tokio::test]
async fn timeouts_and_connection_errors_are_retried() {
    let mut transport = Scripted::new(
        vec![TransportOutcome::Failed {
            error: "connection refused".into(),
            latency: Duration::from_millis(3),
        }],
        200,
    );
    Arc::get_mut(&mut transport).unwrap().delay = Duration::ZERO;
    let s = setup(transport).await;
    s.store
        .enqueue_events(
            EventId::ZERO,
            &[event(1, EventKind::Live, SessionId::new())],
            start(),
        )
        .await
        .unwrap();
    assert_eq!(s.worker.run_once().await.unwrap().delivered, 0);
    let delivery = only_delivery(&s).await;
    assert_eq!(delivery.state, DeliveryState::Pending);
    let last = delivery.last_attempt.unwrap();
    assert_eq!(
        (last.status, last.error.as_deref()),
        (None, Some("connection refused"))
    );

    // A transport that never answers is cut off after the attempt timeout.
    let slow = Arc::new(Scripted {
        script: Mutex::new(VecDeque::new()),
        fallback: answered(200),
        delay: Duration::from_secs(30),
        sent: Mutex::new(Vec::new()),
    });
    let worker = WebhookWorker::new(
        s.store.clone(),
        slow,
        Arc::new(s.clock.clone()),
        WorkerSettings {
            attempt_timeout: Duration::from_millis(20),
            ..settings()
        },
    );
    s.clock.set(delivery.next_attempt_at);
    let round = tokio::time::timeout(Duration::from_secs(10), worker.run_once())
        .await
        .expect("the attempt is cut off")
        .unwrap();
    assert_eq!((round.attempted, round.delivered), (1, 0));
    let delivery = only_delivery(&s).await;
    assert_eq!(delivery.state, DeliveryState::Pending);
    assert_eq!(delivery.attempts, 2);
    assert_eq!(
        delivery.last_attempt.unwrap().error.as_deref(),
        Some("timed out")
    );
}

#[tokio::test]
async fn refused_targets_are_checked_again_before_sending() {
    let s = setup(Scripted::answering(200)).await;
    // An endpoint stored without the registration check (or whose name now resolves to a
    // private address).
    let url = EndpointUrl::parse("https://169.254.169.254/latest", false).unwrap();
    let sneaky = WebhookEndpoint::new(url, EventTypes::All, None, start() - TimeDelta::hours(1));
    s.store
        .insert_endpoint(&sneaky, &WebhookSecret::generate())
        .await
        .unwrap();
    s.store
        .enqueue_events(
            EventId::ZERO,
            &[event(1, EventKind::Live, SessionId::new())],
            start(),
        )
        .await
        .unwrap();
    let round = s.worker.run_once().await.unwrap();
    assert_eq!((round.attempted, round.delivered), (2, 1));
    let sent = s.transport.sent();
    assert_eq!(sent.len(), 1, "nothing is sent to the refused target");
    assert_eq!(sent[0].url.as_str(), "https://93.184.216.34/hooks");
    let page = s
        .store
        .list_deliveries(&DeliveryQuery::first(sneaky.id, 10))
        .await
        .unwrap();
    let refused = &page.items[0];
    assert_eq!(refused.state, DeliveryState::Pending);
    let error = refused
        .last_attempt
        .as_ref()
        .unwrap()
        .error
        .clone()
        .unwrap();
    assert!(error.contains("169.254.169.254"), "{error}");
}

#[tokio::test]
async fn after_a_rotation_both_secrets_sign_for_a_day() {
    let s = setup(Scripted::answering(200)).await;
    let id = s.endpoint.endpoint.id;
    let new = rotate_endpoint_secret(&*s.store, id, start())
        .await
        .unwrap();
    let session = SessionId::new();
    s.store
        .enqueue_events(
            EventId::ZERO,
            &[
                event(1, EventKind::Live, session),
                event(2, EventKind::Ended, SessionId::new()),
            ],
            start(),
        )
        .await
        .unwrap();
    assert_eq!(s.worker.deliver_due().await.unwrap(), (2, 2));
    let cursor = s.store.webhook_cursor().await.unwrap();
    s.store
        .enqueue_events(cursor, &[event(3, EventKind::Ended, session)], start())
        .await
        .unwrap();
    s.clock.set(start() + TimeDelta::hours(24));
    assert_eq!(s.worker.deliver_due().await.unwrap(), (1, 1));
    let sent = s.transport.sent();
    for (request, old_valid) in [(&sent[0], true), (&sent[1], true), (&sent[2], false)] {
        let id = header(request, "webhook-id");
        let ts: i64 = header(request, "webhook-timestamp").parse().unwrap();
        let signatures = header(request, "webhook-signature");
        let body = request.body.as_bytes();
        assert!(verify(&new, id, ts, body, signatures));
        assert_eq!(
            verify(&s.endpoint.secret, id, ts, body, signatures),
            old_valid
        );
        assert_eq!(signatures.split(' ').count(), if old_valid { 2 } else { 1 });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_workers_send_each_delivery_once() {
    let s = setup(Scripted::answering(200)).await;
    let events: Vec<LoggedEvent> = (1..=60)
        .map(|i| event(i, EventKind::Participants, SessionId::new()))
        .collect();
    s.store
        .enqueue_events(EventId::ZERO, &events, start())
        .await
        .unwrap();
    let workers: Vec<_> = (0..4)
        .map(|i| {
            WebhookWorker::new(
                s.store.clone(),
                s.transport.clone(),
                Arc::new(s.clock.clone()),
                WorkerSettings {
                    worker_id: format!("w{i}"),
                    batch: 7,
                    ..settings()
                },
            )
        })
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in workers {
        tasks.spawn(async move {
            let mut delivered = 0;
            loop {
                let round = worker.run_once().await.unwrap();
                delivered += round.delivered;
                if round.attempted == 0 {
                    return delivered;
                }
            }
        });
    }
    let mut total = 0;
    while let Some(done) = tasks.join_next().await {
        total += done.unwrap();
    }
    assert_eq!(total, 60);
    let mut ids: Vec<String> = s
        .transport
        .sent()
        .iter()
        .map(|r| header(r, "webhook-id").to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!((ids.len(), s.transport.sent().len()), (60, 60));
}

#[tokio::test]
async fn run_delivers_until_shutdown() {
    let s = setup(Scripted::answering(200)).await;
    let worker = WebhookWorker::new(
        s.store.clone(),
        s.transport.clone(),
        Arc::new(s.clock.clone()),
        WorkerSettings {
            poll_interval: Duration::from_millis(10),
            ..settings()
        },
    );
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(async move { worker.run(shutdown).await });
    s.store
        .enqueue_events(
            EventId::ZERO,
            &[event(1, EventKind::Live, SessionId::new())],
            start(),
        )
        .await
        .unwrap();
    let delivered = async {
        while only_delivery(&s).await.state != DeliveryState::Delivered {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), delivered)
        .await
        .expect("the running worker delivers");
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the worker stops on shutdown")
        .unwrap();
}

/// A session's deliveries go one after another (each waits for the one before it), and the
/// running worker sends the next as soon as the last is delivered, not a poll later: with an
/// hour-long poll interval, all of them arrive within the hang guard.
#[tokio::test]
async fn run_sends_a_sessions_next_delivery_without_waiting_for_a_poll() {
    let s = setup(Scripted::answering(200)).await;
    let session = SessionId::new();
    let events: Vec<LoggedEvent> = (1..=5)
        .map(|id| event(id, EventKind::Updated, session))
        .collect();
    s.store
        .enqueue_events(EventId::ZERO, &events, start())
        .await
        .unwrap();
    let worker = WebhookWorker::new(
        s.store.clone(),
        s.transport.clone(),
        Arc::new(s.clock.clone()),
        WorkerSettings {
            poll_interval: Duration::from_secs(3600),
            ..settings()
        },
    );
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(async move { worker.run(shutdown).await });
    let all_sent = async {
        while s.transport.sent().len() < events.len() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), all_sent)
        .await
        .expect("the running worker sends a session's deliveries back to back");
    let ids: Vec<String> = s
        .transport
        .sent()
        .iter()
        .map(|r| header(r, "webhook-id").to_owned())
        .collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5"], "in the session's order");
    stop.send(true).unwrap();
    running.await.unwrap();
}
