//! The deployment as users run it: three example-server processes on one PostgreSQL database
//! behind nginx (its config written by this test), tried under a mixed load of joins and
//! heartbeats while an admin keeps changing sessions through whichever instance nginx picks,
//! with a webhook receiver of the test's own registered through nginx
//! (`--webhook-allow-private-targets --webhook-allow-http`: it listens on plain http on
//! loopback). The receiver checks every delivery's signature with the `standardwebhooks`
//! crate, an implementation independent of the project's; one that does not verify fails the
//! test. Its endpoint subscribes to every type but `session.participants`.
//!
//! Checked, on a fresh database dropped afterwards:
//! - an admin's start through one instance reaches event-stream clients on the other two;
//! - one instance killed with SIGKILL in the middle of the load and started again loses nothing:
//!   the participant count equals the number of distinct users that joined, every watcher's
//!   watch time is within a few seconds of the time it watched, and every client that
//!   reconnects with `Last-Event-ID` (to the restarted instance, or through nginx) receives
//!   every event it missed: the same `updated`, `live` and `ended` events, by id, as a client
//!   that was never cut off, and no `reset`;
//! - across that kill, every webhook is delivered: deduplicated by `webhook-id` (the event id),
//!   the deliveries are exactly the subscribed events of the event log (read from the
//!   database), with their types and sessions, which are in turn the events the client never
//!   cut off saw (plus, perhaps, the two creations just before it connected); the store lists
//!   one delivery per event, delivered; duplicates are allowed, counted and printed;
//! - a receiver down (its listener closed: connections refused) for
//!   `LIVESESSIONS_DEPLOY_RECEIVER_DOWN_SECS` (default 10) while the admin keeps renaming three
//!   sessions and starts and ends a fourth gets, once it is back, every event of the log it
//!   subscribed to, and per session the first receipts come in event-id order. That deliveries
//!   were attempted and refused meanwhile is asserted. Retries wait with backoff (from 5 s,
//!   doubling, full jitter), so the waits for deliveries are hang guards that fail only when no
//!   new event arrives for minutes.
//!
//! Needs PostgreSQL (`LIVESESSIONS_TEST_POSTGRES_URL`) and nginx (`LIVESESSIONS_TEST_NGINX`,
//! the binary; `.ci/run` installs Debian's package and sets it); without them, when the package
//! was built, the tests are ignored, except in CI (`CI=true`), where a missing one fails them.
//! `LIVESESSIONS_DEPLOY_USERS` (default 240) sets the number of distinct users of the kill
//! test's load. The two tests run side by side, each on its own database, instances and nginx.
#![cfg(unix)]
#![allow(missing_docs)]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::sse::{SseEvent, SseReader};
use common::webhooks::WebhookReceiver;
use serde_json::{json, Value};
use tokio::process::{Child, Command};

const SECRET: &str = "deployment-test-secret-0123456789abcdef";

/// A hang guard for single steps, not a measurement.
const STEP: Duration = Duration::from_secs(30);

fn token(sub: &str, admin: bool) -> String {
    common::token(SECRET, sub, admin)
}

/// A database of this test's own on the server of `LIVESESSIONS_TEST_POSTGRES_URL`.
struct Database {
    admin_url: String,
    name: String,
}

impl Database {
    async fn create() -> Database {
        let admin_url = std::env::var("LIVESESSIONS_TEST_POSTGRES_URL")
            .expect("LIVESESSIONS_TEST_POSTGRES_URL names the PostgreSQL server");
        let name = format!("ls_deploy_{}", uuid::Uuid::new_v4().simple());
        let pool = livesessions_sql::sqlx::PgPool::connect(&admin_url)
            .await
            .expect("PostgreSQL answers");
        livesessions_sql::sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&pool)
            .await
            .expect("CREATE DATABASE");
        pool.close().await;
        Database { admin_url, name }
    }

    fn url(&self) -> String {
        let mut url = url::Url::parse(&self.admin_url).expect("a URL");
        url.set_path(&self.name);
        url.to_string()
    }

    async fn drop_now(self) {
        if let Ok(pool) = livesessions_sql::sqlx::PgPool::connect(&self.admin_url).await {
            let _ = livesessions_sql::sqlx::query(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&pool)
            .await;
        }
    }
}

