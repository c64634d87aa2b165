//! The documents of webhook endpoints and deliveries.

use std::time::Duration;

use bson::{doc, Bson, Document};
use livesessions_core::events::{EventId, EventKind, LoggedEvent};
use livesessions_core::webhooks::{
    AttemptRecord, Delivery, DeliveryId, DeliveryState, DisabledReason, EndpointDescription,
    EndpointId, EndpointSecrets, EndpointUrl, EventTypes, PreviousSecret, WebhookEndpoint,
    WebhookSecret,
};
use livesessions_core::SessionId;

use super::MICROS;
use super::{date, long, micros, opt_date, opt_micros, session_id, uuid, DocumentError, Reader};
use crate::documents::{WEBHOOK_DELIVERIES, WEBHOOK_ENDPOINTS};

/// The stored name of a delivery state.
pub(crate) fn state_name(state: DeliveryState) -> &'static str {
    match state {
        DeliveryState::Pending => "pending",
        DeliveryState::Delivered => "delivered",
        DeliveryState::Failed => "failed",
    }
}

/// The stored name of a reason an endpoint is disabled.
pub(crate) fn reason_name(reason: DisabledReason) -> &'static str {
    match reason {
        DisabledReason::Manual => "manual",
        DisabledReason::Gone => "gone",
    }
}

/// The complete document of a new endpoint with its secret.
pub(crate) fn endpoint_document(endpoint: &WebhookEndpoint, secret: &WebhookSecret) -> Document {
    let event_types = match endpoint.event_types.names() {
        None => Bson::Null,
        Some(names) => Bson::Array(names.into_iter().map(Bson::from).collect()),
    };
    doc! {
        "_id": uuid(endpoint.id.as_uuid()),
        "url": endpoint.url.as_str(),
        "eventTypes": event_types,
        "description": endpoint.description.as_ref().map(|d| d.as_str()),
        "enabled": endpoint.enabled,
        "disabledReason": endpoint.disabled_reason.map(reason_name),
        "createdAt": date(endpoint.created_at),
        "updatedAt": date(endpoint.updated_at),
        "secret": secret.expose(),
        "previousSecret": Bson::Null,
        "previousSecretValidUntil": Bson::Null,
        MICROS: {
            "createdAt": micros(endpoint.created_at),
            "updatedAt": micros(endpoint.updated_at),
            "previousSecretValidUntil": Bson::Null,
        },
    }
}

/// Reads an endpoint document (its secrets are ignored).
pub(crate) fn endpoint_from_document(
    document: &Document,
) -> Result<WebhookEndpoint, DocumentError> {
    let r = Reader::new(document, WEBHOOK_ENDPOINTS);
    let event_types = match document.get("eventTypes") {
        None | Some(Bson::Null) => EventTypes::All,
        Some(Bson::Array(items)) => {
            let names = items
                .iter()
                .map(|item| match item {
                    Bson::String(name) => Ok(name.as_str()),
                    other => Err(r.error(
                        "eventTypes",
                        format!("must hold strings, found {:?}", other.element_type()),
                    )),
                })
                .collect::<Result<Vec<&str>, DocumentError>>()?;
            r.valid("eventTypes", EventTypes::parse(Some(&names)))?
        }
        Some(other) => {
            return Err(r.error(
                "eventTypes",
                format!("must be an array or null, found {:?}", other.element_type()),
            ))
        }
    };
    let description = match r.opt_str("description")? {
        None => None,
        Some(text) => r.valid("description", EndpointDescription::parse(text))?,
    };
    let disabled_reason = match r.opt_str("disabledReason")? {
        None => None,
        Some("manual") => Some(DisabledReason::Manual),
        Some("gone") => Some(DisabledReason::Gone),
        Some(other) => {
            return Err(r.error("disabledReason", format!("has an unknown reason {other:?}")))
        }
    };
    Ok(WebhookEndpoint {
        id: EndpointId::from_uuid(r.uuid("_id")?),
        // Vetted when it was registered (under the policy of the time).
        url: r.valid("url", EndpointUrl::parse(r.str("url")?, true))?,
        event_types,
        description,
        enabled: bool_field(&r, document, "enabled")?,
        disabled_reason,
        created_at: r.date("createdAt")?,
        updated_at: r.date("updatedAt")?,
    })
}

