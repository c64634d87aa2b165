//! Authentication: the [`Authenticator`] port and a JWT implementation.
//!
//! The router reads `Authorization: Bearer <token>` and asks the configured [`Authenticator`]
//! for the [`Actor`]. No header means an anonymous caller; a header with a token that does not
//! verify is answered with `401`, whatever the route.
//!
//! [`JwtAuthenticator`] verifies JSON Web Tokens:
//!
//! - **HS256** with a shared secret ([`JwtAuthenticator::hs256`]);
//! - **RS256 / ES256** with public keys from a JWKS, given inline ([`KeySource::JwksJson`]), as
//!   a file ([`KeySource::JwksFile`]) or as a URL ([`KeySource::JwksUrl`]) fetched lazily and
//!   cached as long as its `Cache-Control: max-age` allows; a token with an unknown `kid`
//!   triggers a refetch, at most once per [`JwtConfig::jwks_refetch_interval`];
//! - **Firebase** ([`JwtAuthenticator::firebase`]): Google's published keys, issuer
//!   `https://securetoken.google.com/<project>`, audience `<project>`.
//!
//! Algorithms are pinned per key: an HS256 secret only verifies HS256 tokens, an RSA key only
//! RS256, a P-256 key only ES256, and `alg: none` is never accepted, so tokens cannot choose how
//! they are checked. `exp` and `sub` are required; `nbf`, and `iss`/`aud` when configured, are
//! checked with [`JwtConfig::leeway`].
//!
//! Claims become an [`Actor`]: `sub` is the user id, `name` and `email` are copied, and the
//! caller is an admin when the token has `admin: true`, a `roles` claim containing `admin`, or
//! an email on [`JwtConfig::admin_emails`]. With [`JwtConfig::require_verified_email`] (on for
//! the Firebase preset) the allow-list only matches when the token also says
//! `email_verified: true`, since Firebase lets users sign up with an email they do not own.

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use livesessions_core::{Actor, UserId};
use serde_json::{Map, Value};

/// Where Google publishes the keys that sign Firebase ID tokens.
pub const FIREBASE_JWKS_URL: &str =
    "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com";

/// Turns a bearer token into an [`Actor`].
#[async_trait]
pub trait Authenticator: fmt::Debug + Send + Sync + 'static {
    /// Verifies `bearer` (the text after `Bearer `) and says who is calling.
    async fn authenticate(&self, bearer: &str) -> Result<Actor, AuthError>;
}

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The token is invalid: malformed, badly signed, expired, for another audience… (`401`).
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// The token could not be checked now, e.g. the key server is unreachable (`503`).
    #[error("authentication unavailable: {0}")]
    Unavailable(String),
}

/// Why an authenticator could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthSetupError {
    /// The HS256 secret is empty.
    #[error("the HS256 secret must not be empty")]
    EmptySecret,
    /// The JWKS is not valid JSON of a key set.
    #[error("invalid JWKS: {0}")]
    InvalidJwks(String),
    /// The JWKS holds no RS256 or ES256 signing key.
    #[error("the JWKS holds no usable RS256 or ES256 key")]
    NoUsableKeys,
    /// The JWKS file could not be read.
    #[error("cannot read the JWKS file {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The JWKS URL is not an `https` URL (plain `http` is allowed for loopback hosts only).
    #[error("the JWKS URL must be https (http only for loopback hosts): {0}")]
    InvalidUrl(String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// An authenticator that accepts no token: every caller is anonymous, and a request that
/// carries a bearer token is refused with `401`. The router uses it when none is configured.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAuthentication;

#[async_trait]
impl Authenticator for NoAuthentication {
    async fn authenticate(&self, _bearer: &str) -> Result<Actor, AuthError> {
        Err(AuthError::InvalidToken(
            "this server accepts no tokens".to_owned(),
        ))
    }
}

/// How tokens are checked and turned into actors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtConfig {
    /// The required `iss`, if any.
    pub issuer: Option<String>,
    /// The required `aud`, if any. Without one, tokens that carry an `aud` are refused.
    pub audience: Option<String>,
    /// Clock skew tolerated for `exp` and `nbf` (default 30 s).
    pub leeway: Duration,
    /// A boolean claim that makes its bearer an admin when `true` (default `admin`).
    pub admin_claim: Option<String>,
    /// A claim holding a list of roles, or a space-separated string (default `roles`).
    pub roles_claim: Option<String>,
    /// The role that makes its bearer an admin (default `admin`).
    pub admin_role: String,
    /// Emails whose owners are admins (compared case-insensitively).
    pub admin_emails: Vec<String>,
    /// Only match [`admin_emails`](Self::admin_emails) when the token has
    /// `email_verified: true` (default `false`; `true` for [`JwtConfig::firebase`]).
    pub require_verified_email: bool,
    /// Longest token accepted, in bytes (default 8 KiB).
    pub max_token_bytes: usize,
    /// For a JWKS URL: the least time between two downloads caused by tokens with an unknown
    /// `kid` (default 30 s).
    pub jwks_refetch_interval: Duration,
    /// For a JWKS URL: how long keys are kept when the response has no `max-age` (default 5 min).
    pub jwks_default_ttl: Duration,
    /// For a JWKS URL: the download timeout (default 10 s).
    pub jwks_timeout: Duration,
}

