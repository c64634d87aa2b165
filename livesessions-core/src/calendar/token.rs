//! [`FeedToken`] and its stored form [`FeedTokenHash`].

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

/// The secret in a user's calendar feed URL: [`FeedToken::BYTES`] random bytes in URL-safe
/// base64 without padding (43 characters). Its `Debug` form hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct FeedToken(String);

impl FeedToken {
    /// How many random bytes a token carries (256 bits).
    pub const BYTES: usize = 32;
    /// The length of a token's text.
    pub const LEN: usize = 43;

    /// A new token from the thread-local cryptographically secure generator of `rand`
    /// (seeded from the operating system).
    pub fn generate() -> Self {
        let mut bytes = [0u8; Self::BYTES];
        rand::rng().fill_bytes(&mut bytes);
        FeedToken(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Reads a token from a URL. `None` unless it is the text form of [`FeedToken::BYTES`]
    /// bytes; callers answer a malformed token exactly as an unknown one.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != Self::LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        (bytes.len() == Self::BYTES).then(|| FeedToken(text.to_owned()))
    }

    /// The text form, to put in the feed URL.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What stores keep and look the user up by.
    pub fn hash(&self) -> FeedTokenHash {
        FeedTokenHash(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for FeedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FeedToken(…)")
    }
}

/// The SHA-256 of a [`FeedToken`]'s text: what a store keeps, unique per user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FeedTokenHash([u8; 32]);

impl FeedTokenHash {
    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex (64 characters), the form the SQL and MongoDB stores keep.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Reads [`FeedTokenHash::to_hex`]'s form.
    pub fn from_hex(text: &str) -> Option<Self> {
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(FeedTokenHash(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_url_safe_distinct_and_parse_back() {
        let a = FeedToken::generate();
        let b = FeedToken::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), FeedToken::LEN);
        assert!(a
            .expose()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(FeedToken::parse(a.expose()), Some(a.clone()));
        assert!(!format!("{a:?}").contains(a.expose()));
        for bad in ["", "short", &"a".repeat(44), &"!".repeat(43)] {
            assert_eq!(FeedToken::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_hash_is_sha256_of_the_text_and_round_trips_as_hex() {
        let token = FeedToken::parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
        let hash = token.hash();
        // sha256("A" * 43)
        let expected: [u8; 32] = Sha256::digest("A".repeat(43).as_bytes()).into();
        assert_eq!(hash.as_bytes(), &expected);
        assert_eq!(hash.to_hex().len(), 64);
        assert_eq!(FeedTokenHash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(FeedTokenHash::from_hex("zz"), None);
        assert_ne!(FeedToken::generate().hash(), hash);
    }
}
