//! Rosters over HTTP: JSON and CSV uploads (all or nothing, errors naming `rows[N].field`),
//! the roster view with statuses (filter, sort, CSV), removal, restricted joins
//! (`403 not_on_roster`), self-registration (`409 registration_closed` when closed), the
//! session's roster rules in its JSON, the attendance CSV with absentees, the report's
//! statuses, and admin routes refused to others.

mod common;

use axum::http::{header, Method, StatusCode};
use common::*;
use serde_json::{json, Value};

fn roster_uri(id: &str) -> String {
    format!("/api/admin/live-sessions/{id}/roster")
}

async fn upload_csv(app: &TestApp, id: &str, text: &str) -> Reply {
    send_body(
        &app.router,
        Method::POST,
        &roster_uri(id),
        Some(&admin_token()),
        "text/csv",
        text.to_owned(),
    )
    .await
}

async fn upload_json(app: &TestApp, id: &str, members: Value) -> Reply {
    send_json(
        &app.router,
        Method::POST,
        &roster_uri(id),
        Some(&admin_token()),
        &json!({ "members": members }),
    )
    .await
}

async fn view(app: &TestApp, id: &str, query: &str) -> Value {
    let reply = get(
        &app.router,
        &format!("{}?{query}", roster_uri(id)),
        Some(&admin_token()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

fn user_ids(view: &Value) -> Vec<&str> {
    view["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userId"].as_str().unwrap())
        .collect()
}

/// A CSV roster of `n` members `u1`… with the header.
fn csv_of(n: usize) -> String {
    let mut text = String::from("userId,userName,email\r\n");
    for i in 1..=n {
        text.push_str(&format!("u{i},User {i},u{i}@example.com\r\n"));
    }
    text
}

async fn join(app: &TestApp, id: &str, user: &str) -> Reply {
    post_join(&app.router, &user_token(user), &json!({ "sessionId": id })).await
}

#[tokio::test]
async fn json_and_csv_uploads_fill_the_roster() {
    let app = app();
    let id = create_id(&app.router, "Roster").await;
    let added = upload_json(
        &app,
        &id,
        json!([{ "userId": "ada", "userName": "Ada Lovelace", "email": "ada@example.com" }]),
    )
    .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text());
    assert_eq!(added.json(), json!({ "added": 1, "members": 1 }));

    // A byte order mark, quoted cells, columns in another order and an extra column.
    let csv = "\u{feff}email,userName,userId,note\r\n\
               bo@example.com,\"Bo, the second\",bo,x\r\n\
               ada@example.com,Ada L.,ada,\r\n";
    let added = upload_csv(&app, &id, csv).await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text());
    assert_eq!(
        added.json(),
        json!({ "added": 1, "members": 2 }),
        "ada was already on it"
    );
    let roster = view(&app, &id, "").await;
    assert_eq!(roster["members"], 2);
    assert_eq!(roster["total"], 2);
    assert_eq!(roster["counts"]["absent"], 2);
    assert_eq!(user_ids(&roster), ["ada", "bo"]);
    assert_eq!(
        roster["rows"][0]["userName"], "Ada L.",
        "the name is replaced"
    );
    assert_eq!(roster["rows"][1]["userName"], "Bo, the second");
    assert_eq!(roster["rows"][1]["status"], "absent");
    assert_eq!(roster["rows"][1]["onRoster"], true);
    assert_eq!(roster["rows"][1]["joinTime"], Value::Null);

    let wrong_type = send_body(
        &app.router,
        Method::POST,
        &roster_uri(&id),
        Some(&admin_token()),
        "text/plain",
        csv_of(1),
    )
    .await;
    wrong_type.problem(415);
}

