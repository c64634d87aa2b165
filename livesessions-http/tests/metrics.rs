//! `GET /metrics`: Prometheus text that parses, request counters labelled by route template,
//! attendance counters, the open-streams gauge, the hooks for other figures, and the settings
//! that switch the route off or protect it.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Method, StatusCode};
use axum::Router;
use common::*;
use livesessions_http::{HttpSettings, LiveSessionsApi, Metrics, WebhookOutcome};
use serde_json::json;
use tower::ServiceExt;

/// One sample: its name, its labels and its value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed exposition in the Prometheus text format (version 0.0.4).
#[derive(Debug)]
struct Exposition {
    samples: Vec<Sample>,
    types: HashMap<String, String>,
}

impl Exposition {
    /// Parses `text`, failing the test on anything the format does not allow: a malformed line,
    /// a sample of a family without a `# TYPE`, a family declared twice or split in two, a
    /// histogram whose buckets are not cumulative.
    fn parse(text: &str) -> Exposition {
        let mut types = HashMap::new();
        let mut samples = Vec::new();
        let mut finished_families = BTreeSet::new();
        let mut current: Option<String> = None;
        for line in text.lines() {
            if line.is_empty() {
                continue;
            }
            if let Some(comment) = line.strip_prefix('#') {
                let words: Vec<&str> = comment.trim_start().splitn(3, ' ').collect();
                match words.as_slice() {
                    ["TYPE", name, kind] => {
                        assert!(valid_metric_name(name), "bad name in {line:?}");
                        assert!(
                            ["counter", "gauge", "histogram", "summary", "untyped"].contains(kind),
                            "bad type in {line:?}"
                        );
                        let previous = types.insert(name.to_string(), kind.to_string());
                        assert!(previous.is_none(), "{name} declared twice");
                    }
                    ["HELP", name, ..] => assert!(valid_metric_name(name), "bad {line:?}"),
                    _ => {}
                }
                continue;
            }
            let sample = parse_sample(line);
            let family = family_of(&sample.name, &types)
                .unwrap_or_else(|| panic!("{line:?} belongs to no declared family"));
            if current.as_deref() != Some(family.as_str()) {
                assert!(
                    finished_families.insert(family.clone()),
                    "the samples of {family} are not together"
                );
                current = Some(family);
            }
            samples.push(sample);
        }
        let exposition = Exposition { samples, types };
        exposition.check_histograms();
        exposition
    }

    /// The value of the sample `name` with exactly `labels`, if there is one.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut found = self
            .samples
            .iter()
            .filter(|s| s.name == name && s.labels == wanted);
        let value = found.next().map(|s| s.value);
        assert!(found.next().is_none(), "{name} {labels:?} appears twice");
        value
    }

    /// Every sample of `name`.
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| s.name == name)
    }

    /// Every value of label `label` among the samples of `name`.
    fn label_values(&self, name: &str, label: &str) -> BTreeSet<String> {
        self.all(name)
            .filter_map(|s| s.labels.get(label).cloned())
            .collect()
    }

    /// Within each series of each histogram, buckets are cumulative and the `+Inf` bucket equals
    /// `_count`.
    fn check_histograms(&self) {
        for (family, kind) in &self.types {
            if kind != "histogram" {
                continue;
            }
            let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
            for sample in self.all(&format!("{family}_bucket")) {
                let mut labels = sample.labels.clone();
                let le = labels.remove("le").expect("a bucket without le");
                let bound = parse_value(&le);
                series
                    .entry(labels)
                    .or_default()
                    .push((bound, sample.value));
            }
            for (labels, mut buckets) in series {
                buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
                assert!(
                    buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                    "{family} {labels:?}: buckets are not cumulative: {buckets:?}"
                );
                let (last_bound, last) = *buckets.last().unwrap();
                assert_eq!(last_bound, f64::INFINITY, "{family} {labels:?} lacks +Inf");
                let pairs: Vec<(&str, &str)> = labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let count = self.get(&format!("{family}_count"), &pairs);
                assert_eq!(count, Some(last), "{family} {labels:?}: +Inf vs _count");
                assert!(self.get(&format!("{family}_sum"), &pairs).is_some());
            }
        }
    }
}

fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The family a sample belongs to: its own name, or a histogram's or summary's name for the
/// suffixed series.
fn family_of(name: &str, types: &HashMap<String, String>) -> Option<String> {
    if types.contains_key(name) {
        return Some(name.to_owned());
    }
    ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
        let base = name.strip_suffix(suffix)?;
        matches!(types.get(base)?.as_str(), "histogram" | "summary").then(|| base.to_owned())
    })
}

fn parse_value(text: &str) -> f64 {
    match text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        _ => text
            .parse()
            .unwrap_or_else(|_| panic!("{text:?} is not a value")),
    }
}

/// `name{label="value",...} value [timestamp]`, with `\\`, `\"` and `\n` escapes in values.
fn parse_sample(line: &str) -> Sample {
    let name_end = line.find(['{', ' ']).expect("a sample without a value");
    let name = &line[..name_end];
    assert!(valid_metric_name(name), "bad name in {line:?}");
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(body) = rest.strip_prefix('{') {
        let mut chars = body.char_indices();
        loop {
            // A label name up to `=`, or the closing brace (also after a trailing comma).
            let mut key = String::new();
            let closed_at = loop {
                match chars.next().expect("unterminated labels") {
                    (_, '=') => break None,
                    (i, '}') if key.is_empty() => break Some(i),
                    (_, c) => key.push(c),
                }
            };
            if let Some(i) = closed_at {
                rest = &body[i + 1..];
                break;
            }
            assert!(valid_label_name(&key), "bad label name {key:?} in {line:?}");
            assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line:?}");
            let mut value = String::new();
            loop {
                match chars.next().expect("unterminated label value").1 {
                    '"' => break,
                    '\\' => match chars.next().expect("a dangling escape").1 {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        other => panic!("bad escape \\{other} in {line:?}"),
                    },
                    other => value.push(other),
                }
            }
            assert!(
                labels.insert(key.clone(), value).is_none(),
                "label {key} twice in {line:?}"
            );
            match chars.next() {
                Some((_, ',')) => {}
                Some((i, '}')) => {
                    rest = &body[i + 1..];
                    break;
                }
                other => panic!("unexpected {other:?} after a label in {line:?}"),
            }
        }
    }
    assert!(
        rest.starts_with(' '),
        "no space before the value in {line:?}"
    );
    let mut fields = rest.split_whitespace();
    let value = parse_value(fields.next().expect("a sample without a value"));
    if let Some(timestamp) = fields.next() {
        timestamp.parse::<i64>().expect("a bad timestamp");
    }
    assert!(fields.next().is_none(), "trailing text in {line:?}");
    Sample {
        name: name.to_owned(),
        labels,
        value,
    }
}

#[test]
fn the_parser_reads_escapes_histograms_and_comments() {
    let text = "# A comment\n\
                # HELP a_total Help with \\\\ and \\n.\n\
                # TYPE a_total counter\n\
                a_total{x=\"q\\\"\\\\\\n\",y=\"\"} 3\n\
                a_total 1 1700000000000\n\
                # TYPE h histogram\n\
                h_bucket{le=\"0.5\"} 1\n\
                h_bucket{le=\"+Inf\"} 2\n\
                h_sum 0.75\n\
                h_count 2\n";
    let parsed = Exposition::parse(text);
    assert_eq!(
        parsed.get("a_total", &[("x", "q\"\\\n"), ("y", "")]),
        Some(3.0)
    );
    assert_eq!(parsed.get("a_total", &[]), Some(1.0));
    assert_eq!(parsed.get("h_count", &[]), Some(2.0));
}

#[test]
#[should_panic(expected = "belongs to no declared family")]
fn the_parser_refuses_a_sample_without_a_type() {
    Exposition::parse("# TYPE a counter\nb 1\n");
}

#[test]
#[should_panic(expected = "not cumulative")]
fn the_parser_refuses_buckets_that_go_down() {
    Exposition::parse(
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
    );
}

