//! Calendar feeds over HTTP: the feeds are read back with the `ical` crate (not the crate
//! that writes them) and every field checked; rescheduling moves an event and raises its
//! `SEQUENCE`; a cancellation shows as `STATUS:CANCELLED`; feed tokens rotate and revoke, and
//! every token that opens no feed gets the same `404`; a user's feed holds only that user's
//! sessions; a series is one recurring event whose rule, expanded again, gives exactly the
//! starts of its occurrences, across a daylight-saving change, a cancellation and a "this
//! one" edit.

mod common;

use std::io::BufReader;
use std::sync::Arc;

use axum::http::{header, Method, StatusCode};
use axum::Router;
use chrono::{DateTime, TimeDelta, Utc};
use common::*;
use livesessions_core::{
    Actor, JoinInput, LiveSession, LiveSessions, ManualClock, MemoryStore, NewSession,
    SessionInput, SessionUpdate, UserId,
};
use livesessions_http::{HttpSettings, LiveSessionsApi, RateLimitSettings};
use serde_json::{json, Value};

const BASE: &str = "https://school.example";

struct CalendarApp {
    router: Router,
    service: LiveSessions,
    clock: ManualClock,
}

fn calendar_app_with(settings: HttpSettings, calendar: bool) -> CalendarApp {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::new("2025-01-15T09:00:00Z".parse().unwrap());
    let service = LiveSessions::builder(store.clone())
        .clock(Arc::new(clock.clone()))
        .build();
    let mut api = LiveSessionsApi::new(service.clone())
        .auth(hs_auth())
        .settings(settings);
    if calendar {
        api = api.calendar(store);
    }
    CalendarApp {
        router: api.router(),
        service,
        clock,
    }
}

fn calendar_app() -> CalendarApp {
    calendar_app_with(
        HttpSettings {
            rate_limits: RateLimitSettings::disabled(),
            public_base_url: Some(BASE.parse().unwrap()),
            ..Default::default()
        },
        true,
    )
}

fn admin() -> Actor {
    Actor::admin(UserId::parse("admin-1").unwrap())
}

fn user(id: &str) -> Actor {
    Actor::user(UserId::parse(id).unwrap())
        .with_name(id)
        .with_email(format!("{id}@example.com"))
}

async fn create(
    app: &CalendarApp,
    title: &str,
    description: &str,
    start: &str,
    end: Option<&str>,
) -> LiveSession {
    app.service
        .create(
            Some(&admin()),
            NewSession {
                fields: SessionInput {
                    title: Some(title.into()),
                    description: Some(description.into()),
                    instructor: Some("Sarah Khan".into()),
                    video_url: Some("https://youtu.be/dQw4w9WgXcQ".into()),
                    start_time: Some(start.into()),
                    end_time: end.map(Into::into),
                    ..Default::default()
                },
                is_live: false,
            },
            None,
        )
        .await
        .unwrap()
}

