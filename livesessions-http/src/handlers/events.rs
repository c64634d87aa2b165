//! Server-Sent Events: the change stream.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt as _};
use livesessions_core::SessionEvent;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use utoipa::ToSchema;

use super::ApiResult;
use crate::json::{time, SessionJson};
use crate::problem::ApiError;
use crate::ratelimit::{ClientKey, STREAM_RETRY_AFTER};
use crate::state::AppState;

/// The data of a change event.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventJson {
    /// `created`, `updated`, `deleted`, `live`, `ended` or `participants` (also the SSE event name).
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

/// Server-Sent Events: one event per change, named by its kind, with [`EventJson`] data, and a
/// keep-alive comment when idle. A client that falls too far behind is disconnected and should
/// reconnect and reload. A caller may hold a limited number of streams open at once (per user,
/// or per address for anonymous callers); one more is `429`. Streams end when the host shuts down
/// ([`LiveSessionsApi::shutdown_signal`](crate::LiveSessionsApi::shutdown_signal)).
#[utoipa::path(
    get, path = "/api/live-sessions/events", tag = "sessions",
    responses(
        (status = 200, description = "An endless `text/event-stream`; each event's data is an `EventJson`",
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
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let source = state
        .events()
        .ok_or_else(|| ApiError::not_found("This server publishes no events."))?;
    // Held by the stream: the slot is given back when the stream ends or the client goes away.
    let slot = state.limiters().open_stream(key.clone()).ok_or_else(|| {
        tracing::debug!(%key, "too many open event streams");
        ApiError::too_many_streams(STREAM_RETRY_AFTER)
    })?;
    // Held by the stream too: the open-streams gauge goes down when the stream is dropped.
    let open = state.metrics().stream_opened();
    let receiver = source.subscribe();
    let keep_alive = state.settings().sse_keep_alive;
    let stopping = {
        let state = state.clone();
        async move { state.stopping().await }
    };
    let opened = futures::stream::once(async { Ok(Event::default().comment("connected")) });
    let changes = futures::stream::unfold((receiver, state), |(mut receiver, state)| async move {
        match receiver.recv().await {
            Ok(event) => {
                let data = serde_json::to_string(&event_json(&state, &event)).unwrap_or_default();
                let sse = Event::default().event(event.kind.as_str()).data(data);
                Some((Ok(sse), (receiver, state)))
            }
            Err(RecvError::Lagged(missed)) => {
                // Dropping the slow subscriber keeps publishers and everyone else unaffected.
                tracing::debug!(missed, "event subscriber fell behind; closing its stream");
                None
            }
            Err(RecvError::Closed) => None,
        }
    });
    // On shutdown the stream ends, so the connection closes and the client reconnects.
    let stream = opened.chain(changes).take_until(stopping).map(move |item| {
        let _held_while_streaming = (&slot, &open);
        item
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(keep_alive)))
}
