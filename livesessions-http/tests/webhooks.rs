//! The webhook admin routes (in process) and the reqwest transport against a local receiver,
//! end to end with the worker: signatures verified with the `standardwebhooks` crate.

mod common;

use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::Router;
use chrono::{DateTime, Utc};
use common::*;
use livesessions_core::webhooks::{
    EndpointUrl, MemoryWebhooks, TargetPolicy, TransportOutcome, WebhookRequest, WebhookTransport,
    WebhookWorker, WorkerSettings,
};
use livesessions_core::{LiveSessions, ManualClock, MemoryStore};
use livesessions_http::{LiveSessionsApi, ReqwestTransport};
use serde_json::{json, Value};

const HOOKS: &str = "/api/admin/webhooks";
const PUBLIC_URL: &str = "https://93.184.216.34/hooks";
const MISSING: &str = "0190d7a4-0000-7000-8000-000000000000";

/// Loopback and plain http: what a local receiver needs.
const LAX: TargetPolicy = TargetPolicy {
    allow_private: true,
    allow_http: true,
};

struct Hooked {
    router: Router,
    store: Arc<MemoryStore>,
    hooks: Arc<MemoryWebhooks>,
    clock: ManualClock,
}

/// An API with webhooks on an in-memory store, its clock at the real time (receivers check
/// the signature's timestamp against theirs).
fn hooked(policy: TargetPolicy) -> Hooked {
    hooked_with(policy, settings())
}

fn hooked_with(policy: TargetPolicy, http: livesessions_http::HttpSettings) -> Hooked {
    let clock = ManualClock::new(Utc::now());
    let store = Arc::new(MemoryStore::new());
    let service = LiveSessions::builder(store.clone())
        .clock(Arc::new(clock.clone()))
        .build();
    let hooks = Arc::new(MemoryWebhooks::new());
    let router = LiveSessionsApi::new(service)
        .auth(hs_auth())
        .settings(http)
        .webhooks(hooks.clone(), policy)
        .router();
    Hooked {
        router,
        store,
        hooks,
        clock,
    }
}

async fn register(router: &Router, body: &Value) -> Reply {
    send_json(router, Method::POST, HOOKS, Some(&admin_token()), body).await
}

/// What a receiver got, and the status it answers with.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    status: Arc<AtomicU16>,
    delay_ms: Arc<AtomicU64>,
}

impl Receiver {
    fn answering(status: u16) -> Self {
        let receiver = Receiver::default();
        receiver.status.store(status, Ordering::SeqCst);
        receiver
    }

    fn received(&self) -> Vec<(HeaderMap, Bytes)> {
        self.got.lock().unwrap().clone()
    }
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let delay = receiver.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    receiver.got.lock().unwrap().push((headers, body));
    StatusCode::from_u16(receiver.status.load(Ordering::SeqCst)).unwrap()
}