impl Default for JwtConfig {
    fn default() -> Self {
        JwtConfig {
            issuer: None,
            audience: None,
            leeway: Duration::from_secs(30),
            admin_claim: Some("admin".to_owned()),
            roles_claim: Some("roles".to_owned()),
            admin_role: "admin".to_owned(),
            admin_emails: Vec::new(),
            require_verified_email: false,
            max_token_bytes: 8 * 1024,
            jwks_refetch_interval: Duration::from_secs(30),
            jwks_default_ttl: Duration::from_secs(300),
            jwks_timeout: Duration::from_secs(10),
        }
    }
}

impl JwtConfig {
    /// The checks of Firebase ID tokens for `project_id`: issuer
    /// `https://securetoken.google.com/<project_id>`, audience `<project_id>`, and the admin
    /// email allow-list only for verified emails.
    pub fn firebase(project_id: &str) -> Self {
        JwtConfig {
            issuer: Some(format!("https://securetoken.google.com/{project_id}")),
            audience: Some(project_id.to_owned()),
            require_verified_email: true,
            ..Default::default()
        }
    }

    /// Sets the required issuer.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Sets the required audience.
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Adds emails whose owners are admins.
    pub fn with_admin_emails<I, S>(mut self, emails: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.admin_emails.extend(emails.into_iter().map(Into::into));
        self
    }
}

/// Where the keys that verify tokens come from.
#[derive(Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A shared HS256 secret (use at least 32 random bytes).
    Hs256(Vec<u8>),
    /// A JSON Web Key Set as JSON text (RS256 and ES256 keys).
    JwksJson(String),
    /// A file holding a JSON Web Key Set, read once when the authenticator is built.
    JwksFile(PathBuf),
    /// A URL serving a JSON Web Key Set, fetched when first needed and cached.
    JwksUrl(String),
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Hs256(_) => f.write_str("Hs256(<secret>)"),
            KeySource::JwksJson(_) => f.write_str("JwksJson(..)"),
            KeySource::JwksFile(path) => f.debug_tuple("JwksFile").field(path).finish(),
            KeySource::JwksUrl(url) => f.debug_tuple("JwksUrl").field(url).finish(),
        }
    }
}

/// A key and the one algorithm it verifies.
#[derive(Clone)]
struct PinnedKey {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
}

impl fmt::Debug for PinnedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinnedKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Verifies JSON Web Tokens; see the [module docs](self).
#[derive(Debug)]
pub struct JwtAuthenticator {
    config: JwtConfig,
    keys: Keys,
}

#[derive(Debug)]
enum Keys {
    Static(Arc<Vec<PinnedKey>>),
    Remote(RemoteJwks),
}

