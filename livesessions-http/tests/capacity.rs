//! Capacity and the lobby over HTTP: `capacity` in JSON and form creates and updates,
//! `seatsLeft` in the session JSON, `409 session_full` for a first join of a full session
//! (rejoins pass), `422` naming `capacity`, and no video URL in a join while the session is
//! scheduled. Roster members hold reserved seats: `reservedSeats` counts them, `seatsLeft` is
//! what is left for a walk-in, and a walk-in is refused while a member is still admitted.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{json, Value};

fn join_body(id: &str) -> Value {
    json!({ "sessionId": id })
}

#[tokio::test]
async fn capacity_and_seats_left_in_json_and_forms_with_422_naming_it() {
    let app = app();
    let mut body = session_body("Capped");
    body["capacity"] = json!(30);
    let session = create(&app.router, &body).await;
    assert_eq!(session["capacity"], 30);
    assert_eq!(session["seatsLeft"], 30);
    let plain = create(&app.router, &session_body("Plain")).await;
    assert_eq!(plain["capacity"], Value::Null, "no limit by default");
    assert_eq!(plain["seatsLeft"], Value::Null);

    let id = session["id"].as_str().unwrap();
    let update = |value: Value| {
        let router = app.router.clone();
        async move { put_session(&router, id, &admin_token(), &json!({ "capacity": value })).await }
    };
    assert_eq!(update(json!("2")).await.json()["capacity"], 2);
    assert_eq!(
        update(Value::Null).await.json()["capacity"],
        2,
        "null leaves it as it is"
    );
    for bad in [json!(0), json!(-3), json!(1.5), json!("many"), json!(true)] {
        let problem = update(bad.clone()).await.problem(422);
        assert_eq!(problem_fields(&problem), ["capacity"], "{bad}");
        let mut new = session_body("Bad");
        new["capacity"] = bad.clone();
        let problem = post_session(&app.router, &new).await.problem(422);
        assert_eq!(problem_fields(&problem), ["capacity"], "{bad}");
    }

    let mut parts = seed_form("false");
    parts.push(Part::Text("capacity", " 12 "));
    let formed = create_from_form(&app.router, &parts).await;
    assert_eq!(formed["capacity"], 12);
    assert_eq!(formed["seatsLeft"], 12);
    let mut parts = seed_form("false");
    parts.push(Part::Text("capacity", ""));
    assert_eq!(
        create_from_form(&app.router, &parts).await["capacity"],
        Value::Null
    );
    let mut bad = seed_form("false");
    bad.push(Part::Text("capacity", "0"));
    let problem = post_session_form(&app.router, &bad).await.problem(422);
    assert_eq!(problem_fields(&problem), ["capacity"]);

    // Two join; lowering the capacity below them is refused, naming it.
    for user in ["u1", "u2"] {
        let joined = post_join(&app.router, &user_token(user), &join_body(id)).await;
        assert_eq!(joined.status, StatusCode::OK, "{}", joined.text());
    }
    let full = get(&app.router, &format!("/api/live-sessions/{id}"), None)
        .await
        .json();
    assert_eq!(full["participants"], 2);
    assert_eq!(full["seatsLeft"], 0);
    let problem = update(json!(1)).await.problem(422);
    assert_eq!(problem_fields(&problem), ["capacity"]);
    let removed = update(json!("")).await.json();
    assert_eq!(removed["capacity"], Value::Null, "empty removes the limit");
    assert_eq!(removed["seatsLeft"], Value::Null);
}

#[tokio::test]
async fn a_full_session_answers_409_session_full_and_admits_rejoins() {
    let app = app();
    let mut body = session_body("One seat");
    body["capacity"] = json!(1);
    body["isLive"] = json!(true);
    let session = create(&app.router, &body).await;
    let id = session["id"].as_str().unwrap();
    let first = post_join(&app.router, &user_token("amal"), &join_body(id)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert_eq!(first.json()["session"]["seatsLeft"], 0);
    let refused = post_join(&app.router, &user_token("badr"), &join_body(id)).await;
    let problem = refused.problem(409);
    assert_eq!(problem["code"], "session_full", "{problem}");
    let again = post_join(&app.router, &user_token("amal"), &join_body(id)).await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "a rejoin passes: {}",
        again.text()
    );
    assert_eq!(again.json()["participant"]["joinCount"], 2);
    let stored = get(&app.router, &format!("/api/live-sessions/{id}"), None)
        .await
        .json();
    assert_eq!(stored["participants"], 1, "the refused join counted nobody");
}

