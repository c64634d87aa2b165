//! The OpenAPI document covers every route the router serves, and its schemas match what the
//! API sends.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::*;
use livesessions_http::LiveSessionsApi;
use serde_json::{json, Value};

async fn document(app: &TestApp) -> Value {
    let reply = get(&app.router, "/api/openapi.json", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    reply.json()
}

#[tokio::test]
async fn every_served_route_is_documented() {
    let app = app();
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let routes = LiveSessionsApi::routes();
    let paths = doc["paths"].as_object().unwrap();
    let documented: usize = paths
        .values()
        .map(|item| {
            ["get", "put", "post", "delete", "patch", "head", "options"]
                .iter()
                .filter(|m| item.get(**m).is_some())
                .count()
        })
        .sum();
    assert_eq!(
        documented,
        routes.len(),
        "documented operations vs served routes"
    );
    let admin = admin_token();
    for (method, path) in &routes {
        let operation = &doc["paths"][*path][method.as_str().to_lowercase()];
        assert!(operation.is_object(), "{method} {path} is not documented");
        let responses = operation["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{method} {path} documents no success"
        );
        if *path != "/healthz" {
            assert!(responses.contains_key("503"), "{method} {path} lacks 503");
        }
        if path.starts_with("/api/admin") {
            assert!(responses.contains_key("403"), "{method} {path} lacks 403");
            assert_eq!(operation["security"], json!([{"bearer": []}]));
        }

        // The router serves the route: neither its 405 nor its bare 404 fallback.
        if *path == "/api/live-sessions/events" {
            continue;
        }
        let uri = path
            .replace("{id}", "0190d7a4-0000-7000-8000-000000000000")
            .replace("{key}", "0123abcd.png")
            .replace("{userId}", "someone")
            .replace(
                "{feedToken}",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics",
            );
        let reply = send(
            &app.router,
            request(method.clone(), &uri, Some(&admin))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_ne!(
            reply.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {uri}"
        );
        if reply.status == StatusCode::NOT_FOUND {
            reply.problem(404);
        }
        let status = reply.status.as_u16().to_string();
        assert!(
            responses.contains_key(&status),
            "{method} {path} answered {status}, which is not documented"
        );
    }
    // A route outside the table is not served.
    let unknown = send(
        &app.router,
        request(Method::PATCH, "/api/live-sessions", None)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn every_reference_resolves_and_bearer_auth_is_declared() {
    let app = app();
    let doc = document(&app).await;
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"],
        json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    );
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {r}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{r} does not resolve"
        );
    }
    // Uploads are documented as multipart with a binary thumbnail.
    let create = &doc["paths"]["/api/admin/live-sessions"]["post"]["requestBody"]["content"];
    assert!(create["application/json"].is_object());
    assert!(create["multipart/form-data"].is_object());
    // Errors are problem documents.
    let problem = &doc["paths"]["/api/live-sessions/join"]["post"]["responses"]["422"]["content"]
        ["application/problem+json"]["schema"]["$ref"];
    assert_eq!(problem, "#/components/schemas/Problem");
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    out.push(v.as_str().unwrap().to_owned());
                } else {
                    collect_refs(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// The schema's required properties are all sent, and nothing is sent that the schema lacks.
fn assert_matches_schema(doc: &Value, schema: &str, instance: &Value) {
    let schema = &doc["components"]["schemas"][schema];
    let properties = schema["properties"].as_object().unwrap();
    let object = instance.as_object().unwrap();
    for required in schema["required"].as_array().into_iter().flatten() {
        let name = required.as_str().unwrap();
        assert!(
            object.contains_key(name),
            "{name} is required but missing in {instance}"
        );
    }
    for key in object.keys() {
        assert!(
            properties.contains_key(key),
            "{key} is sent but not documented"
        );
    }
}

#[tokio::test]
async fn schemas_match_what_the_api_sends() {
    let app = app();
    let doc = document(&app).await;
    let created = create(&app.router, &session_body("Schema")).await;
    assert_matches_schema(&doc, "SessionJson", &created);
    let anonymous = get(&app.router, "/api/live-sessions", None).await.json();
    assert_matches_schema(&doc, "SessionJson", &anonymous[0]);
    let id = created["id"].as_str().unwrap();
    let joined = post_join(&app.router, &user_token("u1"), &json!({"sessionId": id}))
        .await
        .json();
    assert_matches_schema(&doc, "JoinResponse", &joined);
    assert_matches_schema(&doc, "ParticipantJson", &joined["participant"]);
    let problem = get(&app.router, "/api/live-sessions?limit=0", None)
        .await
        .json();
    assert_matches_schema(&doc, "Problem", &problem);
    assert_matches_schema(&doc, "ProblemField", &problem["errors"][0]);
    let not_found = get(&app.router, "/api/live-sessions/nope", None)
        .await
        .json();
    assert_matches_schema(&doc, "Problem", &not_found);
}

#[tokio::test]
async fn the_event_stream_documents_resuming_and_its_event_names() {
    let app = app();
    let doc = document(&app).await;
    let operation = &doc["paths"]["/api/live-sessions/events"]["get"];
    let params = operation["parameters"].as_array().unwrap();
    let param = |name: &str, place: &str| {
        params
            .iter()
            .find(|p| p["name"] == name && p["in"] == place)
            .unwrap_or_else(|| panic!("no {place} parameter {name}: {params:?}"))
            .clone()
    };
    for (name, place) in [("Last-Event-ID", "header"), ("lastEventId", "query")] {
        let param = param(name, place);
        assert_eq!(param["required"], false, "{param}");
        assert!(param["description"].as_str().unwrap().contains("reset"));
    }
    let stream = operation["responses"]["200"]["description"]
        .as_str()
        .unwrap();
    for word in ["`cancelled`", "`reset`", "`id:`", "`retry:`", "ResetJson"] {
        assert!(stream.contains(word), "{word} in {stream}");
    }
    let kinds = doc["components"]["schemas"]["EventJson"]["properties"]["type"]["description"]
        .as_str()
        .unwrap();
    for kind in livesessions_core::EventKind::ALL {
        assert!(kinds.contains(&format!("`{kind}`")), "{kind} in {kinds}");
    }
    assert!(kinds.contains("`reset`"), "{kinds}");

    // A reset as the stream sends it matches its schema.
    let reply = tower::ServiceExt::oneshot(
        app.router.clone(),
        axum::http::Request::get("/api/live-sessions/events")
            .header("Last-Event-ID", "12")
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    let mut body = reply.into_body().into_data_stream();
    let mut text = String::new();
    let data = loop {
        if let Some(line) = text
            .split("\n\n")
            .find(|frame| frame.contains("event: reset"))
            .and_then(|frame| frame.lines().find_map(|l| l.strip_prefix("data: ")))
        {
            break line.to_owned();
        }
        let chunk = tokio::time::timeout(PATIENCE, futures::StreamExt::next(&mut body))
            .await
            .expect("the reset event")
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    };
    let reset: Value = serde_json::from_str(&data).unwrap();
    assert_matches_schema(&doc, "ResetJson", &reset);
}
