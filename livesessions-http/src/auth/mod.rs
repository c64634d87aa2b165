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

mod config;
mod jwks;
mod jwt;

use std::fmt;
use std::path::PathBuf;

use async_trait::async_trait;
use livesessions_core::Actor;

pub use config::{JwtConfig, KeySource};
pub use jwks::FIREBASE_JWKS_URL;
pub use jwt::JwtAuthenticator;

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
