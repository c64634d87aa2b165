//! Database faults under load: the example server's app, on a database of its own,
//! under a steady join/heartbeat load over HTTP while
//!
//! 1. every PostgreSQL connection of that database is killed with `pg_terminate_backend`,
//!    several times;
//! 2. the PostgreSQL cluster that serves the URL's port (found with `pg_lsclusters`) is stopped
//!    for `LIVESESSIONS_FAULT_OUTAGE_SECS` seconds (default 10) with `pg_ctlcluster … stop -m
//!    fast` and started again;
//! 3. on `mongodb://`, a SecantusDB server the test starts itself (on a free port, its data in a
//!    directory on disk) is stopped with SIGTERM (`LIVESESSIONS_FAULT_MONGODB_SIGNAL=KILL` for a
//!    crash) for the same time and started again on the same data.
//!
//! Each request's status and latency are recorded. Every failure must be `503` with
//! `Retry-After`, no request may wait much longer than the store's fail-fast timeout (2 s: the
//! PostgreSQL pool's acquire timeout, MongoDB's server selection; the bound is generous, it
//! catches hangs, it measures no speed), requests must succeed again within 5 s of the database
//! answering (same server, no restart), and afterwards every session's count must equal its
//! participant records, with no record without its session. The outage itself must be seen: once
//! the database is stopped a fresh connection must fail, and the server must have answered `503`
//! with `Retry-After` at least once while it was down. On MongoDB every join that answered 200
//! must still have its record, and the store's `reconcile_participant_counts` must find nothing
//! to correct.
//!
//! The PostgreSQL outage stops a cluster, so it runs only against
//! `LIVESESSIONS_TEST_FAULT_POSTGRES_URL`, a cluster kept for it (`scripts/fault-cluster.sh start`
//! creates one on port 5433 and prints the URL); without that variable it is ignored. It needs
//! `pg_ctlcluster` and root. The backend-killing case runs on that URL too, else on
//! `LIVESESSIONS_TEST_POSTGRES_URL`, and is ignored without either. The MongoDB case runs when
//! `LIVESESSIONS_TEST_MONGODB_URI` is set and SecantusDB is installed in `.venv-secantus`
//! (`scripts/secantus.sh install`); `LIVESESSIONS_FAULT_MONGODB_OPTIONS` appends URI options
//! (`&serverSelectionTimeoutMS=2000`, say). All of this is decided when the package is built;
//! in CI (`CI=true`) every case runs and a missing piece fails it. The cases never overlap (one
//! lock), and drop guards start the cluster again and kill the SecantusDB process even when an
//! assertion fails.
#![allow(missing_docs)]

mod common;

#[path = "../examples/server/app.rs"]
#[allow(dead_code)]
mod app;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use livesessions_mongo::mongodb::bson::{doc, Bson, Document};
use livesessions_mongo::mongodb::{Client as MongoClient, Database as MongoDatabase};
use livesessions_mongo::MongoStore;
use livesessions_sql::sqlx::{self, Connection, PgConnection};
use serde_json::json;

const SECRET: &str = "reliability-fault-secret-0123456789abcdef";
/// The example server's PostgreSQL pool waits this long for a connection (PostgresStore::connect);
/// a store on MongoDB should give up selecting a server as soon.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// Slack over the acquire timeout before a request counts as hung: connecting, one query that
/// was already running, scheduling on a shared 2-core machine. Generous on purpose.
const HANG_MARGIN: Duration = Duration::from_secs(3);
/// How soon after the database answers again requests must succeed.
const RECOVERY: Duration = Duration::from_secs(5);
/// Load tasks.
const WORKERS: usize = 4;
/// Distinct users per worker (joins repeat, so counts see both first joins and rejoins).
const USERS_PER_WORKER: usize = 40;

fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// The cluster the outage case may stop.
const FAULT_URL_VARIABLE: &str = "LIVESESSIONS_TEST_FAULT_POSTGRES_URL";
const URL_VARIABLE: &str = "LIVESESSIONS_TEST_POSTGRES_URL";

