//! Token checks: HS256, JWKS (inline, file, URL with caching), the Firebase preset, admin rules
//! and the token attacks (alg none, HS/RS confusion, expired, wrong audience or issuer, forged
//! signatures). Tests sign their own tokens with keys under tests/keys/.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{header, Method, StatusCode};
use base64::Engine as _;
use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use livesessions_http::{
    AuthError, Authenticator, HttpSettings, JwtAuthenticator, JwtConfig, KeySource,
};
use serde_json::{json, Value};

const RSA1: &[u8] = include_bytes!("keys/rsa1.pem");
const RSA1_PUBLIC: &[u8] = include_bytes!("keys/rsa1.pub.pem");
const RSA2: &[u8] = include_bytes!("keys/rsa2.pem");
const EC1: &[u8] = include_bytes!("keys/ec1.pem");
const JWKS: &str = include_str!("keys/jwks.json");
const JWKS_ROTATED: &str = include_str!("keys/jwks-rotated.json");

fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn rs(kid: Option<&str>, pem: &[u8], claims: &Value) -> String {
    sign(
        Algorithm::RS256,
        kid,
        &EncodingKey::from_rsa_pem(pem).unwrap(),
        claims,
    )
}

fn es(kid: Option<&str>, claims: &Value) -> String {
    sign(
        Algorithm::ES256,
        kid,
        &EncodingKey::from_ec_pem(EC1).unwrap(),
        claims,
    )
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The status of a request that needs a signed-in user, with `token`.
async fn status_with(app: &TestApp, token: &str) -> StatusCode {
    let reply = get(
        &app.router,
        "/api/live-sessions/me/participation",
        Some(token),
    )
    .await;
    if reply.status == StatusCode::UNAUTHORIZED {
        let problem = reply.problem(401);
        assert_eq!(problem["code"], "invalid_token");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\"")
        );
    }
    reply.status
}

fn jwks_app(config: JwtConfig, source: KeySource) -> TestApp {
    app_with(
        settings(),
        Arc::new(JwtAuthenticator::new(config, source).unwrap()),
    )
}

#[tokio::test]
async fn hs256_token_attacks_are_401() {
    let app = app();
    assert_eq!(status_with(&app, &user_token("u1")).await, StatusCode::OK);

    let mut expired = claims("u1");
    expired["exp"] = json!(now_secs() - 3600);
    assert_eq!(
        status_with(&app, &hs_token_for(&expired)).await,
        StatusCode::UNAUTHORIZED
    );

    let mut early = claims("u1");
    early["nbf"] = json!(now_secs() + 3600);
    assert_eq!(
        status_with(&app, &hs_token_for(&early)).await,
        StatusCode::UNAUTHORIZED
    );

    let wrong_secret = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims("u1"),
        &EncodingKey::from_secret(b"another-secret-another-secret-xx"),
    )
    .unwrap();
    assert_eq!(
        status_with(&app, &wrong_secret).await,
        StatusCode::UNAUTHORIZED
    );

    // Tampered payload: the signature is of other claims.
    let token = user_token("u1");
    let parts: Vec<&str> = token.split('.').collect();
    let mut admin_claims = claims("u1");
    admin_claims["admin"] = json!(true);
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(admin_claims.to_string().as_bytes()),
        parts[2]
    );
    assert_eq!(status_with(&app, &tampered).await, StatusCode::UNAUTHORIZED);

    // alg: none, with and without a signature.
    let none_header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64(admin_claims.to_string().as_bytes());
    for token in [
        format!("{none_header}.{payload}."),
        format!("{none_header}.{payload}.{}", parts[2]),
    ] {
        assert_eq!(status_with(&app, &token).await, StatusCode::UNAUTHORIZED);
    }

    let mut no_subject = claims("u1");
    no_subject.as_object_mut().unwrap().remove("sub");
    assert_eq!(
        status_with(&app, &hs_token_for(&no_subject)).await,
        StatusCode::UNAUTHORIZED
    );
    let mut empty_subject = claims("u1");
    empty_subject["sub"] = json!("");
    assert_eq!(
        status_with(&app, &hs_token_for(&empty_subject)).await,
        StatusCode::UNAUTHORIZED
    );

    let mut oversized = claims("u1");
    oversized["padding"] = json!("x".repeat(10_000));
    assert_eq!(
        status_with(&app, &hs_token_for(&oversized)).await,
        StatusCode::UNAUTHORIZED
    );

    for garbage in ["garbage", "a.b.c", "....", "eyJhbGciOiJIUzI1NiJ9.e30."] {
        assert_eq!(
            status_with(&app, garbage).await,
            StatusCode::UNAUTHORIZED,
            "{garbage}"
        );
    }

    // An RS256 token against an HS256-only configuration.
    let rsa = rs(None, RSA1, &claims("u1"));
    assert_eq!(status_with(&app, &rsa).await, StatusCode::UNAUTHORIZED);

    // Not a bearer token at all.
    let basic = send(
        &app.router,
        request(Method::GET, "/api/live-sessions/me/participation", None)
            .header(header::AUTHORIZATION, "Basic dXNlcjpwYXNz")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    basic.problem(401);

    // A bad token is refused even on public routes, so clients learn their session expired.
    let public = get(&app.router, "/api/live-sessions", Some("garbage")).await;
    public.problem(401);
}

