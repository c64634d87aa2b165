//! Every route in process, the original app's request shapes, and every error status the API answers
//! (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 503) as problem+json.

mod common;

use axum::body::Body;
use axum::http::{header, Method, StatusCode};
use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn create_as_json_then_read_it_back_in_the_seed_shape() {
    let app = app();
    let created = create(&app.router, &session_body("Rust 101")).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["_id"], created["id"]);
    assert_eq!(created["title"], "Rust 101");
    assert_eq!(created["isLive"], false);
    assert_eq!(created["status"], "scheduled");
    assert_eq!(created["startTime"], "2025-01-15T10:00:00Z");
    assert_eq!(created["timezone"], "Asia/Karachi");
    assert_eq!(created["participants"], 0);
    assert_eq!(
        created["embedUrl"],
        "https://www.youtube.com/embed/dQw4w9WgXcQ"
    );
    assert_eq!(created["createdAt"], "2025-01-15T09:00:00Z");
    assert_eq!(created["startedAt"], Value::Null);
    assert_eq!(created["thumbnail"], Value::Null);

    // Anyone may list and read, but only signed-in callers see the video.
    let anonymous = get(&app.router, "/api/live-sessions", None).await;
    assert_eq!(anonymous.status, StatusCode::OK);
    let list = anonymous.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["watching"], 0);
    assert!(list[0].get("videoUrl").is_none());
    assert!(list[0].get("embedUrl").is_none());
    assert!(anonymous.header("link").is_none());

    // Signed-in users see the video once the session has gone live (the lobby hides it while
    // scheduled); admins always.
    let signed_in = get(&app.router, "/api/live-sessions", Some(&user_token("u1"))).await;
    assert!(signed_in.json()[0].get("videoUrl").is_none());
    let admin = get(&app.router, "/api/live-sessions", Some(&admin_token())).await;
    assert_eq!(admin.json()[0]["videoUrl"], "https://youtu.be/dQw4w9WgXcQ");

    let one = get(&app.router, &format!("/api/live-sessions/{id}"), None).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.json()["title"], "Rust 101");
    assert!(one.json().get("videoUrl").is_none());
    let started = put_session(&app.router, &id, &admin_token(), &json!({"isLive": true})).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
    let one = get(
        &app.router,
        &format!("/api/live-sessions/{id}"),
        Some(&user_token("u1")),
    )
    .await;
    assert_eq!(one.json()["videoProvider"], "youtube");
    assert_eq!(one.json()["videoUrl"], "https://youtu.be/dQw4w9WgXcQ");
}

#[tokio::test]
async fn create_answers_201_with_location() {
    let app = app();
    let reply = post_session(&app.router, &session_body("Located")).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let id = reply.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        reply.header("location"),
        Some(format!("/api/live-sessions/{id}").as_str())
    );
}