/// The two cases share the load pattern and must not overlap: one would see the other's outage.
static ONE_CASE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The URL of the first of `variables` that is set. The test only runs when the build saw one
/// set or in CI, so its absence now is a failure.
fn url_from(variables: &[&str]) -> String {
    variables
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|url| !url.is_empty()))
        .unwrap_or_else(|| {
            panic!(
                "{} is not set{}",
                variables.join(" or "),
                if in_ci() { " (required in CI)" } else { "" }
            )
        })
}

/// `url` with its database replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("a postgres URL");
    parsed.set_path(&format!("/{database}"));
    parsed.to_string()
}

fn token(sub: &str, admin: bool) -> String {
    common::token(SECRET, sub, admin)
}

/// One request of the load: when it started, how long it took, how it ended.
#[derive(Debug, Clone)]
struct Sample {
    started: Instant,
    elapsed: Duration,
    /// HTTP status, or 0 when the client got no answer.
    status: u16,
    retry_after: bool,
    what: &'static str,
    /// Which worker, user and session the request was for.
    who: (usize, usize, usize),
}

/// A PostgreSQL cluster of this machine, as `pg_lsclusters` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cluster {
    version: String,
    name: String,
    port: u16,
}

impl std::fmt::Display for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} (port {})", self.version, self.name, self.port)
    }
}

/// The clusters of `pg_lsclusters -h` output (`version name port status owner datadir log`).
fn parse_clusters(listing: &str) -> Vec<Cluster> {
    listing
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let version = fields.next()?.to_owned();
            let name = fields.next()?.to_owned();
            let port = fields.next()?.parse().ok()?;
            Some(Cluster {
                version,
                name,
                port,
            })
        })
        .collect()
}

impl Cluster {
    /// The cluster of this machine that serves `url`'s port, when this process may stop it.
    fn serving(url: &str) -> Result<Cluster, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
        let host = parsed.host_str().unwrap_or("localhost");
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Err(format!(
                "{host} is not this machine: only a local cluster can be stopped"
            ));
        }
        let port = parsed.port().unwrap_or(5432);
        let which = Command::new("sh")
            .args(["-c", "command -v pg_ctlcluster"])
            .output()
            .map_err(|e| e.to_string())?;
        if !which.status.success() {
            return Err("pg_ctlcluster is not installed".into());
        }
        let uid = Command::new("id")
            .arg("-u")
            .output()
            .map_err(|e| e.to_string())?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return Err("stopping PostgreSQL needs root".into());
        }
        let listing = Command::new("pg_lsclusters")
            .arg("-h")
            .output()
            .map_err(|e| format!("pg_lsclusters: {e}"))?;
        parse_clusters(&String::from_utf8_lossy(&listing.stdout))
            .into_iter()
            .find(|cluster| cluster.port == port)
            .ok_or_else(|| format!("pg_lsclusters lists no cluster on port {port}"))
    }

    fn ctl(&self, action: &str) -> bool {
        let mut command = Command::new("pg_ctlcluster");
        command.args([
            "--skip-systemctl-redirect",
            &self.version,
            &self.name,
            action,
        ]);
        if action == "stop" {
            command.args(["-m", "fast"]);
        }
        command.status().map(|s| s.success()).unwrap_or(false)
    }
}

/// Starts the cluster again when dropped, so a failing assertion never leaves it stopped.
struct Restart(Cluster);

