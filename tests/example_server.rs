//! The example server as users run it: the built binary (`target/debug/examples/server`) in its
//! own process, driven over a real socket and stopped with real signals.
//!
//! `cargo test` (and `.ci/run`) builds the package's examples before it runs the tests; after
//! `cargo test --test example_server` alone, build it first with `cargo build --example server`.
//! The binary is looked up next to this test's own executable, so `CARGO_TARGET_DIR` is
//! honoured; `LIVESESSIONS_EXAMPLE_SERVER` names another binary. A binary older than the sources
//! it is built from fails the tests rather than testing old code.
#![cfg(unix)]
#![allow(missing_docs)]

mod common;

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

/// A hang guard for steps that should take milliseconds, not a measurement.
const STEP: Duration = Duration::from_secs(20);

/// The server's promise: stopped within 10 s of SIGTERM or Ctrl-C.
const STOP_WITHIN: Duration = Duration::from_secs(10);

/// One server process on a fresh SQLite file; killed when dropped.
struct Server {
    child: Child,
    addr: String,
    base: String,
    dir: tempfile::TempDir,
}

impl Server {
    /// Starts the server with `args` (plus a fresh database, thumbnail directory and port) and
    /// waits until it answers `/healthz`.
    async fn start(args: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let database = dir.path().join("livesessions.db");
        let thumbnails = dir.path().join("thumbnails");
        Server::start_on(dir, &database, Some(&thumbnails), args).await
    }