#[tokio::test]
async fn seed_multipart_create_with_thumbnail_and_mark_as_live() {
    let app = app();
    let mut parts = seed_form("true");
    parts.push(png_thumbnail("../../etc/passwd.png"));
    let session = create_from_form(&app.router, &parts).await;
    assert_eq!(session["isLive"], true);
    assert_eq!(session["status"], "live");
    assert_eq!(session["startTime"], "2025-01-15T05:00:00Z");
    assert_eq!(session["startedAt"], "2025-01-15T09:00:00Z");
    let thumbnail = session["thumbnail"].as_str().unwrap();
    let key = thumbnail
        .strip_prefix("/api/live-sessions/thumbnails/")
        .expect(thumbnail);
    assert!(key.ends_with(".png"));
    assert!(!key.contains("passwd") && !key.contains(".."), "{key}");
    // Stored under the generated key, inside the thumbnail directory, and nowhere else.
    let files: Vec<_> = std::fs::read_dir(app.thumbnails.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files, vec![key.to_owned()]);

    let image = get(&app.router, thumbnail, None).await;
    assert_eq!(image.status, StatusCode::OK);
    assert_eq!(image.body, PNG);
    assert_eq!(image.header("content-type"), Some("image/png"));
    assert_eq!(
        image.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(image.header("x-content-type-options"), Some("nosniff"));
    assert!(image
        .header("content-security-policy")
        .unwrap()
        .starts_with("default-src 'none'"));
    assert_eq!(image.header("content-disposition"), Some("inline"));
}

#[tokio::test]
async fn seed_multipart_with_an_empty_file_input_and_a_checkbox() {
    let app = app();
    let mut parts = seed_form("on");
    // A browser's file input with no file chosen.
    parts.push(thumbnail("", "application/octet-stream", b""));
    parts.push(Part::Text("someOtherInput", "ignored"));
    let reply = create_from_form(&app.router, &parts).await;
    assert_eq!(reply["isLive"], true);
    assert_eq!(reply["thumbnail"], Value::Null);

    let reply = post_session_form(
        &app.router,
        &[
            Part::Text("title", "Linked"),
            Part::Text("instructor", "Sarah Khan"),
            Part::Text("videoUrl", "https://vimeo.com/76979871"),
            Part::Text("startTime", "2025-01-15T10:00:00Z"),
            Part::Text("thumbnail", "https://images.example.com/a.png"),
            Part::Text("isLive", "false"),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(
        reply.json()["thumbnail"],
        "https://images.example.com/a.png"
    );
    assert_eq!(
        reply.json()["embedUrl"],
        "https://player.vimeo.com/video/76979871"
    );
    assert_eq!(reply.json()["isLive"], false);
}

#[tokio::test]
async fn seed_put_is_live_starts_and_ends() {
    let app = app();
    let id = create_id(&app.router, "Toggle").await;
    let uri = format!("/api/admin/live-sessions/{id}");
    let admin = admin_token();

    app.clock.advance_secs(60);
    let started = put_session(&app.router, &id, &admin, &json!({"isLive": true})).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
    assert_eq!(started.json()["isLive"], true);
    assert_eq!(started.json()["status"], "live");
    assert_eq!(started.json()["startedAt"], "2025-01-15T09:01:00Z");

    app.clock.advance_secs(600);
    let ended = put_session(&app.router, &id, &admin, &json!({"isLive": false})).await;
    assert_eq!(ended.status, StatusCode::OK);
    assert_eq!(ended.json()["status"], "ended");
    assert_eq!(ended.json()["endedAt"], "2025-01-15T09:11:00Z");
    assert_eq!(ended.json()["liveSeconds"], 600);

    // Partial update: only the title changes.
    let renamed = put_session(&app.router, &id, &admin, &json!({"title": "Renamed"})).await;
    assert_eq!(renamed.status, StatusCode::OK);
    assert_eq!(renamed.json()["title"], "Renamed");
    assert_eq!(renamed.json()["instructor"], "Ada Lovelace");
    assert_eq!(renamed.json()["status"], "ended");

    // A stale version is a conflict.
    let stale = put_session(
        &app.router,
        &id,
        &admin,
        &json!({"title": "Again", "version": 1}),
    )
    .await;
    assert_eq!(stale.problem(409)["code"], "version_mismatch");

    // Multipart update with a new thumbnail.
    let reply = send_multipart(
        &app.router,
        Method::PUT,
        &uri,
        Some(&admin),
        &[
            Part::Text("description", "Now with a picture"),
            png_thumbnail("pic.png"),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["description"], "Now with a picture");
    assert!(reply.json()["thumbnail"]
        .as_str()
        .unwrap()
        .starts_with("/api/live-sessions/thumbnails/"));
}

#[tokio::test]
async fn cancel_and_lifecycle_conflicts() {
    let app = app();
    let admin = admin_token();
    let id = create_id(&app.router, "Cancel me").await;
    // Ending a session that never started is a conflict.
    let reply = put_session(&app.router, &id, &admin, &json!({"isLive": false})).await;
    let problem = reply.problem(409);
    assert_eq!(problem["code"], "invalid_transition");
    assert_eq!(
        problem["detail"],
        "You cannot end a session that is scheduled."
    );

    let cancelled = post_empty(
        &app.router,
        &format!("/api/admin/live-sessions/{id}/cancel"),
        Some(&admin),
    )
    .await;
    assert_eq!(cancelled.status, StatusCode::OK);
    assert_eq!(cancelled.json()["status"], "cancelled");

    let again = post_empty(
        &app.router,
        &format!("/api/admin/live-sessions/{id}/cancel"),
        Some(&admin),
    )
    .await;
    again.problem(409);

    let join = post_join(&app.router, &user_token("u1"), &json!({"sessionId": id})).await;
    join.problem(409);
}

#[tokio::test]
async fn seed_join_heartbeat_leave_and_participation() {
    let app = app();
    let admin = admin_token();
    let id = create_id(&app.router, "Join me").await;
    put_session(&app.router, &id, &admin, &json!({"isLive": true})).await;

    let student = user_token("user456");
    let seed_body = json!({
        "sessionId": id,
        "userId": "user456",
        "userName": "Ahmed Ali",
        "email": "ahmed@example.com",
        "joinTime": "2020-01-01T00:00:00.000Z",
    });
    let joined = post_join(&app.router, &student, &seed_body).await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.text());
    let body = joined.json();
    assert_eq!(body["videoUrl"], "https://youtu.be/dQw4w9WgXcQ");
    assert_eq!(
        body["embedUrl"],
        "https://www.youtube.com/embed/dQw4w9WgXcQ"
    );
    assert_eq!(body["session"]["participants"], 1);
    assert_eq!(body["participant"]["userId"], "user456");
    // The token's name wins over the body's; the server's clock over `joinTime`.
    assert_eq!(body["participant"]["userName"], "User user456");
    assert_eq!(body["participant"]["joinTime"], "2025-01-15T09:00:00Z");
    assert_eq!(body["participant"]["present"], true);

    // Rejoining counts once.
    let rejoined = post_join(&app.router, &student, &seed_body).await;
    assert_eq!(rejoined.status, StatusCode::OK);
    assert_eq!(rejoined.json()["session"]["participants"], 1);
    assert_eq!(rejoined.json()["participant"]["joinCount"], 2);

    // Another user's id in the body is refused.
    let other = post_join(&app.router, &user_token("intruder"), &seed_body).await;
    other.problem(403);

    let router = &app.router;
    let heartbeat = format!("/api/live-sessions/{id}/heartbeat");
    let leave = format!("/api/live-sessions/{id}/leave");
    let my_participation = "/api/live-sessions/me/participation";
    let their_participation = "/api/admin/users/user456/participation";
    let report_uri = format!("/api/admin/live-sessions/{id}/analytics?threshold=50");
    let overview_uri = "/api/admin/analytics?from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z\
                    &limit=5&by=watchTime";

    app.clock.advance_secs(30);
    let beat = post_empty(router, &heartbeat, Some(&student)).await;
    assert_eq!(beat.status, StatusCode::OK, "{}", beat.text());
    assert_eq!(beat.json()["lastSeen"], "2025-01-15T09:00:30Z");

    app.clock.advance_secs(30);
    let left = send_json(router, Method::POST, &leave, Some(&student), &json!({})).await;
    assert_eq!(left.status, StatusCode::OK);
    assert_eq!(left.json()["watchSeconds"], 60);
    assert_eq!(left.json()["watchDuration"], 1);
    assert_eq!(left.json()["present"], false);

    // Heartbeat without having joined.
    let stranger = post_empty(router, &heartbeat, Some(&user_token("stranger"))).await;
    stranger.problem(404);

    let mine = get(router, my_participation, Some(&student)).await;
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(mine.json()["sessionsJoined"], 1);
    assert_eq!(mine.json()["totalWatchSeconds"], 60);
    assert_eq!(mine.json()["sessions"][0]["sessionId"], id.as_str());

    let theirs = get(router, their_participation, Some(&admin)).await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert_eq!(theirs.json()["userId"], "user456");
    assert_eq!(theirs.json()["sessionsJoined"], 1);

    let report = get(router, &report_uri, Some(&admin)).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text());
    assert_eq!(report.json()["participants"], 1);
    assert_eq!(report.json()["totalWatchSeconds"], 60);
    assert_eq!(report.json()["thresholdPercent"], 50);

    let overview = get(router, overview_uri, Some(&admin)).await;
    assert_eq!(overview.status, StatusCode::OK, "{}", overview.text());
    assert_eq!(overview.json()["sessions"], 1);
    assert_eq!(overview.json()["popular"][0]["sessionId"], id.as_str());
    assert_eq!(overview.json()["from"], "2025-01-01T00:00:00Z");

    let defaults = get(&app.router, "/api/admin/analytics", Some(&admin)).await;
    assert_eq!(defaults.status, StatusCode::OK, "{}", defaults.text());
}

#[tokio::test]
async fn attendance_as_json_and_csv() {
    let app = app();
    let admin = admin_token();
    let id = create_id(&app.router, "Report").await;
    for (sub, name) in [
        ("a", "Plain Name"),
        ("b", "Khan, \"Sam\""),
        ("c", "=HYPERLINK(\"http://x\")"),
    ] {
        let mut c = claims(sub);
        c["name"] = json!(name);
        let joined = post_join(&app.router, &hs_token_for(&c), &json!({"sessionId": id})).await;
        assert_eq!(joined.status, StatusCode::OK, "{}", joined.text());
        app.clock.advance_secs(1);
    }
    let uri = format!("/api/admin/live-sessions/{id}/participants");

    let page = get(
        &app.router,
        &format!("{uri}?sort=name&order=desc&limit=2"),
        Some(&admin),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let body = page.json();
    assert_eq!(body["total"], 3);
    assert_eq!(body["participants"].as_array().unwrap().len(), 2);
    assert_eq!(body["participants"][0]["userName"], "Plain Name");

    let csv = send(
        &app.router,
        request(Method::GET, &uri, Some(&admin))
            .header(header::ACCEPT, "text/csv")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = csv.text();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "\u{feff}userId,userName,email,joinTime,lastJoinTime,lastSeen,leftAt,watchSeconds,watchDuration,joinCount,present,watchTime,status,late"
    );
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[1].starts_with("a,Plain Name,a@example.com,2025-01-15T14:00:00+05:00,"));
    assert!(
        lines[2].starts_with("b,\"Khan, \"\"Sam\"\"\",b@example.com,"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].starts_with("c,\"'=HYPERLINK(\"\"http://x\"\")\","),
        "{}",
        lines[3]
    );

    let by_param = get(
        &app.router,
        &format!("{uri}?format=csv&limit=1"),
        Some(&admin),
    )
    .await;
    assert_eq!(by_param.text().split("\r\n").count(), 3);

    let bad = get(
        &app.router,
        &format!("{uri}?sort=shoeSize&order=sideways"),
        Some(&admin),
    )
    .await;
    let problem = bad.problem(422);
    let fields = problem_fields(&problem);
    assert_eq!(fields, vec!["sort", "order"]);
}

#[tokio::test]
async fn list_pages_with_a_link_header_and_filters() {
    let app = app();
    for title in ["One", "Two", "Three"] {
        create(&app.router, &session_body(title)).await;
        app.clock.advance_secs(1);
    }
    let first = get(&app.router, "/api/live-sessions?limit=2&q=%20", None).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.json().as_array().unwrap().len(), 2);
    let link = first.header("link").expect("a next link").to_owned();
    assert!(link.ends_with("rel=\"next\""), "{link}");
    let next = link
        .strip_prefix('<')
        .and_then(|l| l.split_once('>'))
        .map(|(uri, _)| uri.to_owned())
        .unwrap();
    assert!(
        next.starts_with("/api/live-sessions?limit=2&cursor="),
        "{next}"
    );
    let second = get(&app.router, &next, None).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.json().as_array().unwrap().len(), 1);
    assert!(second.header("link").is_none());

    let searched = get(
        &app.router,
        "/api/live-sessions?q=two&status=scheduled",
        None,
    )
    .await;
    assert_eq!(searched.json().as_array().unwrap().len(), 1);
    let live = get(&app.router, "/api/live-sessions?status=live", None).await;
    assert_eq!(live.json().as_array().unwrap().len(), 0);

    for (query, status) in [
        ("limit=0", 422),
        ("limit=abc", 400),
        ("status=bogus", 422),
        ("cursor=garbage!", 422),
    ] {
        let uri = format!("/api/live-sessions?{query}");
        get(&app.router, &uri, None).await.problem(status);
    }
}