impl Drop for Restart {
    fn drop(&mut self) {
        let _ = self.0.ctl("start");
        let port = self.0.port.to_string();
        for _ in 0..60 {
            let ready = Command::new("pg_isready")
                .args(["-h", "127.0.0.1", "-p", &port, "-q"])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ready {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

/// Waits until a fresh connection to `url` succeeds; returns when it did.
async fn wait_until_accepting(url: &str) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(mut conn) = PgConnection::connect(url).await {
            if sqlx::query("SELECT 1").execute(&mut conn).await.is_ok() {
                let _ = conn.close().await;
                return Instant::now();
            }
        }
        assert!(
            Instant::now() < deadline,
            "PostgreSQL did not come back within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A database of its own for one case, dropped afterwards.
struct FreshDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl FreshDatabase {
    async fn create(admin_url: &str) -> FreshDatabase {
        let admin_url = admin_url.to_owned();
        let name = format!("ls_fault_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url}: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let _ = conn.close().await;
        let url = with_database(&admin_url, &name);
        FreshDatabase {
            admin_url,
            name,
            url,
        }
    }

    async fn drop_it(&self) {
        if let Ok(mut conn) = PgConnection::connect(&self.admin_url).await {
            let _ = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn)
            .await;
            let _ = conn.close().await;
        }
    }
}

/// The example server on `database_url`, serving on a loopback port; returns its base URL.
async fn start_server(database_url: &str, thumbnails: &std::path::Path) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = app::ServerConfig {
        bind: addr,
        database_url: database_url.to_owned(),
        jwt_secret: Some(SECRET.into()),
        firebase_project: None,
        admin_emails: Vec::new(),
        thumbnail_dir: Some(thumbnails.to_owned()),
        dev: false,
        no_rate_limits: true,
        time_zone: Default::default(),
        metrics_token: None,
        no_metrics: false,
        webhook_allow_private_targets: false,
        webhook_allow_http: false,
        public_base_url: None,
    };
    let built = app::build(&config).await.expect("the server starts");
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            built
                .router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    format!("http://{addr}")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        // A client-side guard only: the assertions use the measured latencies.
        .timeout(Duration::from_secs(40))
        .build()
        .unwrap()
}

async fn create_live_session(client: &reqwest::Client, base: &str, title: &str) -> String {
    let body = common::create_session(
        client,
        base,
        &token("admin", true),
        &json!({
            "title": title, "instructor": "Ferris",
            "videoUrl": "https://youtu.be/dQw4w9WgXcQ",
            "startTime": "2025-01-15T10:00:00Z", "isLive": true,
        }),
    )
    .await;
    body["id"].as_str().unwrap().to_owned()
}

/// Steady load until `stop`: each worker joins its users in turn (rejoining after the first
/// round) and sends a heartbeat for a user whose join succeeded. Bounded by `stop` and by a
/// hard cap on requests.
fn start_load(
    base: &str,
    sessions: &[String],
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..WORKERS)
        .map(|worker| {
            let (base, sessions) = (base.to_owned(), sessions.to_vec());
            let (stop, samples) = (stop.clone(), samples.clone());
            tokio::spawn(async move {
                let client = client();
                let tokens: Vec<String> = (0..USERS_PER_WORKER)
                    .map(|u| token(&format!("w{worker}-u{u}"), false))
                    .collect();
                let mut joined: Vec<(usize, usize)> = Vec::new();
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) && n < 200_000 {
                    let (what, user, session, request) = if n.is_multiple_of(2) || joined.is_empty()
                    {
                        let user = (n / 2) % USERS_PER_WORKER;
                        let session = (n / 2 / USERS_PER_WORKER + worker) % sessions.len();
                        let request = client
                            .post(format!("{base}/api/live-sessions/join"))
                            .json(&json!({ "sessionId": sessions[session] }));
                        ("join", user, session, request)
                    } else {
                        let (user, session) = joined[n % joined.len()];
                        let request = client.post(format!(
                            "{base}/api/live-sessions/{}/heartbeat",
                            sessions[session]
                        ));
                        ("heartbeat", user, session, request)
                    };
                    let started = Instant::now();
                    let reply = request.bearer_auth(&tokens[user]).send().await;
                    let elapsed = started.elapsed();
                    let (status, retry_after) = match &reply {
                        Ok(r) => (r.status().as_u16(), r.headers().contains_key("retry-after")),
                        Err(_) => (0, false),
                    };
                    if what == "join" && status == 200 && !joined.contains(&(user, session)) {
                        joined.push((user, session));
                    }
                    samples.lock().unwrap().push(Sample {
                        started,
                        elapsed,
                        status,
                        retry_after,
                        what,
                        who: (worker, user, session),
                    });
                    n += 1;
                    // A steady pace rather than a flood: the point is behaviour, not throughput.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        })
        .collect()
}

/// Three live sessions and the load on them, running.
struct Load {
    sessions: Vec<String>,
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// Creates the sessions on `base`, starts the load and lets it run for 2 s.
    async fn start(base: &str) -> Load {
        let client = client();
        let mut sessions = Vec::new();
        for i in 0..3 {
            sessions.push(create_live_session(&client, base, &format!("Fault {i}")).await);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let workers = start_load(base, &sessions, stop.clone(), samples.clone());
        tokio::time::sleep(Duration::from_secs(2)).await;
        Load {
            sessions,
            stop,
            samples,
            workers,
        }
    }

    /// Stops the load; returns the sessions and every request's sample.
    async fn finish(self) -> (Vec<String>, Vec<Sample>) {
        self.stop.store(true, Ordering::Relaxed);
        for worker in self.workers {
            worker.await.unwrap();
        }
        let samples = self.samples.lock().unwrap().clone();
        (self.sessions, samples)
    }
}

/// Checks the samples of one case; `back` is when PostgreSQL accepted connections again, and
/// `outage`, when the database was stopped, from when it was stopped to when it was being
/// started again.
fn check_samples(
    case: &str,
    samples: &[Sample],
    back: Instant,
    outage: Option<(Instant, Instant)>,
) {
    // The figures first, all of them, then the assertions.
    let failures: Vec<&Sample> = samples.iter().filter(|s| s.status != 200).collect();
    let slowest = samples.iter().map(|s| s.elapsed).max().unwrap_or_default();
    println!(
        "{case}: {} requests ({} joins, {} heartbeats), {} failed (all must be 503), \
         slowest {:?}",
        samples.len(),
        samples.iter().filter(|s| s.what == "join").count(),
        samples.iter().filter(|s| s.what == "heartbeat").count(),
        failures.len(),
        slowest
    );
    let mut kinds = std::collections::BTreeMap::new();
    for failure in &failures {
        *kinds
            .entry((failure.what, failure.status, failure.retry_after))
            .or_insert(0usize) += 1;
    }
    for ((what, status, retry_after), n) in kinds {
        println!("{case}:   {n} × {what} answered {status} (Retry-After: {retry_after})");
    }
    let during_outage = outage.map(|(stopped, restarting)| {
        // Answered while it was down (also requests already in flight when it stopped).
        let during: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.started + s.elapsed >= stopped && s.started + s.elapsed < restarting)
            .collect();
        let answered_503 = during
            .iter()
            .filter(|s| s.status == 503 && s.retry_after)
            .count();
        println!(
            "{case}: {} requests answered while the database was down ({:?}), {answered_503} \
             of them 503 with Retry-After",
            during.len(),
            restarting.saturating_duration_since(stopped)
        );
        (during.len(), answered_503)
    });
    let first_success = samples
        .iter()
        .filter(|s| s.status == 200 && s.started + s.elapsed >= back)
        .map(|s| s.started + s.elapsed)
        .min();
    let recovered_after = first_success.map(|t| t.saturating_duration_since(back));
    println!("{case}: first success {recovered_after:?} after the database answered again");
    let late_failures = samples
        .iter()
        .filter(|s| s.started >= back + RECOVERY && s.status != 200)
        .count();

    for failure in &failures {
        assert!(
            failure.status == 503 && failure.retry_after,
            "{case}: a {} failed with {} (retry-after: {}) instead of 503 with Retry-After",
            failure.what,
            failure.status,
            failure.retry_after
        );
    }
    if let Some((answered, answered_503)) = during_outage {
        assert!(
            answered_503 > 0,
            "{case}: no request answered 503 with Retry-After while the database was down \
             ({answered} answered then): the outage was not observed"
        );
    }
    assert!(
        slowest <= ACQUIRE_TIMEOUT + HANG_MARGIN,
        "{case}: a request waited {slowest:?}, past the store's fail-fast timeout \
         ({ACQUIRE_TIMEOUT:?}) and the margin ({HANG_MARGIN:?})"
    );
    let recovered_after = recovered_after
        .unwrap_or_else(|| panic!("{case}: no request succeeded after the database came back"));
    assert!(
        recovered_after <= RECOVERY,
        "{case}: requests succeeded again only {recovered_after:?} after the database came back"
    );
    assert_eq!(
        late_failures, 0,
        "{case}: requests still failed more than {RECOVERY:?} after the database came back"
    );
}

/// No half-written state: every session's count equals its participant records (and the API
/// says the same), no participant or count shard without its session.
async fn check_consistency(case: &str, database: &FreshDatabase, base: &str, sessions: &[String]) {
    let mut conn = PgConnection::connect(&database.url).await.unwrap();
    let rows: Vec<(uuid::Uuid, i64, i64)> = sqlx::query_as(
        "SELECT s.id, \
                (SELECT count(*) FROM session_participants p WHERE p.session_id = s.id), \
                (SELECT coalesce(sum(c.count), 0)::bigint FROM session_participant_counts c \
                   WHERE c.session_id = s.id) \
         FROM live_sessions s",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(rows.len(), sessions.len(), "{case}: sessions");
    let client = client();
    let mut records = 0;
    for (id, participants, counted) in &rows {
        assert_eq!(participants, counted, "{case}: session {id}");
        let session = common::get_json(&client, &format!("{base}/api/live-sessions/{id}")).await;
        assert_eq!(
            session["participants"].as_i64(),
            Some(*participants),
            "{case}"
        );
        records += participants;
    }
    let (orphans, orphan_counts, bad_rows): (i64, i64, i64) = sqlx::query_as(
        "SELECT \
           (SELECT count(*) FROM session_participants p \
              WHERE NOT EXISTS (SELECT 1 FROM live_sessions s WHERE s.id = p.session_id)), \
           (SELECT count(*) FROM session_participant_counts c \
              WHERE NOT EXISTS (SELECT 1 FROM live_sessions s WHERE s.id = c.session_id)), \
           (SELECT count(*) FROM session_participants \
              WHERE join_count < 1 OR watch_seconds < 0 OR last_seen < first_joined_at)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let _ = conn.close().await;
    assert_eq!(
        (orphans, orphan_counts, bad_rows),
        (0, 0, 0),
        "{case}: half-written state"
    );
    println!(
        "{case}: {records} participant records over {} sessions, every count exact",
        rows.len()
    );
    assert!(records > 0, "{case}: the load joined no one");
}

enum Fault {
    TerminateBackends,
    StopCluster(Cluster, Duration),
}

/// Drops the case's database when dropped, also after a failed assertion (on a thread of its
/// own: `Drop` cannot await).
struct DropDatabase {
    admin_url: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let database = FreshDatabase {
            admin_url: self.admin_url.clone(),
            name: self.name.clone(),
            url: String::new(),
        };
        let _ = std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                runtime.block_on(database.drop_it());
            }
        })
        .join();
    }
}

/// One case: fresh database, server, load, the fault, recovery, checks.
async fn run_case(case: &str, admin_url: &str, fault: Fault) {
    let _alone = ONE_CASE_AT_A_TIME.lock().await;
    let database = FreshDatabase::create(admin_url).await;
    let _drop_database = DropDatabase {
        admin_url: database.admin_url.clone(),
        name: database.name.clone(),
    };
    let thumbnails = tempfile::tempdir().unwrap();
    let base = start_server(&database.url, thumbnails.path()).await;
    let load = Load::start(&base).await;

    let (back, stopped) = match fault {
        Fault::TerminateBackends => {
            let mut admin = PgConnection::connect(&database.admin_url).await.unwrap();
            let mut killed = 0i64;
            for _ in 0..5 {
                let (n,): (i64,) = sqlx::query_as(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                     WHERE datname = $1 AND pid <> pg_backend_pid()",
                )
                .bind(&database.name)
                .fetch_one(&mut admin)
                .await
                .unwrap();
                killed += n;
                tokio::time::sleep(Duration::from_millis(700)).await;
            }
            let _ = admin.close().await;
            println!("{case}: terminated {killed} backends in 5 rounds");
            assert!(killed > 0, "{case}: no backend was terminated");
            // The database itself never stopped accepting connections.
            (Instant::now(), None)
        }
        Fault::StopCluster(cluster, outage) => {
            let guard = Restart(cluster.clone());
            assert!(
                cluster.ctl("stop"),
                "{case}: pg_ctlcluster stop {cluster} failed"
            );
            let stopped = Instant::now();
            println!("{case}: PostgreSQL {cluster} stopped for {outage:?}");
            assert!(
                PgConnection::connect(&database.url).await.is_err(),
                "{case}: {cluster} is stopped but {} still accepts connections: the stopped \
                 cluster is not the one behind the URL",
                database.url
            );
            tokio::time::sleep(outage).await;
            let restarting = Instant::now();
            // Starts it again and waits for pg_isready (blocking: off the async workers).
            tokio::task::block_in_place(|| drop(guard));
            (
                wait_until_accepting(&database.url).await,
                Some((stopped, restarting)),
            )
        }
    };
    // Load goes on after the fault for longer than the recovery bound.
    tokio::time::sleep(RECOVERY + Duration::from_secs(3)).await;
    let (sessions, samples) = load.finish().await;
    check_samples(case, &samples, back, stopped);
    check_consistency(case, &database, &base, &sessions).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(any(livesessions_test_postgres, livesessions_test_fault_postgres)),
    ignore = "set LIVESESSIONS_TEST_POSTGRES_URL or LIVESESSIONS_TEST_FAULT_POSTGRES_URL when building"
)]
async fn postgres_connections_killed_under_load_fail_fast_and_recover() {
    let url = url_from(&[FAULT_URL_VARIABLE, URL_VARIABLE]);
    run_case("pg_terminate_backend", &url, Fault::TerminateBackends).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(livesessions_test_fault_postgres),
    ignore = "stops a PostgreSQL cluster: set LIVESESSIONS_TEST_FAULT_POSTGRES_URL to one kept \
              for it (scripts/fault-cluster.sh start) when building"
)]
async fn postgres_outage_under_load_fails_fast_and_recovers() {
    let url = url_from(&[FAULT_URL_VARIABLE]);
    let outage = std::env::var("LIVESESSIONS_FAULT_OUTAGE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(10));
    let cluster = Cluster::serving(&url)
        .unwrap_or_else(|reason| panic!("cannot stop the cluster behind {url}: {reason}"));
    run_case(
        "postgres stopped",
        &url,
        Fault::StopCluster(cluster, outage),
    )
    .await;
}

#[test]
fn clusters_are_read_from_pg_lsclusters() {
    let listing = "15 livesessions_fault 5433 online postgres /var/lib/postgresql/15/livesessions_fault /var/log/postgresql/postgresql-15-livesessions_fault.log\n\
                   15 main               5432 down   postgres /var/lib/postgresql/15/main               /var/log/postgresql/postgresql-15-main.log\n";
    assert_eq!(
        parse_clusters(listing),
        vec![
            Cluster {
                version: "15".into(),
                name: "livesessions_fault".into(),
                port: 5433
            },
            Cluster {
                version: "15".into(),
                name: "main".into(),
                port: 5432
            },
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// MongoDB: a SecantusDB server of the test's own, on a storage directory on disk, killed under
// load and started again on the same directory.

/// A SecantusDB process of the test's own; killed (SIGKILL) when dropped.
struct Secantus {
    program: std::path::PathBuf,
    port: u16,
    storage: std::path::PathBuf,
    log: std::path::PathBuf,
    child: Option<std::process::Child>,
}

impl Secantus {
    /// `secantusd-py` of `$SECANTUS_VENV` or of the project's `.venv-secantus`.
    fn program() -> std::path::PathBuf {
        let venv = std::env::var("SECANTUS_VENV")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-secantus")
            });
        let program = venv.join("bin/secantusd-py");
        assert!(
            program.exists(),
            "{} is missing: run scripts/secantus.sh install",
            program.display()
        );
        program
    }

    /// A server on a free loopback port, its data in `dir`; not started yet.
    fn new(dir: &std::path::Path) -> Secantus {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let storage = dir.join("data");
        std::fs::create_dir_all(&storage).unwrap();
        Secantus {
            program: Secantus::program(),
            port,
            storage,
            log: dir.join("secantusd.log"),
            child: None,
        }
    }

    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(&self.program)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--storage-path")
            .arg(&self.storage)
            .args(["--log-level", "WARNING"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.program.display()));
        self.child = Some(child);
    }

    /// Stops the process with `signal` (`KILL` or `TERM`) and waits until it has exited.
    fn stop(&mut self, signal: &str) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args([&format!("-{signal}"), &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("secantusd-py did not exit within 30 s of SIG{signal}");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// A URI of this server for `database`, with `options` appended.
    fn uri(&self, database: &str, options: &str) -> String {
        format!(
            "mongodb://127.0.0.1:{}/{database}?directConnection=true{options}",
            self.port
        )
    }

    /// Waits until the server answers `ping`; returns when it did.
    async fn wait_until_answering(&mut self) -> Instant {
        let deadline = Instant::now() + Duration::from_secs(60);
        let uri = self.uri(
            "admin",
            "&serverSelectionTimeoutMS=300&connectTimeoutMS=300",
        );
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "secantusd-py exited ({status}); its log:\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            if let Ok(client) = MongoClient::with_uri_str(&uri).await {
                let answered = client
                    .database("admin")
                    .run_command(doc! { "ping": 1 })
                    .await
                    .is_ok();
                client.shutdown().await;
                if answered {
                    return Instant::now();
                }
            }
            assert!(
                Instant::now() < deadline,
                "secantusd-py did not answer within 60 s; its log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Secantus {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Reads a BSON count stored as an int or a long.
fn count_of(value: Option<&Bson>) -> Option<i64> {
    match value? {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        _ => None,
    }
}

/// No half-written state on MongoDB: every session's stored count (its document's
/// `participants` plus its count shards) equals its participant documents (and the API says the same), every acknowledged join has its document, no
/// participant lacks its session, and the store's reconciliation finds nothing to correct.
async fn check_mongo_consistency(
    case: &str,
    database: &MongoDatabase,
    base: &str,
    sessions: &[String],
    samples: &[Sample],
) {
    let sessions_collection =
        database.collection::<Document>(livesessions_mongo::documents::SESSIONS);
    let participants = database.collection::<Document>(livesessions_mongo::documents::PARTICIPANTS);
    let shards = database.collection::<Document>(livesessions_mongo::documents::PARTICIPANT_COUNTS);
    let mut cursor = sessions_collection.find(doc! {}).await.unwrap();
    let mut stored = Vec::new();
    while cursor.advance().await.unwrap() {
        stored.push(cursor.deserialize_current().unwrap());
    }
    assert_eq!(stored.len(), sessions.len(), "{case}: sessions");
    let client = client();
    let mut records = 0;
    let mut ids = Vec::new();
    for session in &stored {
        let id = session.get("_id").cloned().unwrap();
        let mut counted = count_of(session.get("participants"));
        let mut session_shards = shards.find(doc! { "sessionId": id.clone() }).await.unwrap();
        while session_shards.advance().await.unwrap() {
            let shard = session_shards.deserialize_current().unwrap();
            counted = counted.map(|n| n + count_of(shard.get("count")).unwrap_or(0));
        }
        let documents = participants
            .count_documents(doc! { "sessionId": id.clone() })
            .await
            .unwrap() as i64;
        let users = participants
            .distinct("userId", doc! { "sessionId": id.clone() })
            .await
            .unwrap()
            .len() as i64;
        assert_eq!(
            (counted, users),
            (Some(documents), documents),
            "{case}: session {id}: stored count, distinct users and participant documents"
        );
        let uuid = match &id {
            Bson::Binary(binary) => uuid::Uuid::from_slice(&binary.bytes).unwrap(),
            other => panic!("{case}: session id {other:?} is not a UUID"),
        };
        let reported = common::get_json(&client, &format!("{base}/api/live-sessions/{uuid}")).await;
        assert_eq!(reported["participants"].as_i64(), Some(documents), "{case}");
        records += documents;
        ids.push(id);
    }
    let orphans = participants
        .count_documents(doc! { "sessionId": { "$nin": ids } })
        .await
        .unwrap();
    let bad = participants
        .count_documents(doc! { "$or": [
            { "joinCount": { "$lt": 1 } },
            { "watchSeconds": { "$lt": 0 } },
        ] })
        .await
        .unwrap();
    assert_eq!((orphans, bad), (0, 0), "{case}: half-written state");
    // Every join that answered 200 is on disk, also across the kill.
    let mut acknowledged: Vec<(usize, usize, usize)> = samples
        .iter()
        .filter(|s| s.what == "join" && s.status == 200)
        .map(|s| s.who)
        .collect();
    acknowledged.sort_unstable();
    acknowledged.dedup();
    let mut lost = Vec::new();
    for &(worker, user, session) in &acknowledged {
        let uuid: uuid::Uuid = sessions[session].parse().unwrap();
        let found = participants
            .count_documents(doc! {
                "sessionId": Bson::Binary(livesessions_mongo::mongodb::bson::Binary {
                    subtype: livesessions_mongo::mongodb::bson::spec::BinarySubtype::Uuid,
                    bytes: uuid.as_bytes().to_vec(),
                }),
                "userId": format!("w{worker}-u{user}"),
            })
            .await
            .unwrap();
        if found != 1 {
            lost.push((worker, user, session, found));
        }
    }
    assert!(
        lost.is_empty(),
        "{case}: {} of {} acknowledged (user, session) joins have no single record, e.g. {:?}",
        lost.len(),
        acknowledged.len(),
        &lost[..lost.len().min(5)]
    );
    let corrected = MongoStore::new(database.clone())
        .reconcile_participant_counts()
        .await
        .unwrap();
    println!(
        "{case}: {records} participant documents over {} sessions, every count exact, all {} \
         acknowledged joins stored; reconciliation corrected {corrected}",
        stored.len(),
        acknowledged.len()
    );
    assert_eq!(corrected, 0, "{case}: counts needed reconciliation");
    assert!(records > 0, "{case}: the load joined no one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(all(livesessions_test_mongodb, livesessions_test_secantus)),
    ignore = "needs LIVESESSIONS_TEST_MONGODB_URI set and SecantusDB in .venv-secantus \
              (scripts/secantus.sh install) when building"
)]
async fn mongodb_outage_under_load_fails_fast_and_recovers() {
    let case = "mongodb stopped";
    let _alone = ONE_CASE_AT_A_TIME.lock().await;
    let outage = std::env::var("LIVESESSIONS_FAULT_OUTAGE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(10));
    let signal =
        std::env::var("LIVESESSIONS_FAULT_MONGODB_SIGNAL").unwrap_or_else(|_| "TERM".into());
    assert!(
        matches!(signal.as_str(), "TERM" | "KILL"),
        "LIVESESSIONS_FAULT_MONGODB_SIGNAL must be TERM or KILL, not {signal:?}"
    );
    let work = tempfile::tempdir().unwrap();
    let mut server = Secantus::new(work.path());
    server.start();
    server.wait_until_answering().await;
    let database_name = format!("ls_fault_{}", uuid::Uuid::new_v4().simple());
    let options = std::env::var("LIVESESSIONS_FAULT_MONGODB_OPTIONS").unwrap_or_default();
    let base = start_server(&server.uri(&database_name, &options), work.path()).await;
    let load = Load::start(&base).await;

    tokio::task::block_in_place(|| server.stop(&signal));
    let stopped = Instant::now();
    println!("{case}: SecantusDB stopped (SIG{signal}) for {outage:?}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", server.port)).is_err(),
        "{case}: port {} still accepts connections after the server was stopped",
        server.port
    );
    tokio::time::sleep(outage).await;
    let restarting = Instant::now();
    server.start();
    let back = server.wait_until_answering().await;
    println!(
        "{case}: SecantusDB answered {:?} after it was started again on the same storage",
        back - restarting
    );
    tokio::time::sleep(RECOVERY + Duration::from_secs(3)).await;
    let (sessions, samples) = load.finish().await;
    // The stored state first: it is worth knowing also when the requests misbehaved.
    let checker = MongoClient::with_uri_str(server.uri("admin", ""))
        .await
        .unwrap();
    let database = checker.database(&database_name);
    check_mongo_consistency(case, &database, &base, &sessions, &samples).await;
    check_samples(case, &samples, back, Some((stopped, restarting)));
    let _ = database.drop().await;
}