    /// Starts the server with `args` on the SQLite file `database`, keeping thumbnails in
    /// `thumbnail_dir` (in the database when `None`), running in `dir` (its working directory,
    /// where its output goes), and waits until it answers `/healthz`.
    async fn start_on(
        dir: tempfile::TempDir,
        database: &Path,
        thumbnail_dir: Option<&Path>,
        args: &[&str],
    ) -> Server {
        let port = common::free_port();
        let addr = format!("127.0.0.1:{port}");
        let child = spawn(dir.path(), &addr, database, thumbnail_dir, args);
        let mut server = Server {
            child,
            base: format!("http://{addr}"),
            addr,
            dir,
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + STEP;
        loop {
            if let Ok(reply) = client.get(format!("{}/healthz", server.base)).send().await {
                if reply.status().is_success() {
                    return server;
                }
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "the server exited with {status} before it answered:\n{}",
                    server.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the server did not answer /healthz:\n{}",
                server.stderr()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("the server is running")
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stdout")).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
    }

    fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args(["-s", name, &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -s {name} failed");
    }

    /// Waits up to `limit` for the process to exit.
    async fn exit_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .ok()
            .map(|status| status.expect("the exit status"))
    }
}

/// Runs the server in `dir` (its working directory, where its output goes) on the SQLite file
/// `database`, with `--thumbnail-dir` when `thumbnail_dir` is given.
fn spawn(
    dir: &Path,
    addr: &str,
    database: &Path,
    thumbnail_dir: Option<&Path>,
    args: &[&str],
) -> Child {
    let stdout = std::fs::File::create(dir.join("stdout")).expect("stdout file");
    let stderr = std::fs::File::create(dir.join("stderr")).expect("stderr file");
    let mut command = Command::new(common::example::server_binary());
    if let Some(thumbnail_dir) = thumbnail_dir {
        command.arg("--thumbnail-dir").arg(thumbnail_dir);
    }
    command
        .current_dir(dir)
        .arg("--bind")
        .arg(addr)
        .arg("--database-url")
        .arg(format!("sqlite:{}?mode=rwc", database.display()))
        .args(args)
        .env_remove("LIVESESSIONS_JWT_SECRET")
        .env_remove("LIVESESSIONS_FIREBASE_PROJECT")
        .env_remove("LIVESESSIONS_DEV")
        .env_remove("LIVESESSIONS_TIME_ZONE")
        .env_remove("LIVESESSIONS_METRICS_TOKEN")
        .env_remove("LIVESESSIONS_NO_METRICS")
        .env_remove("LIVESESSIONS_THUMBNAIL_DIR")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .expect("the server binary starts")
}

/// Runs the server with `args`, asserts that it refuses to start, and returns its stderr.
async fn refused(args: &[&str]) -> String {
    refused_on(&format!("127.0.0.1:{}", common::free_port()), args).await
}

/// [`refused`] with the server told to listen on `addr`.
async fn refused_on(addr: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let database = dir.path().join("livesessions.db");
    let thumbnails = dir.path().join("thumbnails");
    let mut child = spawn(dir.path(), addr, &database, Some(&thumbnails), args);
    let status = tokio::time::timeout(STEP, child.wait())
        .await
        .expect("the server exits instead of serving")
        .expect("the exit status");
    let stderr = std::fs::read_to_string(dir.path().join("stderr")).unwrap_or_default();
    assert!(!status.success(), "{args:?} on {addr} started: {stderr}");
    stderr
}

async fn dev_token(base: &str, name: &str, email: &str, admin: bool) -> String {
    let reply = reqwest::Client::new()
        .post(format!("{base}/api/dev/token"))
        .json(&json!({ "name": name, "email": email, "admin": admin }))
        .send()
        .await
        .expect("the dev token route answers");
    assert_eq!(reply.status(), 200, "dev mode signs anyone in");
    let body: serde_json::Value = reply.json().await.expect("a JSON body");
    body["token"].as_str().expect("a token").to_owned()
}

/// The status the server answers `request` with.
async fn status_of(request: reqwest::RequestBuilder) -> u16 {
    request.send().await.expect("an answer").status().as_u16()
}

/// The status of a request that needs a signed-in user.
async fn me_status(base: &str, token: &str) -> u16 {
    let request = reqwest::Client::new()
        .get(format!("{base}/api/live-sessions/me/participation"))
        .bearer_auth(token);
    status_of(request).await
}

fn hs256(secret: &str, admin: bool) -> String {
    let now = common::now_secs();
    common::sign(
        secret,
        &json!({
            "sub": "user-1", "name": "Real User", "email": "real@example.com",
            "admin": admin, "iat": now, "exp": now + 600,
        }),
    )
}

const SECRET: &str = "a-real-deployment-secret-of-enough-length";

#[tokio::test]
async fn a_real_secret_on_loopback_turns_dev_sign_in_off() {
    let server = Server::start(&["--jwt-secret", SECRET]).await;
    let client = reqwest::Client::new();
    let mint = client
        .post(format!("{}/api/dev/token", server.base))
        .json(&json!({ "name": "Mallory", "email": "m@example.com", "admin": true }));
    assert_eq!(status_of(mint).await, 404, "no one can mint tokens");
    // The page probes this route to decide whether to show its sign-in form: 404 hides it.
    let probe = client.get(format!("{}/api/dev/token", server.base));
    assert_eq!(
        status_of(probe).await,
        404,
        "the page shows no sign-in form"
    );
    let page = client.get(format!("{}/live-sessions", server.base));
    assert_eq!(status_of(page).await, 200);

    // Real tokens are what counts.
    assert_eq!(me_status(&server.base, &hs256(SECRET, false)).await, 200);
    assert_eq!(
        me_status(&server.base, &hs256("another secret", false)).await,
        401
    );

    let banner = server.stdout();
    assert!(banner.contains("dev sign-in off"), "{banner}");
    assert!(!banner.contains("dev mode"), "{banner}");
}

#[tokio::test]
async fn a_dev_token_is_refused_by_any_other_server() {
    let dev = Server::start(&[]).await;
    let banner = dev.stdout();
    assert!(banner.contains("dev mode"), "{banner}");
    let probe = reqwest::get(format!("{}/api/dev/token", dev.base))
        .await
        .expect("an answer");
    assert_eq!(probe.status(), 200, "the page offers its sign-in form");
    let token = dev_token(&dev.base, "Ada Admin", "ada@example.com", true).await;
    assert_eq!(
        me_status(&dev.base, &token).await,
        200,
        "valid where minted"
    );

    let real = Server::start(&["--jwt-secret", SECRET]).await;
    assert_eq!(
        me_status(&real.base, &token).await,
        401,
        "a real deployment"
    );
    // Each dev-mode process makes its own secret up.
    let other_dev = Server::start(&[]).await;
    assert_eq!(
        me_status(&other_dev.base, &token).await,
        401,
        "another dev server"
    );
}

#[tokio::test]
async fn dev_mode_with_real_authentication_does_not_start() {
    for args in [
        &["--dev", "--jwt-secret", SECRET][..],
        &["--dev", "--firebase-project", "my-project"][..],
    ] {
        let stderr = refused(args).await;
        assert!(
            stderr.contains("--dev cannot be combined with --jwt-secret or --firebase-project"),
            "{args:?}: {stderr}"
        );
    }
    let stderr = refused(&["--jwt-secret", SECRET, "--firebase-project", "p"]).await;
    assert!(stderr.contains("exclude each other"), "{stderr}");
    // Not loopback and no real authentication: dev mode only when asked for (the options are
    // checked before the address is bound).
    let stderr = refused_on("0.0.0.0:9", &[]).await;
    assert!(
        stderr.contains("is not a loopback address") && stderr.contains("--jwt-secret"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_unknown_time_zone_does_not_start() {
    let stderr = refused(&["--time-zone", "Mars/Olympus_Mons"]).await;
    assert!(
        stderr.contains("--time-zone") && stderr.contains("Mars/Olympus_Mons"),
        "{stderr}"
    );
}

/// `GET /metrics` of a running server with `token` (if any): its status and body.
async fn metrics_reply(base: &str, token: Option<&str>) -> (u16, String, String) {
    let mut request = reqwest::Client::new().get(format!("{base}/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let reply = request.send().await.expect("an answer");
    let status = reply.status().as_u16();
    let content_type = reply
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, reply.text().await.expect("a body"))
}

#[tokio::test]
async fn metrics_are_served_and_can_be_protected_or_switched_off() {
    // Served by default, to anyone, and the banner says so.
    let open = Server::start(&[]).await;
    let (status, content_type, body) = metrics_reply(&open.base, None).await;
    assert_eq!(status, 200, "{body}");
    assert!(content_type.starts_with("text/plain; version=0.0.4"));
    // The start-up probe of /healthz was counted under its route.
    assert!(
        body.contains(
            r#"livesessions_http_requests_total{route="/healthz",method="GET",status="200"}"#
        ),
        "{body}"
    );
    assert!(
        open.stdout().contains("metrics") && open.stdout().contains("--metrics-token"),
        "{}",
        open.stdout()
    );

    let token = "scrape-token-of-the-monitoring-job";
    let protected = Server::start(&["--metrics-token", token]).await;
    assert_eq!(metrics_reply(&protected.base, None).await.0, 401);
    assert_eq!(metrics_reply(&protected.base, Some("guess")).await.0, 401);
    let (status, _, body) = metrics_reply(&protected.base, Some(token)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("livesessions_event_streams_open 0"), "{body}");
    assert!(
        !protected.stdout().contains(token),
        "{}",
        protected.stdout()
    );

    let off = Server::start(&["--no-metrics"]).await;
    assert_eq!(metrics_reply(&off.base, None).await.0, 404);
    assert!(off.stdout().contains("metrics    off"), "{}", off.stdout());

    let empty = refused(&["--metrics-token", ""]).await;
    assert!(empty.contains("--metrics-token"), "{empty}");
    let both = refused(&["--metrics-token", token, "--no-metrics"]).await;
    assert!(both.contains("--no-metrics"), "{both}");
}

#[tokio::test]
async fn start_times_without_an_offset_are_read_in_the_configured_zone() {
    let server = Server::start(&["--time-zone", "Europe/Paris"]).await;
    assert!(
        server.stdout().contains("Europe/Paris"),
        "{}",
        server.stdout()
    );
    let admin = dev_token(&server.base, "Ada Admin", "ada@example.com", true).await;
    let client = reqwest::Client::new();
    let create = |start: &str| {
        client
            .post(format!("{}/api/admin/live-sessions", server.base))
            .bearer_auth(&admin)
            .json(&json!({
                "title": "Rust", "instructor": "Ferris",
                "videoUrl": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
                "startTime": start,
            }))
            .send()
    };
    // Paris is UTC+1 in March before the change to summer time.
    let reply = create("2031-03-04T09:30").await.expect("an answer");
    assert_eq!(reply.status(), 201);
    let body: serde_json::Value = reply.json().await.expect("JSON");
    assert_eq!(body["startTime"], "2031-03-04T08:30:00Z", "{body}");
    // 02:30 on 30 March 2031 does not exist in Paris (clocks go from 02:00 to 03:00).
    let gap = create("2031-03-30T02:30").await.expect("an answer");
    assert_eq!(gap.status(), 422);
    let problem: serde_json::Value = gap.json().await.expect("JSON");
    assert!(problem.to_string().contains("startTime"), "{problem}");
}

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// The create form of a session with `image` as its uploaded thumbnail (multipart/form-data
/// with the boundary `BOUNDARY`).
fn create_form_with_thumbnail(image: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in [
        ("title", "Uploads"),
        ("instructor", "Ferris"),
        ("videoUrl", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        ("startTime", "2031-01-01T10:00:00Z"),
    ] {
        body.extend_from_slice(
            format!(
                "--BOUNDARY\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        b"--BOUNDARY\r\nContent-Disposition: form-data; name=\"thumbnail\"; filename=\"t.png\"\r\n\
          Content-Type: image/png\r\n\r\n",
    );
    body.extend_from_slice(image);
    body.extend_from_slice(b"\r\n--BOUNDARY--\r\n");
    body
}

/// Without `--thumbnail-dir`, an upload goes into the database the sessions live in: another
/// server process on the same SQLite file serves it, and no directory is written. With it, the
/// banner names the directory.
#[tokio::test]
async fn uploads_go_to_the_database_so_every_instance_serves_them() {
    let shared = tempfile::tempdir().expect("a temporary directory");
    let database = shared.path().join("livesessions.db");
    let tempdir = || tempfile::tempdir().expect("a temporary directory");
    let first = Server::start_on(tempdir(), &database, None, &[]).await;
    assert!(
        first.stdout().contains("thumbnails in the database"),
        "{}",
        first.stdout()
    );
    let admin = dev_token(&first.base, "Ada Admin", "ada@example.com", true).await;
    let client = reqwest::Client::new();
    let reply = client
        .post(format!("{}/api/admin/live-sessions", first.base))
        .bearer_auth(&admin)
        .header("content-type", "multipart/form-data; boundary=BOUNDARY")
        .body(create_form_with_thumbnail(PNG))
        .send()
        .await
        .expect("an answer");
    assert_eq!(reply.status(), 201);
    let session: serde_json::Value = reply.json().await.expect("JSON");
    let thumbnail = session["thumbnail"]
        .as_str()
        .expect("a thumbnail URL")
        .to_owned();
    assert!(
        thumbnail.starts_with("/api/live-sessions/thumbnails/"),
        "{thumbnail}"
    );

    let second = Server::start_on(tempdir(), &database, None, &[]).await;
    for server in [&first, &second] {
        let image = client
            .get(format!("{}{thumbnail}", server.base))
            .send()
            .await
            .expect("an answer");
        assert_eq!(image.status(), 200, "{thumbnail} on {}", server.base);
        assert_eq!(image.headers()["content-type"], "image/png");
        assert_eq!(&image.bytes().await.expect("the image")[..], PNG);
        // Nothing was written beside the server: no ./thumbnails in its working directory.
        let written: Vec<_> = std::fs::read_dir(server.dir.path())
            .expect("the server's directory")
            .map(|entry| entry.expect("an entry").file_name())
            .collect();
        assert!(
            written
                .iter()
                .all(|name| name == "stdout" || name == "stderr"),
            "{written:?}"
        );
    }
    // Beside the database file only its own journal files.
    for entry in std::fs::read_dir(shared.path()).expect("the shared directory") {
        let name = entry.expect("an entry").file_name();
        assert!(
            name.to_string_lossy().starts_with("livesessions.db"),
            "{name:?}"
        );
    }

    let with_dir = Server::start(&[]).await;
    assert!(
        with_dir.stdout().contains("thumbnails in the directory"),
        "{}",
        with_dir.stdout()
    );
}

/// Opens the event stream and reads its first chunk (the `connected` comment).
async fn open_stream(base: &str) -> reqwest::Response {
    let mut stream = reqwest::get(format!("{base}/api/live-sessions/events"))
        .await
        .expect("the event stream opens");
    assert_eq!(stream.status(), 200);
    let first = tokio::time::timeout(STEP, stream.chunk())
        .await
        .expect("the stream says it is connected")
        .expect("a chunk")
        .expect("the stream is open");
    assert!(String::from_utf8_lossy(&first).contains("connected"));
    stream
}

/// Reads the stream until the server ends it; panics if it does not within `limit`.
async fn stream_ends_within(mut stream: reqwest::Response, limit: Duration) {
    let read_all = async {
        loop {
            match stream.chunk().await {
                Ok(Some(_)) => continue,
                Ok(None) => return Ok(()),
                Err(error) => return Err(error),
            }
        }
    };
    tokio::time::timeout(limit, read_all)
        .await
        .expect("the server ended the event stream")
        .expect("the stream ended cleanly, not cut off");
}

const SESSION_JSON: &str = r#"{"title":"Shutdown","instructor":"Ferris","videoUrl":"https://www.youtube.com/watch?v=dQw4w9WgXcQ","startTime":"2031-01-01T10:00:00Z"}"#;

/// A `POST /api/admin/live-sessions` whose body is sent in two halves, so it is still in flight
/// while the server is told to stop. Returns the socket and the half not sent yet.
async fn start_slow_create(server: &Server, token: &str) -> (tokio::net::TcpStream, &'static str) {
    let mut socket = tokio::net::TcpStream::connect(&server.addr)
        .await
        .expect("connected");
    let head = format!(
        "POST /api/admin/live-sessions HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        server.addr,
        SESSION_JSON.len()
    );
    let (first, rest) = SESSION_JSON.split_at(SESSION_JSON.len() / 2);
    socket.write_all(head.as_bytes()).await.expect("sent");
    socket.write_all(first.as_bytes()).await.expect("sent");
    (socket, rest)
}

/// A server with one create request in flight whose body is never sent in full.
async fn server_with_a_stuck_request() -> (Server, tokio::net::TcpStream) {
    let server = Server::start(&[]).await;
    let admin = dev_token(&server.base, "Ada Admin", "ada@example.com", true).await;
    let (stuck, _never_sent) = start_slow_create(&server, &admin).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    (server, stuck)
}

async fn refuses_connections(addr: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Two event streams and one request in flight; `signal` stops the server gracefully.
async fn stops_gracefully_on(signal: &str) {
    let mut server = Server::start(&[]).await;
    let admin = dev_token(&server.base, "Ada Admin", "ada@example.com", true).await;
    let first = open_stream(&server.base).await;
    let second = open_stream(&server.base).await;
    let (mut slow, rest) = start_slow_create(&server, &admin).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let signalled = Instant::now();
    server.signal(signal);
    // Both streams end while the request is still being sent.
    let (a, b) = (
        stream_ends_within(first, STOP_WITHIN),
        stream_ends_within(second, STOP_WITHIN),
    );
    tokio::join!(a, b);
    assert!(
        refuses_connections(&server.addr).await,
        "no new connections after {signal}"
    );
    assert!(
        server.child.try_wait().expect("status").is_none(),
        "the server waits for the request in flight"
    );

    // The request in flight completes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    slow.write_all(rest.as_bytes()).await.expect("sent");
    let mut reply = String::new();
    tokio::time::timeout(STEP, slow.read_to_string(&mut reply))
        .await
        .expect("the answer comes")
        .expect("read");
    assert!(reply.starts_with("HTTP/1.1 201"), "{reply}");

    let status = server
        .exit_within(STOP_WITHIN.saturating_sub(signalled.elapsed()))
        .await
        .unwrap_or_else(|| panic!("still running {STOP_WITHIN:?} after {signal}"));
    let took = signalled.elapsed();
    assert!(status.success(), "{signal}: {status}\n{}", server.stderr());
    assert!(server.stdout().contains("stopped"), "{}", server.stdout());
    println!("{signal}: exited 0 {took:?} after the signal (streams open, one slow request)");
}

#[tokio::test]
async fn sigterm_stops_gracefully_with_streams_open() {
    stops_gracefully_on("TERM").await;
}

#[tokio::test]
async fn ctrl_c_stops_gracefully_with_streams_open() {
    stops_gracefully_on("INT").await;
}

#[tokio::test]
async fn streams_alone_do_not_delay_the_stop() {
    let mut server = Server::start(&[]).await;
    let streams = [
        open_stream(&server.base).await,
        open_stream(&server.base).await,
    ];
    let signalled = Instant::now();
    server.signal("TERM");
    let status = server
        .exit_within(STOP_WITHIN)
        .await
        .expect("stopped within 10 s");
    let took = signalled.elapsed();
    assert!(status.success(), "{status}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    drop(streams);
    println!("SIGTERM with 2 event streams open: exited 0 after {took:?}");
}

#[tokio::test]
async fn a_request_that_never_finishes_does_not_keep_the_server_up() {
    let (mut server, _stuck) = server_with_a_stuck_request().await;
    let signalled = Instant::now();
    server.signal("TERM");
    let status = server
        .exit_within(STOP_WITHIN + Duration::from_secs(3))
        .await
        .expect("the deadline ends the process");
    let took = signalled.elapsed();
    assert!(took >= STOP_WITHIN - Duration::from_millis(500), "{took:?}");
    assert!(!status.success(), "a cut-off request is not a clean stop");
    assert!(
        server.stderr().contains("exiting anyway"),
        "{}",
        server.stderr()
    );
}

#[tokio::test]
async fn a_second_signal_exits_at_once() {
    let (mut server, _stuck) = server_with_a_stuck_request().await;
    server.signal("TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        server.child.try_wait().expect("status").is_none(),
        "the first signal waits for the request in flight"
    );
    let again = Instant::now();
    server.signal("INT");
    let status = server
        .exit_within(Duration::from_secs(3))
        .await
        .expect("the second signal ends the process");
    assert!(!status.success(), "a cut-off request is not a clean stop");
    assert!(again.elapsed() < Duration::from_secs(3));
    assert!(server.stderr().contains("again"), "{}", server.stderr());
}