#[tokio::test]
async fn delete_removes_the_session_and_its_thumbnail() {
    let app = app();
    let admin = admin_token();
    let mut parts = seed_form("false");
    parts.push(png_thumbnail("x.png"));
    let session = create_from_form(&app.router, &parts).await;
    let id = session["id"].as_str().unwrap();
    let thumbnail = session["thumbnail"].as_str().unwrap();
    assert_eq!(
        get(&app.router, thumbnail, None).await.status,
        StatusCode::OK
    );

    let uri = format!("/api/admin/live-sessions/{id}");
    let deleted = send_empty(&app.router, Method::DELETE, &uri, Some(&admin)).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(deleted.body.is_empty());
    get(&app.router, thumbnail, None).await.problem(404);
    assert_eq!(std::fs::read_dir(app.thumbnails.path()).unwrap().count(), 0);
    get(&app.router, &format!("/api/live-sessions/{id}"), None)
        .await
        .problem(404);
    let again = send_empty(&app.router, Method::DELETE, &uri, Some(&admin)).await;
    again.problem(404);
}

#[tokio::test]
async fn users_get_403_on_admin_routes_and_anonymous_callers_401() {
    let app = app();
    let id = create_id(&app.router, "Guarded").await;
    let user = user_token("student");
    let admin_routes: Vec<(Method, String)> = vec![
        (Method::POST, "/api/admin/live-sessions".into()),
        (Method::PUT, format!("/api/admin/live-sessions/{id}")),
        (Method::DELETE, format!("/api/admin/live-sessions/{id}")),
        (
            Method::POST,
            format!("/api/admin/live-sessions/{id}/cancel"),
        ),
        (
            Method::GET,
            format!("/api/admin/live-sessions/{id}/participants"),
        ),
        (
            Method::GET,
            format!("/api/admin/live-sessions/{id}/analytics"),
        ),
        (Method::GET, "/api/admin/analytics".into()),
        (Method::GET, "/api/admin/users/someone/participation".into()),
    ];
    for (method, uri) in &admin_routes {
        let body = json!({"title": "x", "isLive": true});
        let as_user = send_json(&app.router, method.clone(), uri, Some(&user), &body).await;
        assert_eq!(as_user.problem(403)["code"], "forbidden", "{method} {uri}");
        let anonymous = send_json(&app.router, method.clone(), uri, None, &body).await;
        anonymous.problem(401);
        assert_eq!(
            anonymous.header("www-authenticate"),
            Some("Bearer"),
            "{method} {uri}"
        );
    }
    for (method, uri) in [
        (Method::POST, format!("/api/live-sessions/{id}/heartbeat")),
        (Method::POST, format!("/api/live-sessions/{id}/leave")),
        (Method::POST, "/api/live-sessions/join".to_owned()),
        (
            Method::GET,
            "/api/live-sessions/me/participation".to_owned(),
        ),
    ] {
        let reply = send_json(&app.router, method, &uri, None, &json!({"sessionId": id})).await;
        reply.problem(401);
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    }
    // The session is untouched.
    let one = get(&app.router, &format!("/api/live-sessions/{id}"), None).await;
    assert_eq!(one.json()["status"], "scheduled");
}