/// One example-server process.
struct Instance {
    port: u16,
    child: Option<Child>,
    dir: PathBuf,
    database_url: String,
}

impl Instance {
    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn start(&mut self) {
        let log = |name: &str| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join(format!("{}.{name}", self.port)))
                .expect("a log file")
        };
        let child = Command::new(common::example::server_binary())
            .args(["--bind", &format!("127.0.0.1:{}", self.port)])
            .args(["--database-url", &self.database_url])
            .args(["--jwt-secret", SECRET])
            .arg("--no-rate-limits")
            // The test's webhook receiver listens on plain http on loopback.
            .args(["--webhook-allow-private-targets", "--webhook-allow-http"])
            .env_remove("LIVESESSIONS_DEV")
            .env_remove("LIVESESSIONS_FIREBASE_PROJECT")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log("stdout"))
            .stderr(log("stderr"))
            .kill_on_drop(true)
            .spawn()
            .expect("the server binary starts");
        self.child = Some(child);
        wait_healthy(&self.base(), &format!("instance {}", self.port)).await;
    }

    /// SIGKILL: no graceful stop, streams cut, requests in flight lost.
    async fn kill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.start_kill().expect("SIGKILL");
        child.wait().await.expect("the exit status");
    }
}

async fn wait_healthy(base: &str, what: &str) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + STEP;
    loop {
        if let Ok(reply) = client.get(format!("{base}/healthz")).send().await {
            if reply.status().is_success() {
                return;
            }
        }
        assert!(Instant::now() < deadline, "{what} did not answer /healthz");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// nginx in front of the instances, as a child process with a config of this test's own;
/// stopped when dropped.
struct Nginx {
    _child: Child,
    port: u16,
}

impl Nginx {
    async fn start(dir: &Path, upstreams: &[u16]) -> Nginx {
        let binary = std::env::var("LIVESESSIONS_TEST_NGINX")
            .expect("LIVESESSIONS_TEST_NGINX names the nginx binary (.ci/run sets it)");
        let port = common::free_port();
        let servers: String = upstreams
            .iter()
            .map(|p| format!("    server 127.0.0.1:{p} max_fails=0;\n"))
            .collect();
        let d = dir.display();
        // Workers may run as another user: they only need the temp paths, in this directory.
        let config = format!(
            r#"worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {d}/nginx-body;
  proxy_temp_path {d}/nginx-proxy;
  fastcgi_temp_path {d}/nginx-fastcgi;
  uwsgi_temp_path {d}/nginx-uwsgi;
  scgi_temp_path {d}/nginx-scgi;
  upstream livesessions {{
{servers}    keepalive 64;
  }}
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 8m;
    location / {{
      proxy_pass http://livesessions;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_next_upstream error timeout;
      proxy_connect_timeout 2s;
      # Event streams pass through as they are written.
      proxy_buffering off;
      proxy_read_timeout 1h;
    }}
  }}
}}
"#
        );
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config).expect("nginx.conf");
        let child = Command::new(binary)
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("nginx starts");
        let nginx = Nginx {
            _child: child,
            port,
        };
        wait_healthy(&nginx.base(), "nginx").await;
        nginx
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// The deployment: three instances on a fresh database behind nginx.
struct Cluster {
    instances: Vec<Instance>,
    nginx: Nginx,
    database: Database,
    client: reqwest::Client,
    admin: String,
    // Last: the logs stay until everything above has stopped.
    _dir: tempfile::TempDir,
}