#[tokio::test]
async fn bad_uploads_are_422_naming_the_rows_and_store_nothing() {
    let app = app();
    let id = create_id(&app.router, "Strict").await;

    for text in [
        "",
        "u1,Ada,ada@example.com\r\n",
        "id,name,mail\r\nu1,Ada,a@b.co\r\n",
    ] {
        let problem = upload_csv(&app, &id, text).await.problem(422);
        assert_eq!(problem_fields(&problem), ["header"], "{text:?}");
        assert!(
            problem["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("userId,userName,email"),
            "{problem}"
        );
    }

    let mut text = csv_of(60);
    text = text.replace("u57@example.com", "not-an-email");
    text = text.replace("u12,User 12", "u3,User 12");
    let problem = upload_csv(&app, &id, &text).await.problem(422);
    assert_eq!(
        problem_fields(&problem),
        ["rows[12].userId", "rows[57].email"]
    );
    assert_eq!(problem["errors"][0]["code"], "duplicate");

    let problem = upload_csv(&app, &id, &csv_of(10_001)).await.problem(422);
    assert_eq!(problem_fields(&problem), ["rows"]);
    assert_eq!(problem["errors"][0]["code"], "too_many");

    let problem = upload_json(
        &app,
        &id,
        json!([
            { "userId": "a", "userName": "A", "email": "a@example.com" },
            { "userId": "a", "userName": "", "email": "a@example.com" },
        ]),
    )
    .await
    .problem(422);
    assert_eq!(
        problem_fields(&problem),
        ["rows[2].userName", "rows[2].userId"]
    );

    let roster = view(&app, &id, "").await;
    assert_eq!(roster["members"], 0, "nothing was stored: {roster}");

    let full = upload_csv(&app, &id, &csv_of(10_000)).await;
    assert_eq!(full.status, StatusCode::OK, "{}", full.text());
    assert_eq!(full.json()["members"], 10_000);
}

#[tokio::test]
async fn the_session_json_carries_the_roster_rules_with_422_naming_them() {
    let app = app();
    let mut body = session_body("Rules");
    body["restricted"] = json!(true);
    body["registration"] = json!("open");
    body["attendanceThreshold"] = json!(60);
    body["lateAfterMinutes"] = json!("10");
    let session = create(&app.router, &body).await;
    assert_eq!(session["restricted"], true);
    assert_eq!(session["registration"], "open");
    assert_eq!(session["attendanceThreshold"], 60);
    assert_eq!(session["lateAfterMinutes"], 10);
    let id = session["id"].as_str().unwrap();

    let plain = create(&app.router, &session_body("Plain")).await;
    assert_eq!(plain["restricted"], false);
    assert_eq!(plain["registration"], "closed");
    assert_eq!(plain["attendanceThreshold"], Value::Null, "admins see null");
    assert_eq!(plain["lateAfterMinutes"], Value::Null);

    let seen = get(
        &app.router,
        &format!("/api/live-sessions/{id}"),
        Some(&user_token("student")),
    )
    .await
    .json();
    assert_eq!(seen["restricted"], true);
    assert_eq!(seen["registration"], "open");
    assert_eq!(seen.get("attendanceThreshold"), None, "admins only");
    assert_eq!(seen.get("lateAfterMinutes"), None);

    for bad in [json!(0), json!(101), json!("x"), json!(1.5)] {
        let problem = put_session(
            &app.router,
            id,
            &admin_token(),
            &json!({ "attendanceThreshold": bad }),
        )
        .await
        .problem(422);
        assert_eq!(problem_fields(&problem), ["attendanceThreshold"], "{bad}");
        let mut new = session_body("Bad");
        new["attendanceThreshold"] = bad.clone();
        let problem = post_session(&app.router, &new).await.problem(422);
        assert_eq!(problem_fields(&problem), ["attendanceThreshold"], "{bad}");
    }
    let problem = put_session(
        &app.router,
        id,
        &admin_token(),
        &json!({ "lateAfterMinutes": 1441, "registration": "maybe" }),
    )
    .await
    .problem(422);
    let mut fields = problem_fields(&problem);
    fields.sort_unstable();
    assert_eq!(fields, ["lateAfterMinutes", "registration"]);

    let changed = put_session(
        &app.router,
        id,
        &admin_token(),
        &json!({ "attendanceThreshold": "", "restricted": false, "registration": "closed" }),
    )
    .await
    .json();
    assert_eq!(
        changed["attendanceThreshold"],
        Value::Null,
        "empty: default"
    );
    assert_eq!(changed["restricted"], false);
    assert_eq!(changed["registration"], "closed");
    assert_eq!(changed["lateAfterMinutes"], 10, "unchanged");

    let mut parts = seed_form("false");
    parts.extend([
        Part::Text("restricted", "on"),
        Part::Text("registration", "open"),
        Part::Text("attendanceThreshold", "90"),
        Part::Text("lateAfterMinutes", ""),
    ]);
    let formed = create_from_form(&app.router, &parts).await;
    assert_eq!(formed["restricted"], true);
    assert_eq!(formed["registration"], "open");
    assert_eq!(formed["attendanceThreshold"], 90);
    assert_eq!(formed["lateAfterMinutes"], Value::Null);
}

#[tokio::test]
async fn a_restricted_session_admits_its_roster_only() {
    let app = app();
    let mut body = session_body("Members only");
    body["restricted"] = json!(true);
    let id = create(&app.router, &body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = join(&app, &id, "stranger").await.problem(403);
    assert_eq!(refused["code"], "not_on_roster", "{refused}");
    let added = upload_json(
        &app,
        &id,
        json!([{ "userId": "member", "userName": "M", "email": "m@example.com" }]),
    )
    .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text());
    let joined = join(&app, &id, "member").await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.text());
    assert_eq!(
        joined.json()["session"].get("attendanceThreshold"),
        None,
        "a student's join does not show the rules"
    );
    let admin = post_join(&app.router, &admin_token(), &json!({ "sessionId": id })).await;
    assert_eq!(admin.status, StatusCode::OK, "admins may always join");

    let removed = send_empty(
        &app.router,
        Method::DELETE,
        &format!("{}/member", roster_uri(&id)),
        Some(&admin_token()),
    )
    .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text());
    let again = send_empty(
        &app.router,
        Method::DELETE,
        &format!("{}/member", roster_uri(&id)),
        Some(&admin_token()),
    )
    .await;
    again.problem(404);
    let rejoin = join(&app, &id, "member").await.problem(403);
    assert_eq!(rejoin["code"], "not_on_roster");
}