#[tokio::test]
async fn malformed_unsupported_too_large_and_invalid_bodies() {
    let app = app();
    let user = user_token("u1");
    let join = "/api/live-sessions/join";
    let raw = |body: Body, content_type: &'static str| {
        send_body(
            &app.router,
            Method::POST,
            join,
            Some(&user),
            content_type,
            body,
        )
    };
    let broken = raw("{\"sessionId\": ".into(), "application/json").await;
    assert_eq!(broken.problem(400)["code"], "malformed");
    let wrong_type = raw("{\"sessionId\": 5}".into(), "application/json").await;
    wrong_type.problem(400);
    let not_json = raw("sessionId=x".into(), "application/x-www-form-urlencoded").await;
    not_json.problem(415);
    let missing = raw("{}".into(), "application/json").await;
    let problem = missing.problem(422);
    assert_eq!(problem["errors"][0]["field"], "sessionId");
    let unknown = send_json(
        &app.router,
        Method::POST,
        join,
        Some(&user),
        &json!({"sessionId": "0190d7a4-0000-7000-8000-000000000000"}),
    )
    .await;
    unknown.problem(404);

    let huge = format!("{{\"sessionId\": \"{}\"}}", "x".repeat(70 * 1024));
    let too_large = raw(huge.clone().into(), "application/json").await;
    assert_eq!(too_large.problem(413)["code"], "too_large");
    // Also when the client does not declare a length.
    let chunks = futures::stream::iter(vec![Ok::<_, std::io::Error>(huge.into_bytes())]);
    let streamed = raw(Body::from_stream(chunks), "application/json").await;
    streamed.problem(413);

    // Create: all field errors at once.
    let invalid = post_session(
        &app.router,
        &json!({"title": "", "videoUrl": "javascript:alert(1)", "startTime": "2025-01-15T25:00"}),
    )
    .await;
    let problem = invalid.problem(422);
    let fields = problem_fields(&problem);
    for field in ["title", "instructor", "videoUrl", "startTime"] {
        assert!(fields.contains(&field), "{field} missing from {fields:?}");
    }
    let text_body = send_body(
        &app.router,
        Method::POST,
        CREATE,
        Some(&admin_token()),
        "text/plain",
        "title",
    )
    .await;
    text_body.problem(415);
    let bad_flag = post_session_form(&app.router, &[Part::Text("isLive", "maybe")]).await;
    assert_eq!(bad_flag.problem(422)["errors"][0]["field"], "isLive");
}

