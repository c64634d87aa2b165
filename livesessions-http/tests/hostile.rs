//! Hostile input beyond what `auth.rs`, `routes.rs` and `uploads.rs` cover: every
//! token attack against every route that needs a user, polyglot and disguised uploads on create
//! and update, JSON that is nested too deep, too large, not UTF-8 or of the wrong types, bad
//! dates, offsets and query values, and rate-limit bursts from distinct peer addresses.
//!
//! Every refusal must be a `4xx` `application/problem+json` answer, and nothing may be written.

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::Router;
use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use livesessions_http::ClientIpSource;
use serde_json::{json, Value};

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Tokens that must all be refused, with what each one tries.
fn token_attacks() -> Vec<(&'static str, String)> {
    let valid = user_token("u1");
    let parts: Vec<&str> = valid.split('.').collect();
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut c = claims("u1");
        edit(&mut c);
        hs_token_for(&c)
    };
    let mut admin_claims = claims("u1");
    admin_claims["admin"] = json!(true);
    let none_header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64(admin_claims.to_string().as_bytes());
    vec![
        ("alg none", format!("{none_header}.{payload}.")),
        (
            "alg none with a stolen signature",
            format!("{none_header}.{payload}.{}", parts[2]),
        ),
        (
            "alg NONE in capitals",
            format!("{}.{payload}.", b64(br#"{"alg":"NONE"}"#)),
        ),
        (
            "HS512 with the right secret (algorithm not pinned)",
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS512),
                &claims("u1"),
                &EncodingKey::from_secret(SECRET),
            )
            .unwrap(),
        ),
        ("expired", with(&|c| c["exp"] = json!(now_secs() - 3600))),
        (
            "not yet valid",
            with(&|c| c["nbf"] = json!(now_secs() + 3600)),
        ),
        (
            "no expiry",
            with(&|c| drop(c.as_object_mut().unwrap().remove("exp"))),
        ),
        (
            "exp of the wrong type",
            with(&|c| c["exp"] = json!("tomorrow")),
        ),
        (
            "tampered payload",
            format!("{}.{payload}.{}", parts[0], parts[2]),
        ),
        (
            "tampered header",
            format!(
                "{}.{}.{}",
                b64(br#"{"alg":"HS256","kid":"x"}"#),
                parts[1],
                parts[2]
            ),
        ),
        (
            "truncated signature",
            format!("{}.{}.{}", parts[0], parts[1], &parts[2][..10]),
        ),
        (
            "missing subject",
            with(&|c| drop(c.as_object_mut().unwrap().remove("sub"))),
        ),
        ("empty subject", with(&|c| c["sub"] = json!(""))),
        ("numeric subject", with(&|c| c["sub"] = json!(42))),
        (
            "subject over 128 characters",
            with(&|c| c["sub"] = json!("s".repeat(129))),
        ),
        (
            "oversized token",
            with(&|c| c["padding"] = json!("x".repeat(64 * 1024))),
        ),
        ("garbage", "not-a-token".into()),
        ("two parts", format!("{}.{}", parts[0], parts[1])),
        ("four parts", format!("{valid}.{}", parts[2])),
        (
            "payload not JSON",
            format!("{}.{}.{}", parts[0], b64(b"\xff\xfe"), parts[2]),
        ),
        (
            "payload a JSON array",
            format!("{}.{}.{}", parts[0], b64(b"[1,2]"), parts[2]),
        ),
        (
            "base64 with padding and junk",
            format!("{}==.{}.{}", parts[0], parts[1], parts[2]),
        ),
    ]
}

