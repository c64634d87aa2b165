//! Registering endpoints and rotating their secrets: validation, the SSRF check and secret
//! generation in front of the [`WebhookStore`].

use chrono::{DateTime, TimeDelta, Utc};

use super::endpoint::{EndpointId, EndpointInput, RegisteredEndpoint, ROTATION_OVERLAP};
use super::port::WebhookStore;
use super::secret::WebhookSecret;
use super::target::TargetPolicy;
use crate::error::{Error, Result};

/// Validates `input` (every field, [`EndpointInput::validate`]), checks its host with
/// `policy` ([`TargetPolicy::vet`]: a refused or unresolvable host is a validation error
/// naming `url`), generates a secret and stores the endpoint. Returns it with its secret: the
/// only time the secret is shown.
pub async fn register_endpoint<S: WebhookStore + ?Sized>(
    store: &S,
    policy: &TargetPolicy,
    input: &EndpointInput,
    now: DateTime<Utc>,
) -> Result<RegisteredEndpoint> {
    let endpoint = input.validate(policy, now)?;
    policy
        .vet(&endpoint.url)
        .await
        .map_err(|e| Error::Validation(vec![e]))?;
    let secret = WebhookSecret::generate();
    store.insert_endpoint(&endpoint, &secret).await?;
    Ok(RegisteredEndpoint { endpoint, secret })
}

/// Gives the endpoint a new secret and returns it (the only time it is shown). The old
/// secret keeps signing deliveries, next to the new one, for [`ROTATION_OVERLAP`] (24 h).
pub async fn rotate_endpoint_secret<S: WebhookStore + ?Sized>(
    store: &S,
    id: EndpointId,
    now: DateTime<Utc>,
) -> Result<WebhookSecret> {
    let secret = WebhookSecret::generate();
    let overlap = TimeDelta::from_std(ROTATION_OVERLAP).expect("a day fits");
    store.rotate_secret(id, &secret, now + overlap, now).await?;
    Ok(secret)
}
