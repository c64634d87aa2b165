//! [`WebhookSecret`]: the key an endpoint's deliveries are signed with.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rand::RngCore as _;

use crate::field_error::FieldError;

/// The field name secret errors are reported against.
pub const SECRET_FIELD: &str = "secret";

/// A Standard Webhooks signing secret: `whsec_` followed by the standard base64 of
/// [`WebhookSecret::MIN_BYTES`] to [`WebhookSecret::MAX_BYTES`] random bytes. Its `Debug`
/// form hides the key.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

impl WebhookSecret {
    /// The prefix of a secret's text form.
    pub const PREFIX: &'static str = "whsec_";
    /// The fewest key bytes accepted.
    pub const MIN_BYTES: usize = 24;
    /// The most key bytes accepted.
    pub const MAX_BYTES: usize = 64;
    /// How many bytes [`WebhookSecret::generate`] draws.
    pub const GENERATED_BYTES: usize = 32;

    /// A new secret of [`WebhookSecret::GENERATED_BYTES`] bytes from the thread-local
    /// cryptographically secure generator of `rand` (seeded from the operating system).
    pub fn generate() -> Self {
        let mut key = vec![0u8; Self::GENERATED_BYTES];
        rand::rng().fill_bytes(&mut key);
        WebhookSecret { key }
    }

    /// Reads a secret's text form (`whsec_…`). Errors name `secret`.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let invalid = || {
            FieldError::new(
                SECRET_FIELD,
                "invalid_secret",
                format!(
                    "Use whsec_ followed by the base64 of {} to {} bytes.",
                    Self::MIN_BYTES,
                    Self::MAX_BYTES
                ),
            )
        };
        let encoded = text.trim().strip_prefix(Self::PREFIX).ok_or_else(invalid)?;
        let key = STANDARD.decode(encoded).map_err(|_| invalid())?;
        Self::from_bytes(key).map_err(|_| invalid())
    }

    /// A secret with the key `key`. Errors name `secret`.
    pub fn from_bytes(key: Vec<u8>) -> Result<Self, FieldError> {
        if !(Self::MIN_BYTES..=Self::MAX_BYTES).contains(&key.len()) {
            return Err(FieldError::new(
                SECRET_FIELD,
                "invalid_secret",
                format!(
                    "Use a key of {} to {} bytes.",
                    Self::MIN_BYTES,
                    Self::MAX_BYTES
                ),
            ));
        }
        Ok(WebhookSecret { key })
    }

    /// The key bytes (what HMAC is keyed with).
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The text form, `whsec_…`, to show the endpoint's owner once and to store.
    pub fn expose(&self) -> String {
        format!("{}{}", Self::PREFIX, STANDARD.encode(&self.key))
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(whsec_…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_round_trip_and_differ() {
        let a = WebhookSecret::generate();
        let b = WebhookSecret::generate();
        assert_ne!(a, b);
        assert_eq!(a.key().len(), 32);
        let text = a.expose();
        assert!(text.starts_with("whsec_"));
        assert_eq!(WebhookSecret::parse(&text).unwrap(), a);
        assert!(!format!("{a:?}").contains(&text[6..]));
    }

    #[test]
    fn parse_checks_prefix_encoding_and_length() {
        let ok = WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        assert_eq!(ok.key().len(), 24);
        let short = format!("whsec_{}", STANDARD.encode([1u8; 23]));
        let long = format!("whsec_{}", STANDARD.encode([1u8; 65]));
        for bad in [
            "",
            "C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "whsec_not base64!",
            short.as_str(),
            long.as_str(),
        ] {
            let e = WebhookSecret::parse(bad).expect_err(bad);
            assert_eq!((e.field.as_str(), e.code), ("secret", "invalid_secret"));
        }
        assert!(WebhookSecret::parse(&format!("whsec_{}", STANDARD.encode([1u8; 64]))).is_ok());
    }
}
