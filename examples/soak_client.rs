//! A mixed-load client for soak runs of the example server (`scripts/soak.sh`).
//!
//! Signs in through the dev token route (an admin and `--users` students), creates a few
//! sessions and starts them, then for `--seconds` runs `--concurrency` loops that each pick a
//! request by weight: list and read sessions, join, heartbeat, leave, read the participation
//! and admin reports, and now and then create, update, end and delete a session. Every answer
//! that is not the expected success counts as an error. Prints a summary line and exits
//! non-zero when anything failed.
//!
//! ```sh
//! cargo run --release --example soak_client -- --base http://127.0.0.1:3000 --seconds 600
//! ```

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{json, Value};

/// Mixed load against a running example server (with dev mode on and rate limits off).
#[derive(Debug, Parser)]
struct Args {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    base: String,
    /// How long to run.
    #[arg(long, default_value_t = 600)]
    seconds: u64,
    /// Request loops running at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Distinct students.
    #[arg(long, default_value_t = 200)]
    users: usize,
}

#[derive(Default)]
struct Tally {
    requests: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
}

impl Tally {
    fn error(&self, what: String) {
        *self.errors.lock().unwrap().entry(what).or_default() += 1;
    }

    /// Counts `reply` as an error of `what` unless it answered `expected`.
    fn expect(&self, what: &str, reply: reqwest::Result<reqwest::Response>, expected: u16) {
        match reply.map(|r| r.status().as_u16()) {
            Ok(status) if status == expected => {}
            Ok(status) => self.error(format!("{what} {status}")),
            Err(e) => self.error(format!("{what}: {e}")),
        }
    }
}

async fn token(client: &reqwest::Client, base: &str, name: &str, admin: bool) -> String {
    let email = format!("{}@soak.example", name.to_lowercase().replace(' ', "."));
    let reply: Value = client
        .post(format!("{base}/api/dev/token"))
        .json(&json!({"name": name, "email": email, "admin": admin}))
        .send()
        .await
        .expect("the server answers")
        .error_for_status()
        .expect("dev mode is on")
        .json()
        .await
        .expect("a token");
    reply["token"].as_str().expect("a token").to_owned()
}

fn session_body(n: u64, live: bool) -> Value {
    json!({
        "title": format!("Soak session {n}"),
        "description": "Mixed load",
        "instructor": "Ferris",
        "videoUrl": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "startTime": "2025-01-15T10:00:00+05:00",
        "timezone": "Asia/Karachi",
        "isLive": live,
    })
}

async fn create(client: &reqwest::Client, base: &str, admin: &str, n: u64) -> Option<String> {
    let reply = client
        .post(format!("{base}/api/admin/live-sessions"))
        .bearer_auth(admin)
        .json(&session_body(n, true))
        .send()
        .await
        .ok()?;
    if reply.status() != 201 {
        return None;
    }
    let body: Value = reply.json().await.ok()?;
    body["id"].as_str().map(str::to_owned)
}

