//! The deployment as users run it: three example-server processes on one PostgreSQL database
//! behind nginx (its config written by this test), tried under a mixed load of joins and
//! heartbeats while an admin keeps changing sessions through whichever instance nginx picks.
//!
//! Checked, on a fresh database dropped afterwards:
//! - an admin's start through one instance reaches event-stream clients on the other two;
//! - one instance killed with SIGKILL in the middle of the load and started again loses nothing:
//!   the participant count equals the number of distinct users that joined, every watcher's
//!   watch time is within a few seconds of the time it watched, and every client that
//!   reconnects with `Last-Event-ID` (to the restarted instance, or through nginx) receives
//!   every event it missed: the same `updated`, `live` and `ended` events, by id, as a client
//!   that was never cut off, and no `reset`.
//!
//! Needs PostgreSQL (`LIVESESSIONS_TEST_POSTGRES_URL`) and nginx (`LIVESESSIONS_TEST_NGINX`,
//! the binary; `.ci/run` installs Debian's package and sets it); without them, when the package
//! was built, the test is ignored, except in CI (`CI=true`), where a missing one fails it.
//! `LIVESESSIONS_DEPLOY_USERS` (default 240) sets the number of distinct users of the load.
#![cfg(unix)]
#![allow(missing_docs)]

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::sse::{SseEvent, SseReader};
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
    let lb = nginx.base();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .timeout(STEP)
        .build()
        .unwrap();
    let admin = token("admin", true);

    let create = |title: &str| {
        let client = client.clone();
        let (lb, admin) = (lb.clone(), admin.clone());
        let body = json!({
            "title": title,
            "instructor": "Ferris",
            "videoUrl": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "startTime": "2031-01-01T10:00:00Z",
        });
        async move {
            let reply = client
                .post(format!("{lb}/api/admin/live-sessions"))
                .bearer_auth(&admin)
                .json(&body)
                .send()
                .await
                .expect("create");
            json_of(reply, "create").await["id"]
                .as_str()
                .expect("an id")
                .to_owned()
        }
    };
    let class = create("Several instances").await;
    let notes = create("Notes that keep changing").await;

    // Listeners: two on each instance directly (they reconnect to the same instance), and two
    // through nginx.
    let stop = Arc::new(AtomicBool::new(false));
    let mut listeners = Vec::new();
    let mut tasks = Vec::new();
    for (i, instance) in instances.iter().enumerate() {
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
            instances[0].base()
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
    let renames = tokio::spawn({
        let (client, lb, notes, admin) = (client.clone(), lb.clone(), notes.clone(), admin.clone());
        let load_stop = load_stop.clone();
        async move {
            let mut n = 0;
            while !load_stop.load(Ordering::SeqCst) {
                n += 1;
                let reply = until_answered(|| {
                    client
                        .put(format!("{lb}/api/admin/live-sessions/{notes}"))
                        .bearer_auth(&admin)
                        .json(&json!({"title": format!("Notes, version {n}")}))
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
        }
    });

    tokio::time::sleep(Duration::from_secs(3)).await;
    instances[1].kill().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    instances[1].start().await;
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
            instances[2].base()
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

    let reconnects: u32 = listeners
        .iter()
        .map(|(_, l)| *l.connections.lock().unwrap() - 1)
        .sum();
    eprintln!(
        "deployment: {users} users ({watchers} watching), participants {distinct}, {renamed} \
         renames; each of {} listeners received {} updated events, live and ended, no reset; \
         {reconnects} reconnects with Last-Event-ID",
        listeners.len(),
        expected_updates.len(),
    );

    drop(nginx);
    for instance in &mut instances {
        if instance.child.is_some() {
            instance.kill().await;
        }
    }
    database.drop_now().await;
}