#[tokio::test]
async fn every_token_attack_is_401_on_every_route_that_needs_a_user() {
    let app = app();
    let id = create_id(&app.router, "Guarded").await;
    let routes: Vec<(Method, String)> = vec![
        (Method::POST, "/api/live-sessions/join".into()),
        (Method::POST, format!("/api/live-sessions/{id}/heartbeat")),
        (Method::POST, format!("/api/live-sessions/{id}/leave")),
        (Method::GET, "/api/live-sessions/me/participation".into()),
        (Method::POST, "/api/admin/live-sessions".into()),
        (Method::PUT, format!("/api/admin/live-sessions/{id}")),
        (Method::DELETE, format!("/api/admin/live-sessions/{id}")),
        (Method::GET, "/api/admin/analytics".into()),
    ];
    let body = json!({"sessionId": id, "title": "Taken over", "isLive": true});
    for (attack, token) in token_attacks() {
        for (method, uri) in &routes {
            let reply = send_json(&app.router, method.clone(), uri, Some(&token), &body).await;
            let problem = reply.problem(401);
            assert_eq!(problem["code"], "invalid_token", "{attack}: {method} {uri}");
            assert!(
                reply
                    .header("www-authenticate")
                    .is_some_and(|v| v.starts_with("Bearer")),
                "{attack}: {method} {uri}"
            );
        }
    }
    // Malformed Authorization headers.
    let mut headers: Vec<(&str, HeaderValue)> = vec![
        ("bare scheme", HeaderValue::from_static("Bearer")),
        ("empty token", HeaderValue::from_static("Bearer    ")),
        (
            "two tokens",
            HeaderValue::from_str(&format!("Bearer {} {}", user_token("u1"), user_token("u2")))
                .unwrap(),
        ),
        (
            "another scheme",
            HeaderValue::from_static("Token abc.def.ghi"),
        ),
    ];
    headers.push((
        "bytes that are not text",
        HeaderValue::from_bytes(b"Bearer \xff\xfe\xfd").unwrap(),
    ));
    for (attack, value) in headers {
        let reply = send(
            &app.router,
            request(Method::GET, "/api/live-sessions/me/participation", None)
                .header(header::AUTHORIZATION, value)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{attack}");
        reply.problem(401);
    }
    // Nothing changed: no participant, the session still scheduled and titled as created.
    let session = get(&app.router, &format!("/api/live-sessions/{id}"), None).await;
    assert_eq!(session.json()["participants"], 0);
    assert_eq!(session.json()["status"], "scheduled");
    assert_eq!(session.json()["title"], "Guarded");
}

/// A 1×1 GIF.
const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";

fn polyglot(image: &[u8], markup: &[u8]) -> Vec<u8> {
    let mut bytes = image.to_vec();
    bytes.extend_from_slice(markup);
    bytes
}

/// Uploads that must be refused, with their file name, declared type and bytes.
fn upload_attacks() -> Vec<(&'static str, &'static str, &'static str, Vec<u8>)> {
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>"#;
    let mut jpeg_comment = vec![0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x30];
    jpeg_comment.extend_from_slice(b"<SCRIPT>alert(document.domain)</SCRIPT>");
    jpeg_comment.extend_from_slice(&[0xFF, 0xD9]);
    vec![
        (
            "PNG with HTML after the image",
            "cover.png",
            "image/png",
            polyglot(PNG, b"<html><script>alert(1)</script></html>"),
        ),
        (
            "GIF/JavaScript polyglot (GIFAR style)",
            "cover.gif",
            "image/gif",
            polyglot(GIF, b"*/=1;alert(1);/*<script>"),
        ),
        (
            "JPEG with a script in a comment",
            "cover.jpg",
            "image/jpeg",
            jpeg_comment,
        ),
        (
            "PNG with an embedded SVG",
            "cover.png",
            "image/png",
            polyglot(PNG, svg),
        ),
        (
            "PHP after a GIF header",
            "cover.gif",
            "image/gif",
            polyglot(GIF, b"<?php system($_GET['c']); ?>"),
        ),
        (
            "SVG with script declared as a PNG",
            "logo.png",
            "image/png",
            svg.to_vec(),
        ),
        (
            "SVG with script, double extension",
            "logo.svg.png",
            "image/png",
            svg.to_vec(),
        ),
        (
            "SVG with script, .png.svg",
            "logo.png.svg",
            "image/svg+xml",
            svg.to_vec(),
        ),
        (
            "HTML, double extension",
            "page.html.jpg",
            "image/jpeg",
            b"<!DOCTYPE html><p>hi".to_vec(),
        ),
        (
            "traversal name, not an image",
            "../../../../tmp/evil.png",
            "image/png",
            b"#!/bin/sh\nrm -rf /\n".to_vec(),
        ),
        (
            "Windows traversal name, not an image",
            "..\\..\\evil.gif",
            "image/gif",
            b"MZ\x90\x00".to_vec(),
        ),
        ("empty", "empty.png", "image/png", Vec::new()),
        (
            "PNG declared as text/html",
            "x.html",
            "text/html",
            PNG.to_vec(),
        ),
        ("PNG declared as a GIF", "x.gif", "image/gif", PNG.to_vec()),
        (
            "truncated PNG signature",
            "x.png",
            "image/png",
            PNG[..7].to_vec(),
        ),
    ]
}

fn thumbnail_files(app: &TestApp) -> usize {
    std::fs::read_dir(app.thumbnails.path()).unwrap().count()
}

#[tokio::test]
async fn upload_attacks_on_create_and_update_write_nothing() {
    let app = app();
    let admin = admin_token();
    let existing = create(&app.router, &session_body("Kept")).await;
    let id = existing["id"].as_str().unwrap().to_owned();
    for (attack, file_name, content_type, bytes) in upload_attacks() {
        let file = thumbnail(file_name, content_type, &bytes);
        let mut create_form = seed_form("false");
        create_form.push(file);
        let created = post_session_form(&app.router, &create_form).await;
        let status = created.status.as_u16();
        assert!(
            [413, 415, 422].contains(&status),
            "{attack}: create answered {status}: {}",
            created.text()
        );
        assert_eq!(
            created.problem(status)["errors"][0]["field"],
            "thumbnail",
            "{attack}"
        );

        let update_form = [
            Part::Text("title", "Replaced"),
            thumbnail(file_name, content_type, &bytes),
        ];
        let updated = send_multipart(
            &app.router,
            Method::PUT,
            &format!("/api/admin/live-sessions/{id}"),
            Some(&admin),
            &update_form,
        )
        .await;
        let status = updated.status.as_u16();
        assert!(
            [413, 415, 422].contains(&status),
            "{attack}: update answered {status}: {}",
            updated.text()
        );
        updated.problem(status);
        assert_eq!(thumbnail_files(&app), 0, "{attack}: a file was written");
    }
    let list = get(&app.router, "/api/live-sessions", None).await.json();
    assert_eq!(list.as_array().unwrap().len(), 1, "a session was created");
    assert_eq!(list[0]["title"], "Kept");
    assert!(list[0]["thumbnail"].is_null());
    assert_eq!(list[0]["version"], existing["version"]);
    // The same files' plain image parts are still accepted: the refusals were about the attacks.
    let mut plain = seed_form("false");
    plain.push(thumbnail("cover.gif", "image/gif", GIF));
    let ok = post_session_form(&app.router, &plain).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text());
    assert_eq!(thumbnail_files(&app), 1);
}

