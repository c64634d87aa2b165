//! Joining and watching: join, heartbeat and leave.

use axum::extract::{Path, State};
use axum::Json;
use livesessions_core::JoinInput;

use super::{admin_json, require_user, session_id, ApiResult};
use crate::extract::{Caller, JsonBody};
use crate::json::{JoinRequestJson, JoinResponse, ParticipantJson};
use crate::state::AppState;

/// Join a session as the signed-in user. Joining again is harmless and counts once.
#[utoipa::path(
    post, path = "/api/live-sessions/join", tag = "attendance",
    request_body(content = JoinRequestJson, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Joined (first join and rejoin alike). While the session is scheduled the join waits in the lobby: `videoUrl` and `embedUrl` are null until it goes live", body = JoinResponse),
        (status = 403, description = "`not_on_roster`: the session is `restricted` and the caller is not on its roster; `forbidden`: a `userId` that is not the caller's", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`session_full`: every seat of the session's `capacity` is taken (a rejoin always passes); `invalid_transition`: the session has ended or was cancelled", body = crate::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn join(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<JoinRequestJson>,
) -> ApiResult<Json<JoinResponse>> {
    let input = JoinInput {
        session_id: body.session_id,
        user_id: body.user_id,
        user_name: body.user_name,
        email: body.email,
    };
    let outcome = state.service().join(caller.actor(), input).await?;
    state.metrics().joined(outcome.first_join);
    // In the lobby (scheduled) the join is recorded but the video is not given out yet.
    let video = outcome
        .session
        .video_visible_to(caller.actor())
        .then_some(&outcome.session.fields.video_url);
    let mut session = admin_json(&state, &outcome.session, None);
    if !super::is_admin(&caller) {
        session = session.without_rules();
    }
    if video.is_none() {
        session.video_url = None;
        session.embed_url = None;
        session.video_provider = None;
    }
    Ok(Json(JoinResponse {
        participant: ParticipantJson::new(&outcome.participant),
        session,
        video_url: video.map(|v| v.as_str().to_owned()),
        embed_url: video.and_then(|v| v.embed_url()).map(str::to_owned),
    }))
}

/// Tell the server the signed-in user is still watching (every 30 s). Any body is ignored.
#[utoipa::path(
    post, path = "/api/live-sessions/{id}/heartbeat", tag = "attendance",
    params(("id" = String, Path, description = "Session id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, description = "The caller's attendance record", body = ParticipantJson))
)]
pub(crate) async fn heartbeat(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ParticipantJson>> {
    let actor = require_user(&caller)?;
    let participant = state
        .service()
        .heartbeat(Some(actor), session_id(&id)?)
        .await?;
    state.metrics().heartbeat();
    Ok(Json(ParticipantJson::new(&participant)))
}

/// Tell the server the signed-in user stopped watching. Any body is ignored.
#[utoipa::path(
    post, path = "/api/live-sessions/{id}/leave", tag = "attendance",
    params(("id" = String, Path, description = "Session id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, description = "The caller's attendance record", body = ParticipantJson))
)]
pub(crate) async fn leave(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ParticipantJson>> {
    let actor = require_user(&caller)?;
    let participant = state.service().leave(Some(actor), session_id(&id)?).await?;
    state.metrics().left();
    Ok(Json(ParticipantJson::new(&participant)))
}