impl JwtAuthenticator {
    /// An authenticator with `config`, verifying with keys from `source`.
    pub fn new(config: JwtConfig, source: KeySource) -> Result<Self, AuthSetupError> {
        let keys = match source {
            KeySource::Hs256(secret) => {
                if secret.is_empty() {
                    return Err(AuthSetupError::EmptySecret);
                }
                Keys::Static(Arc::new(vec![PinnedKey {
                    kid: None,
                    alg: Algorithm::HS256,
                    key: DecodingKey::from_secret(&secret),
                }]))
            }
            KeySource::JwksJson(json) => Keys::Static(Arc::new(parse_jwks(&json)?)),
            KeySource::JwksFile(path) => {
                let json = std::fs::read_to_string(&path)
                    .map_err(|source| AuthSetupError::ReadFile { path, source })?;
                Keys::Static(Arc::new(parse_jwks(&json)?))
            }
            KeySource::JwksUrl(url) => Keys::Remote(RemoteJwks::new(url, &config)?),
        };
        Ok(JwtAuthenticator { config, keys })
    }

    /// HS256 tokens signed with `secret`.
    pub fn hs256(secret: impl AsRef<[u8]>, config: JwtConfig) -> Result<Self, AuthSetupError> {
        Self::new(config, KeySource::Hs256(secret.as_ref().to_vec()))
    }

    /// Firebase ID tokens of `project_id`, verified with Google's published keys
    /// ([`FIREBASE_JWKS_URL`]). Add admins with [`JwtConfig::admin_emails`] through
    /// [`JwtAuthenticator::new`] with [`JwtConfig::firebase`], or with custom claims.
    pub fn firebase(project_id: &str) -> Result<Self, AuthSetupError> {
        Self::new(
            JwtConfig::firebase(project_id),
            KeySource::JwksUrl(FIREBASE_JWKS_URL.to_owned()),
        )
    }

    /// The configuration.
    pub fn config(&self) -> &JwtConfig {
        &self.config
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.leeway = self.config.leeway.as_secs();
        v.validate_nbf = true;
        v.required_spec_claims = HashSet::from(["exp".to_owned(), "sub".to_owned()]);
        if let Some(iss) = &self.config.issuer {
            v.set_issuer(&[iss]);
            v.required_spec_claims.insert("iss".to_owned());
        }
        match &self.config.audience {
            Some(aud) => {
                v.set_audience(&[aud]);
                v.required_spec_claims.insert("aud".to_owned());
            }
            None => v.validate_aud = true,
        }
        v
    }

    fn verify_with(
        &self,
        token: &str,
        header: &jsonwebtoken::Header,
        keys: &[PinnedKey],
    ) -> Result<Map<String, Value>, AuthError> {
        let mut last_error = "no key for the token's algorithm and key id".to_owned();
        for key in candidates(keys, header) {
            match jsonwebtoken::decode::<Map<String, Value>>(
                token,
                &key.key,
                &self.validation(key.alg),
            ) {
                Ok(data) => return Ok(data.claims),
                Err(e) => last_error = e.to_string(),
            }
        }
        Err(AuthError::InvalidToken(last_error))
    }

    fn actor(&self, claims: &Map<String, Value>) -> Result<Actor, AuthError> {
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .ok_or_else(|| AuthError::InvalidToken("no subject".to_owned()))?;
        let user_id = UserId::parse(sub)
            .map_err(|_| AuthError::InvalidToken("invalid subject".to_owned()))?;
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let name = text("name");
        let email = text("email");
        let by_claim = self
            .config
            .admin_claim
            .as_deref()
            .is_some_and(|c| claims.get(c) == Some(&Value::Bool(true)));
        let by_role = self
            .config
            .roles_claim
            .as_deref()
            .and_then(|c| claims.get(c))
            .is_some_and(|roles| match roles {
                Value::Array(items) => items
                    .iter()
                    .any(|r| r.as_str() == Some(self.config.admin_role.as_str())),
                Value::String(s) => s.split_whitespace().any(|r| r == self.config.admin_role),
                _ => false,
            });
        let verified = claims.get("email_verified") == Some(&Value::Bool(true));
        let by_email = email.as_deref().is_some_and(|email| {
            (verified || !self.config.require_verified_email)
                && self
                    .config
                    .admin_emails
                    .iter()
                    .any(|a| a.trim().eq_ignore_ascii_case(email))
        });
        Ok(Actor {
            user_id,
            name,
            email,
            admin: by_claim || by_role || by_email,
        })
    }
}