#[tokio::test]
async fn the_lobby_gives_the_video_only_once_live() {
    let app = app();
    let session = create(&app.router, &session_body("Lobby")).await;
    let id = session["id"].as_str().unwrap();
    let token = user_token("early");
    let waiting = post_join(&app.router, &token, &join_body(id)).await;
    assert_eq!(waiting.status, StatusCode::OK, "{}", waiting.text());
    let waiting = waiting.json();
    assert_eq!(
        waiting["participant"]["userId"], "early",
        "the lobby join is recorded"
    );
    assert_eq!(waiting["videoUrl"], Value::Null);
    assert_eq!(waiting["embedUrl"], Value::Null);
    assert_eq!(waiting["session"].get("videoUrl"), None);
    assert_eq!(waiting["session"].get("embedUrl"), None);
    let seen = get(
        &app.router,
        &format!("/api/live-sessions/{id}"),
        Some(&token),
    )
    .await
    .json();
    assert_eq!(
        seen.get("videoUrl"),
        None,
        "no video for a user while scheduled"
    );
    let admin = get(
        &app.router,
        &format!("/api/live-sessions/{id}"),
        Some(&admin_token()),
    )
    .await
    .json();
    assert_eq!(
        admin["videoUrl"], "https://youtu.be/dQw4w9WgXcQ",
        "admins always see it"
    );

    let started = put_session(&app.router, id, &admin_token(), &json!({"isLive": true})).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
    let live = post_join(&app.router, &token, &join_body(id)).await.json();
    assert_eq!(live["videoUrl"], "https://youtu.be/dQw4w9WgXcQ");
    assert_eq!(
        live["embedUrl"],
        "https://www.youtube.com/embed/dQw4w9WgXcQ"
    );
    assert_eq!(live["session"]["videoUrl"], "https://youtu.be/dQw4w9WgXcQ");
    let seen = get(
        &app.router,
        &format!("/api/live-sessions/{id}"),
        Some(&token),
    )
    .await
    .json();
    assert_eq!(seen["videoUrl"], "https://youtu.be/dQw4w9WgXcQ");
}

#[tokio::test]
async fn openapi_documents_capacity_and_session_full() {
    let app = app();
    let doc = get(&app.router, "/api/openapi.json", None).await.json();
    let schemas = &doc["components"]["schemas"];
    for schema in [
        "SessionJson",
        "CreateSessionJson",
        "UpdateSessionJson",
        "SessionForm",
    ] {
        assert!(
            schemas[schema]["properties"].get("capacity").is_some(),
            "{schema} documents capacity"
        );
    }
    for field in ["seatsLeft", "reservedSeats"] {
        assert!(
            schemas["SessionJson"]["properties"].get(field).is_some(),
            "SessionJson documents {field}"
        );
    }
    let conflict = &doc["paths"]["/api/live-sessions/join"]["post"]["responses"]["409"];
    assert!(
        conflict["description"]
            .as_str()
            .unwrap()
            .contains("session_full"),
        "{conflict}"
    );
}

#[tokio::test]
async fn roster_members_hold_reserved_seats_over_http() {
    let app = app();
    let mut body = session_body("Three seats, two held");
    body["capacity"] = json!(3);
    body["isLive"] = json!(true);
    let session = create(&app.router, &body).await;
    let id = session["id"].as_str().unwrap();
    assert_eq!(session["reservedSeats"], 0);
    assert_eq!(session["seatsLeft"], 3);
    let plain = create(&app.router, &session_body("Plain")).await;
    assert_eq!(
        plain["reservedSeats"],
        Value::Null,
        "nothing reserved without a capacity"
    );

    let added = send_json(
        &app.router,
        Method::POST,
        &format!("/api/admin/live-sessions/{id}/roster"),
        Some(&admin_token()),
        &json!({ "members": [
            { "userId": "ada", "userName": "Ada", "email": "ada@example.com" },
            { "userId": "bo", "userName": "Bo", "email": "bo@example.com" },
        ] }),
    )
    .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text());
    let read = get(&app.router, &format!("/api/live-sessions/{id}"), None)
        .await
        .json();
    assert_eq!(
        (&read["reservedSeats"], &read["seatsLeft"]),
        (&json!(2), &json!(1))
    );
    let listed = get(&app.router, "/api/live-sessions", None).await.json();
    let listed = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .expect("the session is listed");
    assert_eq!(
        (&listed["reservedSeats"], &listed["seatsLeft"]),
        (&json!(2), &json!(1)),
        "the list counts the same seats"
    );

    let walk_in = post_join(&app.router, &user_token("walk1"), &join_body(id)).await;
    assert_eq!(walk_in.status, StatusCode::OK, "{}", walk_in.text());
    let joined = walk_in.json();
    assert_eq!(joined["session"]["seatsLeft"], 0);
    assert_eq!(joined["session"]["reservedSeats"], 2);
    let refused = post_join(&app.router, &user_token("walk2"), &join_body(id)).await;
    assert_eq!(refused.problem(409)["code"], "session_full");
    let admin = post_join(&app.router, &admin_token(), &join_body(id)).await;
    assert_eq!(
        admin.problem(409)["code"],
        "session_full",
        "an admin not on the roster is a walk-in"
    );
    let member = post_join(&app.router, &user_token("ada"), &join_body(id)).await;
    assert_eq!(member.status, StatusCode::OK, "{}", member.text());
    let member = member.json();
    assert_eq!(member["session"]["participants"], 2);
    assert_eq!(member["session"]["reservedSeats"], 1);
    assert_eq!(member["session"]["seatsLeft"], 0);
    let bo = post_join(&app.router, &user_token("bo"), &join_body(id)).await;
    assert_eq!(bo.status, StatusCode::OK, "{}", bo.text());
    let again = post_join(&app.router, &user_token("walk1"), &join_body(id)).await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "a rejoin passes: {}",
        again.text()
    );
    let stored = get(&app.router, &format!("/api/live-sessions/{id}"), None)
        .await
        .json();
    assert_eq!(stored["participants"], 3);
    assert_eq!(
        (&stored["reservedSeats"], &stored["seatsLeft"]),
        (&json!(0), &json!(0))
    );
}
