//! Server-Sent Events: the change stream, resumable when events come from the store's log.

use std::convert::Infallible;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt as _};
use livesessions_core::events::Replay;
use livesessions_core::{EventId, SessionEvent};
use serde::Serialize;
use tokio::sync::broadcast::{self, error::RecvError};
use utoipa::ToSchema;

use super::ApiResult;
use crate::json::{time, SessionJson};
use crate::problem::ApiError;
use crate::ratelimit::{ClientKey, STREAM_RETRY_AFTER};
use crate::resume::{Resume, Seen, LAST_EVENT_ID};
use crate::state::{AppState, Events};

/// The data of a change event.
///
/// When the server reads events from the store's event log, each event also has an SSE `id:`:
/// its id in the log, a decimal number that increases from event to event. A client that
/// reconnects with it as `Last-Event-ID` gets the events it missed.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventJson {
    /// What happened, also the SSE event name: `created`, `updated`, `cancelled` (a scheduled
    /// session was cancelled), `deleted`, `live`, `ended` or `participants` (the participant
    /// count changed; several joins close together may be sent as one event with the latest
    /// count). The stream also sends `reset` events, whose data is a `ResetJson`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The session.
    #[schema(format = "uuid")]
    pub session_id: String,
    /// The session after the change, without its video URL (absent after a delete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionJson>,
    /// The participant count after the change (absent after a delete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participants: Option<u64>,
    /// When it happened.
    #[schema(format = DateTime)]
    pub at: String,
}

/// The data of a `reset` event: the stream cannot tell the client what it missed, so the client
/// should reload everything it shows. Live events follow as usual. Its SSE `id:` is where the
/// stream stands now, so that the client's next reconnect resumes from here (an empty `id:`
/// when the server keeps no event log, which clears the client's last event id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetJson {
    /// Always `reset`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Why: `expired` (the events after the client's last id are no longer kept, the id is
    /// unknown, or too much was missed), `invalid_id` (`Last-Event-ID` is not an event id),
    /// `unavailable` (the missed events could not be read) or `not_resumable` (this server keeps
    /// no event log).
    pub reason: String,
    /// A sentence for people.
    pub message: String,
}

/// Why a stream starts with a `reset` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResetReason {
    Expired,
    InvalidId,
    Unavailable,
    NotResumable,
}

impl ResetReason {
    fn json(self) -> ResetJson {
        let (reason, message) = match self {
            ResetReason::Expired => (
                "expired",
                "The events since your last one are no longer available: reload everything.",
            ),
            ResetReason::InvalidId => (
                "invalid_id",
                "Last-Event-ID is not an event id: reload everything.",
            ),
            ResetReason::Unavailable => (
                "unavailable",
                "The events you missed could not be read: reload everything.",
            ),
            ResetReason::NotResumable => (
                "not_resumable",
                "This server cannot replay missed events: reload everything.",
            ),
        };
        ResetJson {
            kind: "reset".to_owned(),
            reason: reason.to_owned(),
            message: message.to_owned(),
        }
    }
}

fn event_json(state: &AppState, event: &SessionEvent) -> EventJson {
    EventJson {
        kind: event.kind.as_str().to_owned(),
        session_id: event.session_id.to_string(),
        session: event
            .session
            .as_ref()
            .map(|s| state.presenter().session(s, event.at)),
        participants: event.session.as_ref().map(|s| s.participants),
        at: time(event.at),
    }
}

/// The SSE frame of a change: named by its kind, with its log id when it has one.
fn change_frame(state: &AppState, event: &SessionEvent) -> Event {
    let data = serde_json::to_string(&event_json(state, event)).unwrap_or_default();
    let frame = Event::default().event(event.kind.as_str()).data(data);
    match event.id {
        Some(id) => frame.id(id.to_string()),
        None => frame,
    }
}

/// A `reset` event whose id is `position` (empty without one, which clears the client's last
/// id).
fn reset_frame(reason: ResetReason, position: Option<EventId>) -> Event {
    let data = serde_json::to_string(&reason.json()).unwrap_or_default();
    Event::default()
        .event("reset")
        .id(position.map(|id| id.to_string()).unwrap_or_default())
        .data(data)
}

/// What a stream sends before the live events, and which live events it then skips.
async fn catch_up(state: &AppState, events: &Events, resume: Resume) -> (Vec<Event>, Seen) {
    let reset = |reason: ResetReason| {
        let position = events.feed().and_then(|feed| feed.position());
        let frame = reset_frame(reason, position);
        (vec![frame], position.map_or(Seen::nothing(), Seen::through))
    };
    let (after, feed) = match (resume, events.feed()) {
        (Resume::Fresh, _) => return (Vec::new(), Seen::nothing()),
        (_, None) => return reset(ResetReason::NotResumable),
        (Resume::Invalid, Some(_)) => {
            tracing::debug!("event stream resumed from something that is not an event id");
            return reset(ResetReason::InvalidId);
        }
        (Resume::After(after), Some(feed)) => (after, feed),
    };
    // Bounded like a request, so that a store that hangs cannot hold the stream back for
    // longer: the client starts over instead.
    let limit = state.settings().request_timeout;
    match tokio::time::timeout(limit, feed.replay(after)).await {
        Ok(Ok(Replay::Events(missed))) => {
            let seen = Seen::after_replay(after, missed.iter().map(|event| event.id));
            let frames = missed
                .iter()
                .map(|event| change_frame(state, event))
                .collect();
            (frames, seen)
        }
        Ok(Ok(Replay::Reset)) => {
            tracing::debug!(%after, "event stream resumed from an id the log no longer covers");
            reset(ResetReason::Expired)
        }
        Ok(Err(error)) => {
            tracing::warn!(%after, %error, "could not replay missed events; the client starts over");
            reset(ResetReason::Unavailable)
        }
        Err(_) => {
            tracing::warn!(%after, ?limit, "replaying missed events timed out; the client starts over");
            reset(ResetReason::Unavailable)
        }
    }
}