/// Scrapes `GET /metrics` and parses it.
async fn scrape(router: &Router) -> Exposition {
    let reply = get(router, "/metrics", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let content_type = reply.header("content-type").unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    Exposition::parse(&reply.text())
}

const REQUESTS: &str = "livesessions_http_requests_total";
const DURATION_COUNT: &str = "livesessions_http_request_duration_seconds_count";
const DURATION_INF: &str = "livesessions_http_request_duration_seconds_bucket";

/// How much the sample went up between two scrapes (a sample that did not exist counts as 0).
fn delta(before: &Exposition, after: &Exposition, name: &str, labels: &[(&str, &str)]) -> f64 {
    after.get(name, labels).unwrap_or(0.0) - before.get(name, labels).unwrap_or(0.0)
}

/// How many requests of `route`, `method` and `status` were counted between two scrapes, by
/// the counter; the duration histogram's `_count` and `+Inf` bucket must agree.
fn requests_between(
    before: &Exposition,
    after: &Exposition,
    route: &str,
    method: &str,
    status: &str,
) -> f64 {
    let labels = [("route", route), ("method", method), ("status", status)];
    let counted = delta(before, after, REQUESTS, &labels);
    assert_eq!(
        delta(before, after, DURATION_COUNT, &labels),
        counted,
        "histogram _count of {labels:?}"
    );
    let mut inf = labels.to_vec();
    inf.push(("le", "+Inf"));
    assert_eq!(
        delta(before, after, DURATION_INF, &inf),
        counted,
        "+Inf bucket of {labels:?}"
    );
    counted
}

#[tokio::test]
async fn requests_joins_and_heartbeats_are_counted_by_route_template() {
    let app = app();
    let id = create_id(&app.router, "Metrics 101").await;
    let student = user_token("u1");
    let before = scrape(&app.router).await;

    for _ in 0..2 {
        assert_eq!(
            get(&app.router, "/api/live-sessions", None).await.status,
            200
        );
    }
    let body = json!({"sessionId": id});
    assert_eq!(post_join(&app.router, &student, &body).await.status, 200);
    assert_eq!(post_join(&app.router, &student, &body).await.status, 200);
    let beat = post_empty(
        &app.router,
        &format!("/api/live-sessions/{id}/heartbeat"),
        Some(&student),
    )
    .await;
    assert_eq!(beat.status, 200, "{}", beat.text());
    let leave = post_empty(
        &app.router,
        &format!("/api/live-sessions/{id}/leave"),
        Some(&student),
    )
    .await;
    assert_eq!(leave.status, 200, "{}", leave.text());
    // Two unknown sessions: the label is the template, never the id.
    let unknown = "0190d7a4-0000-7000-8000-000000000000";
    get(&app.router, &format!("/api/live-sessions/{unknown}"), None)
        .await
        .problem(404);
    get(&app.router, "/api/live-sessions/not-a-uuid", None)
        .await
        .problem(404);
    // A heartbeat without a token is refused, and counted with its status.
    post_empty(
        &app.router,
        &format!("/api/live-sessions/{id}/heartbeat"),
        None,
    )
    .await
    .problem(401);

    let after = scrape(&app.router).await;
    let between = |route, method, status| requests_between(&before, &after, route, method, status);
    assert_eq!(between("/api/live-sessions", "GET", "200"), 2.0);
    assert_eq!(between("/api/live-sessions/join", "POST", "200"), 2.0);
    assert_eq!(
        between("/api/live-sessions/{id}/heartbeat", "POST", "200"),
        1.0
    );
    assert_eq!(
        between("/api/live-sessions/{id}/heartbeat", "POST", "401"),
        1.0
    );
    assert_eq!(between("/api/live-sessions/{id}/leave", "POST", "200"), 1.0);
    assert_eq!(between("/api/live-sessions/{id}", "GET", "404"), 2.0);
    // The scrape before counts once it has been answered.
    assert_eq!(between("/metrics", "GET", "200"), 1.0);
    assert_eq!(between("/api/live-sessions/{id}", "GET", "200"), 0.0);

    let counter = |name: &str, labels: &[(&str, &str)]| delta(&before, &after, name, labels);
    assert_eq!(
        counter("livesessions_joins_total", &[("kind", "first")]),
        1.0
    );
    assert_eq!(
        counter("livesessions_joins_total", &[("kind", "rejoin")]),
        1.0
    );
    // The refused heartbeat is not a heartbeat.
    assert_eq!(counter("livesessions_heartbeats_total", &[]), 1.0);
    assert_eq!(counter("livesessions_leaves_total", &[]), 1.0);

    assert_eq!(after.types[REQUESTS], "counter");
    assert_eq!(
        after.types["livesessions_http_request_duration_seconds"],
        "histogram"
    );
    for route in after.label_values(REQUESTS, "route") {
        assert!(
            !route.contains(&id) && !route.contains(unknown) && !route.contains("not-a-uuid"),
            "{route}"
        );
    }
}

#[tokio::test]
async fn unknown_paths_and_methods_add_no_label_values() {
    let app = app();
    get(&app.router, "/api/live-sessions", None).await;
    let before = scrape(&app.router).await;
    let series_before = before.all(REQUESTS).count();

    for i in 0..5 {
        get(&app.router, &format!("/no/such/path-{i}"), None)
            .await
            .problem(404);
    }
    get(&app.router, "/api/live-sessions/x/y/z", None)
        .await
        .problem(404);
    for verb in ["BREW", "PROPFIND", "X-ANYTHING"] {
        let method = Method::from_bytes(verb.as_bytes()).unwrap();
        send_empty(&app.router, method, "/api/live-sessions", None)
            .await
            .problem(405);
    }

    let after = scrape(&app.router).await;
    assert_eq!(
        requests_between(&before, &after, "unmatched", "GET", "404"),
        6.0
    );
    assert_eq!(
        requests_between(&before, &after, "/api/live-sessions", "other", "405"),
        3.0
    );
    // Two new series (the unknown paths, the unknown methods) and the first scrape's own.
    assert_eq!(after.all(REQUESTS).count(), series_before + 3);

    let known: BTreeSet<String> = LiveSessionsApi::routes()
        .into_iter()
        .map(|(_, path)| path.to_owned())
        .chain(["unmatched".to_owned()])
        .collect();
    let routes = after.label_values(REQUESTS, "route");
    assert!(routes.is_subset(&known), "{routes:?}");
    let methods = after.label_values(REQUESTS, "method");
    assert_eq!(
        methods,
        BTreeSet::from(["GET".to_owned(), "other".to_owned()])
    );
    let text = get(&app.router, "/metrics", None).await.text();
    for raw in ["no/such", "path-", "x/y/z", "BREW", "PROPFIND"] {
        assert!(!text.contains(raw), "{raw} leaked into the metrics");
    }
}

/// Opens an event stream in process; the response holds it open until dropped.
async fn open_stream(router: &Router) -> axum::response::Response {
    let response = router
        .clone()
        .oneshot(
            axum::http::Request::get("/api/live-sessions/events")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response
}

async fn open_streams(router: &Router) -> f64 {
    scrape(router)
        .await
        .get("livesessions_event_streams_open", &[])
        .expect("the open-streams gauge")
}

#[tokio::test]
async fn open_event_streams_are_counted_while_they_are_open() {
    let app = app();
    assert_eq!(open_streams(&app.router).await, 0.0);
    let first = open_stream(&app.router).await;
    assert_eq!(open_streams(&app.router).await, 1.0);
    let second = open_stream(&app.router).await;
    assert_eq!(open_streams(&app.router).await, 2.0);
    drop(first);
    assert_eq!(open_streams(&app.router).await, 1.0);
    drop(second);
    assert_eq!(open_streams(&app.router).await, 0.0);
    // A stream that is refused (here: no event source) never counts.
    let silent = LiveSessionsApi::new(app.service.clone())
        .settings(settings())
        .router();
    get(&silent, "/api/live-sessions/events", None)
        .await
        .problem(404);
    assert_eq!(open_streams(&silent).await, 0.0);
}

#[tokio::test]
async fn a_stream_whose_client_goes_away_stops_counting() {
    let settings = HttpSettings {
        // Frequent keep-alives, so the server notices the closed connection soon.
        sse_keep_alive: Duration::from_millis(100),
        ..settings()
    };
    let app = app_with(settings, hs_auth());
    let base = serve(app.router.clone()).await;
    let client = client_from("127.0.0.1");
    let mut stream = fetch(client.get(format!("{base}/api/live-sessions/events"))).await;
    assert_eq!(stream.status(), 200);
    // The first bytes arrived: the stream is open on the server.
    let first = tokio::time::timeout(PATIENCE, stream.chunk())
        .await
        .expect("the stream stalled")
        .unwrap();
    assert!(first.is_some());
    assert_eq!(open_streams(&app.router).await, 1.0);

    drop(stream);
    drop(client);
    let deadline = Instant::now() + PATIENCE;
    while open_streams(&app.router).await != 0.0 {
        assert!(
            Instant::now() < deadline,
            "the closed stream is still counted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn event_log_lag_and_webhook_outcomes_render_when_reported() {
    let metrics = Metrics::new();
    let app = app();
    let router = LiveSessionsApi::new(app.service.clone())
        .settings(settings())
        .metrics(metrics.clone())
        .router();
    let before = scrape(&router).await;
    for outcome in [
        WebhookOutcome::Success,
        WebhookOutcome::Success,
        WebhookOutcome::Failure,
        WebhookOutcome::Disabled,
    ] {
        metrics.record_webhook_delivery(outcome);
    }
    metrics.set_event_log_lag(Duration::from_millis(1500));

    let after = scrape(&router).await;
    let deliveries = "livesessions_webhook_deliveries_total";
    assert_eq!(after.types[deliveries], "counter");
    for (outcome, count) in [("success", 2.0), ("failure", 1.0), ("disabled", 1.0)] {
        assert_eq!(before.get(deliveries, &[("outcome", outcome)]), Some(0.0));
        assert_eq!(
            delta(&before, &after, deliveries, &[("outcome", outcome)]),
            count
        );
    }
    let lag = "livesessions_event_log_lag_seconds";
    assert_eq!(after.types[lag], "gauge");
    assert_eq!(after.get(lag, &[]), Some(1.5));
    metrics.set_event_log_lag(Duration::ZERO);
    assert_eq!(scrape(&router).await.get(lag, &[]), Some(0.0));
    // What the route serves is what the handle renders.
    assert_eq!(
        Exposition::parse(&metrics.render()).get(deliveries, &[("outcome", "success")]),
        Some(2.0)
    );
}

#[tokio::test]
async fn routers_in_one_process_keep_their_own_figures() {
    let (one, two) = (app(), app());
    for _ in 0..3 {
        get(&one.router, "/api/live-sessions", None).await;
    }
    let list = [
        ("route", "/api/live-sessions"),
        ("method", "GET"),
        ("status", "200"),
    ];
    assert_eq!(scrape(&one.router).await.get(REQUESTS, &list), Some(3.0));
    assert_eq!(scrape(&two.router).await.get(REQUESTS, &list), None);
}

#[tokio::test]
async fn the_route_can_be_switched_off_without_stopping_the_counting() {
    let metrics = Metrics::new();
    let app = app();
    let router = LiveSessionsApi::new(app.service.clone())
        .settings(HttpSettings {
            metrics: false,
            ..settings()
        })
        .metrics(metrics.clone())
        .router();
    get(&router, "/metrics", None).await.problem(404);
    let openapi = get(&router, "/api/openapi.json", None).await.json();
    assert!(openapi["paths"].get("/healthz").is_some());
    assert!(openapi["paths"].get("/metrics").is_none());
    // Served elsewhere (e.g. on an internal listener), the figures are all there.
    let counted = Exposition::parse(&metrics.render());
    assert_eq!(
        counted.get(
            REQUESTS,
            &[("route", "unmatched"), ("method", "GET"), ("status", "404")]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn a_metrics_token_keeps_out_everyone_without_it() {
    let app = app_with(
        HttpSettings {
            metrics_token: Some("scrape-secret".to_owned()),
            ..settings()
        },
        hs_auth(),
    );
    let metrics = |token: Option<&str>| {
        let router = app.router.clone();
        let token = token.map(str::to_owned);
        async move { get(&router, "/metrics", token.as_deref()).await }
    };
    let refused = metrics(None).await;
    assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
    let refused = refused.problem(401);
    assert_eq!(refused["code"], "unauthenticated");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("metrics token"),
        "{refused}"
    );
    metrics(Some("wrong")).await.problem(401);
    // A user's valid JWT, even an admin's, is not the metrics token.
    metrics(Some(&admin_token())).await.problem(401);
    let basic = send(
        &app.router,
        request(Method::GET, "/metrics", None)
            .header(header::AUTHORIZATION, "Basic scrape-secret")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    basic.problem(401);

    let allowed = metrics(Some("scrape-secret")).await;
    assert_eq!(allowed.status, StatusCode::OK);
    let exposition = Exposition::parse(&allowed.text());
    assert_eq!(
        exposition.get(
            REQUESTS,
            &[("route", "/metrics"), ("method", "GET"), ("status", "401")]
        ),
        Some(4.0)
    );
}