#[tokio::test]
async fn users_register_where_registration_is_open() {
    let app = app();
    let mut body = session_body("Open");
    body["registration"] = json!("open");
    body["restricted"] = json!(true);
    let id = create(&app.router, &body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let uri = format!("/api/live-sessions/{id}/register");
    let token = user_token("sam");

    let none = get(&app.router, &uri, Some(&token)).await;
    assert_eq!(none.status, StatusCode::OK, "{}", none.text());
    assert_eq!(none.json(), json!({ "onRoster": false, "member": null }));
    let registered = post_empty(&app.router, &uri, Some(&token)).await;
    assert_eq!(registered.status, StatusCode::OK, "{}", registered.text());
    let entry = registered.json();
    assert_eq!(entry["userId"], "sam");
    assert_eq!(entry["userName"], "User sam", "from the token");
    assert_eq!(entry["registered"], true);
    let again = post_empty(&app.router, &uri, Some(&token)).await;
    assert_eq!(again.json(), entry, "registering again changes nothing");
    assert_eq!(
        get(&app.router, &uri, Some(&token)).await.json(),
        json!({ "onRoster": true, "member": entry })
    );
    let joined = join(&app, &id, "sam").await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.text());

    // Without a name in the token, the body gives it.
    let mut claims = claims("nameless");
    claims.as_object_mut().unwrap().remove("name");
    claims.as_object_mut().unwrap().remove("email");
    let nameless = hs_token_for(&claims);
    let problem = post_empty(&app.router, &uri, Some(&nameless))
        .await
        .problem(422);
    assert_eq!(problem_fields(&problem), ["userName", "email"]);
    let named = send_json(
        &app.router,
        Method::POST,
        &uri,
        Some(&nameless),
        &json!({ "userName": "Nia", "email": "nia@example.com" }),
    )
    .await;
    assert_eq!(named.status, StatusCode::OK, "{}", named.text());
    assert_eq!(named.json()["userName"], "Nia");

    let gone = send_empty(&app.router, Method::DELETE, &uri, Some(&token)).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text());
    send_empty(&app.router, Method::DELETE, &uri, Some(&token))
        .await
        .problem(404);
    post_empty(&app.router, &uri, None).await.problem(401);

    // An admin's entry is not the user's to cancel.
    let added = upload_json(
        &app,
        &id,
        json!([{ "userId": "kept", "userName": "K", "email": "k@example.com" }]),
    )
    .await;
    assert_eq!(added.status, StatusCode::OK);
    send_empty(&app.router, Method::DELETE, &uri, Some(&user_token("kept")))
        .await
        .problem(403);

    let closed = create_id(&app.router, "Closed").await;
    let problem = post_empty(
        &app.router,
        &format!("/api/live-sessions/{closed}/register"),
        Some(&token),
    )
    .await
    .problem(409);
    assert_eq!(problem["code"], "registration_closed");
}