/// The live events the client has not seen, until the broadcast drops it or closes.
fn live(
    receiver: broadcast::Receiver<SessionEvent>,
    state: AppState,
    seen: Seen,
) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold((receiver, state), move |(mut receiver, state)| async move {
        loop {
            match receiver.recv().await {
                Ok(event) if !seen.wants(event.id) => continue,
                Ok(event) => {
                    let frame = change_frame(&state, &event);
                    return Some((Ok(frame), (receiver, state)));
                }
                Err(RecvError::Lagged(missed)) => {
                    // Dropping the slow subscriber keeps publishers and everyone else unaffected;
                    // it reconnects and resumes from the last id it received.
                    tracing::debug!(missed, "event subscriber fell behind; closing its stream");
                    return None;
                }
                Err(RecvError::Closed) => return None,
            }
        }
    })
}

/// Server-Sent Events: one event per change, named by its kind, with [`EventJson`] data, and a
/// keep-alive comment when idle. Every stream starts with a `retry:` field, the delay before a
/// client reconnects.
///
/// When the server keeps an event log, each event has an `id:` and a new stream's first frame
/// carries the current position as its `id:`. A client that reconnects with `Last-Event-ID`
/// (an `EventSource` sends it by itself; clients that cannot set headers may send the
/// `lastEventId` query parameter instead) first gets the events it missed, in order, then the
/// live ones, with no duplicate and no gap. When it cannot be told what it missed (the id was
/// pruned or is unknown, too much was missed, the id is not an id, the store failed while
/// reading, or the server keeps no event log) it gets a `reset` event ([`ResetJson`]) and
/// should reload everything; live events follow. Neither a bad id nor a store failure refuses
/// the stream.
///
/// A client that falls too far behind is disconnected and should reconnect (and resume, or
/// reload when events have no id). A caller may hold a limited number of streams open at once
/// (per user, or per address for anonymous callers); one more is `429`. Streams end when the
/// host shuts down ([`LiveSessionsApi::shutdown_signal`](crate::LiveSessionsApi::shutdown_signal)).
#[utoipa::path(
    get, path = "/api/live-sessions/events", tag = "sessions",
    params(
        ("Last-Event-ID" = Option<String>, Header,
         description = "The `id:` of the last event the client received: the stream first sends \
         the events that followed it, then the live ones. Anything that is not such an id (or an \
         id whose events are no longer kept) gets a `reset` event instead: the client should \
         reload everything. Browsers' `EventSource` sends it by itself when it reconnects."),
        ("lastEventId" = Option<String>, Query,
         description = "The same as the `Last-Event-ID` header (missed events, or a `reset` \
         event), for clients that cannot set headers. The header wins when both are sent."),
    ),
    responses(
        (status = 200, description = "An endless `text/event-stream`. Events are named `created`, \
         `updated`, `cancelled`, `deleted`, `live`, `ended` and `participants`, with an \
         `EventJson` as data and, when the server keeps an event log, the event's id as `id:`; \
         and `reset`, with a `ResetJson` as data, when the client cannot be told what it missed. \
         The stream opens with a `retry:` field (milliseconds to wait before reconnecting) and \
         sends keep-alive comments when idle. A store failure while catching up is a `reset` \
         event, never an error status.",
         content_type = "text/event-stream", body = String),
        (status = 404, description = "This server publishes no events", body = crate::problem::Problem,
         content_type = "application/problem+json"),
        (status = 429, description = "Rate limited, or the caller (the user; for anonymous callers \
         the address) has too many streams open; retry after `Retry-After` seconds",
         body = crate::problem::Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn events(
    State(state): State<AppState>,
    key: ClientKey,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let events = state
        .events()
        .cloned()
        .ok_or_else(|| ApiError::not_found("This server publishes no events."))?;
    // Held by the stream: the slot is given back when the stream ends or the client goes away.
    let slot = state.limiters().open_stream(key.clone()).ok_or_else(|| {
        tracing::debug!(%key, "too many open event streams");
        ApiError::too_many_streams(STREAM_RETRY_AFTER)
    })?;
    let resume = Resume::requested(
        headers.get(LAST_EVENT_ID).map(|value| value.as_bytes()),
        Resume::query_value(query.as_deref()).as_deref(),
    );
    // Held by the stream too: the open-streams gauge goes down when the stream is dropped.
    let open = state.metrics().stream_opened();
    // Subscribe before the log is read: an event committed from now on reaches the receiver,
    // and one committed before is in the replay, so the two together leave no gap.
    let receiver = events.subscribe();
    let mut opened = Event::default()
        .comment("connected")
        .retry(state.settings().sse_retry);
    if resume == Resume::Fresh {
        // A new client's next reconnect resumes from here, even if no event came meanwhile.
        if let Some(position) = events.feed().and_then(|feed| feed.position()) {
            opened = opened.id(position.to_string());
        }
    }
    let keep_alive = state.settings().sse_keep_alive;
    let stopping = {
        let state = state.clone();
        async move { state.stopping().await }
    };
    let opened = futures::stream::once(async { Ok(opened) });
    let changes = futures::stream::once(async move {
        let (missed, seen) = catch_up(&state, &events, resume).await;
        futures::stream::iter(missed.into_iter().map(Ok)).chain(live(receiver, state, seen))
    })
    .flatten();
    // On shutdown the stream ends, so the connection closes and the client reconnects.
    let stream = opened.chain(changes).take_until(stopping).map(move |item| {
        let _held_while_streaming = (&slot, &open);
        item
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(keep_alive)))
}