async fn raw(router: &Router, method: Method, uri: &str, token: &str, body: Vec<u8>) -> Reply {
    send(
        router,
        request(method, uri, Some(token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

/// Asserts a 4xx problem answer and returns its status.
#[track_caller]
fn client_error(reply: &Reply, what: &str) -> u16 {
    let status = reply.status.as_u16();
    assert!(
        (400..500).contains(&status),
        "{what}: answered {status}: {}",
        reply.text()
    );
    reply.problem(status);
    status
}

#[tokio::test]
async fn hostile_json_bodies_are_4xx_problems() {
    let app = app();
    let admin = admin_token();
    let user = user_token("u1");
    let existing = create(&app.router, &session_body("Kept")).await;
    let id = existing["id"].as_str().unwrap().to_owned();
    let targets: Vec<(Method, String, &String)> = vec![
        (Method::POST, "/api/admin/live-sessions".into(), &admin),
        (
            Method::PUT,
            format!("/api/admin/live-sessions/{id}"),
            &admin,
        ),
        (Method::POST, "/api/live-sessions/join".into(), &user),
    ];
    // Deep, yet under the 64 KiB body limit: the parser's nesting limit must refuse them.
    let deep_array = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
    let deep_object = format!("{}1{}", "{\"title\":".repeat(6_000), "}".repeat(6_000));
    let mut bodies: Vec<(&str, Vec<u8>, &[u16])> = vec![
        ("30 000 nested arrays", deep_array.into_bytes(), &[400]),
        // Join has no `title`: it skips the value, and then misses `sessionId`.
        (
            "6 000 nested objects",
            deep_object.into_bytes(),
            &[400, 422],
        ),
        (
            "invalid UTF-8 in a string",
            b"{\"title\":\"\xff\xfe\xc3\x28\",\"sessionId\":\"\xff\xfe\"}".to_vec(),
            &[400],
        ),
        (
            "a lone surrogate escape",
            br#"{"title":"\ud800","sessionId":"\ud800"}"#.to_vec(),
            &[400],
        ),
        (
            "a NUL byte outside a string",
            b"{\"title\":\"x\"\x00}".to_vec(),
            &[400],
        ),
        ("top-level array", b"[]".to_vec(), &[400]),
        ("top-level string", b"\"hello\"".to_vec(), &[400]),
        ("null", b"null".to_vec(), &[400]),
        ("trailing garbage", b"{\"title\":\"x\"} {}".to_vec(), &[400]),
        ("empty body", Vec::new(), &[400]),
        (
            "over 64 KiB of fields",
            serde_json::to_vec(&json!({
                "title": "x",
                "description": "d".repeat(64 * 1024),
            }))
            .unwrap(),
            &[413],
        ),
    ];
    bodies.push((
        "a duplicated key flood",
        format!("{{{}\"title\":\"x\"}}", "\"a\":1,".repeat(12_000)).into_bytes(),
        &[413],
    ));
    for (what, body, expected) in &bodies {
        for (method, uri, token) in &targets {
            let reply = raw(&app.router, method.clone(), uri, token, body.clone()).await;
            let status = client_error(&reply, &format!("{what} to {method} {uri}"));
            assert!(
                expected.contains(&status),
                "{what} to {method} {uri}: {status} {}",
                reply.text()
            );
        }
    }

    // Fields of the wrong type, on create and update, and on join.
    let session_fields = [
        json!({"title": 5}),
        json!({"title": ["a"]}),
        json!({"isLive": "yes"}),
        json!({"isLive": 1}),
        json!({"startTime": 1736935200}),
        json!({"videoUrl": {"href": "https://youtu.be/x"}}),
        json!({"timezone": false}),
    ];
    let join_fields = [
        json!({"sessionId": ["x"]}),
        json!({"sessionId": {"$ne": null}}),
        json!({"sessionId": 1e308}),
        json!({"sessionId": true}),
    ];
    for (method, uri, token) in &targets {
        let wrong: &[Value] = if uri.ends_with("/join") {
            &join_fields
        } else {
            &session_fields
        };
        for body in wrong {
            let reply = send_json(&app.router, method.clone(), uri, Some(token), body).await;
            client_error(&reply, &format!("{body} to {method} {uri}"));
        }
    }

    // Bad dates, offsets and zones are validation errors naming the field.
    let mut good = session_body("Dated");
    for (start, zone) in [
        ("2025-01-15 10:00", None),
        ("2025-13-45T10:00:00Z", None),
        ("2025-02-30T10:00:00Z", None),
        ("2025-01-15T25:61:00Z", None),
        ("2025-01-15T10:00:00+25:00", None),
        ("2025-01-15T10:00:00+05:60", None),
        ("2025-01-15T10:00:00 +05:00", None),
        ("+275760-09-13T00:00:00Z", None),
        ("tomorrow", None),
        ("", None),
        ("2025-01-15T10:00:00Z", Some("Mars/Olympus_Mons")),
        ("2025-01-15T10:00:00Z", Some("../../etc/localtime")),
        ("2025-01-15T10:00:00Z", Some("UTC\u{0}")),
    ] {
        good["startTime"] = json!(start);
        good["timezone"] = json!(zone);
        let field = if zone.is_some() {
            "timezone"
        } else {
            "startTime"
        };
        for (method, uri) in [
            (Method::POST, "/api/admin/live-sessions".to_owned()),
            (Method::PUT, format!("/api/admin/live-sessions/{id}")),
        ] {
            let reply = send_json(&app.router, method.clone(), &uri, Some(&admin), &good).await;
            let problem = reply.problem(422);
            let fields: Vec<&str> = problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|e| e["field"].as_str())
                .collect();
            assert!(
                fields.contains(&field),
                "{start} {zone:?} on {method}: {fields:?}"
            );
        }
    }

    // Query values: bad dates, limits, cursors, statuses, offsets.
    for uri in [
        "/api/live-sessions?limit=0".to_owned(),
        "/api/live-sessions?limit=-1".into(),
        "/api/live-sessions?limit=abc".into(),
        "/api/live-sessions?limit=99999999999999999999".into(),
        "/api/live-sessions?status=deleted".into(),
        "/api/live-sessions?cursor=AAAA".into(),
        format!("/api/live-sessions?cursor={}", "A".repeat(10_000)),
        format!("/api/live-sessions?q={}", "q".repeat(1000)),
        "/api/live-sessions?q=%00".into(),
        "/api/admin/analytics?from=yesterday".into(),
        "/api/admin/analytics?from=2025-01-15T10:00:00".into(),
        "/api/admin/analytics?to=2025-01-15T10:00:00%2B99:00".into(),
        "/api/admin/analytics?from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z".into(),
        "/api/admin/analytics?limit=-5".into(),
        "/api/admin/analytics?by=everything".into(),
        format!("/api/admin/live-sessions/{id}/participants?offset=-1"),
        format!("/api/admin/live-sessions/{id}/participants?limit=0"),
        format!("/api/admin/live-sessions/{id}/participants?sort=password"),
        format!("/api/admin/live-sessions/{id}/analytics?threshold=abc"),
    ] {
        let reply = get(&app.router, &uri, Some(&admin)).await;
        client_error(&reply, &uri);
    }

    // Nothing was written by any of it.
    let list = get(&app.router, "/api/live-sessions", None).await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["title"], "Kept");
    assert_eq!(list[0]["participants"], 0);
    assert_eq!(list[0]["version"], existing["version"]);
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });
    addr
}

