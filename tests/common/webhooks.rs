//! A webhook receiver of the tests' own on a loopback port: it checks every delivery's
//! signature with the `standardwebhooks` crate (an implementation independent of the
//! project's), records what came, and can go down (its listener closed, so connections are
//! refused) and come back on the same port.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// One delivery that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Its `webhook-id` (the event id).
    pub id: i64,
    /// Its payload's `type` (`session.updated`, …).
    pub event_type: String,
    /// Its payload's `data.sessionId`.
    pub session_id: String,
}

#[derive(Default)]
struct Inner {
    verifier: OnceLock<standardwebhooks::Webhook>,
    /// Every verified delivery, duplicates included, in order of receipt, with its time.
    received: Mutex<Vec<(Instant, Received)>>,
    /// What was wrong with each delivery that did not verify or did not parse.
    refused: Mutex<Vec<String>>,
}

impl Inner {
    fn refuse(&self, why: String) {
        self.refused.lock().unwrap().push(why);
    }
}

/// The receiver. Deliveries go to `POST /hook`; it answers `204` to a delivery that verifies,
/// `401` to one that does not (and records it), and `503` until [`WebhookReceiver::trust`]
/// gave it the secret.
pub struct WebhookReceiver {
    inner: Arc<Inner>,
    port: u16,
    serving: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl WebhookReceiver {
    /// A receiver listening on a free loopback port below the kernel's range of ephemeral
    /// ports, so that no outgoing connection can take the port while the receiver is down.
    pub async fn start() -> WebhookReceiver {
        let listener = bind_outside_ephemeral_range().await;
        let port = listener.local_addr().expect("its address").port();
        let mut receiver = WebhookReceiver {
            inner: Arc::default(),
            port,
            serving: None,
        };
        receiver.serve(listener);
        receiver
    }

    /// Where to register it.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// Verifies deliveries with `secret` (`whsec_…`, as the registration answered) from now on.
    pub fn trust(&self, secret: &str) {
        let verifier = standardwebhooks::Webhook::new(secret).expect("a Standard Webhooks secret");
        assert!(
            self.inner.verifier.set(verifier).is_ok(),
            "the receiver trusts one secret"
        );
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(self.inner.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .expect("the receiver serves");
        });
        self.serving = Some((stop, task));
    }

    /// Goes down: stops accepting, finishes the request in progress, closes every connection
    /// (kept-alive ones too) and the listener, so that the next attempt is refused.
    pub async fn stop(&mut self) {
        let (stop, task) = self.serving.take().expect("the receiver is up");
        let _ = stop.send(());
        tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("the receiver stops within 30 s")
            .expect("the receiver's task");
    }

    /// Comes back on the same port.
    pub async fn restart(&mut self) {
        assert!(self.serving.is_none(), "the receiver is down");
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("the receiver's port again");
        self.serve(listener);
    }

    /// Every verified delivery, duplicates included, in order of receipt.
    pub fn received(&self) -> Vec<Received> {
        let received = self.inner.received.lock().unwrap();
        received.iter().map(|(_, r)| r.clone()).collect()
    }

    /// How many distinct events of `session` came, and the time from the first receipt of
    /// the first to the first receipt of the last.
    pub fn session_span(&self, session: &str) -> (usize, Duration) {
        let received = self.inner.received.lock().unwrap();
        let mut seen = std::collections::HashSet::new();
        let firsts: Vec<Instant> = received
            .iter()
            .filter(|(_, r)| r.session_id == session && seen.insert(r.id))
            .map(|(at, _)| *at)
            .collect();
        let span = match (firsts.first(), firsts.last()) {
            (Some(first), Some(last)) => last.duration_since(*first),
            _ => Duration::ZERO,
        };
        (firsts.len(), span)
    }

    /// Fails the test when a delivery did not verify or did not parse.
    pub fn assert_none_refused(&self) {
        let refused = self.inner.refused.lock().unwrap().clone();
        assert!(
            refused.is_empty(),
            "refused webhook deliveries: {refused:?}"
        );
    }

    /// The distinct deliveries by `webhook-id`: its type and session. A second delivery of an
    /// id with another type or session is recorded as refused.
    pub fn distinct(&self) -> BTreeMap<i64, (String, String)> {
        let mut distinct = BTreeMap::new();
        for r in self.received() {
            distinct
                .entry(r.id)
                .or_insert((r.event_type.clone(), r.session_id.clone()));
        }
        distinct
    }

    /// How many deliveries repeated an id received before.
    pub fn duplicates(&self) -> usize {
        self.received().len() - self.distinct().len()
    }

    /// The sessions whose deliveries did not first arrive in event-id order, each with its ids
    /// in order of first receipt.
    pub fn out_of_order(&self) -> Vec<(String, Vec<i64>)> {
        let mut first: HashMap<String, Vec<i64>> = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        for r in self.received() {
            if seen.insert(r.id) {
                first.entry(r.session_id).or_default().push(r.id);
            }
        }
        first
            .into_iter()
            .filter(|(_, ids)| ids.windows(2).any(|w| w[0] > w[1]))
            .collect()
    }
}

/// A loopback listener on a free port among the 10 000 below the first ephemeral port (Linux:
/// `net.ipv4.ip_local_port_range`), or on any free port when none of those is found.
async fn bind_outside_ephemeral_range() -> tokio::net::TcpListener {
    let first_ephemeral: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    let low = first_ephemeral.saturating_sub(10_000).max(1024);
    if low < first_ephemeral {
        for _ in 0..100 {
            let pick =
                low + (uuid::Uuid::new_v4().as_u128() % u128::from(first_ephemeral - low)) as u16;
            if let Ok(listener) = tokio::net::TcpListener::bind(("127.0.0.1", pick)).await {
                return listener;
            }
        }
    }
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port for the receiver")
}

async fn receive(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let Some(verifier) = inner.verifier.get() else {
        return StatusCode::SERVICE_UNAVAILABLE;
    };
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(none)")
        .to_owned();
    if let Err(e) = verifier.verify(&body, &headers) {
        inner.refuse(format!("webhook-id {id}: {e}"));
        return StatusCode::UNAUTHORIZED;
    }
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (Ok(number), Some(event_type), Some(session_id)) = (
        id.parse::<i64>(),
        payload["type"].as_str(),
        payload["data"]["sessionId"].as_str(),
    ) else {
        inner.refuse(format!("webhook-id {id}: an unexpected delivery {payload}"));
        return StatusCode::BAD_REQUEST;
    };
    let received = Received {
        id: number,
        event_type: event_type.to_owned(),
        session_id: session_id.to_owned(),
    };
    let mut all = inner.received.lock().unwrap();
    if let Some((_, earlier)) = all.iter().find(|(_, r)| r.id == number) {
        if *earlier != received {
            inner.refuse(format!(
                "webhook-id {id} came as {earlier:?} and again as {received:?}"
            ));
        }
    }
    all.push((Instant::now(), received));
    StatusCode::NO_CONTENT
}
