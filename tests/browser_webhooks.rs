//! Browser test of the webhooks view: an admin adds an endpoint, sees its signing secret once,
//! and then sees the endpoint listed without it. The router is built here with a webhook store
//! (the example server is wired separately).
#![allow(missing_docs)]

mod browser_kit;
mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use browser_kit::*;
use livesessions_core::webhooks::{MemoryWebhooks, TargetPolicy, WebhookStore};
use livesessions_core::{LiveSessions, MemoryStore};
use livesessions_http::{JwtAuthenticator, JwtConfig, LiveSessionsApi};
use serde_json::json;

const SECRET: &str = "browser-webhooks-secret-of-32-bytes!!";

fn admin_token() -> String {
    let now = common::now_secs();
    let claims = json!({
        "sub": "admin-1", "name": "Ada Admin", "email": "ada@example.com", "admin": true,
        "iat": now, "exp": now + 3600,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("a token")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_adds_an_endpoint_and_sees_its_secret_once() {
    let hooks = Arc::new(MemoryWebhooks::new());
    let service = LiveSessions::builder(Arc::new(MemoryStore::new())).build();
    let auth = JwtAuthenticator::hs256(SECRET, JwtConfig::default()).expect("an authenticator");
    let router = LiveSessionsApi::new(service)
        .auth(Arc::new(auth))
        .webhooks(
            hooks.clone(),
            TargetPolicy {
                allow_private: true,
                allow_http: true,
            },
        )
        .router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });

    let work = tempfile::tempdir().expect("a work dir");
    let driver = start_chromedriver().await;
    let client = browser(&driver, &work.path().join("profile"), work.path()).await;
    client
        .goto(&format!("{base}/live-sessions"))
        .await
        .expect("page loaded");
    client
        .execute(
            "localStorage.setItem('livesessions.token', arguments[0]);",
            vec![json!(admin_token())],
        )
        .await
        .expect("token stored");
    client
        .goto(&format!("{base}/live-sessions"))
        .await
        .expect("page loaded");
    wait_present(&client, "#webhooks-open:not([hidden])").await;
    click(&client, "#webhooks-open").await;
    wait_present(&client, "#webhooks-view:not([hidden])").await;
    wait_present(&client, "#webhooks-empty:not([hidden])").await;

    // A refused link: the error is next to the input.
    fill(&client, "#wh-url", "ftp://example.com/").await;
    click(&client, "#wh-submit").await;
    wait_text(&client, "#wh-url-error", "the URL's error", |t| {
        !t.is_empty()
    })
    .await;

    fill(&client, "#wh-url", "http://127.0.0.1:9/hook").await;
    click(&client, "#wh-events input[value='session.live']").await;
    fill(&client, "#wh-description", "CRM").await;
    click(&client, "#wh-submit").await;
    wait_present(&client, "#webhook-secret:not([hidden])").await;
    let shown = find(&client, "#webhook-secret-value")
        .await
        .prop("value")
        .await
        .expect("the secret's value")
        .unwrap_or_default();
    assert!(shown.starts_with("whsec_"), "{shown}");
    let endpoints = hooks.list_endpoints().await.expect("endpoints");
    assert_eq!(endpoints.len(), 1);
    let stored = hooks
        .endpoint_secrets(endpoints[0].id)
        .await
        .expect("secrets")
        .expect("the endpoint's secrets");
    assert_eq!(stored.current.expose(), shown);
    wait_text(&client, "li.webhook .webhook-url", "the endpoint", |t| {
        t == "http://127.0.0.1:9/hook"
    })
    .await;
    wait_text(&client, "li.webhook .webhook-types", "its types", |t| {
        t == "session.live"
    })
    .await;
    assert_eq!(
        find(&client, "#wh-url").await.prop("value").await.unwrap(),
        Some(String::new())
    );

    // Done hides it for good: the list never carries it, not after a reload either.
    click(&client, "#webhook-secret-done").await;
    wait_present(&client, "#webhook-secret[hidden]").await;
    client
        .goto(&format!("{base}/live-sessions#/webhooks"))
        .await
        .expect("page loaded");
    wait_text(&client, "li.webhook .webhook-state", "the state", |t| {
        t == "Enabled"
    })
    .await;
    let source = client.source().await.expect("the page's source");
    assert!(!source.contains(&shown), "the secret is shown again");
    assert_eq!(
        find(&client, "#webhook-secret-value")
            .await
            .prop("value")
            .await
            .unwrap(),
        Some(String::new())
    );

    // Disabling shows at once.
    click(&client, "li.webhook button[data-action='disable']").await;
    wait_text(&client, "li.webhook .webhook-state", "disabled", |t| {
        t == "Disabled"
    })
    .await;
    client.close().await.expect("browser closed");
}
