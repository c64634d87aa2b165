//! How tokens are checked ([`JwtConfig`]) and where the keys come from ([`KeySource`]).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

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