#[tokio::test]
async fn issuer_and_audience_are_checked() {
    let config = JwtConfig::default()
        .with_issuer("https://issuer.test/")
        .with_audience("live-api");
    let app = app_with(
        settings(),
        Arc::new(JwtAuthenticator::hs256(SECRET, config).unwrap()),
    );
    let good = |iss: &str, aud: &str| {
        let mut c = claims("u1");
        c["iss"] = json!(iss);
        c["aud"] = json!(aud);
        hs_token_for(&c)
    };
    assert_eq!(
        status_with(&app, &good("https://issuer.test/", "live-api")).await,
        StatusCode::OK
    );
    assert_eq!(
        status_with(&app, &good("https://evil.test/", "live-api")).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status_with(&app, &good("https://issuer.test/", "other-api")).await,
        StatusCode::UNAUTHORIZED
    );
    // Missing claims are not a way around the checks.
    assert_eq!(
        status_with(&app, &user_token("u1")).await,
        StatusCode::UNAUTHORIZED
    );

    // Without a configured audience, tokens meant for some audience are refused.
    let plain = common::app();
    assert_eq!(
        status_with(&plain, &good("https://issuer.test/", "live-api")).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn admin_comes_from_claims_or_the_email_allow_list() {
    let app = app();
    let admin_only = |token: String| {
        let router = app.router.clone();
        async move {
            get(&router, "/api/admin/analytics", Some(&token))
                .await
                .status
        }
    };
    let mut by_claim = claims("a1");
    by_claim["admin"] = json!(true);
    assert_eq!(admin_only(hs_token_for(&by_claim)).await, StatusCode::OK);

    let mut by_role = claims("a2");
    by_role["roles"] = json!(["teacher", "admin"]);
    assert_eq!(admin_only(hs_token_for(&by_role)).await, StatusCode::OK);

    let mut by_email = claims("a3");
    by_email["email"] = json!("Boss@Example.com");
    assert_eq!(admin_only(hs_token_for(&by_email)).await, StatusCode::OK);

    let mut not_admin = claims("u1");
    not_admin["admin"] = json!("true");
    not_admin["roles"] = json!(["administrator"]);
    assert_eq!(
        admin_only(hs_token_for(&not_admin)).await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn jwks_inline_pins_algorithms_per_key() {
    let app = jwks_app(JwtConfig::default(), KeySource::JwksJson(JWKS.to_owned()));
    let u1 = claims("u1");
    let (ok, refused) = (StatusCode::OK, StatusCode::UNAUTHORIZED);
    let cases = [
        ("RS256 naming its key", rs(Some("rsa-1"), RSA1, &u1), ok),
        ("RS256 naming no key", rs(None, RSA1, &u1), ok),
        ("ES256 naming its key", es(Some("ec-1"), &u1), ok),
        // Signed by a key the set does not hold, claiming a kid it does.
        (
            "a key not in the set",
            rs(Some("rsa-1"), RSA2, &u1),
            refused,
        ),
        // An ES256 token naming the RSA key, and the reverse.
        ("ES256 naming the RSA key", es(Some("rsa-1"), &u1), refused),
        (
            "RS256 naming the EC key",
            rs(Some("ec-1"), RSA1, &u1),
            refused,
        ),
    ];
    for (case, token, expected) in cases {
        assert_eq!(status_with(&app, &token).await, expected, "{case}");
    }
    // HS/RS confusion: an HS256 token whose secret is the public RSA key.
    for kid in [Some("rsa-1"), None] {
        let confused = sign(
            Algorithm::HS256,
            kid,
            &EncodingKey::from_secret(RSA1_PUBLIC),
            &claims("u1"),
        );
        assert_eq!(status_with(&app, &confused).await, StatusCode::UNAUTHORIZED);
    }
    // And the HS256 test secret means nothing here.
    assert_eq!(
        status_with(&app, &user_token("u1")).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn jwks_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, JWKS).unwrap();
    let app = jwks_app(JwtConfig::default(), KeySource::JwksFile(path));
    assert_eq!(
        status_with(&app, &es(Some("ec-1"), &claims("u1"))).await,
        StatusCode::OK
    );
    assert!(JwtAuthenticator::new(
        JwtConfig::default(),
        KeySource::JwksFile(dir.path().join("missing.json"))
    )
    .is_err());
}

/// A local JWKS server: serves `body` with `Cache-Control: max-age=<max_age>` and counts hits.
struct KeyServer {
    url: String,
    hits: Arc<AtomicUsize>,
    body: Arc<Mutex<String>>,
}

async fn key_server(initial: &str, max_age: u32) -> KeyServer {
    let hits = Arc::new(AtomicUsize::new(0));
    let body = Arc::new(Mutex::new(initial.to_owned()));
    let (h, b) = (hits.clone(), body.clone());
    let router = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let (h, b) = (h.clone(), b.clone());
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                let body = b.lock().unwrap().clone();
                (
                    [
                        (header::CONTENT_TYPE, "application/json".to_owned()),
                        (header::CACHE_CONTROL, format!("public, max-age={max_age}")),
                    ],
                    body,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    KeyServer {
        url: format!("http://{addr}/jwks.json"),
        hits,
        body,
    }
}

#[tokio::test]
async fn jwks_url_is_fetched_lazily_and_cached() {
    let server = key_server(JWKS, 3600).await;
    let config = JwtConfig {
        jwks_refetch_interval: Duration::from_secs(3600),
        ..Default::default()
    };
    let auth = JwtAuthenticator::new(config, KeySource::JwksUrl(server.url.clone())).unwrap();
    assert_eq!(server.hits.load(Ordering::SeqCst), 0, "fetched before use");

    let token = rs(Some("rsa-1"), RSA1, &claims("u1"));
    assert_eq!(
        auth.authenticate(&token).await.unwrap().user_id.as_str(),
        "u1"
    );
    assert_eq!(
        auth.authenticate(&token).await.unwrap().user_id.as_str(),
        "u1"
    );
    auth.authenticate(&es(Some("ec-1"), &claims("u2")))
        .await
        .unwrap();
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);

    // The keys rotate; a token with the new kid may not force a download before the
    // refetch interval has passed.
    *server.body.lock().unwrap() = JWKS_ROTATED.to_owned();
    let rotated = rs(Some("rsa-2"), RSA2, &claims("u3"));
    assert!(matches!(
        auth.authenticate(&rotated).await,
        Err(AuthError::InvalidToken(_))
    ));
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn jwks_url_refetches_for_an_unknown_kid() {
    let server = key_server(JWKS, 3600).await;
    let config = JwtConfig {
        jwks_refetch_interval: Duration::ZERO,
        ..Default::default()
    };
    let auth = JwtAuthenticator::new(config, KeySource::JwksUrl(server.url.clone())).unwrap();
    auth.authenticate(&rs(Some("rsa-1"), RSA1, &claims("u1")))
        .await
        .unwrap();
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);

    *server.body.lock().unwrap() = JWKS_ROTATED.to_owned();
    let actor = auth
        .authenticate(&rs(Some("rsa-2"), RSA2, &claims("u2")))
        .await
        .unwrap();
    assert_eq!(actor.user_id.as_str(), "u2");
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
    // The old key is gone with the old set.
    assert!(auth
        .authenticate(&rs(Some("rsa-1"), RSA1, &claims("u1")))
        .await
        .is_err());
}

#[tokio::test]
async fn an_unreachable_key_server_is_503() {
    // A port that was free a moment ago and has no listener now.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let config = JwtConfig {
        jwks_timeout: Duration::from_secs(5),
        ..Default::default()
    };
    let app = jwks_app(
        config,
        KeySource::JwksUrl(format!("http://{addr}/jwks.json")),
    );
    let reply = get(
        &app.router,
        "/api/live-sessions/me/participation",
        Some(&rs(Some("rsa-1"), RSA1, &claims("u1"))),
    )
    .await;
    reply.problem(503);
    assert!(reply.header("retry-after").is_some());
}

#[tokio::test]
async fn firebase_preset() {
    let auth = JwtAuthenticator::firebase("demo-project").unwrap();
    assert_eq!(
        auth.config().issuer.as_deref(),
        Some("https://securetoken.google.com/demo-project")
    );
    assert_eq!(auth.config().audience.as_deref(), Some("demo-project"));

    // The same checks against a local key server standing in for Google's.
    let server = key_server(JWKS, 19_000).await;
    let config = JwtConfig::firebase("demo-project").with_admin_emails(["teacher@example.com"]);
    let app = app_with(
        HttpSettings {
            rate_limits: livesessions_http::RateLimitSettings::disabled(),
            ..Default::default()
        },
        Arc::new(JwtAuthenticator::new(config, KeySource::JwksUrl(server.url.clone())).unwrap()),
    );
    let firebase_claims = |aud: &str, email_verified: bool| {
        json!({
            "iss": "https://securetoken.google.com/demo-project",
            "aud": aud,
            "sub": "firebase-uid-123",
            "user_id": "firebase-uid-123",
            "name": "Teacher",
            "email": "teacher@example.com",
            "email_verified": email_verified,
            "auth_time": now_secs(),
            "iat": now_secs(),
            "exp": now_secs() + 3600,
        })
    };
    let verified = rs(Some("rsa-1"), RSA1, &firebase_claims("demo-project", true));
    let unverified = rs(Some("rsa-1"), RSA1, &firebase_claims("demo-project", false));
    let other_project = rs(Some("rsa-1"), RSA1, &firebase_claims("other-project", true));

    assert_eq!(
        get(&app.router, "/api/admin/analytics", Some(&verified))
            .await
            .status,
        StatusCode::OK
    );
    // An unverified email on the allow-list is just a user.
    assert_eq!(
        get(&app.router, "/api/admin/analytics", Some(&unverified))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(status_with(&app, &unverified).await, StatusCode::OK);
    assert_eq!(
        status_with(&app, &other_project).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}