/// A tiny deterministic generator (xorshift), one per loop: no dependency for randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let base = args.base.trim_end_matches('/').to_owned();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client");
    let admin = token(&client, &base, "Soak Admin", true).await;
    let mut students = Vec::with_capacity(args.users);
    for i in 0..args.users {
        students.push(token(&client, &base, &format!("Student {i}"), false).await);
    }
    let sessions: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    for n in 0..5 {
        let id = create(&client, &base, &admin, n)
            .await
            .expect("a session is created");
        sessions.lock().unwrap().push(id);
    }
    let students = Arc::new(students);
    let tally = Arc::new(Tally::default());
    let created = Arc::new(AtomicU64::new(5));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);

    let loops: Vec<_> = (0..args.concurrency)
        .map(|worker| {
            let (client, base, admin) = (client.clone(), base.clone(), admin.clone());
            let (students, sessions, tally, created) = (
                students.clone(),
                sessions.clone(),
                tally.clone(),
                created.clone(),
            );
            tokio::spawn(async move {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((worker as u64 + 1) * 0x1234_5678));
                while Instant::now() < deadline {
                    let session = {
                        let all = sessions.lock().unwrap();
                        all[rng.below(all.len())].clone()
                    };
                    let student = &students[rng.below(students.len())];
                    let roll = rng.below(100);
                    let api = format!("{base}/api/live-sessions");
                    let admin_api = format!("{base}/api/admin");
                    let as_student =
                        |request: reqwest::RequestBuilder| request.bearer_auth(student);
                    let as_admin = |request: reqwest::RequestBuilder| request.bearer_auth(&admin);
                    let (what, request, expect): (&str, _, &[u16]) = match roll {
                        0..=29 => (
                            "list",
                            client.get(format!("{api}?status=all&limit=20")),
                            &[200],
                        ),
                        30..=44 => (
                            "get",
                            as_student(client.get(format!("{api}/{session}"))),
                            &[200],
                        ),
                        45..=59 => (
                            "join",
                            as_student(client.post(format!("{api}/join")))
                                .json(&json!({"sessionId": session})),
                            &[200],
                        ),
                        // A heartbeat or leave of someone who never joined this session is 404.
                        60..=79 => {
                            let heartbeat = client.post(format!("{api}/{session}/heartbeat"));
                            ("heartbeat", as_student(heartbeat), &[200, 404])
                        }
                        80..=83 => {
                            let leave = client.post(format!("{api}/{session}/leave"));
                            ("leave", as_student(leave), &[200, 404])
                        }
                        84..=89 => {
                            let mine = client.get(format!("{api}/me/participation"));
                            ("participation", as_student(mine), &[200])
                        }
                        90..=93 => {
                            let report = client
                                .get(format!("{admin_api}/live-sessions/{session}/analytics"));
                            ("report", as_admin(report), &[200])
                        }
                        94..=96 => {
                            let attendance = client
                                .get(format!("{admin_api}/live-sessions/{session}/participants"));
                            ("attendance", as_admin(attendance), &[200])
                        }
                        97 => (
                            "overview",
                            as_admin(client.get(format!("{admin_api}/analytics"))),
                            &[200],
                        ),
                        _ => {
                            // Churn: a new live session replaces the oldest one, which is
                            // ended and deleted, so the data set stays bounded.
                            let n = created.fetch_add(1, Ordering::Relaxed);
                            tally.requests.fetch_add(1, Ordering::Relaxed);
                            let Some(id) = create(&client, &base, &admin, n).await else {
                                tally.error("create".into());
                                continue;
                            };
                            let old = {
                                let mut all = sessions.lock().unwrap();
                                all.push(id);
                                all.remove(0)
                            };
                            tally.requests.fetch_add(2, Ordering::Relaxed);
                            let old = format!("{admin_api}/live-sessions/{old}");
                            let end = as_admin(client.put(&old)).json(&json!({"isLive": false}));
                            // Another loop may have picked the old session a moment ago: the
                            // delete below may race its join, which then answers 404 or 409.
                            tally.expect("end", end.send().await, 200);
                            let deleted = as_admin(client.delete(&old)).send().await;
                            tally.expect("delete", deleted, 204);
                            continue;
                        }
                    };
                    tally.requests.fetch_add(1, Ordering::Relaxed);
                    match request.send().await {
                        Ok(reply) => {
                            let status = reply.status().as_u16();
                            // Read the body: a client that drops it measures nothing.
                            let _ = reply.bytes().await;
                            // A session deleted by the churn between the pick and the request.
                            let raced = matches!(status, 404 | 409)
                                && !sessions.lock().unwrap().contains(&session);
                            if !expect.contains(&status) && !raced {
                                tally.error(format!("{what} {status}"));
                            }
                        }
                        Err(error) => tally.error(format!("{what}: {error}")),
                    }
                }
            })
        })
        .collect();
    for l in loops {
        if l.await.is_err() {
            tally.error("a load loop panicked".into());
        }
    }
    let requests = tally.requests.load(Ordering::Relaxed);
    let errors = tally.errors.lock().unwrap().clone();
    let total_errors: u64 = errors.values().sum();
    println!(
        "soak_client: {requests} requests in {} s with {} loops, {total_errors} errors {errors:?}",
        args.seconds, args.concurrency
    );
    if total_errors == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