#[tokio::test]
async fn unknown_ids_and_keys_are_404() {
    let app = app();
    for uri in [
        "/api/live-sessions/not-a-uuid",
        "/api/live-sessions/0190d7a4-0000-7000-8000-000000000000",
        "/api/live-sessions/thumbnails/..%2F..%2Fetc%2Fpasswd",
        "/api/live-sessions/thumbnails/abc.svg",
        "/api/live-sessions/thumbnails/0123abcd.png",
    ] {
        get(&app.router, uri, None).await.problem(404);
    }
    get(
        &app.router,
        &format!("/api/admin/users/{}/participation", "x".repeat(200)),
        Some(&admin_token()),
    )
    .await
    .problem(422);
}

#[tokio::test]
async fn health_readiness_and_store_failures() {
    let app = app();
    let health = get(&app.router, "/healthz", None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json()["status"], "ok");
    let ready = get(&app.router, "/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert!(ready.header("x-request-id").is_some());

    let down = faulty_app(Fault::Unavailable, settings());
    assert_eq!(
        get(&down.router, "/healthz", None).await.status,
        StatusCode::OK
    );
    let not_ready = get(&down.router, "/readyz", None).await;
    not_ready.problem(503);
    assert_eq!(not_ready.header("retry-after"), Some("5"));
    let list = get(&down.router, "/api/live-sessions", None).await;
    assert_eq!(list.problem(503)["code"], "unavailable");
    assert_eq!(list.header("retry-after"), Some("5"));
    assert!(!list.text().contains("hunter2"));

    let broken = faulty_app(Fault::Storage, settings());
    let list = get(&broken.router, "/api/live-sessions", None).await;
    assert_eq!(list.problem(500)["code"], "internal");
    assert!(!list.text().contains("hunter2"), "{}", list.text());
}

#[tokio::test]
async fn request_ids_are_kept_or_made() {
    let app = app();
    let given = send(
        &app.router,
        request(Method::GET, "/healthz", None)
            .header("x-request-id", "abc-123")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(given.header("x-request-id"), Some("abc-123"));
    let made = get(&app.router, "/healthz", None).await;
    assert_eq!(made.header("x-request-id").map(str::len), Some(36));
}

#[tokio::test]
async fn a_nested_router_links_under_its_prefix() {
    let mut settings = settings();
    settings.path_prefix = "/school".into();
    let app = app_with(settings, hs_auth());
    let router = axum::Router::new().nest("/school", app.router.clone());
    let mut parts = seed_form("false");
    parts.push(png_thumbnail("x.png"));
    let created = send_multipart(
        &router,
        Method::POST,
        "/school/api/admin/live-sessions",
        Some(&admin_token()),
        &parts,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let session = created.json();
    let thumbnail = session["thumbnail"].as_str().unwrap();
    assert!(thumbnail.starts_with("/school/api/live-sessions/thumbnails/"));
    assert!(created
        .header("location")
        .unwrap()
        .starts_with("/school/api/live-sessions/"));
    assert_eq!(get(&router, thumbnail, None).await.status, StatusCode::OK);
    let doc = get(&router, "/school/api/openapi.json", None).await.json();
    assert_eq!(doc["servers"][0]["url"], "/school");
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_are_problems() {
    let app = app();
    for path in [
        "/api/nothing-here",
        "/api/live-sessions/0190d7a4-0000-7000-8000-000000000000/nothing",
        "/api/admin/nothing",
        "/nowhere",
    ] {
        let reply = get(&app.router, path, Some(&admin_token())).await;
        assert_eq!(reply.problem(404)["code"], "not_found", "{path}");
        assert!(reply.header("x-request-id").is_some(), "{path}");
    }
    let id = create_id(&app.router, "Methods").await;
    for (method, path, allowed) in [
        (Method::DELETE, "/api/live-sessions".to_owned(), "GET,HEAD"),
        (
            Method::PATCH,
            format!("/api/admin/live-sessions/{id}"),
            "PUT,DELETE",
        ),
        (Method::GET, "/api/live-sessions/join".to_owned(), "POST"),
        (Method::POST, "/healthz".to_owned(), "GET,HEAD"),
    ] {
        let reply = send_empty(&app.router, method.clone(), &path, Some(&admin_token())).await;
        let problem = reply.problem(405);
        assert_eq!(problem["code"], "method_not_allowed", "{method} {path}");
        let mut allow: Vec<&str> = reply
            .header("allow")
            .unwrap_or_else(|| panic!("{method} {path}: no Allow header"))
            .split(',')
            .map(str::trim)
            .collect();
        allow.sort_unstable();
        let mut expected: Vec<&str> = allowed.split(',').collect();
        expected.sort_unstable();
        assert_eq!(allow, expected, "{method} {path}");
    }
    // Nothing was changed by the refused methods.
    let session = get(&app.router, &format!("/api/live-sessions/{id}"), None).await;
    assert_eq!(session.json()["title"], "Methods");
}

#[tokio::test]
async fn readiness_asks_the_store_without_a_health_check_wired() {
    // No `.health()` on the service: readiness still asks the store.
    let down = app_on(
        std::sync::Arc::new(FaultyStore(Fault::Unavailable)),
        None,
        settings(),
        hs_auth(),
    );
    let not_ready = get(&down.router, "/readyz", None).await;
    assert_eq!(not_ready.problem(503)["code"], "unavailable");
    assert_eq!(not_ready.header("retry-after"), Some("5"));
    assert!(!not_ready.text().contains("hunter2"));
    let broken = app_on(
        std::sync::Arc::new(FaultyStore(Fault::Storage)),
        None,
        settings(),
        hs_auth(),
    );
    get(&broken.router, "/readyz", None).await.problem(503);

    let up = app_on(
        std::sync::Arc::new(livesessions_core::MemoryStore::new()),
        None,
        settings(),
        hs_auth(),
    );
    let ready = get(&up.router, "/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.json()["status"], "ready");
}

/// A 422's field messages and its detail are full sentences, as the page shows them next to the
/// fields: an upper-case first letter and a final period.
#[tokio::test]
async fn validation_messages_are_sentences() {
    let app = app();
    let sentence =
        |text: &str| text.chars().next().is_some_and(char::is_uppercase) && text.ends_with('.');
    let long = "x".repeat(300);
    let invalid = post_session(
        &app.router,
        &json!({
            "title": long,
            "instructor": "",
            "videoUrl": "http://example.com/video",
            "startTime": "soon",
            "timezone": "Mars/Olympus",
            "thumbnailUrl": "https://user:pw@example.com/t.png",
        }),
    )
    .await;
    let problem = invalid.problem(422);
    assert!(sentence(problem["detail"].as_str().unwrap()), "{problem}");
    let errors = problem["errors"].as_array().unwrap();
    assert!(errors.len() >= 5, "{problem}");
    for e in errors {
        let message = e["message"].as_str().unwrap();
        assert!(
            sentence(message),
            "{}: {message:?} is not a sentence",
            e["field"]
        );
    }
    let bad_query = get(
        &app.router,
        "/api/live-sessions?limit=0&status=bogus&cursor=garbage!",
        None,
    )
    .await;
    for e in bad_query.problem(422)["errors"].as_array().unwrap() {
        let message = e["message"].as_str().unwrap();
        assert!(
            sentence(message),
            "{}: {message:?} is not a sentence",
            e["field"]
        );
    }
}