/// A live session with a roster of four: `present` watched it all, `partial` a little, `lobby`
/// joined before the start and left, `absent` never came; `walkin` joined off the roster.
async fn attended_session(app: &TestApp) -> String {
    let mut body = session_body("Attended");
    body["lateAfterMinutes"] = json!(1);
    let id = create(&app.router, &body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let text = "userId,userName,email\n\
                present,Pat Present,p@example.com\n\
                partial,Quinn Partial,q@example.com\n\
                lobby,Lee Lobby,l@example.com\n\
                absent,Abe Absent,a@example.com\n";
    assert_eq!(upload_csv(app, &id, text).await.status, StatusCode::OK);
    assert_eq!(join(app, &id, "lobby").await.status, StatusCode::OK);
    let left = post_empty(
        &app.router,
        &format!("/api/live-sessions/{id}/leave"),
        Some(&user_token("lobby")),
    )
    .await;
    assert_eq!(left.status, StatusCode::OK, "{}", left.text());
    let started = put_session(&app.router, &id, &admin_token(), &json!({"isLive": true})).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
    assert_eq!(join(app, &id, "present").await.status, StatusCode::OK);
    app.clock.advance_secs(80);
    assert_eq!(join(app, &id, "partial").await.status, StatusCode::OK);
    assert_eq!(join(app, &id, "walkin").await.status, StatusCode::OK);
    app.clock.advance_secs(20);
    for user in ["partial", "walkin"] {
        let left = post_empty(
            &app.router,
            &format!("/api/live-sessions/{id}/leave"),
            Some(&user_token(user)),
        )
        .await;
        assert_eq!(left.status, StatusCode::OK);
    }
    let ended = put_session(&app.router, &id, &admin_token(), &json!({"isLive": false})).await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.text());
    id
}