async fn join(app: &CalendarApp, who: &str, session: &LiveSession) {
    app.service
        .join(
            Some(&user(who)),
            JoinInput {
                session_id: session.id.to_string(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

/// One parsed event: its properties' names and raw values.
#[derive(Debug)]
struct Event(Vec<(String, String)>);

impl Event {
    fn raw(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} in {self:?}"))
    }

    /// A TEXT value, unescaped (RFC 5545 §3.3.11).
    fn text(&self, name: &str) -> String {
        let mut out = String::new();
        let mut chars = self.raw(name).chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') | Some('N') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => {}
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    fn time(&self, name: &str) -> DateTime<Utc> {
        let raw = self.raw(name);
        chrono::NaiveDateTime::parse_from_str(raw, "%Y%m%dT%H%M%SZ")
            .unwrap_or_else(|e| panic!("{name}:{raw} is not a UTC date-time: {e}"))
            .and_utc()
    }
}

/// Parses a feed with the `ical` crate: the calendar's own properties and its events.
fn parse(text: &str) -> (Vec<(String, String)>, Vec<Event>) {
    let mut parser = ical::IcalParser::new(BufReader::new(text.as_bytes()));
    let calendar = parser
        .next()
        .expect("one calendar")
        .unwrap_or_else(|e| panic!("not iCalendar ({e}):\n{text}"));
    assert!(parser.next().is_none(), "one calendar only");
    // A property's TZID parameter reads as `<name>;TZID`.
    let pairs = |properties: Vec<ical::property::Property>| {
        let mut out = Vec::new();
        for p in properties {
            for (key, values) in p.params.iter().flatten() {
                if key == "TZID" {
                    out.push((format!("{};TZID", p.name), values.join(",")));
                }
            }
            out.push((p.name, p.value.unwrap_or_default()));
        }
        out
    };
    let events = calendar
        .events
        .into_iter()
        .map(|e| Event(pairs(e.properties)))
        .collect();
    (pairs(calendar.properties), events)
}

fn find<'a>(events: &'a [Event], session: &LiveSession) -> Option<&'a Event> {
    let uid = format!("{}@livesessions", session.id);
    events.iter().find(|e| e.raw("UID") == uid)
}

async fn feed(app: &CalendarApp, path: &str) -> Reply {
    send_empty(&app.router, Method::GET, path, None).await
}

async fn public_events(app: &CalendarApp) -> Vec<Event> {
    let reply = feed(app, "/api/live-sessions/calendar.ics").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    parse(&reply.text()).1
}

#[tokio::test]
async fn the_public_feed_reads_back_with_every_field() {
    let app = calendar_app();
    let title = "Algebra, part 1; equations";
    let described = create(
        &app,
        title,
        "Bring a calculator.\nChapter 3, exercises 1–5; and a pen",
        "2025-01-16T10:00:00Z",
        Some("2025-01-16T11:30:00Z"),
    )
    .await;
    let open_ended = create(&app, "Geometry", "", "2025-01-17T08:00:00+05:00", None).await;
    let ended = create(&app, "Already over", "", "2025-01-15T09:00:00Z", None).await;
    app.service.start(Some(&admin()), ended.id).await.unwrap();
    app.service.end(Some(&admin()), ended.id).await.unwrap();

    let reply = feed(&app, "/api/live-sessions/calendar.ics").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header("content-type"),
        Some("text/calendar; charset=utf-8")
    );
    assert_eq!(reply.header("cache-control"), Some("public, max-age=900"));
    let text = reply.text();
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n"));
    for line in text.split("\r\n") {
        assert!(line.len() <= 75, "a line longer than 75 octets: {line:?}");
    }
    let (calendar, events) = parse(&text);
    assert!(calendar.contains(&("VERSION".into(), "2.0".into())));
    assert!(calendar.iter().any(|(n, _)| n == "PRODID"));
    assert_eq!(events.len(), 2, "the ended session is not in the feed");
    assert!(find(&events, &ended).is_none());

    let event = find(&events, &described).expect("the session's event");
    assert_eq!(event.text("SUMMARY"), title);
    assert_eq!(event.time("DTSTART"), described.fields.start_time);
    assert_eq!(
        event.time("DTEND"),
        "2025-01-16T11:30:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(
        event.time("DTSTAMP"),
        described.updated_at.trunc_subsecs_to_secs()
    );
    let link = format!("{BASE}/live-sessions#/watch/{}", described.id);
    assert_eq!(event.raw("URL"), link);
    let description = event.text("DESCRIPTION");
    assert!(
        description.starts_with("Bring a calculator.\nChapter 3, exercises 1–5; and a pen"),
        "{description}"
    );
    assert!(
        description.contains("Instructor: Sarah Khan"),
        "{description}"
    );
    assert!(
        description.contains(&format!("Join: {link}")),
        "{description}"
    );
    assert_eq!(event.raw("SEQUENCE"), described.version.to_string());
    assert_eq!(event.raw("STATUS"), "CONFIRMED");

    let event = find(&events, &open_ended).expect("the open-ended session's event");
    assert_eq!(
        event.time("DTSTART"),
        "2025-01-17T03:00:00Z".parse::<DateTime<Utc>>().unwrap(),
        "in UTC"
    );
    assert_eq!(
        event.time("DTEND"),
        event.time("DTSTART") + TimeDelta::hours(1),
        "without an end time, an hour"
    );
    assert_eq!(event.text("SUMMARY"), "Geometry");
}

trait Seconds {
    fn trunc_subsecs_to_secs(self) -> Self;
}

impl Seconds for DateTime<Utc> {
    fn trunc_subsecs_to_secs(self) -> Self {
        chrono::SubsecRound::trunc_subsecs(self, 0)
    }
}

#[tokio::test]
async fn a_rescheduled_session_moves_and_its_sequence_grows() {
    let app = calendar_app();
    let session = create(&app, "Physics", "", "2025-01-16T10:00:00Z", None).await;
    let before = public_events(&app).await;
    let before = find(&before, &session).unwrap();
    let first_sequence: u64 = before.raw("SEQUENCE").parse().unwrap();

    app.clock.advance_secs(60);
    let moved = app
        .service
        .update(
            Some(&admin()),
            session.id,
            SessionUpdate {
                fields: SessionInput {
                    start_time: Some("2025-01-18T14:00:00Z".into()),
                    ..Default::default()
                },
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let after = public_events(&app).await;
    let after = find(&after, &moved).expect("the same UID");
    assert_eq!(
        after.time("DTSTART"),
        "2025-01-18T14:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(
        after.time("DTEND"),
        after.time("DTSTART") + TimeDelta::hours(1)
    );
    let sequence: u64 = after.raw("SEQUENCE").parse().unwrap();
    assert!(
        sequence > first_sequence,
        "{sequence} after {first_sequence}"
    );
    assert_eq!(sequence, moved.version);
    assert!(after.time("DTSTAMP") > before.time("DTSTAMP"));
}

#[tokio::test]
async fn a_cancelled_session_stays_in_the_feed_as_cancelled() {
    let app = calendar_app();
    let session = create(&app, "Chemistry", "", "2025-01-16T10:00:00Z", None).await;
    let cancelled = app
        .service
        .cancel(Some(&admin()), session.id)
        .await
        .unwrap();
    let events = public_events(&app).await;
    let event = find(&events, &cancelled).expect("still in the feed");
    assert_eq!(event.raw("STATUS"), "CANCELLED");
    assert_eq!(event.raw("SEQUENCE"), cancelled.version.to_string());

    // Once its start has passed, it leaves the feed.
    app.clock.set("2025-01-16T10:00:01Z".parse().unwrap());
    assert!(find(&public_events(&app).await, &cancelled).is_none());
}

#[tokio::test]
async fn one_sessions_event_is_a_download() {
    let app = calendar_app();
    let session = create(&app, "Biology", "", "2025-01-16T10:00:00Z", None).await;
    let reply = feed(
        &app,
        &format!("/api/live-sessions/{}/calendar.ics", session.id),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header("content-type"),
        Some("text/calendar; charset=utf-8")
    );
    assert_eq!(
        reply.header("content-disposition"),
        Some(format!("attachment; filename=\"session-{}.ics\"", session.id).as_str())
    );
    let (_, events) = parse(&reply.text());
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].text("SUMMARY"), "Biology");
    feed(
        &app,
        "/api/live-sessions/0190d7a4-0000-7000-8000-000000000000/calendar.ics",
    )
    .await
    .problem(404);
}

/// Asks for the caller's feed URL; returns it (path part) and the `webcal://` form.
async fn feed_url(app: &CalendarApp, token: &str) -> (String, String) {
    let reply = send_empty(
        &app.router,
        Method::GET,
        "/api/live-sessions/me/calendar-feed",
        Some(token),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    let url = body["url"].as_str().unwrap().to_owned();
    let webcal = body["webcalUrl"].as_str().unwrap().to_owned();
    let path = url
        .strip_prefix(BASE)
        .unwrap_or_else(|| panic!("{url} is not on {BASE}"))
        .to_owned();
    assert_eq!(webcal, format!("webcal://school.example{path}"));
    let token = path
        .strip_prefix("/api/calendar/")
        .and_then(|t| t.strip_suffix(".ics"))
        .unwrap_or_else(|| panic!("{path}"));
    assert!(token.len() >= 22, "at least 128 bits: {token}");
    assert!(token
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    (path, webcal)
}

/// A `404` as the client sees it: status, body and headers but the request id.
fn not_found_shape(reply: &Reply) -> (StatusCode, Vec<u8>, Vec<(String, String)>) {
    reply.problem(404);
    let mut headers: Vec<(String, String)> = reply
        .headers
        .iter()
        .filter(|(name, _)| *name != "x-request-id")
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    (reply.status, reply.body.clone(), headers)
}

#[tokio::test]
async fn feed_tokens_rotate_and_revoke_and_unknown_ones_look_the_same() {
    let app = calendar_app();
    let ana = user_token("ana");
    send_empty(
        &app.router,
        Method::GET,
        "/api/live-sessions/me/calendar-feed",
        None,
    )
    .await
    .problem(401);
    send_empty(
        &app.router,
        Method::DELETE,
        "/api/live-sessions/me/calendar-feed",
        None,
    )
    .await
    .problem(401);

    let (first, _) = feed_url(&app, &ana).await;
    let reply = feed(&app, &first).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("cache-control"), Some("private, max-age=900"));
    assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));

    let (second, _) = feed_url(&app, &ana).await;
    assert_ne!(first, second);
    let rotated = feed(&app, &first).await;
    assert_eq!(feed(&app, &second).await.status, StatusCode::OK);

    let revoke = send_empty(
        &app.router,
        Method::DELETE,
        "/api/live-sessions/me/calendar-feed",
        Some(&ana),
    )
    .await;
    assert_eq!(revoke.status, StatusCode::NO_CONTENT);
    let revoked = feed(&app, &second).await;

    let unknown = feed(
        &app,
        "/api/calendar/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics",
    )
    .await;
    let malformed = feed(&app, "/api/calendar/nope.ics").await;
    let no_suffix = feed(&app, &second.replace(".ics", "")).await;
    let expected = not_found_shape(&unknown);
    for (what, reply) in [
        ("rotated", &rotated),
        ("revoked", &revoked),
        ("malformed", &malformed),
        ("without .ics", &no_suffix),
    ] {
        assert_eq!(not_found_shape(reply), expected, "the {what} token's 404");
    }
    // The same as a path the router does not know.
    let nowhere = feed(&app, "/api/no-such-thing").await;
    assert_eq!(not_found_shape(&nowhere), expected);

    // A new link works again after a revocation.
    let (third, _) = feed_url(&app, &ana).await;
    assert_eq!(feed(&app, &third).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_users_feed_holds_only_the_sessions_the_user_joined() {
    let app = calendar_app();
    let anas = create(&app, "Ana's class", "", "2025-01-16T10:00:00Z", None).await;
    let live = create(&app, "Live now", "", "2025-01-15T09:00:00Z", None).await;
    let bens = create(&app, "Ben's class", "", "2025-01-16T12:00:00Z", None).await;
    let nobodys = create(&app, "Nobody's class", "", "2025-01-16T14:00:00Z", None).await;
    let called_off = create(&app, "Called off", "", "2025-01-17T10:00:00Z", None).await;
    app.service.start(Some(&admin()), live.id).await.unwrap();
    join(&app, "ana", &anas).await; // while scheduled
    join(&app, "ana", &live).await;
    join(&app, "ana", &called_off).await;
    join(&app, "ben", &bens).await;
    app.service
        .cancel(Some(&admin()), called_off.id)
        .await
        .unwrap();

    let (anas_feed, _) = feed_url(&app, &user_token("ana")).await;
    let (bens_feed, _) = feed_url(&app, &user_token("ben")).await;
    let reply = feed(&app, &anas_feed).await;
    assert_eq!(reply.status, StatusCode::OK);
    let (_, events) = parse(&reply.text());
    let uids: Vec<&str> = events.iter().map(|e| e.raw("UID")).collect();
    assert_eq!(
        uids,
        vec![
            format!("{}@livesessions", live.id),
            format!("{}@livesessions", anas.id),
            format!("{}@livesessions", called_off.id),
        ],
        "ana's sessions by start time"
    );
    assert_eq!(
        find(&events, &called_off).unwrap().raw("STATUS"),
        "CANCELLED"
    );
    assert!(find(&events, &bens).is_none());
    assert!(find(&events, &nobodys).is_none());

    let (_, events) = parse(&feed(&app, &bens_feed).await.text());
    assert_eq!(events.len(), 1);
    assert!(find(&events, &bens).is_some());
}

#[tokio::test]
async fn links_come_from_a_checked_host_header_without_a_base_url() {
    let app = calendar_app_with(
        HttpSettings {
            rate_limits: RateLimitSettings::disabled(),
            ..Default::default()
        },
        true,
    );
    let session = create(&app, "Music", "", "2025-01-16T10:00:00Z", None).await;
    let get_with_host = |host: &'static str| {
        let router = app.router.clone();
        async move {
            send(
                &router,
                request(Method::GET, "/api/live-sessions/calendar.ics", None)
                    .header(header::HOST, host)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
        }
    };
    let reply = get_with_host("127.0.0.1:8080").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("cache-control"), Some("private, max-age=900"));
    let (_, events) = parse(&reply.text());
    assert_eq!(
        find(&events, &session).unwrap().raw("URL"),
        format!("http://127.0.0.1:8080/live-sessions#/watch/{}", session.id)
    );
    let reply = get_with_host("school.example").await;
    let (_, events) = parse(&reply.text());
    assert!(find(&events, &session)
        .unwrap()
        .raw("URL")
        .starts_with("https://school.example/"));
    for bad in ["evil.example/phish?", "user@evil.example", "a b"] {
        get_with_host(bad).await.problem(400);
    }
}

#[tokio::test]
async fn without_a_calendar_store_the_feeds_answer_404() {
    let app = calendar_app_with(
        HttpSettings {
            rate_limits: RateLimitSettings::disabled(),
            public_base_url: Some(BASE.parse().unwrap()),
            ..Default::default()
        },
        false,
    );
    let session = create(&app, "Art", "", "2025-01-16T10:00:00Z", None).await;
    feed(&app, "/api/live-sessions/calendar.ics")
        .await
        .problem(404);
    send_empty(
        &app.router,
        Method::GET,
        "/api/live-sessions/me/calendar-feed",
        Some(&user_token("ana")),
    )
    .await
    .problem(404);
    // One session's event needs no calendar store.
    let reply = feed(
        &app,
        &format!("/api/live-sessions/{}/calendar.ics", session.id),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
}

impl Event {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The instants of a recurring event: its `DTSTART`, `RRULE` and `EXDATE` expanded with
    /// the `rrule` crate, in UTC.
    fn instants(&self) -> Vec<DateTime<Utc>> {
        let zone = self.raw("DTSTART;TZID");
        let mut text = format!(
            "DTSTART;TZID={zone}:{}\nRRULE:{}",
            self.raw("DTSTART"),
            self.raw("RRULE")
        );
        if let Some(excluded) = self.get("EXDATE") {
            assert_eq!(
                self.raw("EXDATE;TZID"),
                zone,
                "EXDATE in the DTSTART's zone"
            );
            text.push_str(&format!("\nEXDATE;TZID={zone}:{excluded}"));
        }
        let set: rrule::RRuleSet = text.parse().unwrap_or_else(|e| panic!("{e}: {text}"));
        let all = set.all(1000);
        assert!(!all.limited, "the rule ends");
        all.dates.iter().map(|d| d.with_timezone(&Utc)).collect()
    }

    fn excluded(&self) -> Vec<&str> {
        self.get("EXDATE")
            .map(|v| v.split(',').collect())
            .unwrap_or_default()
    }

    fn sequence(&self) -> u64 {
        self.raw("SEQUENCE").parse().unwrap()
    }
}

/// A weekly series through the API: Tuesdays 10:00–11:30 in Berlin, four times from 18 March
/// 2025, across the change to summer time on 30 March. Answers the series id and its
/// occurrences (JSON, by start).
async fn weekly_series(app: &CalendarApp) -> (String, Vec<Value>) {
    let mut body = session_body("German B1");
    body["startTime"] = json!("2025-03-18T10:00");
    body["endTime"] = json!("2025-03-18T11:30");
    body["timezone"] = json!("Europe/Berlin");
    body["recurrence"] = json!("FREQ=WEEKLY;BYDAY=TU;COUNT=4");
    let first = created(post_session(&app.router, &body).await);
    let series_id = first["seriesId"].as_str().unwrap().to_owned();
    let reply = get(
        &app.router,
        &format!("/api/live-sessions/series/{series_id}"),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let occurrences = reply.json().as_array().unwrap().clone();
    assert_eq!(occurrences.len(), 4);
    (series_id, occurrences)
}

fn start_of(occurrence: &Value) -> DateTime<Utc> {
    occurrence["startTime"].as_str().unwrap().parse().unwrap()
}

fn uid_of(occurrence: &Value) -> String {
    format!("{}@livesessions", occurrence["id"].as_str().unwrap())
}

/// Every start the events of a feed give (recurring ones expanded), but cancelled events.
fn feed_starts(events: &[Event]) -> Vec<DateTime<Utc>> {
    let mut starts: Vec<DateTime<Utc>> = events
        .iter()
        .filter(|e| e.raw("STATUS") != "CANCELLED")
        .flat_map(|e| match e.get("RRULE") {
            Some(_) => e.instants(),
            None => vec![e.time("DTSTART")],
        })
        .collect();
    starts.sort();
    starts
}

#[tokio::test]
async fn a_series_is_one_recurring_event_that_expands_to_its_occurrences() {
    let app = calendar_app();
    let (series_id, occurrences) = weekly_series(&app).await;
    let starts: Vec<DateTime<Utc>> = occurrences.iter().map(start_of).collect();
    // 10:00 in Berlin: 09:00 UTC in winter time, 08:00 UTC in summer time.
    assert_eq!(starts[1].to_rfc3339(), "2025-03-25T09:00:00+00:00");
    assert_eq!(starts[2].to_rfc3339(), "2025-04-01T08:00:00+00:00");

    let reply = feed(&app, "/api/live-sessions/calendar.ics").await;
    let text = reply.text();
    for line in text.split("\r\n") {
        assert!(line.len() <= 75, "a line longer than 75 octets: {line:?}");
    }
    let (_, events) = parse(&text);
    assert_eq!(events.len(), 1, "one event for the series: {text}");
    let master = &events[0];
    assert_eq!(master.raw("UID"), format!("{series_id}@livesessions"));
    for occurrence in &occurrences {
        assert_ne!(master.raw("UID"), uid_of(occurrence));
    }
    assert_eq!(master.raw("DTSTART;TZID"), "Europe/Berlin");
    assert_eq!(master.raw("DTSTART"), "20250318T100000", "local time");
    assert_eq!(
        master.raw("RRULE"),
        "FREQ=WEEKLY;BYDAY=TU;UNTIL=20250408T080000Z",
        "COUNT became UNTIL at the last occurrence"
    );
    assert_eq!(master.raw("DURATION"), "PT5400S");
    assert!(master.get("DTEND").is_none());
    assert!(master.get("EXDATE").is_none());
    assert_eq!(master.text("SUMMARY"), "German B1");
    assert_eq!(master.raw("STATUS"), "CONFIRMED");
    assert_eq!(
        master.instants(),
        starts,
        "the rule gives exactly the starts"
    );
    let first_sequence = master.sequence();

    // Cancelling the second: its instant is excluded, the rest stays, SEQUENCE grows.
    app.clock.advance_secs(60);
    let cancel = format!(
        "/api/admin/live-sessions/{}/cancel",
        occurrences[1]["id"].as_str().unwrap()
    );
    let reply = post_empty(&app.router, &cancel, Some(&admin_token())).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let events = public_events(&app).await;
    assert_eq!(events.len(), 1, "the cancelled occurrence is an EXDATE");
    let master = &events[0];
    assert_eq!(master.raw("UID"), format!("{series_id}@livesessions"));
    assert_eq!(master.excluded(), ["20250325T100000"]);
    assert_eq!(master.instants(), [starts[0], starts[2], starts[3]]);
    let cancelled_sequence = master.sequence();
    assert!(cancelled_sequence > first_sequence);

    // A "this one" edit of the third's title: its own event, excluded from the rule.
    app.clock.advance_secs(60);
    let third = occurrences[2]["id"].as_str().unwrap();
    let reply = put_session(
        &app.router,
        third,
        &admin_token(),
        &json!({"title": "German B1: oral exam", "version": occurrences[2]["version"]}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let events = public_events(&app).await;
    assert_eq!(events.len(), 2, "the series and the edited occurrence");
    let master = events
        .iter()
        .find(|e| e.raw("UID") == format!("{series_id}@livesessions"))
        .expect("the series' event");
    assert_eq!(
        master.excluded(),
        ["20250325T100000", "20250401T100000"],
        "the cancelled and the edited occurrences"
    );
    assert_eq!(master.instants(), [starts[0], starts[3]]);
    // The highest version among the occurrences: the edited one's is that of the cancelled.
    assert_eq!(master.sequence(), cancelled_sequence);
    assert_eq!(master.text("SUMMARY"), "German B1");
    let edited = events
        .iter()
        .find(|e| e.raw("UID") == uid_of(&occurrences[2]))
        .expect("the edited occurrence's own event");
    assert_eq!(edited.text("SUMMARY"), "German B1: oral exam");
    assert_eq!(edited.time("DTSTART"), starts[2]);
    assert!(edited.get("RRULE").is_none());
    // The feed as a whole: exactly the starts of the sessions not cancelled.
    assert_eq!(feed_starts(&events), [starts[0], starts[2], starts[3]]);

    // One occurrence's download stays one event of its own.
    let reply = feed(
        &app,
        &format!(
            "/api/live-sessions/{}/calendar.ics",
            occurrences[0]["id"].as_str().unwrap()
        ),
    )
    .await;
    let (_, events) = parse(&reply.text());
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].raw("UID"), uid_of(&occurrences[0]));
    assert!(events[0].get("RRULE").is_none());
    assert_eq!(events[0].time("DTSTART"), starts[0]);
}

#[tokio::test]
async fn a_users_feed_holds_the_occurrences_they_joined_as_one_recurring_event() {
    let app = calendar_app();
    let (series_id, occurrences) = weekly_series(&app).await;
    let starts: Vec<DateTime<Utc>> = occurrences.iter().map(start_of).collect();
    for i in [1, 3] {
        let id = occurrences[i]["id"].as_str().unwrap().parse().unwrap();
        let session = app.service.get(Some(&admin()), id).await.unwrap().session;
        join(&app, "ana", &session).await;
    }
    let (path, _) = feed_url(&app, &user_token("ana")).await;
    let reply = feed(&app, &path).await;
    assert_eq!(reply.status, StatusCode::OK);
    let (_, events) = parse(&reply.text());
    assert_eq!(events.len(), 1, "{}", reply.text());
    let master = &events[0];
    assert_eq!(master.raw("UID"), format!("{series_id}@livesessions"));
    // Anchored at the first occurrence in this feed, the second; the third is not hers.
    assert_eq!(master.raw("DTSTART"), "20250325T100000");
    assert_eq!(master.excluded(), ["20250401T100000"]);
    assert_eq!(master.instants(), [starts[1], starts[3]]);
    assert_eq!(feed_starts(&events), [starts[1], starts[3]]);
}
