//! Endpoints: [`WebhookEndpoint`], its id, its secrets, and the raw input that registers one.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::description::EndpointDescription;
use super::event_types::EventTypes;
use super::secret::WebhookSecret;
use super::target::TargetPolicy;
use super::url::EndpointUrl;
use crate::error::{Error, Result};
use crate::field_error::FieldError;

/// How long the previous secret keeps signing deliveries after a rotation: 24 hours.
pub const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 3600);

/// The identity of a webhook endpoint: a time-ordered UUIDv7.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct EndpointId(Uuid);

impl EndpointId {
    /// A new id.
    pub fn new() -> Self {
        EndpointId(Uuid::now_v7())
    }

    /// The id of a stored UUID.
    pub fn from_uuid(uuid: Uuid) -> Self {
        EndpointId(uuid)
    }

    /// The UUID.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }

    /// Parses an id, reporting errors against `field`.
    pub fn parse_field(text: &str, field: &str) -> Result<Self, FieldError> {
        Uuid::parse_str(text.trim())
            .map(EndpointId)
            .map_err(|_| FieldError::new(field, "invalid_id", "Use an endpoint id."))
    }
}

impl Default for EndpointId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for EndpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for EndpointId {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        Self::parse_field(text, "id").map_err(|e| Error::Validation(vec![e]))
    }
}

/// Why an endpoint is disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DisabledReason {
    /// An admin disabled it.
    Manual,
    /// The receiver answered 410 Gone.
    Gone,
}

/// A registered endpoint, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    /// Its id.
    pub id: EndpointId,
    /// Where deliveries go.
    pub url: EndpointUrl,
    /// Which events it receives.
    pub event_types: EventTypes,
    /// What it is for.
    pub description: Option<EndpointDescription>,
    /// Whether deliveries are made to it. A disabled endpoint gets no new deliveries and its
    /// pending ones wait until it is enabled again.
    pub enabled: bool,
    /// Why it is disabled (`None` while enabled).
    pub disabled_reason: Option<DisabledReason>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it last changed (enabled, disabled, secret rotated).
    pub updated_at: DateTime<Utc>,
}

impl WebhookEndpoint {
    /// A new, enabled endpoint.
    pub fn new(
        url: EndpointUrl,
        event_types: EventTypes,
        description: Option<EndpointDescription>,
        now: DateTime<Utc>,
    ) -> Self {
        WebhookEndpoint {
            id: EndpointId::new(),
            url,
            event_types,
            description,
            enabled: true,
            disabled_reason: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// A secret kept for the rest of a rotation's overlap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousSecret {
    /// The replaced secret.
    pub secret: WebhookSecret,
    /// Until when it still signs deliveries.
    pub valid_until: DateTime<Utc>,
}

/// An endpoint's signing secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSecrets {
    /// The secret deliveries are signed with.
    pub current: WebhookSecret,
    /// The one it replaced, during the overlap after a rotation.
    pub previous: Option<PreviousSecret>,
}

impl EndpointSecrets {
    /// The secrets to sign with at `now`: the current one, and the previous one while
    /// `now < valid_until`.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&WebhookSecret> {
        let mut secrets = vec![&self.current];
        if let Some(previous) = &self.previous {
            if now < previous.valid_until {
                secrets.push(&previous.secret);
            }
        }
        secrets
    }
}

/// A newly registered endpoint with its secret: the one time the secret is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredEndpoint {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// Its signing secret.
    pub secret: WebhookSecret,
}

/// The raw request registering an endpoint, as a client sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointInput {
    /// The endpoint URL (`url`).
    pub url: Option<String>,
    /// The event types (`eventTypes`); `None` for all.
    pub event_types: Option<Vec<String>>,
    /// The description (`description`).
    pub description: Option<String>,
}

impl EndpointInput {
    /// Validates every field (the URL's scheme with the policy's `allow_http`, but not its
    /// host: see [`TargetPolicy::vet`]) and returns a new endpoint registered at `now`, or
    /// every field error at once.
    pub fn validate(&self, policy: &TargetPolicy, now: DateTime<Utc>) -> Result<WebhookEndpoint> {
        let mut errors = Vec::new();
        let url = match self.url.as_deref() {
            None => Err(FieldError::required(super::url::URL_FIELD)),
            Some(text) => policy.parse_url(text),
        }
        .map_err(|e| errors.push(e))
        .ok();
        let event_types = EventTypes::parse(self.event_types.as_deref())
            .map_err(|e| errors.push(e))
            .ok();
        let description = EndpointDescription::parse(self.description.as_deref().unwrap_or(""))
            .map_err(|e| errors.push(e))
            .ok();
        match (url, event_types, description) {
            (Some(url), Some(event_types), Some(description)) if errors.is_empty() => {
                Ok(WebhookEndpoint::new(url, event_types, description, now))
            }
            _ => Err(Error::Validation(errors)),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn now() -> DateTime<Utc> {
        "2030-01-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn input_reports_every_invalid_field() {
        let input = EndpointInput {
            url: Some("http://hooks.example.com".into()),
            event_types: Some(vec!["session.paused".into()]),
            description: Some("a\u{7}".into()),
        };
        let Err(Error::Validation(errors)) = input.validate(&TargetPolicy::default(), now()) else {
            panic!("expected a validation error");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["url", "eventTypes", "description"]);
        let Err(Error::Validation(errors)) =
            EndpointInput::default().validate(&TargetPolicy::default(), now())
        else {
            panic!("expected a validation error");
        };
        assert_eq!(
            (errors[0].field.as_str(), errors[0].code),
            ("url", "required")
        );
    }

    #[test]
    fn valid_input_makes_an_enabled_endpoint() {
        let input = EndpointInput {
            url: Some("https://hooks.example.com/in".into()),
            event_types: Some(vec!["session.live".into()]),
            description: Some(" CRM ".into()),
        };
        let endpoint = input.validate(&TargetPolicy::default(), now()).unwrap();
        assert!(endpoint.enabled);
        assert_eq!(endpoint.disabled_reason, None);
        assert_eq!(endpoint.url.as_str(), "https://hooks.example.com/in");
        assert_eq!(endpoint.description.unwrap().as_str(), "CRM");
        assert_eq!(endpoint.created_at, now());
    }

    #[test]
    fn the_previous_secret_signs_until_its_overlap_ends() {
        let secrets = EndpointSecrets {
            current: WebhookSecret::generate(),
            previous: Some(PreviousSecret {
                secret: WebhookSecret::generate(),
                valid_until: now() + TimeDelta::hours(24),
            }),
        };
        assert_eq!(secrets.signing_secrets(now()).len(), 2);
        let later = now() + TimeDelta::hours(24);
        assert_eq!(secrets.signing_secrets(later), vec![&secrets.current]);
    }

    #[test]
    fn ids_parse() {
        let id = EndpointId::new();
        assert_eq!(id.to_string().parse::<EndpointId>().unwrap(), id);
        let e = EndpointId::parse_field("42", "endpointId").unwrap_err();
        assert_eq!(e.field, "endpointId");
    }
}
