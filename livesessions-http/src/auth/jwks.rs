//! Verification keys: JWKS parsing with one algorithm pinned per key, and key sets fetched
//! from a URL (Firebase's among them) and cached by `Cache-Control`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use super::{AuthError, AuthSetupError, JwtConfig};

/// Where Google publishes the keys that sign Firebase ID tokens.
pub const FIREBASE_JWKS_URL: &str =
    "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com";

/// A key and the one algorithm it verifies.
#[derive(Clone)]
pub(super) struct PinnedKey {
    pub(super) kid: Option<String>,
    pub(super) alg: Algorithm,
    pub(super) key: DecodingKey,
}

impl fmt::Debug for PinnedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinnedKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// The keys that may verify a token with `header`: its algorithm, and its key id if both have one.
pub(super) fn candidates<'a>(
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
pub(super) fn parse_jwks(json: &str) -> Result<Vec<PinnedKey>, AuthSetupError> {
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
pub(super) struct RemoteJwks {
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
    pub(super) fn new(url: String, config: &JwtConfig) -> Result<Self, AuthSetupError> {
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
    pub(super) async fn keys_for(
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
}