#[tokio::test]
async fn the_roster_view_filters_sorts_and_downloads() {
    let app = app();
    let id = attended_session(&app).await;
    let all = view(&app, &id, "").await;
    assert_eq!(all["members"], 4);
    assert_eq!(all["total"], 5);
    assert_eq!(
        all["counts"],
        json!({ "present": 1, "partial": 2, "lobbyOnly": 1, "absent": 1, "late": 2 })
    );
    let status_of = |view: &Value, user: &str| {
        view["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["userId"] == user)
            .map(|r| {
                (
                    r["status"].clone(),
                    r["late"].clone(),
                    r["onRoster"].clone(),
                )
            })
            .unwrap()
    };
    assert_eq!(
        status_of(&all, "present"),
        (json!("present"), json!(false), json!(true))
    );
    assert_eq!(
        status_of(&all, "partial"),
        (json!("partial"), json!(true), json!(true))
    );
    assert_eq!(
        status_of(&all, "lobby"),
        (json!("lobby_only"), json!(false), json!(true))
    );
    assert_eq!(
        status_of(&all, "absent"),
        (json!("absent"), json!(false), json!(true))
    );
    assert_eq!(
        status_of(&all, "walkin"),
        (json!("partial"), json!(true), json!(false))
    );

    let partial = view(&app, &id, "status=partial").await;
    assert_eq!(partial["total"], 2);
    assert_eq!(user_ids(&partial), ["partial", "walkin"]);
    assert_eq!(partial["counts"]["absent"], 1, "counts ignore the filter");
    let by_status = view(&app, &id, "sort=status&order=desc&limit=2").await;
    assert_eq!(user_ids(&by_status), ["absent", "lobby"]);
    let by_watch = view(&app, &id, "sort=watchTime&order=desc&offset=0&limit=1").await;
    assert_eq!(user_ids(&by_watch), ["present"]);
    let by_join = view(&app, &id, "sort=joinTime").await;
    assert_eq!(
        user_ids(&by_join),
        ["lobby", "present", "partial", "walkin", "absent"]
    );
    let bad = get(
        &app.router,
        &format!("{}?status=late&sort=age", roster_uri(&id)),
        Some(&admin_token()),
    )
    .await
    .problem(422);
    assert_eq!(problem_fields(&bad), ["status", "sort"]);

    for (uri, accept) in [
        (format!("{}?format=csv", roster_uri(&id)), None),
        (roster_uri(&id), Some("text/csv")),
    ] {
        let mut builder = request(Method::GET, &uri, Some(&admin_token()));
        if let Some(accept) = accept {
            builder = builder.header(header::ACCEPT, accept);
        }
        let reply = send(
            &app.router,
            builder.body(axum::body::Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert!(reply
            .header("content-disposition")
            .unwrap()
            .contains("filename=\"roster-attended-2025-01-15.csv\""));
        let text = reply.text();
        let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
        assert_eq!(
            lines[0],
            "\u{feff}userId,userName,email,status,late,onRoster,registered,joinTime,\
             watchSeconds,watchTime,joinCount"
        );
        assert_eq!(lines.len(), 6, "{text}");
        assert!(
            lines.contains(&"absent,Abe Absent,a@example.com,absent,false,true,false,,0,0:00:00,0"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn the_attendance_csv_lists_absentees_with_statuses_and_the_report_counts_them() {
    let app = app();
    let id = attended_session(&app).await;
    let reply = get(
        &app.router,
        &format!("/api/admin/live-sessions/{id}/participants?format=csv&sort=name"),
        Some(&admin_token()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let text = reply.text();
    let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
    assert!(
        lines[0].ends_with(",present,watchTime,status,late"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 6, "{text}");
    assert_eq!(
        lines[1], "absent,Abe Absent,a@example.com,,,,,0,0,0,false,0:00:00,absent,false",
        "the absentee, with empty times"
    );
    assert!(lines[2].starts_with("lobby,Lee Lobby,"), "{}", lines[2]);
    assert!(lines[2].ends_with(",lobby_only,false"), "{}", lines[2]);
    assert!(lines[3].ends_with(",present,false"), "{}", lines[3]);
    assert!(lines[4].ends_with(",partial,true"), "{}", lines[4]);
    assert!(lines[5].starts_with("walkin,"), "{}", lines[5]);

    let json = get(
        &app.router,
        &format!("/api/admin/live-sessions/{id}/participants"),
        Some(&admin_token()),
    )
    .await
    .json();
    assert_eq!(json["total"], 4, "the JSON list is of participants");

    let report = get(
        &app.router,
        &format!("/api/admin/live-sessions/{id}/analytics"),
        Some(&admin_token()),
    )
    .await
    .json();
    assert_eq!(report["rosterMembers"], 4);
    assert_eq!(
        report["statuses"],
        json!({ "present": 1, "partial": 2, "lobbyOnly": 1, "absent": 1, "late": 2 })
    );

    let history = get(
        &app.router,
        "/api/admin/users/partial/participation",
        Some(&admin_token()),
    )
    .await
    .json();
    assert_eq!(history["sessions"][0]["attendance"], "partial");
    assert_eq!(history["sessions"][0]["late"], true);
}

#[tokio::test]
async fn admin_roster_routes_refuse_others() {
    let app = app();
    let id = create_id(&app.router, "Guarded").await;
    let student = user_token("student");
    let refused = [
        send_body(
            &app.router,
            Method::POST,
            &roster_uri(&id),
            Some(&student),
            "text/csv",
            csv_of(1),
        )
        .await,
        get(&app.router, &roster_uri(&id), Some(&student)).await,
        get(
            &app.router,
            &format!("{}?format=csv", roster_uri(&id)),
            Some(&student),
        )
        .await,
        send_empty(
            &app.router,
            Method::DELETE,
            &format!("{}/u1", roster_uri(&id)),
            Some(&student),
        )
        .await,
    ];
    for reply in refused {
        assert_eq!(reply.problem(403)["code"], "forbidden");
    }
    get(&app.router, &roster_uri(&id), None).await.problem(401);
    let missing = "00000000-0000-4000-8000-000000000000";
    get(&app.router, &roster_uri(missing), Some(&admin_token()))
        .await
        .problem(404);
    upload_csv(&app, missing, &csv_of(1)).await.problem(404);
}

#[tokio::test]
async fn openapi_documents_the_roster_routes_and_fields() {
    let app = app();
    let doc = get(&app.router, "/api/openapi.json", None).await.json();
    let paths = &doc["paths"];
    for (path, method) in [
        ("/api/admin/live-sessions/{id}/roster", "post"),
        ("/api/admin/live-sessions/{id}/roster", "get"),
        ("/api/admin/live-sessions/{id}/roster/{userId}", "delete"),
        ("/api/live-sessions/{id}/register", "post"),
        ("/api/live-sessions/{id}/register", "get"),
        ("/api/live-sessions/{id}/register", "delete"),
    ] {
        assert!(paths[path].get(method).is_some(), "{method} {path}");
    }
    let upload = &paths["/api/admin/live-sessions/{id}/roster"]["post"]["requestBody"]["content"];
    assert!(upload.get("text/csv").is_some(), "{upload}");
    let schemas = &doc["components"]["schemas"];
    for schema in [
        "SessionJson",
        "CreateSessionJson",
        "UpdateSessionJson",
        "SessionForm",
    ] {
        for field in [
            "restricted",
            "registration",
            "attendanceThreshold",
            "lateAfterMinutes",
        ] {
            assert!(
                schemas[schema]["properties"].get(field).is_some(),
                "{schema} documents {field}"
            );
        }
    }
    for field in ["rosterMembers", "statuses"] {
        assert!(schemas["ReportJson"]["properties"].get(field).is_some());
    }
    for field in ["attendance", "late"] {
        assert!(schemas["ParticipationRowJson"]["properties"]
            .get(field)
            .is_some());
    }
    let join = &paths["/api/live-sessions/join"]["post"]["responses"]["403"]["description"];
    assert!(join.as_str().unwrap().contains("not_on_roster"), "{join}");
}