impl Cluster {
    async fn start() -> Cluster {
        let dir = tempfile::tempdir().expect("a temporary directory");
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
        }
        let database = Database::create().await;
        let mut instances: Vec<Instance> = (0..3)
            .map(|_| Instance {
                port: common::free_port(),
                child: None,
                dir: dir.path().to_owned(),
                database_url: database.url(),
            })
            .collect();
        // The first start migrates; the others find the schema up to date.
        for instance in &mut instances {
            instance.start().await;
        }
        let ports: Vec<u16> = instances.iter().map(|i| i.port).collect();
        let nginx = Nginx::start(dir.path(), &ports).await;
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .timeout(STEP)
            .build()
            .unwrap();
        Cluster {
            instances,
            nginx,
            database,
            client,
            admin: token("admin", true),
            _dir: dir,
        }
    }

    fn lb(&self) -> String {
        self.nginx.base()
    }

    /// Creates a session through nginx; returns its id.
    async fn create(&self, title: &str) -> String {
        let body = json!({
            "title": title,
            "instructor": "Ferris",
            "videoUrl": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "startTime": "2031-01-01T10:00:00Z",
        });
        common::create_session(&self.client, &self.lb(), &self.admin, &body).await["id"]
            .as_str()
            .expect("an id")
            .to_owned()
    }

    /// Registers `receiver` for [`SUBSCRIBED`] through nginx and gives it the secret the
    /// answer shows (once); returns the endpoint's id.
    async fn register(&self, receiver: &WebhookReceiver) -> String {
        let reply = self
            .client
            .post(format!("{}/api/admin/webhooks", self.lb()))
            .bearer_auth(&self.admin)
            .json(&json!({
                "url": receiver.url(),
                "eventTypes": SUBSCRIBED,
                "description": "The deployment test's receiver",
            }))
            .send()
            .await
            .expect("register the receiver");
        assert_eq!(reply.status(), 201, "register the receiver");
        let endpoint = json_of(reply, "register the receiver").await;
        receiver.trust(endpoint["secret"].as_str().expect("the secret, shown once"));
        endpoint["id"].as_str().expect("an id").to_owned()
    }

    /// Every delivery the store lists for `endpoint` (through nginx, page by page).
    async fn deliveries(&self, endpoint: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut before: Option<i64> = None;
        loop {
            let mut url = format!(
                "{}/api/admin/webhooks/{endpoint}/deliveries?limit=100",
                self.lb()
            );
            if let Some(before) = before {
                url.push_str(&format!("&before={before}"));
            }
            let reply = until_answered(|| self.client.get(&url).bearer_auth(&self.admin)).await;
            let page = json_of(reply, "the deliveries").await;
            all.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["next"].as_i64() {
                Some(next) => before = Some(next),
                None => return all,
            }
        }
    }

    /// The events of the log of the types in [`SUBSCRIBED`], read from the database: id →
    /// (webhook type, session id).
    async fn logged(&self) -> BTreeMap<i64, (String, String)> {
        use livesessions_core::events::{EventId, EventLog as _};
        let store = livesessions_sql::postgres::PostgresStore::connect(&self.database.url())
            .await
            .expect("the test's database");
        let mut logged = BTreeMap::new();
        let mut after = EventId::ZERO;
        loop {
            let events = store.read_events(after, 1000).await.expect("the event log");
            let Some(last) = events.last() else { break };
            after = last.id;
            for event in events {
                let kind = livesessions_core::webhooks::webhook_type(event.kind);
                if SUBSCRIBED.contains(&kind) {
                    let id = event.id.to_string().parse().expect("a numeric id");
                    logged.insert(id, (kind.to_owned(), event.session_id.to_string()));
                }
            }
        }
        store.pool().close().await;
        logged
    }

    /// Renames `sessions` in turn through nginx, one every 150 ms or so, until `stop`; the
    /// task returns how many renames it made.
    fn spawn_renames(
        &self,
        sessions: Vec<String>,
        stop: Arc<AtomicBool>,
    ) -> tokio::task::JoinHandle<usize> {
        let (client, lb, admin) = (self.client.clone(), self.lb(), self.admin.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let session = &sessions[n % sessions.len()];
                n += 1;
                let reply = until_answered(|| {
                    client
                        .put(format!("{lb}/api/admin/live-sessions/{session}"))
                        .bearer_auth(&admin)
                        .json(&json!({"title": format!("Renamed, version {n}")}))
                })
                .await;
                // A rename may also land as a conflict when a lost answer's retry raced it.
                assert!(
                    reply.status().is_success() || reply.status() == 409,
                    "rename: {}",
                    reply.status()
                );
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
            n
        })
    }

    async fn stop(mut self) {
        drop(self.nginx);
        for instance in &mut self.instances {
            if instance.child.is_some() {
                instance.kill().await;
            }
        }
        self.database.drop_now().await;
    }
}

/// The webhook types the test's endpoint subscribes to: every one but `session.participants`
/// (one per user who joins, all about one session: delivered one at a time, in order, they
/// would keep the receiver busy long after the load).
const SUBSCRIBED: [&str; 6] = [
    "session.created",
    "session.updated",
    "session.cancelled",
    "session.deleted",
    "session.live",
    "session.ended",
];

