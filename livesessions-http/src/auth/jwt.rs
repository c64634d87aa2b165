//! JWT verification: the header picks the pinned keys, the signature and claims are checked,
//! and the claims become an [`Actor`].

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use livesessions_core::{Actor, UserId};
use serde_json::{Map, Value};

use super::jwks::{candidates, parse_jwks, PinnedKey, RemoteJwks, FIREBASE_JWKS_URL};
use super::{AuthError, AuthSetupError, Authenticator, JwtConfig, KeySource};

/// Verifies JSON Web Tokens; see the [module docs](crate::auth).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_secret_is_refused() {
        assert!(matches!(
            JwtAuthenticator::hs256("", JwtConfig::default()),
            Err(AuthSetupError::EmptySecret)
        ));
    }
}