#[async_trait]
impl Authenticator for JwtAuthenticator {
    async fn authenticate(&self, bearer: &str) -> Result<Actor, AuthError> {
        if bearer.len() > self.config.max_token_bytes {
            return Err(AuthError::InvalidToken("token too long".to_owned()));
        }
        // `alg: none` and unknown algorithms fail here: `Algorithm` has no such variant.
        let header = jsonwebtoken::decode_header(bearer)
            .map_err(|e| AuthError::InvalidToken(e.to_string()))?;
        let claims = match &self.keys {
            Keys::Static(keys) => self.verify_with(bearer, &header, keys)?,
            Keys::Remote(remote) => {
                let keys = remote.keys_for(&header, &self.config).await?;
                self.verify_with(bearer, &header, &keys)?
            }
        };
        self.actor(&claims)
    }
}

fn candidates<'a>(
    keys: &'a [PinnedKey],
    header: &'a jsonwebtoken::Header,
) -> impl Iterator<Item = &'a PinnedKey> + 'a {
    keys.iter().filter(move |k| {
        k.alg == header.alg
            && match (&k.kid, &header.kid) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    })
}

/// Parses a JWKS, keeping the RS256 and ES256 signing keys and skipping the rest (keys for
/// encryption, other algorithms, or kinds this crate does not verify).
fn parse_jwks(json: &str) -> Result<Vec<PinnedKey>, AuthSetupError> {
    #[derive(serde::Deserialize)]
    struct RawSet {
        keys: Vec<Value>,
    }
    let raw: RawSet =
        serde_json::from_str(json).map_err(|e| AuthSetupError::InvalidJwks(e.to_string()))?;
    let keys: Vec<PinnedKey> = raw
        .keys
        .into_iter()
        .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
        .filter_map(|jwk| pin(&jwk))
        .collect();
    if keys.is_empty() {
        return Err(AuthSetupError::NoUsableKeys);
    }
    Ok(keys)
}

fn pin(jwk: &Jwk) -> Option<PinnedKey> {
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return None;
    }
    let (alg, key) = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => (
            Algorithm::RS256,
            DecodingKey::from_rsa_components(&rsa.n, &rsa.e).ok()?,
        ),
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => (
            Algorithm::ES256,
            DecodingKey::from_ec_components(&ec.x, &ec.y).ok()?,
        ),
        _ => return None,
    };
    let declared_ok = match jwk.common.key_algorithm {
        None => true,
        Some(KeyAlgorithm::RS256) => alg == Algorithm::RS256,
        Some(KeyAlgorithm::ES256) => alg == Algorithm::ES256,
        Some(_) => false,
    };
    declared_ok.then(|| PinnedKey {
        kid: jwk.common.key_id.clone(),
        alg,
        key,
    })
}

/// A JWKS fetched from a URL and cached by its `Cache-Control: max-age`.
#[derive(Debug)]
struct RemoteJwks {
    url: String,
    client: reqwest::Client,
    cache: tokio::sync::RwLock<Cached>,
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct Cached {
    keys: Arc<Vec<PinnedKey>>,
    fetched_at: Option<Instant>,
    expires_at: Option<Instant>,
}

impl Cached {
    fn fresh(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|e| now < e)
    }

    fn may_refetch(&self, now: Instant, interval: Duration) -> bool {
        match self.fetched_at {
            None => true,
            Some(at) => now.saturating_duration_since(at) >= interval,
        }
    }
}