fn bool_field(r: &Reader<'_>, document: &Document, field: &str) -> Result<bool, DocumentError> {
    match document.get(field) {
        Some(Bson::Boolean(b)) => Ok(*b),
        None | Some(Bson::Null) => Err(r.error(field, "is missing")),
        Some(other) => Err(r.error(
            field,
            format!("must be a boolean, found {:?}", other.element_type()),
        )),
    }
}

/// Reads the secrets of an endpoint document.
pub(crate) fn secrets_from_document(document: &Document) -> Result<EndpointSecrets, DocumentError> {
    let r = Reader::new(document, WEBHOOK_ENDPOINTS);
    let current = r.valid("secret", WebhookSecret::parse(r.str("secret")?))?;
    let previous = match r.opt_str("previousSecret")? {
        None => None,
        Some(text) => Some(PreviousSecret {
            secret: r.valid("previousSecret", WebhookSecret::parse(text))?,
            valid_until: r.date("previousSecretValidUntil")?,
        }),
    };
    Ok(EndpointSecrets { current, previous })
}

/// The document of an attempt (`lastAttempt`).
pub(crate) fn attempt_document(attempt: &AttemptRecord) -> Document {
    doc! {
        "at": date(attempt.at),
        "status": attempt.status.map(i32::from),
        "latencyMicros": long(u64::try_from(attempt.latency.as_micros()).unwrap_or(u64::MAX)),
        "error": attempt.error.as_deref(),
        MICROS: { "at": micros(attempt.at) },
    }
}

fn attempt_from_document(document: &Document) -> Result<AttemptRecord, DocumentError> {
    let r = Reader::new(document, WEBHOOK_DELIVERIES);
    let status = match r.opt_int("status")? {
        None => None,
        Some(code) => Some(
            u16::try_from(code)
                .map_err(|_| r.error("lastAttempt.status", format!("is not a status: {code}")))?,
        ),
    };
    Ok(AttemptRecord {
        at: r.date("at")?,
        status,
        latency: Duration::from_micros(r.count("latencyMicros")?),
        error: r.opt_str("error")?.map(str::to_owned),
    })
}

/// The complete document of a new delivery (pending, never attempted, not leased).
pub(crate) fn delivery_document(delivery: &Delivery) -> Document {
    doc! {
        "_id": uuid(delivery.id.as_uuid()),
        "endpointId": uuid(delivery.endpoint_id.as_uuid()),
        "eventId": delivery.event.id.get(),
        "eventKind": delivery.event.kind.as_str(),
        "sessionId": session_id(delivery.event.session_id),
        "eventAt": date(delivery.event.at),
        "state": state_name(delivery.state),
        "attempts": i64::from(delivery.attempts),
        "firstAttemptAt": opt_date(delivery.first_attempt_at),
        "nextAttemptAt": date(delivery.next_attempt_at),
        "createdAt": date(delivery.created_at),
        "lastAttempt": delivery.last_attempt.as_ref().map(attempt_document),
        "leaseOwner": Bson::Null,
        "leaseUntil": Bson::Null,
        MICROS: {
            "eventAt": micros(delivery.event.at),
            "firstAttemptAt": opt_micros(delivery.first_attempt_at),
            "nextAttemptAt": micros(delivery.next_attempt_at),
            "createdAt": micros(delivery.created_at),
            "leaseUntil": Bson::Null,
        },
    }
}

