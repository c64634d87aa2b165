//! Standard Webhooks 1.0 signatures: the `webhook-id`, `webhook-timestamp` and
//! `webhook-signature` headers of a delivery.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::secret::WebhookSecret;

/// The header carrying the message id (the event id).
pub const HEADER_ID: &str = "webhook-id";
/// The header carrying the unix time of the attempt, in seconds.
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// The header carrying the space-separated `v1,<base64>` signatures.
pub const HEADER_SIGNATURE: &str = "webhook-signature";

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length; a `WebhookSecret` has 24 to 64 bytes.
    let mut mac = HmacSha256::new_from_slice(secret.key()).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// One signature: `v1,` and the base64 of HMAC-SHA256 keyed with the secret over
/// `{id}.{timestamp}.{body}`.
pub fn sign(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, id, timestamp, body).finalize().into_bytes();
    format!("v1,{}", STANDARD.encode(tag))
}

/// The `webhook-signature` value: one signature per secret, separated by spaces (the current
/// secret and, during a rotation, the previous one).
pub fn signature_header(
    secrets: &[&WebhookSecret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|secret| sign(secret, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The three headers of a signed delivery, in order: id, timestamp, signature.
pub fn signed_headers(
    secrets: &[&WebhookSecret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> [(&'static str, String); 3] {
    [
        (HEADER_ID, id.to_owned()),
        (HEADER_TIMESTAMP, timestamp.to_string()),
        (
            HEADER_SIGNATURE,
            signature_header(secrets, id, timestamp, body),
        ),
    ]
}

/// Whether one of the `v1` signatures of a `webhook-signature` value was made with `secret`
/// over this message (compared in constant time). The timestamp's age is the caller's to
/// check.
pub fn verify(
    secret: &WebhookSecret,
    id: &str,
    timestamp: i64,
    body: &[u8],
    signature_header: &str,
) -> bool {
    signature_header
        .split(' ')
        .filter_map(|one| one.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .filter_map(|(_, tag)| STANDARD.decode(tag).ok())
        .any(|tag| mac(secret, id, timestamp, body).verify_slice(&tag).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of the Standard Webhooks reference libraries.
    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TIMESTAMP: i64 = 1649367553;
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const EXPECTED: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    #[test]
    fn matches_the_published_test_vector() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        assert_eq!(sign(&secret, ID, TIMESTAMP, BODY), EXPECTED);
        assert!(verify(&secret, ID, TIMESTAMP, BODY, EXPECTED));
    }

    #[test]
    fn verification_fails_on_any_change() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        let other = WebhookSecret::generate();
        assert!(!verify(&other, ID, TIMESTAMP, BODY, EXPECTED));
        assert!(!verify(&secret, "msg_other", TIMESTAMP, BODY, EXPECTED));
        assert!(!verify(&secret, ID, TIMESTAMP + 1, BODY, EXPECTED));
        assert!(!verify(&secret, ID, TIMESTAMP, b"{}", EXPECTED));
        assert!(!verify(
            &secret,
            ID,
            TIMESTAMP,
            BODY,
            &EXPECTED.replace("v1,", "v2,")
        ));
        assert!(!verify(&secret, ID, TIMESTAMP, BODY, "v1,not-base64"));
        assert!(!verify(&secret, ID, TIMESTAMP, BODY, ""));
    }

    #[test]
    fn rotation_headers_carry_one_signature_per_secret() {
        let old = WebhookSecret::parse(SECRET).unwrap();
        let new = WebhookSecret::generate();
        let headers = signed_headers(&[&new, &old], ID, TIMESTAMP, BODY);
        assert_eq!(headers[0], ("webhook-id", ID.to_owned()));
        assert_eq!(headers[1], ("webhook-timestamp", TIMESTAMP.to_string()));
        let value = &headers[2].1;
        assert_eq!(value.split(' ').count(), 2);
        assert!(value.ends_with(EXPECTED));
        assert!(verify(&old, ID, TIMESTAMP, BODY, value));
        assert!(verify(&new, ID, TIMESTAMP, BODY, value));
    }

    /// The `standardwebhooks` crate, an independent implementation, accepts what we sign.
    #[test]
    fn the_reference_crate_verifies_our_signatures() {
        let secret = WebhookSecret::generate();
        let old = WebhookSecret::generate();
        let now = chrono::Utc::now().timestamp();
        let body = br#"{"type":"session.live","timestamp":"2025-01-15T10:00:00Z","data":{}}"#;
        let mut headers = http::HeaderMap::new();
        for (name, value) in signed_headers(&[&secret, &old], "42", now, body) {
            headers.insert(name, value.parse().unwrap());
        }
        for key in [&secret, &old] {
            let reference = standardwebhooks::Webhook::new(&key.expose()).unwrap();
            reference
                .verify(body, &headers)
                .expect("the reference accepts it");
            assert_eq!(
                reference.sign("42", now, body).unwrap(),
                sign(key, "42", now, body)
            );
        }
        let stranger = standardwebhooks::Webhook::new(&WebhookSecret::generate().expose()).unwrap();
        assert!(stranger.verify(body, &headers).is_err());
    }
}