#[tokio::test]
async fn bursts_are_429_per_peer_address_without_touching_other_clients() {
    let settings = limited(5, ClientIpSource::Peer);
    let app = app_with(settings, hs_auth());
    let addr = serve(app.router.clone()).await;
    let base = format!("http://{addr}");
    let attacker = client_from("127.0.0.2");
    let bystander = client_from("127.0.0.3");

    // A burst of 40 concurrent reads from one address: 5 pass, the rest are 429.
    let burst = (0..40).map(|_| attacker.get(format!("{base}/api/live-sessions")).send());
    let replies = futures::future::join_all(burst).await;
    let mut ok = 0;
    let mut limited = 0;
    for reply in replies {
        let reply = reply.unwrap();
        match reply.status().as_u16() {
            200 => ok += 1,
            429 => {
                limited += 1;
                assert_rate_limited(reply).await;
            }
            other => panic!("a burst request answered {other}"),
        }
    }
    assert_eq!((ok, limited), (5, 35));

    // Forged proxy headers do not move the attacker into a fresh bucket.
    let forged = attacker
        .get(format!("{base}/api/live-sessions"))
        .header("x-forwarded-for", "203.0.113.9")
        .header("x-real-ip", "203.0.113.9");
    assert_eq!(status_of(forged).await, 429);

    // Another address still has its whole burst.
    for _ in 0..5 {
        let reply = bystander.get(format!("{base}/api/live-sessions"));
        assert_eq!(status_of(reply).await, 200);
    }
    // The attacker's other buckets are separate: a join (attendance) is not limited yet.
    let join = attacker
        .post(format!("{base}/api/live-sessions/join"))
        .bearer_auth(user_token("u1"))
        .json(&json!({"sessionId": "0190d7a4-0000-7000-8000-000000000000"}));
    assert_eq!(status_of(join).await, 404);
}
