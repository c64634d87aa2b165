//! Rate limits and the event-stream cap with their default settings, over a real socket: keyed
//! by the signed-in user, by address only for anonymous callers (and callers whose token is
//! refused).

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures::future::join_all;
use livesessions_http::HttpSettings;
use serde_json::{json, Value};

const STUDENTS: usize = 200;
const ROUNDS: usize = 60;
/// Real time between two rounds of heartbeats (see the test's comment).
const ROUND_PACE: Duration = Duration::from_millis(350);

/// An app with `settings` and the test tokens' authenticator, served on a socket; with its base URL.
async fn served(settings: HttpSettings) -> (TestApp, String) {
    let app = app_with(settings, hs_auth());
    let base = serve(app.router.clone()).await;
    (app, base)
}

/// A class of 200 behind one school address joins at once and sends its heartbeats for 30
/// minutes, with the default limits: no request is refused and everyone is credited exactly.
///
/// The service runs on a manual clock, advanced 30 s per round of heartbeats; the limiter runs on
/// real time. Rounds are spaced by 350 ms of real time, so every student sends a heartbeat 86 times
/// as often as a real page does (every 0.35 s instead of every 30 s), and the class as a whole
/// sends some 570 requests per second from one address, where one address's attendance bucket
/// allows 2 per second. Only buckets kept per student carry that; spacing the rounds keeps each
/// student under their own sustained rate (30 at once, then 2 per second), which a student
/// compressing 30 minutes into a few seconds would exceed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_class_behind_one_address_joins_and_heartbeats_for_30_minutes_without_a_429() {
    let (app, base) = served(HttpSettings::default()).await;
    let school = client_from("127.0.0.2");

    let created = school
        .post(format!("{base}/api/admin/live-sessions"))
        .bearer_auth(admin_token())
        .json(&json!({
            "title": "Class of 200",
            "instructor": "Ada Lovelace",
            "videoUrl": "https://youtu.be/dQw4w9WgXcQ",
            "startTime": "2025-01-15T09:00:00Z",
            "isLive": true,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tokens: Vec<String> = (0..STUDENTS)
        .map(|i| user_token(&format!("student-{i:03}")))
        .collect();

    // Everyone opens the page (a list read) and joins at once.
    let statuses: Vec<u16> = join_all(tokens.iter().map(|token| {
        let school = school.clone();
        let (base, id) = (base.clone(), id.clone());
        async move {
            let list = school
                .get(format!("{base}/api/live-sessions"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            let join = school
                .post(format!("{base}/api/live-sessions/join"))
                .bearer_auth(token)
                .json(&json!({"sessionId": id}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            [list, join]
        }
    }))
    .await
    .into_iter()
    .flatten()
    .collect();
    assert_eq!(tally(&statuses), [(200, 2 * STUDENTS)].into());

    let mut refused = 0;
    for round in 1..=ROUNDS {
        let started = Instant::now();
        app.clock.advance(Duration::from_secs(30));
        let statuses = statuses_at_once(tokens.iter().map(|token| {
            school
                .post(format!("{base}/api/live-sessions/{id}/heartbeat"))
                .bearer_auth(token)
        }))
        .await;
        let counts = tally(&statuses);
        refused += counts.get(&429).copied().unwrap_or(0);
        assert_eq!(counts, [(200, STUDENTS)].into(), "round {round}");
        tokio::time::sleep(ROUND_PACE.saturating_sub(started.elapsed())).await;
    }
    assert_eq!(refused, 0);

    let session: Value = fetch_json(school.get(format!("{base}/api/live-sessions/{id}"))).await;
    assert_eq!(session["participants"], STUDENTS);
    assert_eq!(session["watching"], STUDENTS);

    // Ending at 09:30 credits every open interval: joined at 09:00, last seen at 09:30.
    let ended = school
        .put(format!("{base}/api/admin/live-sessions/{id}"))
        .bearer_auth(admin_token())
        .json(&json!({"isLive": false}));
    assert_eq!(status_of(ended).await, 200);
    let attendance = fetch_json(
        school
            .get(format!(
                "{base}/api/admin/live-sessions/{id}/participants?limit=1000"
            ))
            .bearer_auth(admin_token()),
    )
    .await;
    assert_eq!(attendance["total"], STUDENTS);
    let rows = attendance["participants"].as_array().unwrap();
    assert_eq!(rows.len(), STUDENTS);
    for row in rows {
        assert_eq!(row["watchSeconds"], (ROUNDS * 30) as i64, "{row}");
        assert_eq!(row["watchDuration"], 30, "{row}");
    }
}

/// One student hammering the heartbeat route is refused with `Retry-After`; a classmate at the
/// same address is not affected.
#[tokio::test]
async fn one_user_hammering_gets_429_without_touching_classmates() {
    let (app, base) = served(HttpSettings::default()).await;
    let school = client_from("127.0.0.3");
    let id = create(
        &app.router,
        &json!({
            "title": "Hammered",
            "instructor": "Ada Lovelace",
            "videoUrl": "https://youtu.be/dQw4w9WgXcQ",
            "startTime": "2025-01-15T09:00:00Z",
            "isLive": true,
        }),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (hammer, classmate) = (user_token("hammer"), user_token("classmate"));
    for token in [&hammer, &classmate] {
        let join = school
            .post(format!("{base}/api/live-sessions/join"))
            .bearer_auth(token)
            .json(&json!({"sessionId": id}));
        assert_eq!(status_of(join).await, 200);
    }

    // 100 heartbeats at once: the default bucket takes 30 at once, then 2 per second.
    let replies = join_all((0..100).map(|_| {
        school
            .post(format!("{base}/api/live-sessions/{id}/heartbeat"))
            .bearer_auth(&hammer)
            .send()
    }))
    .await;
    let mut refused = Vec::new();
    let mut passed = 0;
    for reply in replies {
        let reply = reply.unwrap();
        match reply.status().as_u16() {
            200 => passed += 1,
            429 => refused.push(reply),
            other => panic!("a heartbeat answered {other}"),
        }
    }
    assert!(passed >= 29, "{passed} passed");
    assert!(refused.len() >= 30, "only {} refused", refused.len());
    for reply in refused {
        assert_rate_limited(reply).await;
    }

    // The classmate, same address, keeps their whole bucket.
    for _ in 0..10 {
        let reply = school
            .post(format!("{base}/api/live-sessions/{id}/heartbeat"))
            .bearer_auth(&classmate);
        assert_eq!(status_of(reply).await, 200);
    }
}

/// Anonymous reads share their address's bucket; another address, and a signed-in user at the
/// same address, are not affected. Requests with tokens that do not verify count as anonymous:
/// a forged token per request does not buy a fresh bucket.
#[tokio::test]
async fn anonymous_and_forged_token_reads_are_limited_per_address() {
    let (_app, base) = served(HttpSettings::default()).await;
    let crowd = client_from("127.0.0.4");
    let elsewhere = client_from("127.0.0.5");

    // 300 anonymous reads at once: the default bucket takes 120 at once, then 20 per second.
    let statuses =
        statuses_at_once((0..300).map(|_| crowd.get(format!("{base}/api/live-sessions")))).await;
    assert_burst_refused(&statuses, 200);

    // Right after, 60 requests at once from the same address, each with a different token that
    // does not verify (tampered, or signed with another secret). Buckets of their own would let
    // all 60 through to a 401; the address's empty bucket refuses nearly all of them (it
    // refills one request per 50 ms).
    let mut other_secret = claims("mallory");
    other_secret["sub"] = json!("mallory-2");
    let forged: Vec<String> = (0..60)
        .map(|i| {
            if i % 2 == 0 {
                format!("{}{i}", user_token("mallory"))
            } else {
                other_secret["n"] = json!(i);
                jsonwebtoken::encode(
                    &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
                    &other_secret,
                    &jsonwebtoken::EncodingKey::from_secret(b"not the server's secret at all"),
                )
                .unwrap()
            }
        })
        .collect();
    let replies = join_all(forged.iter().map(|token| {
        crowd
            .get(format!("{base}/api/live-sessions"))
            .bearer_auth(token)
            .send()
    }))
    .await;
    let mut refused = Vec::new();
    let mut statuses = Vec::new();
    for reply in replies {
        let reply = reply.unwrap();
        statuses.push(reply.status().as_u16());
        if reply.status() == 429 {
            refused.push(reply);
        }
    }
    let counts = tally(&statuses);
    assert!(counts.get(&429).copied().unwrap_or(0) >= 50, "{counts:?}");
    assert!(counts.keys().all(|s| [401, 429].contains(s)), "{counts:?}");
    for reply in refused {
        assert_rate_limited(reply).await;
    }

    // A signed-in user at the same address has their own bucket.
    let reply = crowd
        .get(format!("{base}/api/live-sessions"))
        .bearer_auth(user_token("teacher"));
    assert_eq!(status_of(reply).await, 200);
    // Another address too.
    let reply = elsewhere.get(format!("{base}/api/live-sessions"));
    assert_eq!(status_of(reply).await, 200);
}

/// Until their address's bucket is empty, forged tokens are answered `401`, then `429`: the
/// refusals are charged to the address.
#[tokio::test]
async fn forged_tokens_drain_the_address_bucket() {
    let (_app, base) = served(HttpSettings::default()).await;
    let attacker = client_from("127.0.0.6");
    let statuses = statuses_at_once((0..300).map(|i| {
        attacker
            .get(format!("{base}/api/live-sessions/me/participation"))
            .bearer_auth(format!("{}{i}", user_token("mallory")))
    }))
    .await;
    assert_burst_refused(&statuses, 401);
}

/// Checks the answers to a burst: `status` until the bucket ran dry, then at least 100 `429`s.
fn assert_burst_refused(statuses: &[u16], status: u16) {
    let counts = tally(statuses);
    assert_eq!(
        counts.keys().copied().collect::<Vec<_>>(),
        [status, 429],
        "{counts:?}"
    );
    assert!(counts[&429] >= 100, "{counts:?}");
}

/// Opens an event stream; returns the response while it is open.
async fn open_stream(
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
) -> reqwest::Response {
    let mut request = client.get(format!("{base}/api/live-sessions/events"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// The default cap: 8 streams per user, 256 per anonymous address. One more is `429` with
/// `Retry-After`; another key is not affected; closing a stream frees its slot. (The reads
/// bucket, which opening a stream also draws from, is switched off here so that the 256
/// anonymous streams can open at once.)
#[tokio::test]
async fn event_streams_are_capped_per_user_and_per_anonymous_address() {
    let mut settings = HttpSettings {
        // Frequent keep-alives, so the server notices a closed stream soon.
        sse_keep_alive: Duration::from_millis(100),
        ..Default::default()
    };
    settings.rate_limits.reads.enabled = false;
    let defaults = settings.rate_limits.event_streams.clone();
    assert_eq!((defaults.per_user, defaults.per_ip), (8, 256));
    let (_app, base) = served(settings).await;
    let school = client_from("127.0.0.7");
    let (alice, bob) = (user_token("alice"), user_token("bob"));

    let mut alices = Vec::new();
    for _ in 0..defaults.per_user {
        let stream = open_stream(&school, &base, Some(&alice)).await;
        assert_eq!(stream.status(), 200);
        alices.push(stream);
    }
    assert_rate_limited(open_stream(&school, &base, Some(&alice)).await).await;
    // Bob, and anonymous callers, at the same address are other keys.
    let bobs = open_stream(&school, &base, Some(&bob)).await;
    assert_eq!(bobs.status(), 200);
    let mut anonymous = Vec::new();
    for _ in 0..defaults.per_ip {
        let stream = open_stream(&school, &base, None).await;
        assert_eq!(stream.status(), 200);
        anonymous.push(stream);
    }
    assert_rate_limited(open_stream(&school, &base, None).await).await;
    // Another address has its own anonymous slots.
    let elsewhere = open_stream(&client_from("127.0.0.8"), &base, None).await;
    assert_eq!(elsewhere.status(), 200);

    // Closing one of Alice's streams gives its slot back (once the server notices).
    drop(alices.pop());
    let deadline = Instant::now() + PATIENCE;
    loop {
        let stream = open_stream(&school, &base, Some(&alice)).await;
        if stream.status() == 200 {
            alices.push(stream);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed stream's slot never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_rate_limited(open_stream(&school, &base, Some(&alice)).await).await;
    drop((alices, bobs, anonymous, elsewhere));
}