/// Serves `receiver` at `http://127.0.0.1:<port>/hook`; returns its address.
async fn serve_receiver(receiver: Receiver) -> std::net::SocketAddr {
    let app = Router::new()
        .route("/hook", axum::routing::post(receive))
        .route(
            "/moved",
            axum::routing::post(|| async {
                (StatusCode::TEMPORARY_REDIRECT, [("location", "/hook")])
            }),
        )
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn worker(hooked: &Hooked) -> WebhookWorker<MemoryWebhooks, ReqwestTransport> {
    WebhookWorker::new(
        hooked.hooks.clone(),
        Arc::new(ReqwestTransport::new()),
        Arc::new(hooked.clock.clone()),
        WorkerSettings {
            policy: LAX,
            attempt_timeout: Duration::from_secs(5),
            ..WorkerSettings::default()
        },
    )
    .with_event_log(hooked.store.clone())
    .with_seed(7)
}

/// Creates a session an hour from the clock's now and starts it; returns its id.
async fn create_and_start(hooked: &Hooked) -> String {
    let start = (hooked.clock_now() + chrono::TimeDelta::hours(1)).to_rfc3339();
    let mut body = session_body("Webhooks 101");
    body["startTime"] = json!(start);
    let session = created(post_session(&hooked.router, &body).await);
    let id = session["id"].as_str().unwrap().to_owned();
    let started = put_session(
        &hooked.router,
        &id,
        &admin_token(),
        &json!({"isLive": true}),
    )
    .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
    id
}

impl Hooked {
    fn clock_now(&self) -> DateTime<Utc> {
        use livesessions_core::Clock as _;
        self.clock.now()
    }
}

async fn deliveries(router: &Router, endpoint: &str) -> Value {
    let reply = get(
        router,
        &format!("{HOOKS}/{endpoint}/deliveries"),
        Some(&admin_token()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

#[tokio::test]
async fn without_a_webhook_store_the_routes_are_not_served_nor_documented() {
    let app = app();
    let admin = admin_token();
    for (method, path) in LiveSessionsApi::webhook_routes() {
        let uri = path
            .replace("{id}", MISSING)
            .replace("{deliveryId}", MISSING);
        send_empty(&app.router, method, &uri, Some(&admin))
            .await
            .problem(404);
    }
    let doc = get(&app.router, "/api/openapi.json", None).await.json();
    assert!(doc["paths"].get(HOOKS).is_none());
    assert!(LiveSessionsApi::routes()
        .iter()
        .all(|(_, p)| !p.contains("webhooks")));
}

#[tokio::test]
async fn every_route_is_documented_and_refuses_anonymous_callers_and_users() {
    let hooked = hooked(TargetPolicy::default());
    let doc = get(&hooked.router, "/api/openapi.json", None).await.json();
    let user = user_token("student-1");
    for (method, path) in LiveSessionsApi::webhook_routes() {
        let operation = &doc["paths"][path][method.as_str().to_lowercase()];
        assert!(operation.is_object(), "{method} {path} is not documented");
        let responses = operation["responses"].as_object().unwrap();
        for status in ["401", "403", "429", "503"] {
            assert!(
                responses.contains_key(status),
                "{method} {path} lacks {status}"
            );
        }
        assert_eq!(operation["security"], json!([{"bearer": []}]));
        let uri = path
            .replace("{id}", MISSING)
            .replace("{deliveryId}", MISSING);
        send_empty(&hooked.router, method.clone(), &uri, None)
            .await
            .problem(401);
        send_empty(&hooked.router, method.clone(), &uri, Some(&user))
            .await
            .problem(403);
        // An admin reaches the handler: an unknown id (or an empty create body) is answered
        // with a documented status.
        let reply = send_empty(&hooked.router, method.clone(), &uri, Some(&admin_token())).await;
        assert!(
            responses.contains_key(reply.status.as_str()),
            "{method} {path} answered {}, which is not documented",
            reply.status
        );
    }
}

#[tokio::test]
async fn webhook_routes_are_rate_limited_like_the_other_admin_routes() {
    let hooked = hooked_with(
        TargetPolicy::default(),
        limited(2, livesessions_http::ClientIpSource::Peer),
    );
    let admin = admin_token();
    // Admin writes: the third registration within the burst of two is refused.
    for _ in 0..2 {
        created(register(&hooked.router, &json!({"url": PUBLIC_URL})).await);
    }
    let refused = register(&hooked.router, &json!({"url": PUBLIC_URL})).await;
    refused.problem(429);
    assert!(refused.header("retry-after").is_some());
    // Reads have their own bucket.
    for _ in 0..2 {
        assert_eq!(
            get(&hooked.router, HOOKS, Some(&admin)).await.status,
            StatusCode::OK
        );
    }
    get(&hooked.router, HOOKS, Some(&admin)).await.problem(429);
}

fn collect_refs<'a>(value: &'a Value, refs: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                refs.push(r);
            }
            map.values().for_each(|v| collect_refs(v, refs));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
        _ => {}
    }
}

#[tokio::test]
async fn the_webhook_schemas_resolve_and_the_created_body_carries_the_secret() {
    let hooked = hooked(TargetPolicy::default());
    let doc = get(&hooked.router, "/api/openapi.json", None).await.json();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    for r in refs {
        let name = r.strip_prefix("#/components/schemas/").unwrap();
        assert!(doc["components"]["schemas"][name].is_object(), "{r}");
    }
    let created = doc["components"]["schemas"]["WebhookWithSecretJson"].to_string();
    assert!(created.contains("secret"), "{created}");
    assert!(created.contains("WebhookJson"), "{created}");
    for schema in [
        "WebhookJson",
        "WebhookListJson",
        "DeliveryJson",
        "DeliveryPageJson",
        "RotatedSecretJson",
        "WebhookInputJson",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}

#[tokio::test]
async fn the_secret_is_shown_on_create_and_rotate_only() {
    let hooked = hooked(TargetPolicy::default());
    let router = &hooked.router;
    let admin = admin_token();
    let reply = register(
        router,
        &json!({"url": PUBLIC_URL, "eventTypes": ["session.live", "ended"], "description": " CRM "}),
    )
    .await;
    let body = created(reply);
    let id = body["id"].as_str().unwrap().to_owned();
    let secret = body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(body["url"], PUBLIC_URL);
    assert_eq!(body["eventTypes"], json!(["session.live", "session.ended"]));
    assert_eq!(body["description"], "CRM");
    assert_eq!(body["enabled"], true);
    assert_eq!(body["disabledReason"], Value::Null);

    let list = get(router, HOOKS, Some(&admin)).await;
    assert_eq!(list.status, StatusCode::OK);
    let list = list.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["id"], id.as_str());
    assert!(!list.to_string().contains(&secret));
    assert!(list["items"][0].get("secret").is_none());

    let one = get(router, &format!("{HOOKS}/{id}"), Some(&admin)).await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(one.json().get("secret").is_none());
    assert_eq!(one.json()["eventTypes"], body["eventTypes"]);

    let rotated = post_empty(router, &format!("{HOOKS}/{id}/rotate-secret"), Some(&admin)).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text());
    let rotated = rotated.json();
    let new_secret = rotated["secret"].as_str().unwrap();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    let until: DateTime<Utc> = rotated["previousSecretValidUntil"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(until - hooked.clock_now(), chrono::TimeDelta::hours(24));
    // Both secrets are kept: the old one for the overlap.
    let secrets = livesessions_core::webhooks::WebhookStore::endpoint_secrets(
        &*hooked.hooks,
        id.parse().unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(secrets.current.expose(), new_secret);
    assert_eq!(secrets.previous.unwrap().secret.expose(), secret);
    let again = get(router, &format!("{HOOKS}/{id}"), Some(&admin)).await;
    assert!(!again.text().contains(new_secret));

    let disabled = post_empty(router, &format!("{HOOKS}/{id}/disable"), Some(&admin)).await;
    assert_eq!(disabled.status, StatusCode::OK);
    assert_eq!(disabled.json()["enabled"], false);
    assert_eq!(disabled.json()["disabledReason"], "manual");
    let enabled = post_empty(router, &format!("{HOOKS}/{id}/enable"), Some(&admin)).await;
    assert_eq!(enabled.status, StatusCode::OK);
    assert_eq!(enabled.json()["enabled"], true);
    assert_eq!(enabled.json()["disabledReason"], Value::Null);

    let page = deliveries(router, &id).await;
    assert_eq!(page, json!({"items": [], "next": null}));

    let deleted = send_empty(
        router,
        Method::DELETE,
        &format!("{HOOKS}/{id}"),
        Some(&admin),
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    get(router, &format!("{HOOKS}/{id}"), Some(&admin))
        .await
        .problem(404);
    send_empty(
        router,
        Method::DELETE,
        &format!("{HOOKS}/{id}"),
        Some(&admin),
    )
    .await
    .problem(404);
    for path in ["disable", "enable", "rotate-secret"] {
        post_empty(router, &format!("{HOOKS}/{id}/{path}"), Some(&admin))
            .await
            .problem(404);
    }
    get(router, &format!("{HOOKS}/{id}/deliveries"), Some(&admin))
        .await
        .problem(404);
    get(router, &format!("{HOOKS}/not-a-uuid"), Some(&admin))
        .await
        .problem(404);
    post_empty(
        router,
        &format!("{HOOKS}/deliveries/{MISSING}/retry"),
        Some(&admin),
    )
    .await
    .problem(404);
    post_empty(
        router,
        &format!("{HOOKS}/deliveries/42/retry"),
        Some(&admin),
    )
    .await
    .problem(404);
}

#[tokio::test]
async fn refused_endpoints_name_the_field() {
    let strict = hooked(TargetPolicy::default());
    let cases = [
        (
            json!({"url": "http://93.184.216.34/hooks"}),
            "url",
            "insecure_url",
        ),
        (
            json!({"url": "https://127.0.0.1/hooks"}),
            "url",
            "forbidden_target",
        ),
        (
            json!({"url": "https://169.254.169.254/latest"}),
            "url",
            "forbidden_target",
        ),
        (json!({"url": "https://[::1]/"}), "url", "forbidden_target"),
        (
            json!({"url": "https://10.1.2.3/"}),
            "url",
            "forbidden_target",
        ),
        (
            json!({"url": format!("https://93.184.216.34/{}", "a".repeat(2048))}),
            "url",
            "too_long",
        ),
        (json!({}), "url", "required"),
        (
            json!({"url": PUBLIC_URL, "eventTypes": ["session.paused"]}),
            "eventTypes",
            "unknown_event_type",
        ),
        (
            json!({"url": PUBLIC_URL, "eventTypes": []}),
            "eventTypes",
            "required",
        ),
    ];
    for (body, field, code) in cases {
        let problem = register(&strict.router, &body).await.problem(422);
        assert_eq!(problem_fields(&problem), [field], "{body}");
        assert_eq!(problem["errors"][0]["code"], code, "{body}");
    }
    // Every invalid field at once.
    let problem = register(
        &strict.router,
        &json!({"url": "ftp://x", "eventTypes": ["nope"]}),
    )
    .await
    .problem(422);
    assert_eq!(problem_fields(&problem), ["url", "eventTypes"]);
    assert_eq!(
        get(&strict.router, HOOKS, Some(&admin_token()))
            .await
            .json()["items"],
        json!([])
    );

    // Plain http allowed, private targets still refused.
    let http_only = hooked(TargetPolicy {
        allow_private: false,
        allow_http: true,
    });
    let problem = register(&http_only.router, &json!({"url": "http://127.0.0.1:9/"}))
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["code"], "forbidden_target");
    created(register(&http_only.router, &json!({"url": "http://93.184.216.34/"})).await);
    // Both allowed: a local receiver may be registered.
    let lax = hooked(LAX);
    created(register(&lax.router, &json!({"url": "http://127.0.0.1:9/hook"})).await);

    // Bodies that are not JSON objects.
    let admin = admin_token();
    let reply = send_body(
        &strict.router,
        Method::POST,
        HOOKS,
        Some(&admin),
        "text/plain",
        "x",
    )
    .await;
    reply.problem(415);
    let reply = send_body(
        &strict.router,
        Method::POST,
        HOOKS,
        Some(&admin),
        "application/json",
        "[]",
    )
    .await;
    reply.problem(400);
}

#[tokio::test]
async fn delivery_pages_check_their_parameters() {
    let hooked = hooked(TargetPolicy::default());
    let id = created(register(&hooked.router, &json!({"url": PUBLIC_URL})).await)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = admin_token();
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("before=-1", "before"),
    ] {
        let problem = get(
            &hooked.router,
            &format!("{HOOKS}/{id}/deliveries?{query}"),
            Some(&admin),
        )
        .await
        .problem(422);
        assert_eq!(problem_fields(&problem), [field], "{query}");
    }
    get(
        &hooked.router,
        &format!("{HOOKS}/{id}/deliveries?limit=many"),
        Some(&admin),
    )
    .await
    .problem(400);
    let ok = get(
        &hooked.router,
        &format!("{HOOKS}/{id}/deliveries?limit=100&before=5"),
        Some(&admin),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn a_local_receiver_gets_signed_session_events_and_the_log_shows_them_delivered() {
    let hooked = hooked(LAX);
    let receiver = Receiver::answering(204);
    let addr = serve_receiver(receiver.clone()).await;
    let endpoint = created(
        register(
            &hooked.router,
            &json!({"url": format!("http://{addr}/hook"), "eventTypes": ["session.created", "session.live"]}),
        )
        .await,
    );
    let endpoint_id = endpoint["id"].as_str().unwrap().to_owned();
    let secret = endpoint["secret"].as_str().unwrap().to_owned();
    let session_id = create_and_start(&hooked).await;

    let worker = worker(&hooked);
    // One delivery of an endpoint and session is sent at a time, in event order.
    for _ in 0..4 {
        worker.run_once().await.unwrap();
    }
    let received = receiver.received();
    assert_eq!(received.len(), 2, "{received:?}");
    let verifier = standardwebhooks::Webhook::new(&secret).unwrap();
    let mut types = Vec::new();
    for (headers, body) in &received {
        verifier
            .verify(body, headers)
            .expect("a valid Standard Webhooks signature");
        assert_eq!(headers["content-type"], "application/json");
        let payload: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(payload["data"]["sessionId"], session_id.as_str());
        types.push(payload["type"].as_str().unwrap().to_owned());
    }
    assert_eq!(types, ["session.created", "session.live"]);
    // A forged body does not verify.
    let (headers, _) = &received[0];
    assert!(verifier
        .verify(b"{\"type\":\"session.deleted\"}", headers)
        .is_err());

    let page = deliveries(&hooked.router, &endpoint_id).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["eventType"], "session.live", "newest first");
    for item in items {
        assert_eq!(item["state"], "delivered", "{item}");
        assert_eq!(item["attempts"], 1);
        assert_eq!(item["lastStatus"], 204);
        assert!(item["latencyMs"].is_u64());
        assert_eq!(item["error"], Value::Null);
        assert_eq!(item["nextAttemptAt"], Value::Null);
    }
    // Paging: one at a time.
    let first = get(
        &hooked.router,
        &format!("{HOOKS}/{endpoint_id}/deliveries?limit=1"),
        Some(&admin_token()),
    )
    .await
    .json();
    assert_eq!(first["items"][0]["eventType"], "session.live");
    let next = first["next"].as_i64().unwrap();
    let second = get(
        &hooked.router,
        &format!("{HOOKS}/{endpoint_id}/deliveries?limit=1&before={next}"),
        Some(&admin_token()),
    )
    .await
    .json();
    assert_eq!(second["items"][0]["eventType"], "session.created");
}

#[tokio::test]
async fn a_receiver_answering_410_disables_its_endpoint() {
    let hooked = hooked(LAX);
    let receiver = Receiver::answering(410);
    let addr = serve_receiver(receiver.clone()).await;
    let endpoint = created(
        register(
            &hooked.router,
            &json!({"url": format!("http://{addr}/hook")}),
        )
        .await,
    );
    let id = endpoint["id"].as_str().unwrap();
    create_and_start(&hooked).await;
    worker(&hooked).run_once().await.unwrap();
    assert_eq!(receiver.received().len(), 1);
    let now = get(
        &hooked.router,
        &format!("{HOOKS}/{id}"),
        Some(&admin_token()),
    )
    .await
    .json();
    assert_eq!(now["enabled"], false);
    assert_eq!(now["disabledReason"], "gone");
    let page = deliveries(&hooked.router, id).await;
    let failed: Vec<&Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["state"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["lastStatus"], 410);
}

#[tokio::test]
async fn a_failing_receiver_leaves_a_pending_delivery_that_a_manual_retry_makes_due() {
    let hooked = hooked(LAX);
    let receiver = Receiver::answering(500);
    let addr = serve_receiver(receiver.clone()).await;
    let endpoint = created(
        register(
            &hooked.router,
            &json!({"url": format!("http://{addr}/hook"), "eventTypes": ["session.created"]}),
        )
        .await,
    );
    let id = endpoint["id"].as_str().unwrap();
    create_and_start(&hooked).await;
    let worker = worker(&hooked);
    let round = worker.run_once().await.unwrap();
    assert_eq!((round.attempted, round.delivered), (1, 0));
    let page = deliveries(&hooked.router, id).await;
    let delivery = &page["items"][0];
    assert_eq!(delivery["state"], "pending");
    assert_eq!(delivery["attempts"], 1);
    assert_eq!(delivery["lastStatus"], 500);
    let next: DateTime<Utc> = delivery["nextAttemptAt"].as_str().unwrap().parse().unwrap();
    assert!(next > hooked.clock_now(), "{next}");
    // Not due yet.
    assert_eq!(worker.run_once().await.unwrap().attempted, 0);

    let delivery_id = delivery["id"].as_str().unwrap();
    let retried = post_empty(
        &hooked.router,
        &format!("{HOOKS}/deliveries/{delivery_id}/retry"),
        Some(&admin_token()),
    )
    .await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.text());
    let retried = retried.json();
    assert_eq!(retried["state"], "pending");
    assert_eq!(retried["attempts"], 0);
    let due: DateTime<Utc> = retried["nextAttemptAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(due, hooked.clock_now());
    assert_eq!(retried["lastStatus"], 500, "the last attempt is kept");

    receiver.status.store(200, Ordering::SeqCst);
    let round = worker.run_once().await.unwrap();
    assert_eq!((round.attempted, round.delivered), (1, 1));
    assert_eq!(
        deliveries(&hooked.router, id).await["items"][0]["state"],
        "delivered"
    );
    // Users may not retry.
    post_empty(
        &hooked.router,
        &format!("{HOOKS}/deliveries/{delivery_id}/retry"),
        Some(&user_token("student-1")),
    )
    .await
    .problem(403);
}

fn request_to(url: &str, addrs: Vec<std::net::SocketAddr>, timeout: Duration) -> WebhookRequest {
    WebhookRequest {
        url: EndpointUrl::parse(url, true).unwrap(),
        addrs,
        headers: vec![("webhook-id", "1".to_owned())],
        body: "{\"type\":\"session.live\"}".to_owned(),
        timeout,
    }
}

#[tokio::test]
async fn the_transport_connects_only_to_the_vetted_addresses() {
    let receiver = Receiver::answering(202);
    let addr = serve_receiver(receiver.clone()).await;
    let transport = ReqwestTransport::new();
    // A name that resolves nowhere reaches the receiver through the vetted address, and
    // keeps its name in the Host header.
    let url = format!("http://hooks.invalid:{}/hook", addr.port());
    let outcome = transport
        .send(&request_to(&url, vec![addr], Duration::from_secs(5)))
        .await;
    assert!(
        matches!(outcome, TransportOutcome::Answered { status: 202, .. }),
        "{outcome:?}"
    );
    let (headers, body) = receiver.received().pop().unwrap();
    assert_eq!(
        headers["host"],
        format!("hooks.invalid:{}", addr.port()).as_str()
    );
    assert_eq!(headers["webhook-id"], "1");
    assert_eq!(&body[..], b"{\"type\":\"session.live\"}");
    // An IP literal that is not among the vetted addresses is not connected to.
    let other: std::net::SocketAddr = "127.0.0.2:9".parse().unwrap();
    let outcome = transport
        .send(&request_to(
            &format!("http://{addr}/hook"),
            vec![other],
            Duration::from_secs(5),
        ))
        .await;
    assert!(
        matches!(outcome, TransportOutcome::Failed { .. }),
        "{outcome:?}"
    );
    assert_eq!(receiver.received().len(), 1);
    let outcome = transport
        .send(&request_to(
            &format!("http://{addr}/hook"),
            vec![],
            Duration::from_secs(5),
        ))
        .await;
    assert!(
        matches!(outcome, TransportOutcome::Failed { .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn the_transport_follows_no_redirect_and_reports_timeouts_and_failures() {
    let receiver = Receiver::answering(200);
    let addr = serve_receiver(receiver.clone()).await;
    let transport = ReqwestTransport::new();
    let outcome = transport
        .send(&request_to(
            &format!("http://{addr}/moved"),
            vec![addr],
            Duration::from_secs(5),
        ))
        .await;
    assert!(
        matches!(outcome, TransportOutcome::Answered { status: 307, .. }),
        "{outcome:?}"
    );
    assert!(receiver.received().is_empty(), "the redirect was followed");

    receiver.delay_ms.store(2_000, Ordering::SeqCst);
    let outcome = transport
        .send(&request_to(
            &format!("http://{addr}/hook"),
            vec![addr],
            Duration::from_millis(200),
        ))
        .await;
    let TransportOutcome::TimedOut { latency } = outcome else {
        panic!("expected a timeout: {outcome:?}");
    };
    assert!(latency < Duration::from_secs(2), "{latency:?}");

    // Nothing listens there.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let outcome = transport
        .send(&request_to(
            &format!("http://{closed}/hook"),
            vec![closed],
            Duration::from_secs(5),
        ))
        .await;
    let TransportOutcome::Failed { error, .. } = outcome else {
        panic!("expected a failure: {outcome:?}");
    };
    assert!(error.starts_with("connection failed"), "{error}");
    assert!(
        !error.contains("/hook"),
        "the URL stays out of the log: {error}"
    );
}