/// How long the receiver may go without a new event while some are missing, before the test
/// fails: a hang guard. It covers a lease left by a killed instance (60 s) and a retry pause
/// drawn after the receiver came back (full jitter up to a ceiling that doubles from 5 s per
/// failed attempt: 80 s after five), with room to spare.
fn delivery_stall(down: Duration) -> Duration {
    Duration::from_secs(180).max(down * 8)
}

/// Waits until `receiver` has received every event of `expected` at least once, failing at
/// once on a delivery it refused, and when `stall` passes without a new one (a hang guard, not
/// a measurement).
async fn delivered_all(
    receiver: &WebhookReceiver,
    expected: &BTreeMap<i64, (String, String)>,
    stall: Duration,
) {
    let missing = || -> Vec<i64> {
        let got = receiver.distinct();
        expected
            .keys()
            .filter(|id| !got.contains_key(id))
            .copied()
            .collect()
    };
    let mut left = missing();
    let mut progress = Instant::now();
    while !left.is_empty() {
        receiver.assert_none_refused();
        assert!(
            progress.elapsed() < stall,
            "{} webhooks still missing and none came for {stall:?}: {left:?}",
            left.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = missing();
        if now.len() < left.len() {
            progress = Instant::now();
        }
        left = now;
    }
}

/// What the receiver got, checked against the log: every subscribed event delivered (by
/// `webhook-id`, with its type and session), nothing else, every signature good, first receipts
/// in event order per session, and the store listing each event once, delivered. Returns the
/// number of deliveries received in all (duplicates included).
async fn check_webhooks(
    cluster: &Cluster,
    receiver: &WebhookReceiver,
    endpoint: &str,
    expected: &BTreeMap<i64, (String, String)>,
) -> usize {
    receiver.assert_none_refused();
    assert_eq!(&receiver.distinct(), expected, "the webhooks received");
    assert_eq!(
        receiver.out_of_order(),
        Vec::new(),
        "sessions whose webhooks came out of order"
    );
    // A delivery's attempt is recorded just after its answer came: wait for the records, as
    // long as a delivery whose sender was killed before recording it may wait for its lease.
    let deadline = Instant::now() + delivery_stall(Duration::ZERO);
    let listed = loop {
        let listed = cluster.deliveries(endpoint).await;
        if listed.iter().all(|d| d["state"] == "delivered") {
            break listed;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries not recorded as delivered: {:?}",
            listed
                .iter()
                .filter(|d| d["state"] != "delivered")
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let mut ids: Vec<i64> = listed
        .iter()
        .map(|d| d["eventId"].as_i64().expect("an event id"))
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        expected.keys().copied().collect::<Vec<_>>(),
        "the store's deliveries: one per event"
    );
    receiver.received().len()
}

/// An event-stream client that reconnects by itself with `Last-Event-ID`, like a browser.
#[derive(Clone)]
struct Listener {
    name: String,
    seen: Arc<Mutex<Vec<SseEvent>>>,
    connections: Arc<Mutex<u32>>,
}

impl Listener {
    fn spawn(
        name: String,
        base: String,
        stop: Arc<AtomicBool>,
    ) -> (Listener, tokio::task::JoinHandle<()>) {
        let listener = Listener {
            name,
            seen: Arc::default(),
            connections: Arc::default(),
        };
        let task = tokio::spawn({
            let listener = listener.clone();
            async move { listener.run(&base, &stop).await }
        });
        (listener, task)
    }

    async fn run(&self, base: &str, stop: &AtomicBool) {
        let client = reqwest::Client::new();
        let mut last_id: Option<String> = None;
        while !stop.load(Ordering::SeqCst) {
            let mut request = client.get(format!("{base}/api/live-sessions/events"));
            if let Some(id) = &last_id {
                request = request.header("Last-Event-ID", id);
            }
            let response = match request.send().await {
                Ok(response) if response.status() == 200 => response,
                _ => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            *self.connections.lock().unwrap() += 1;
            let mut reader = SseReader::new(response);
            loop {
                let next = tokio::select! {
                    event = reader.next_event() => event,
                    _ = wait_for(stop) => None,
                };
                let Some(event) = next else { break };
                if let Some(id) = &event.id {
                    last_id = Some(id.clone());
                }
                self.seen.lock().unwrap().push(event);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn events(&self) -> Vec<SseEvent> {
        self.seen.lock().unwrap().clone()
    }

    /// Whether it has seen an event named `name` about `session`.
    fn has(&self, name: &str, session: &str) -> bool {
        self.events()
            .iter()
            .any(|e| e.name == name && e.data["sessionId"] == session)
    }
}

async fn wait_for(flag: &AtomicBool) {
    while !flag.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `check` holds, failing with `what` after [`STEP`].
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + STEP;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends `request` until an answer other than a gateway error (the instance behind it was
/// killed mid-request) comes back; joins and updates without a version are safe to repeat.
async fn until_answered(make: impl Fn() -> reqwest::RequestBuilder) -> reqwest::Response {
    let deadline = Instant::now() + STEP;
    loop {
        if let Ok(reply) = make().send().await {
            if !matches!(reply.status().as_u16(), 502..=504) {
                return reply;
            }
        }
        assert!(Instant::now() < deadline, "no answer through nginx");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn json_of(reply: reqwest::Response, what: &str) -> Value {
    let status = reply.status();
    let body = reply.text().await.unwrap_or_default();
    assert!(status.is_success(), "{what}: {status} {body}");
    serde_json::from_str(&body).unwrap_or_else(|_| panic!("{what}: not JSON: {body}"))
}

fn ids_of(events: &[SseEvent], name: &str, session: &str) -> BTreeSet<i64> {
    events
        .iter()
        .filter(|e| e.name == name && e.data["sessionId"] == session)
        .map(|e| {
            e.id.as_deref()
                .and_then(|id| id.parse().ok())
                .unwrap_or_else(|| panic!("a {name} event without an id: {e:?}"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(all(livesessions_test_postgres, livesessions_test_nginx)),
    ignore = "set LIVESESSIONS_TEST_POSTGRES_URL and LIVESESSIONS_TEST_NGINX to run the deployment test"
)]
async fn three_instances_behind_nginx_lose_nothing_when_one_is_killed() {
    let users: usize = std::env::var("LIVESESSIONS_DEPLOY_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(240);
    let watchers = (users / 6).max(4);
    let mut cluster = Cluster::start().await;
    // The receiver is registered before anything happens: every event of the log is for it.
    let receiver = WebhookReceiver::start().await;
    let endpoint = cluster.register(&receiver).await;
    let (lb, client, admin) = (cluster.lb(), cluster.client.clone(), cluster.admin.clone());
    let class = cluster.create("Several instances").await;
    let notes = cluster.create("Notes that keep changing").await;

    // Listeners: two on each instance directly (they reconnect to the same instance), and two
    // through nginx.
    let stop = Arc::new(AtomicBool::new(false));
    let mut listeners = Vec::new();
    let mut tasks = Vec::new();
    for (i, instance) in cluster.instances.iter().enumerate() {
        for k in 0..2 {
            let (listener, task) =
                Listener::spawn(format!("instance {i} #{k}"), instance.base(), stop.clone());
            listeners.push((i, listener));
            tasks.push(task);
        }
    }
    for k in 0..2 {
        let (listener, task) = Listener::spawn(format!("nginx #{k}"), lb.clone(), stop.clone());
        listeners.push((3, listener));
        tasks.push(task);
    }
    eventually("every listener connected", || {
        listeners
            .iter()
            .all(|(_, l)| *l.connections.lock().unwrap() >= 1)
    })
    .await;

    // The admin starts the class through instance 0; listeners on 1 and 2 hear it.
    let started = client
        .put(format!(
            "{}/api/admin/live-sessions/{class}",
            cluster.instances[0].base()
        ))
        .bearer_auth(&admin)
        .json(&json!({"isLive": true}))
        .send()
        .await
        .expect("start");
    json_of(started, "start").await;
    eventually("the start reached the listeners of every instance", || {
        listeners.iter().all(|(_, l)| l.has("live", &class))
    })
    .await;

    // The load: watchers join and keep sending heartbeats; the other users join once, some
    // twice; the admin renames the notes session again and again. Instance 1 is killed in the
    // middle and started again.
    let load_stop = Arc::new(AtomicBool::new(false));
    let joined_at: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let mut load = Vec::new();
    for w in 0..watchers {
        let (client, lb, class) = (client.clone(), lb.clone(), class.clone());
        let (load_stop, joined_at) = (load_stop.clone(), joined_at.clone());
        load.push(tokio::spawn(async move {
            let user = format!("watcher-{w}");
            let token = token(&user, false);
            let reply = until_answered(|| {
                client
                    .post(format!("{lb}/api/live-sessions/join"))
                    .bearer_auth(&token)
                    .json(&json!({"sessionId": class}))
            })
            .await;
            json_of(reply, "a watcher's join").await;
            joined_at.lock().unwrap().insert(user, Instant::now());
            while !load_stop.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_secs(2)).await;
                // A heartbeat lost with the killed instance is covered by the next one.
                let _ = client
                    .post(format!("{lb}/api/live-sessions/{class}/heartbeat"))
                    .bearer_auth(&token)
                    .send()
                    .await;
            }
        }));
    }
    let others = users - watchers;
    let joiners = tokio::spawn({
        let (client, lb, class) = (client.clone(), lb.clone(), class.clone());
        async move {
            let semaphore = Arc::new(tokio::sync::Semaphore::new(32));
            let mut joins = Vec::new();
            // Every fifth user joins twice.
            for n in 0..others + others / 5 {
                let user = format!("user-{}", n % others);
                let permit = semaphore.clone().acquire_owned().await.unwrap();
                let (client, lb, class) = (client.clone(), lb.clone(), class.clone());
                joins.push(tokio::spawn(async move {
                    let token = token(&user, false);
                    let reply = until_answered(|| {
                        client
                            .post(format!("{lb}/api/live-sessions/join"))
                            .bearer_auth(&token)
                            .json(&json!({"sessionId": class}))
                    })
                    .await;
                    json_of(reply, "a join").await;
                    drop(permit);
                }));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            for join in joins {
                join.await.expect("a join panicked");
            }
        }
    });
    let renames = cluster.spawn_renames(vec![notes.clone()], load_stop.clone());

    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.instances[1].kill().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.instances[1].start().await;
    tokio::time::timeout(Duration::from_secs(120), joiners)
        .await
        .expect("the joins finish")
        .expect("the joins panicked");
    tokio::time::sleep(Duration::from_secs(3)).await;
    load_stop.store(true, Ordering::SeqCst);
    renames.await.expect("the renames panicked");
    for task in load {
        task.await.expect("a watcher panicked");
    }

    // The end, through instance 2.
    let ended = client
        .put(format!(
            "{}/api/admin/live-sessions/{class}",
            cluster.instances[2].base()
        ))
        .bearer_auth(&admin)
        .json(&json!({"isLive": false}))
        .send()
        .await
        .expect("end");
    let ended_at = Instant::now();
    json_of(ended, "end").await;
    eventually("the end reached every listener", || {
        listeners.iter().all(|(_, l)| l.has("ended", &class))
    })
    .await;
    // The renames' events may trail the end by a poll interval.
    let notes_now = json_of(
        client
            .get(format!("{lb}/api/live-sessions/{notes}"))
            .send()
            .await
            .expect("get"),
        "get the notes session",
    )
    .await;
    let renamed = notes_now["version"].as_i64().expect("a version") - 1;
    eventually("every rename reached every listener", || {
        listeners
            .iter()
            .all(|(_, l)| ids_of(&l.events(), "updated", &notes).len() as i64 >= renamed)
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    for task in tasks {
        task.await.expect("a listener panicked");
    }

    // Counts exact.
    let distinct = users as u64;
    let session = json_of(
        client
            .get(format!("{lb}/api/live-sessions/{class}"))
            .send()
            .await
            .expect("get"),
        "get the class",
    )
    .await;
    assert_eq!(session["participants"], distinct, "participants");
    let attendance = json_of(
        client
            .get(format!(
                "{lb}/api/admin/live-sessions/{class}/participants?limit=10000"
            ))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("attendance"),
        "attendance",
    )
    .await;
    assert_eq!(attendance["total"], distinct, "participant records");

    // Watch time: each watcher watched from its join to the end.
    let joined_at = joined_at.lock().unwrap().clone();
    let rows = attendance["participants"].as_array().expect("rows");
    for (user, at) in &joined_at {
        let row = rows
            .iter()
            .find(|r| r["userId"] == user.as_str())
            .unwrap_or_else(|| panic!("{user} has no attendance row"));
        let expected = ended_at.duration_since(*at).as_secs_f64();
        let watched = row["watchSeconds"].as_f64().expect("watchSeconds");
        assert!(
            (watched - expected).abs() <= 5.0,
            "{user} watched {watched} s, expected {expected:.1} s"
        );
    }

    // Every event, by id, for every listener: the same as a listener never cut off (one on
    // instance 0), and no reset.
    let reference = &listeners[0].1.events();
    let expected_updates = ids_of(reference, "updated", &notes);
    assert_eq!(
        expected_updates.len() as i64,
        renamed,
        "one updated event per rename"
    );
    let expected_live = ids_of(reference, "live", &class);
    let expected_end = ids_of(reference, "ended", &class);
    for (instance, listener) in &listeners {
        let events = listener.events();
        let name = &listener.name;
        assert!(
            events.iter().all(|e| e.name != "reset"),
            "{name} was told to reset"
        );
        assert_eq!(
            ids_of(&events, "updated", &notes),
            expected_updates,
            "{name}: updated events"
        );
        assert_eq!(
            ids_of(&events, "live", &class),
            expected_live,
            "{name}: live"
        );
        assert_eq!(
            ids_of(&events, "ended", &class),
            expected_end,
            "{name}: ended"
        );
        let last_end = events
            .iter()
            .rev()
            .find(|e| e.name == "ended" && e.data["sessionId"] == class.as_str())
            .expect("the ended event");
        assert_eq!(
            last_end.data["participants"], distinct,
            "{name}: the count at the end"
        );
        if *instance == 1 {
            assert!(
                *listener.connections.lock().unwrap() >= 2,
                "{name} was connected to the killed instance and must have reconnected"
            );
        }
        let mut lifecycle_ids: Vec<&str> = events
            .iter()
            .filter(|e| e.name != "participants")
            .filter_map(|e| e.id.as_deref())
            .collect();
        let all = lifecycle_ids.len();
        lifecycle_ids.sort_unstable();
        lifecycle_ids.dedup();
        assert_eq!(lifecycle_ids.len(), all, "{name} received an event twice");
    }

    // Webhooks: every subscribed event of the log arrived, by `webhook-id`, whichever instance
    // sent it and although one was killed meanwhile. The log agrees with the listener never
    // cut off: it saw every one of them, except perhaps the two creations (its stream opened
    // just after them: whether it carries them depends on how far its instance had read the
    // log).
    let expected = cluster.logged().await;
    delivered_all(&receiver, &expected, delivery_stall(Duration::ZERO)).await;
    let after_end = ended_at.elapsed();
    let (notes_webhooks, notes_span) = receiver.session_span(&notes);
    let seen: BTreeMap<i64, (String, String)> = reference
        .iter()
        .filter(|e| e.name != "participants")
        .filter_map(|e| {
            let id = e.id.as_deref()?.parse().ok()?;
            let session = e.data["sessionId"].as_str()?.to_owned();
            Some((id, (format!("session.{}", e.name), session)))
        })
        .collect();
    for (id, event) in &seen {
        assert_eq!(
            expected.get(id),
            Some(event),
            "event {id}: the log and a listener"
        );
    }
    let unseen: Vec<&str> = expected
        .iter()
        .filter(|(id, _)| !seen.contains_key(id))
        .map(|(_, (kind, _))| kind.as_str())
        .collect();
    assert!(
        unseen.iter().all(|kind| *kind == "session.created"),
        "the log's events the listener never cut off did not see: {unseen:?}"
    );
    let received = check_webhooks(&cluster, &receiver, &endpoint, &expected).await;

    let reconnects: u32 = listeners
        .iter()
        .map(|(_, l)| *l.connections.lock().unwrap() - 1)
        .sum();
    eprintln!(
        "deployment: {users} users ({watchers} watching), participants {distinct}, {renamed} \
         renames; each of {} listeners received {} updated events, live and ended, no reset; \
         {reconnects} reconnects with Last-Event-ID; webhooks: {} events, every one received \
         and verified ({received} deliveries, {} duplicates), in order per session, the last \
         {:.1} s after the end; the renamed session's {notes_webhooks} came over {:.1} s",
        listeners.len(),
        expected_updates.len(),
        expected.len(),
        received - expected.len(),
        after_end.as_secs_f64(),
        notes_span.as_secs_f64(),
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(all(livesessions_test_postgres, livesessions_test_nginx)),
    ignore = "set LIVESESSIONS_TEST_POSTGRES_URL and LIVESESSIONS_TEST_NGINX to run the deployment test"
)]
async fn a_webhook_receiver_that_was_down_gets_everything_in_order_when_it_returns() {
    let down = Duration::from_secs(
        std::env::var("LIVESESSIONS_DEPLOY_RECEIVER_DOWN_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10),
    );
    let cluster = Cluster::start().await;
    let mut receiver = WebhookReceiver::start().await;
    let endpoint = cluster.register(&receiver).await;
    let (lb, client, admin) = (cluster.lb(), cluster.client.clone(), cluster.admin.clone());
    // Three sessions renamed in turn all along; a fourth started and ended while the receiver
    // is down, and deleted after it returns.
    let mut renamed = Vec::new();
    for k in 0..3 {
        renamed.push(cluster.create(&format!("Renamed in turn, {k}")).await);
    }
    let class = cluster.create("Started, ended, deleted").await;
    let changes_stop = Arc::new(AtomicBool::new(false));
    let changes = cluster.spawn_renames(renamed, changes_stop.clone());
    let change = |session: &str, body: Value| {
        let request = client
            .put(format!("{lb}/api/admin/live-sessions/{session}"))
            .bearer_auth(&admin)
            .json(&body);
        async move { json_of(request.send().await.expect("a change"), "a change").await }
    };

    eventually("the receiver got webhooks while it was up", || {
        receiver.assert_none_refused();
        !receiver.received().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    receiver.stop().await;
    let received_before = receiver.received().len();
    let down_at = Instant::now();
    change(&class, json!({"isLive": true})).await;
    tokio::time::sleep(down / 2).await;
    change(&class, json!({"isLive": false})).await;
    tokio::time::sleep(down.saturating_sub(down_at.elapsed())).await;

    // The fault happened: deliveries were attempted meanwhile, and refused.
    let listed = cluster.deliveries(&endpoint).await;
    let pending: Vec<&Value> = listed.iter().filter(|d| d["state"] == "pending").collect();
    let refused = pending
        .iter()
        .filter(|d| d["attempts"].as_u64() >= Some(1) && !d["error"].is_null())
        .count();
    assert!(
        refused >= 1,
        "no delivery was attempted and refused while the receiver was down: {pending:?}"
    );
    let most_attempts = pending
        .iter()
        .filter_map(|d| d["attempts"].as_u64())
        .max()
        .unwrap_or(0);
    assert_eq!(
        receiver.received().len(),
        received_before,
        "deliveries came while the receiver was down"
    );

    receiver.restart().await;
    let up_at = Instant::now();
    let deleted = client
        .delete(format!("{lb}/api/admin/live-sessions/{class}"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("delete");
    assert!(
        deleted.status().is_success(),
        "delete: {}",
        deleted.status()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    changes_stop.store(true, Ordering::SeqCst);
    let renames = changes.await.expect("the renames panicked");

    let expected = cluster.logged().await;
    let kinds: Vec<&str> = expected
        .values()
        .filter(|(_, session)| *session == class)
        .map(|(kind, _)| kind.as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "session.created",
            "session.live",
            "session.ended",
            "session.deleted"
        ],
        "the class's events in the log"
    );
    delivered_all(&receiver, &expected, delivery_stall(down)).await;
    let caught_up = up_at.elapsed();
    let received = check_webhooks(&cluster, &receiver, &endpoint, &expected).await;
    eprintln!(
        "deployment, receiver down {} s: {renames} renames of 3 sessions and a fourth started, \
         ended and deleted; at its return {} deliveries pending, {refused} of them refused \
         (most attempts: {most_attempts}); all {} events received and verified \
         {:.1} s after it returned ({received} deliveries, {} duplicates), in order per session",
        down.as_secs(),
        pending.len(),
        expected.len(),
        caught_up.as_secs_f64(),
        received - expected.len(),
    );
    cluster.stop().await;
}