impl RemoteJwks {
    fn new(url: String, config: &JwtConfig) -> Result<Self, AuthSetupError> {
        let parsed = url::Url::parse(&url).map_err(|_| AuthSetupError::InvalidUrl(url.clone()))?;
        let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        if !(parsed.scheme() == "https" || (parsed.scheme() == "http" && loopback)) {
            return Err(AuthSetupError::InvalidUrl(url));
        }
        let client = reqwest::Client::builder()
            .timeout(config.jwks_timeout)
            .build()
            .map_err(|e| AuthSetupError::Client(e.to_string()))?;
        Ok(RemoteJwks {
            url,
            client,
            cache: tokio::sync::RwLock::new(Cached::default()),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    /// The keys to verify a token with `header`: the cached ones while they are fresh and
    /// know the token's key; otherwise a download (one at a time), falling back to stale keys
    /// when the download fails.
    async fn keys_for(
        &self,
        header: &jsonwebtoken::Header,
        config: &JwtConfig,
    ) -> Result<Arc<Vec<PinnedKey>>, AuthError> {
        let needs_fetch = |cached: &Cached, now: Instant| {
            let known = candidates(&cached.keys, header).next().is_some();
            if cached.fresh(now) {
                !known && cached.may_refetch(now, config.jwks_refetch_interval)
            } else {
                cached.fetched_at.is_none() || !known || cached.may_refetch(now, Duration::ZERO)
            }
        };
        {
            let cached = self.cache.read().await;
            if !needs_fetch(&cached, Instant::now()) {
                return Ok(cached.keys.clone());
            }
        }
        let _one_at_a_time = self.fetching.lock().await;
        {
            // Another request may have fetched while this one waited.
            let cached = self.cache.read().await;
            if !needs_fetch(&cached, Instant::now()) {
                return Ok(cached.keys.clone());
            }
        }
        let result = self.fetch(config).await;
        let mut cached = self.cache.write().await;
        let now = Instant::now();
        match result {
            Ok((keys, ttl)) => {
                *cached = Cached {
                    keys: Arc::new(keys),
                    fetched_at: Some(now),
                    expires_at: Some(now + ttl),
                };
                Ok(cached.keys.clone())
            }
            Err(error) => {
                tracing::warn!(url = %self.url, %error, "could not fetch the JWKS");
                if cached.keys.is_empty() {
                    Err(AuthError::Unavailable(
                        "the signing keys could not be fetched".to_owned(),
                    ))
                } else {
                    // Keep serving the stale keys, and do not hammer the key server.
                    cached.fetched_at = Some(now);
                    Ok(cached.keys.clone())
                }
            }
        }
    }

    async fn fetch(&self, config: &JwtConfig) -> Result<(Vec<PinnedKey>, Duration), String> {
        let response = self
            .client
            .get(&self.url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        let ttl = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age)
            .unwrap_or(config.jwks_default_ttl)
            .clamp(
                config.jwks_refetch_interval,
                Duration::from_secs(24 * 3600).max(config.jwks_refetch_interval),
            );
        let body = response.text().await.map_err(|e| e.to_string())?;
        let keys = parse_jwks(&body).map_err(|e| e.to_string())?;
        Ok((keys, ttl))
    }
}

/// The `max-age` of a `Cache-Control` value; `no-store`/`no-cache` count as zero.
fn max_age(cache_control: &str) -> Option<Duration> {
    let mut result = None;
    for directive in cache_control.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(secs) = lower.strip_prefix("max-age=") {
            result = secs
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_max_age() {
        assert_eq!(
            max_age("public, max-age=19822, must-revalidate, no-transform"),
            Some(Duration::from_secs(19822))
        );
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=abc"), None);
    }

    #[test]
    fn jwks_without_usable_keys_is_refused() {
        assert!(matches!(
            parse_jwks(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#),
            Err(AuthSetupError::NoUsableKeys)
        ));
        assert!(matches!(
            parse_jwks("not json"),
            Err(AuthSetupError::InvalidJwks(_))
        ));
    }

    #[test]
    fn jwks_urls_must_be_https_except_on_loopback() {
        let config = JwtConfig::default();
        assert!(RemoteJwks::new("http://example.com/keys".into(), &config).is_err());
        assert!(RemoteJwks::new("http://127.0.0.1:9/keys".into(), &config).is_ok());
        assert!(RemoteJwks::new("https://example.com/keys".into(), &config).is_ok());
    }

    #[test]
    fn empty_secret_is_refused() {
        assert!(matches!(
            JwtAuthenticator::hs256("", JwtConfig::default()),
            Err(AuthSetupError::EmptySecret)
        ));
    }
}