/// Reads a delivery document.
pub(crate) fn delivery_from_document(document: &Document) -> Result<Delivery, DocumentError> {
    let r = Reader::new(document, WEBHOOK_DELIVERIES);
    let event_id = r.int("eventId")?;
    let kind = r.str("eventKind")?;
    let state = match r.str("state")? {
        "pending" => DeliveryState::Pending,
        "delivered" => DeliveryState::Delivered,
        "failed" => DeliveryState::Failed,
        other => return Err(r.error("state", format!("has an unknown state {other:?}"))),
    };
    let last_attempt = match document.get("lastAttempt") {
        None | Some(Bson::Null) => None,
        Some(Bson::Document(attempt)) => Some(attempt_from_document(attempt)?),
        Some(other) => {
            return Err(r.error(
                "lastAttempt",
                format!("must be a document, found {:?}", other.element_type()),
            ))
        }
    };
    let attempts = r.count("attempts")?;
    Ok(Delivery {
        id: DeliveryId::from_uuid(r.uuid("_id")?),
        endpoint_id: EndpointId::from_uuid(r.uuid("endpointId")?),
        event: LoggedEvent {
            id: EventId::new(event_id).ok_or_else(|| {
                r.error("eventId", format!("must not be negative, found {event_id}"))
            })?,
            kind: EventKind::parse(kind)
                .ok_or_else(|| r.error("eventKind", format!("has an unknown kind {kind:?}")))?,
            session_id: SessionId::from_uuid(r.uuid("sessionId")?),
            at: r.date("eventAt")?,
        },
        state,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        first_attempt_at: r.opt_date("firstAttemptAt")?,
        next_attempt_at: r.date("nextAttemptAt")?,
        last_attempt,
        created_at: r.date("createdAt")?,
    })
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use livesessions_core::webhooks::EndpointUrl;

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn endpoints_and_secrets_round_trip() {
        let url = EndpointUrl::parse("https://93.184.216.34/in", false).unwrap();
        let mut endpoint = WebhookEndpoint::new(
            url,
            EventTypes::only([EventKind::Live, EventKind::Ended]),
            EndpointDescription::parse("CRM").unwrap(),
            at("2030-01-01T10:00:00.123456Z"),
        );
        endpoint.enabled = false;
        endpoint.disabled_reason = Some(DisabledReason::Gone);
        let secret = WebhookSecret::generate();
        let document = endpoint_document(&endpoint, &secret);
        assert_eq!(endpoint_from_document(&document).unwrap(), endpoint);
        let secrets = secrets_from_document(&document).unwrap();
        assert_eq!((secrets.current, secrets.previous), (secret, None));

        let all = WebhookEndpoint::new(
            EndpointUrl::parse("https://93.184.216.34/all", false).unwrap(),
            EventTypes::All,
            None,
            at("2030-01-01T10:00:00Z"),
        );
        let document = endpoint_document(&all, &WebhookSecret::generate());
        assert_eq!(document.get("eventTypes"), Some(&Bson::Null));
        assert_eq!(endpoint_from_document(&document).unwrap(), all);
    }

    #[test]
    fn deliveries_round_trip_with_their_last_attempt() {
        let delivery = Delivery {
            id: DeliveryId::new(),
            endpoint_id: EndpointId::new(),
            event: LoggedEvent {
                id: EventId::new(42).unwrap(),
                kind: EventKind::Participants,
                session_id: SessionId::new(),
                at: at("2030-01-01T10:00:00.000001Z"),
            },
            state: DeliveryState::Failed,
            attempts: 3,
            first_attempt_at: Some(at("2030-01-01T10:00:01.5Z")),
            next_attempt_at: at("2030-01-01T10:05:00Z"),
            last_attempt: Some(AttemptRecord {
                at: at("2030-01-01T10:04:00.000007Z"),
                status: None,
                latency: Duration::from_micros(15_000_001),
                error: Some("$timed out".into()),
            }),
            created_at: at("2030-01-01T10:00:00.5Z"),
        };
        let document = delivery_document(&delivery);
        assert_eq!(delivery_from_document(&document).unwrap(), delivery);
    }

    #[test]
    fn unreadable_documents_name_the_field() {
        let mut document = delivery_document(&Delivery {
            id: DeliveryId::new(),
            endpoint_id: EndpointId::new(),
            event: LoggedEvent {
                id: EventId::new(1).unwrap(),
                kind: EventKind::Live,
                session_id: SessionId::new(),
                at: at("2030-01-01T10:00:00Z"),
            },
            state: DeliveryState::Pending,
            attempts: 0,
            first_attempt_at: None,
            next_attempt_at: at("2030-01-01T10:00:00Z"),
            last_attempt: None,
            created_at: at("2030-01-01T10:00:00Z"),
        });
        document.insert("state", "lost");
        let error = delivery_from_document(&document).unwrap_err();
        assert_eq!(
            (error.collection, error.field.as_str()),
            (WEBHOOK_DELIVERIES, "state")
        );
    }
}
