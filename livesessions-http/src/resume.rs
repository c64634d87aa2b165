//! Resuming an event stream: where a client asks to resume from, and which live events it
//! still needs once the missed ones were replayed.

use livesessions_core::EventId;

/// The header a reconnecting `EventSource` sends with the id of the last event it received.
pub(crate) const LAST_EVENT_ID: &str = "last-event-id";

/// The query parameter that stands in for [`LAST_EVENT_ID`] for clients that cannot set
/// headers.
pub(crate) const LAST_EVENT_ID_QUERY: &str = "lastEventId";

/// What a client asked for when it opened the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resume {
    /// No last id: a new client, live events from now on.
    Fresh,
    /// Resume after this id.
    After(EventId),
    /// A last id that is not an event id (garbage, negative, too large): the client is told to
    /// start over.
    Invalid,
}

impl Resume {
    /// Reads the request's `Last-Event-ID` header, else its `lastEventId` query parameter.
    ///
    /// The header wins: a browser resends it on every reconnect with the latest id, while a
    /// query parameter stays in the URL the `EventSource` was opened with. An empty value (or
    /// one of blanks) is no id at all, as the Server-Sent Events specification treats it.
    pub(crate) fn requested(header: Option<&[u8]>, query: Option<&str>) -> Resume {
        let text = match header {
            Some(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => Some(text),
                Err(_) => return Resume::Invalid,
            },
            None => None,
        };
        let text = match text.map(str::trim).filter(|text| !text.is_empty()) {
            Some(text) => text,
            None => match query.map(str::trim).filter(|text| !text.is_empty()) {
                Some(text) => text,
                None => return Resume::Fresh,
            },
        };
        text.parse().map_or(Resume::Invalid, Resume::After)
    }

    /// The `lastEventId` parameter of a raw query string, decoded.
    pub(crate) fn query_value(query: Option<&str>) -> Option<String> {
        url::form_urlencoded::parse(query?.as_bytes())
            .find(|(name, _)| name == LAST_EVENT_ID_QUERY)
            .map(|(_, value)| value.into_owned())
    }
}

/// Which live events a stream still sends: those the client has not seen yet.
///
/// Live events are received from a subscription taken before the replay was read, so some of
/// them were already replayed. Ids increase in log order and no event can appear later with an
/// id at or below one already read, so everything at or below the last id the client has
/// (the last replayed one, or the id it resumed from) is a duplicate. Events without an id
/// (in-process broadcasts) always pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Seen {
    through: Option<EventId>,
}

impl Seen {
    /// Nothing seen: every event passes.
    pub(crate) fn nothing() -> Seen {
        Seen { through: None }
    }

    /// Everything up to `id` (inclusive) seen.
    pub(crate) fn through(id: EventId) -> Seen {
        Seen { through: Some(id) }
    }

    /// After the replay of `replayed` to a client that had everything up to `resumed_after`.
    pub(crate) fn after_replay(
        resumed_after: EventId,
        replayed: impl IntoIterator<Item = Option<EventId>>,
    ) -> Seen {
        let last = replayed.into_iter().flatten().max();
        Seen::through(last.map_or(resumed_after, |last| last.max(resumed_after)))
    }

    /// Whether a live event with `id` is still to be sent.
    ///
    /// The bound does not move with the live events themselves: the feed sends a count it held
    /// back under the id of the last event it read, which may equal the id of an event just
    /// sent, and that count must still go out.
    pub(crate) fn wants(&self, id: Option<EventId>) -> bool {
        match (id, self.through) {
            (Some(id), Some(through)) => id > through,
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: i64) -> EventId {
        EventId::new(n).unwrap()
    }

    #[test]
    fn the_header_is_read_before_the_query() {
        assert_eq!(Resume::requested(None, None), Resume::Fresh);
        assert_eq!(Resume::requested(Some(b"42"), None), Resume::After(id(42)));
        assert_eq!(Resume::requested(None, Some("7")), Resume::After(id(7)));
        assert_eq!(
            Resume::requested(Some(b"42"), Some("7")),
            Resume::After(id(42)),
            "a reconnecting browser's header is newer than the URL it was opened with"
        );
        assert_eq!(
            Resume::requested(Some(b""), Some("7")),
            Resume::After(id(7))
        );
        assert_eq!(Resume::requested(Some(b"  "), Some("")), Resume::Fresh);
        assert_eq!(
            Resume::requested(Some(b" 12 "), None),
            Resume::After(id(12))
        );
        assert_eq!(Resume::requested(Some(b"0"), None), Resume::After(id(0)));
    }

    #[test]
    fn anything_but_an_id_is_invalid() {
        for bad in [
            &b"abc"[..],
            b"-1",
            b"+1",
            b"1.5",
            b"0x10",
            b"99999999999999999999999",
            b"9223372036854775808",
            b"\xff\xfe",
        ] {
            assert_eq!(
                Resume::requested(Some(bad), None),
                Resume::Invalid,
                "{bad:?}"
            );
        }
        assert_eq!(Resume::requested(None, Some("garbage")), Resume::Invalid);
    }

    #[test]
    fn the_query_parameter_is_decoded() {
        assert_eq!(Resume::query_value(None), None);
        assert_eq!(Resume::query_value(Some("a=1&b=2")), None);
        assert_eq!(
            Resume::query_value(Some("x=1&lastEventId=%2042")).as_deref(),
            Some(" 42")
        );
        assert_eq!(
            Resume::query_value(Some("lastEventId=")).as_deref(),
            Some("")
        );
    }

    #[test]
    fn live_events_at_or_below_the_last_seen_id_are_duplicates() {
        let seen = Seen::after_replay(id(10), [Some(id(11)), Some(id(14)), Some(id(12))]);
        assert_eq!(seen, Seen::through(id(14)));
        assert!(!seen.wants(Some(id(11))));
        assert!(!seen.wants(Some(id(14))), "the last replayed one");
        assert!(seen.wants(Some(id(15))));
        assert!(seen.wants(None), "events without an id always pass");
        // The bound stays put: a count sent under the id of an event just sent still passes.
        assert!(seen.wants(Some(id(15))));
    }

    #[test]
    fn an_empty_replay_keeps_the_resumed_id() {
        let seen = Seen::after_replay(id(10), []);
        assert!(!seen.wants(Some(id(10))));
        assert!(seen.wants(Some(id(11))));
        assert_eq!(Seen::after_replay(id(10), [None]), Seen::through(id(10)));
    }

    #[test]
    fn a_fresh_stream_wants_everything() {
        let seen = Seen::nothing();
        assert!(seen.wants(Some(id(0))));
        assert!(seen.wants(Some(id(1))));
        assert!(seen.wants(None));
    }
}
