//! The JSON body of a delivery, per the Standard Webhooks conventions:
//! `{"type": "session.live", "timestamp": "…", "data": {…}}`.

use chrono::{DateTime, Utc};

use super::event_types::webhook_type;
use crate::events::EventKind;
use crate::ids::SessionId;
use crate::session::LiveSession;

/// A delivery's body. Plain data: the HTTP adapter may reuse it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WebhookPayload {
    /// The event type ([`webhook_type`]), e.g. `session.live`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the event happened (RFC 3339).
    pub timestamp: DateTime<Utc>,
    /// What it is about.
    pub data: WebhookData,
}

/// The `data` of a [`WebhookPayload`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookData {
    /// The session the event is about.
    pub session_id: SessionId,
    /// The session as it was when the delivery was made, when known (absent after a delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionSummary>,
}

/// A small summary of a session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionSummary {
    /// Its id.
    pub id: SessionId,
    /// Its title.
    pub title: String,
    /// Its status (`scheduled`, `live`, `ended`, `cancelled`).
    pub status: String,
    /// Its scheduled start.
    pub start_time: DateTime<Utc>,
    /// How many distinct users joined it.
    pub participants: u64,
}

impl From<&LiveSession> for SessionSummary {
    fn from(session: &LiveSession) -> Self {
        SessionSummary {
            id: session.id,
            title: session.fields.title.as_str().to_owned(),
            status: session.status.as_str().to_owned(),
            start_time: session.fields.start_time,
            participants: session.participants,
        }
    }
}

impl WebhookPayload {
    /// The payload of an event of `kind` about `session_id` at `at`, with the session's
    /// summary when given.
    pub fn new(
        kind: EventKind,
        session_id: SessionId,
        at: DateTime<Utc>,
        session: Option<&LiveSession>,
    ) -> Self {
        WebhookPayload {
            event_type: webhook_type(kind).to_owned(),
            timestamp: at,
            data: WebhookData {
                session_id,
                session: session.map(SessionSummary::from),
            },
        }
    }

    /// The JSON text sent as the body (and signed).
    pub fn to_json(&self) -> String {
        // Serialising plain strings, numbers and times cannot fail.
        serde_json::to_string(self).expect("a webhook payload serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionInput;

    #[test]
    fn the_body_follows_the_standard_webhooks_shape() {
        let at: DateTime<Utc> = "2025-01-15T10:00:00Z".parse().unwrap();
        let fields = SessionInput {
            title: Some("Web Development 101".into()),
            instructor: Some("Sarah Khan".into()),
            video_url: Some("https://youtu.be/dQw4w9WgXcQ".into()),
            start_time: Some("2025-01-15T10:00:00Z".into()),
            ..Default::default()
        }
        .validate_new(crate::values::TimeZone::UTC)
        .unwrap();
        let mut session = LiveSession::new(fields, at);
        session.start(at).unwrap();
        session.participants = 3;
        let payload = WebhookPayload::new(EventKind::Live, session.id, at, Some(&session));
        let json: serde_json::Value = serde_json::from_str(&payload.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "session.live",
                "timestamp": "2025-01-15T10:00:00Z",
                "data": {
                    "sessionId": session.id.to_string(),
                    "session": {
                        "id": session.id.to_string(),
                        "title": "Web Development 101",
                        "status": "live",
                        "startTime": "2025-01-15T10:00:00Z",
                        "participants": 3,
                    }
                }
            })
        );
        let back: WebhookPayload = serde_json::from_str(&payload.to_json()).unwrap();
        assert_eq!(back, payload);
        let deleted = WebhookPayload::new(EventKind::Deleted, session.id, at, None);
        let json: serde_json::Value = serde_json::from_str(&deleted.to_json()).unwrap();
        assert_eq!(json["type"], "session.deleted");
        assert!(json["data"].get("session").is_none());
    }
}
