//! Webhook event type names (`session.live`, …) and an endpoint's [`EventTypes`] filter.

use crate::events::EventKind;
use crate::field_error::FieldError;

/// The field name event type errors are reported against.
pub const EVENT_TYPES_FIELD: &str = "eventTypes";

/// The Standard Webhooks `type` of an event of `kind`: `session.` and the kind's name
/// (`session.created`, `session.updated`, `session.cancelled`, `session.deleted`,
/// `session.live`, `session.ended`, `session.participants`).
pub fn webhook_type(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Created => "session.created",
        EventKind::Updated => "session.updated",
        EventKind::Cancelled => "session.cancelled",
        EventKind::Deleted => "session.deleted",
        EventKind::Live => "session.live",
        EventKind::Ended => "session.ended",
        EventKind::Participants => "session.participants",
    }
}

/// The kind a webhook type names: `session.live` ([`webhook_type`]) or the bare kind name
/// (`live`).
pub fn parse_webhook_type(name: &str) -> Option<EventKind> {
    let name = name.trim();
    EventKind::ALL
        .into_iter()
        .find(|kind| webhook_type(*kind) == name || kind.as_str() == name)
}

/// Which events an endpoint receives.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum EventTypes {
    /// Every kind, also kinds added in later versions.
    #[default]
    All,
    /// Only these kinds (non-empty, without repeats, in [`EventKind::ALL`] order).
    Only(Vec<EventKind>),
}

impl EventTypes {
    /// Validates a list of type names ([`parse_webhook_type`]); `None` means all. An empty
    /// list is `required`, an unknown name `unknown_event_type` (the message names it); every
    /// error names `eventTypes`. Repeats are dropped.
    pub fn parse<S: AsRef<str>>(names: Option<&[S]>) -> Result<Self, FieldError> {
        let Some(names) = names else {
            return Ok(EventTypes::All);
        };
        if names.is_empty() {
            return Err(FieldError::new(
                EVENT_TYPES_FIELD,
                "required",
                "Choose at least one event type, or leave the list out for all of them.",
            ));
        }
        let mut kinds = Vec::new();
        for name in names {
            let name = name.as_ref();
            let Some(kind) = parse_webhook_type(name) else {
                let shown: String = name.chars().take(64).collect();
                return Err(FieldError::new(
                    EVENT_TYPES_FIELD,
                    "unknown_event_type",
                    format!(
                        "The event type {shown:?} is unknown; use one of {}.",
                        EventKind::ALL.map(webhook_type).join(", ")
                    ),
                ));
            };
            kinds.push(kind);
        }
        Ok(Self::only(kinds))
    }

    /// The filter of exactly `kinds` (sorted, repeats dropped); an empty list gives
    /// [`EventTypes::All`].
    pub fn only(kinds: impl IntoIterator<Item = EventKind>) -> Self {
        let wanted: Vec<EventKind> = kinds.into_iter().collect();
        if wanted.is_empty() {
            return EventTypes::All;
        }
        EventTypes::Only(
            EventKind::ALL
                .into_iter()
                .filter(|kind| wanted.contains(kind))
                .collect(),
        )
    }

    /// Whether an event of `kind` passes the filter.
    pub fn matches(&self, kind: EventKind) -> bool {
        match self {
            EventTypes::All => true,
            EventTypes::Only(kinds) => kinds.contains(&kind),
        }
    }

    /// The type names, `None` for all.
    pub fn names(&self) -> Option<Vec<&'static str>> {
        match self {
            EventTypes::All => None,
            EventTypes::Only(kinds) => Some(kinds.iter().copied().map(webhook_type).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_round_trip() {
        for kind in EventKind::ALL {
            let name = webhook_type(kind);
            assert_eq!(name, format!("session.{kind}"));
            assert_eq!(parse_webhook_type(name), Some(kind));
            assert_eq!(parse_webhook_type(kind.as_str()), Some(kind));
        }
        assert_eq!(parse_webhook_type("session.paused"), None);
        assert_eq!(parse_webhook_type("Session.Live"), None);
    }

    #[test]
    fn filters_parse_and_match() {
        assert_eq!(EventTypes::parse::<&str>(None), Ok(EventTypes::All));
        let only = EventTypes::parse(Some(&["session.ended", "live", "session.live"][..])).unwrap();
        assert_eq!(
            only,
            EventTypes::Only(vec![EventKind::Live, EventKind::Ended])
        );
        assert!(only.matches(EventKind::Live));
        assert!(!only.matches(EventKind::Created));
        assert!(EventTypes::All.matches(EventKind::Participants));
        assert_eq!(only.names(), Some(vec!["session.live", "session.ended"]));
    }

    #[test]
    fn unknown_and_empty_lists_name_the_field() {
        let e = EventTypes::parse(Some(&["session.live", "session.paused"][..])).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.code),
            ("eventTypes", "unknown_event_type")
        );
        assert!(e.message.contains("session.paused"), "{}", e.message);
        let e = EventTypes::parse::<&str>(Some(&[])).unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("eventTypes", "required"));
    }
}
