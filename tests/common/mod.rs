//! Helpers shared by the tests that talk HTTP to a server over a real socket: free ports,
//! tokens, JSON requests and session creation.
#![allow(dead_code)]

pub mod example;
pub mod sse;
pub mod webhooks;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

/// A loopback port free at the time of the call.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs()
}

/// `claims` signed with HS256 and `secret`.
pub fn sign(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("a token")
}

/// A token for `sub` (named `User <sub>`, mailed at `<sub>@example.com`) signed with `secret`,
/// valid for an hour.
pub fn token(secret: &str, sub: &str, admin: bool) -> String {
    let now = now_secs();
    sign(
        secret,
        &json!({
            "sub": sub,
            "name": format!("User {sub}"),
            "email": format!("{sub}@example.com"),
            "admin": admin,
            "iat": now,
            "exp": now + 3600,
        }),
    )
}

/// The JSON answer of a GET of `url`.
pub async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

/// Creates a session through `base`'s API as the holder of `admin_token`, asserts it answered
/// `201`, and returns the session's JSON.
pub async fn create_session(
    client: &reqwest::Client,
    base: &str,
    admin_token: &str,
    body: &Value,
) -> Value {
    let reply = client
        .post(format!("{base}/api/admin/live-sessions"))
        .bearer_auth(admin_token)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    reply.json().await.unwrap()
}
