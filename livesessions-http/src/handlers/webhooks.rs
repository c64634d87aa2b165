//! Webhook endpoints and their delivery logs (admins), served when the API was given a
//! webhook store ([`LiveSessionsApi::webhooks`](crate::LiveSessionsApi::webhooks)).

use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use livesessions_core::webhooks::{
    webhook_type, Delivery, DeliveryId, DeliveryState, DisabledReason, EndpointId, EndpointInput,
    WebhookAdmin, WebhookEndpoint,
};
use livesessions_core::EventId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{require_admin, ApiResult};
use crate::extract::{read_json, Caller, Params};
use crate::json::time;
use crate::problem::ApiError;
use crate::state::AppState;

/// The body registering an endpoint.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookInputJson {
    /// Where deliveries are sent: an absolute `https://` link to a public host (at most 2048
    /// characters; plain `http` and private targets only where the server allows them).
    #[schema(example = "https://crm.example.com/hooks/live-sessions")]
    pub url: Option<String>,
    /// The event types to receive (`session.created`, `session.updated`,
    /// `session.cancelled`, `session.deleted`, `session.live`, `session.ended`,
    /// `session.participants`); leave it out for all of them.
    pub event_types: Option<Vec<String>>,
    /// What the endpoint is for.
    pub description: Option<String>,
}

/// A webhook endpoint (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookJson {
    /// The endpoint id (a UUID).
    #[schema(format = "uuid")]
    pub id: String,
    /// Where deliveries are sent.
    pub url: String,
    /// The event types it receives; `null` for all of them.
    pub event_types: Option<Vec<String>>,
    /// What it is for (may be empty).
    pub description: String,
    /// Whether deliveries are made to it.
    pub enabled: bool,
    /// Why it is disabled: `manual` (an admin) or `gone` (the receiver answered 410); `null`
    /// while enabled.
    pub disabled_reason: Option<String>,
    /// When it was registered.
    #[schema(format = "date-time")]
    pub created_at: String,
    /// When it last changed.
    #[schema(format = "date-time")]
    pub updated_at: String,
}

impl WebhookJson {
    fn new(endpoint: &WebhookEndpoint) -> Self {
        WebhookJson {
            id: endpoint.id.to_string(),
            url: endpoint.url.as_str().to_owned(),
            event_types: endpoint
                .event_types
                .names()
                .map(|names| names.into_iter().map(str::to_owned).collect()),
            description: endpoint
                .description
                .as_ref()
                .map(|d| d.as_str().to_owned())
                .unwrap_or_default(),
            enabled: endpoint.enabled,
            disabled_reason: endpoint.disabled_reason.map(|r| {
                match r {
                    DisabledReason::Manual => "manual",
                    DisabledReason::Gone => "gone",
                }
                .to_owned()
            }),
            created_at: time(endpoint.created_at),
            updated_at: time(endpoint.updated_at),
        }
    }
}

/// A newly registered endpoint with its signing secret: the only time the secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookWithSecretJson {
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: WebhookJson,
    /// The Standard Webhooks signing secret (`whsec_…`). Store it now: it is not shown again.
    pub secret: String,
}

/// Every registered endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct WebhookListJson {
    /// The endpoints, oldest registered first.
    pub items: Vec<WebhookJson>,
}

/// A new signing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RotatedSecretJson {
    /// The new secret (`whsec_…`): the only time it is shown.
    pub secret: String,
    /// Until when the replaced secret still signs deliveries, next to the new one (24 h).
    #[schema(format = "date-time")]
    pub previous_secret_valid_until: String,
}

/// One event's delivery to an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryJson {
    /// The delivery id (a UUID).
    #[schema(format = "uuid")]
    pub id: String,
    /// The endpoint id.
    #[schema(format = "uuid")]
    pub endpoint_id: String,
    /// The event id: the `webhook-id` header of every attempt.
    pub event_id: i64,
    /// The event type (`session.live`, …).
    pub event_type: String,
    /// The session the event is about.
    #[schema(format = "uuid")]
    pub session_id: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts made (since the last manual retry).
    pub attempts: u32,
    /// When it is due again, while pending.
    #[schema(format = "date-time")]
    pub next_attempt_at: Option<String>,
    /// When the latest attempt was made.
    #[schema(format = "date-time")]
    pub last_attempt_at: Option<String>,
    /// The HTTP status of the latest attempt's answer.
    pub last_status: Option<u16>,
    /// How long the latest attempt took, in milliseconds.
    pub latency_ms: Option<u64>,
    /// What went wrong in the latest attempt without an answer (timeout, connection error,
    /// refused target).
    pub error: Option<String>,
    /// When the delivery was created.
    #[schema(format = "date-time")]
    pub created_at: String,
}

impl DeliveryJson {
    fn new(delivery: &Delivery) -> Self {
        let last = delivery.last_attempt.as_ref();
        DeliveryJson {
            id: delivery.id.to_string(),
            endpoint_id: delivery.endpoint_id.to_string(),
            event_id: delivery.event.id.get(),
            event_type: webhook_type(delivery.event.kind).to_owned(),
            session_id: delivery.event.session_id.to_string(),
            state: match delivery.state {
                DeliveryState::Pending => "pending",
                DeliveryState::Delivered => "delivered",
                DeliveryState::Failed => "failed",
            }
            .to_owned(),
            attempts: delivery.attempts,
            next_attempt_at: (delivery.state == DeliveryState::Pending)
                .then(|| time(delivery.next_attempt_at)),
            last_attempt_at: last.map(|a| time(a.at)),
            last_status: last.and_then(|a| a.status),
            latency_ms: last.map(|a| u64::try_from(a.latency.as_millis()).unwrap_or(u64::MAX)),
            error: last.and_then(|a| a.error.clone()),
            created_at: time(delivery.created_at),
        }
    }
}

/// A page of an endpoint's deliveries, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DeliveryPageJson {
    /// The deliveries.
    pub items: Vec<DeliveryJson>,
    /// The `before` of the next page, when more may follow.
    pub next: Option<i64>,
}

/// Query of a delivery log page.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeliveryParams {
    /// Deliveries to return, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// Only deliveries of events before this event id (the `next` of the previous page).
    #[param(minimum = 0)]
    before: Option<i64>,
}

/// The webhook administration, or `404` when the API has none (the routes are not served then; this
/// is the defence behind that).
fn webhooks(state: &AppState) -> ApiResult<&WebhookAdmin> {
    state
        .webhooks()
        .ok_or_else(|| ApiError::not_found("There is no such resource."))
}

/// An endpoint id from the path: anything but a UUID names no endpoint (`404`).
pub(crate) struct EndpointPath(EndpointId);

impl<S: Send + Sync> FromRequestParts<S> for EndpointPath {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        EndpointId::parse_field(&id, "id")
            .map(EndpointPath)
            .map_err(|_| endpoint_not_found(&id).into_response())
    }
}

fn endpoint_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("The webhook endpoint {id} was not found."))
}

/// Register a webhook endpoint. The answer holds its signing secret: the only time it is
/// shown. The link must be `https` to a public host unless the server allows otherwise.
#[utoipa::path(
    post, path = "/api/admin/webhooks", tag = "webhooks",
    request_body(content = WebhookInputJson, content_type = "application/json"),
    security(("bearer" = [])),
    responses((
        status = 201, description = "Registered; `Location` names it",
        body = WebhookWithSecretJson,
        headers(("Location" = String, description = "The endpoint's path"))
    ))
)]
pub(crate) async fn create_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> ApiResult<Response> {
    // Non-admins are refused before the body is read.
    require_admin(&caller)?;
    let limit = state.settings().json_body_limit;
    let body: WebhookInputJson = read_json(request, &state, limit).await?;
    let input = EndpointInput {
        url: body.url,
        event_types: body.event_types,
        description: body.description,
    };
    let registered = webhooks(&state)?.register(caller.actor(), &input).await?;
    let location = format!(
        "{}/api/admin/webhooks/{}",
        state.presenter().prefix,
        registered.endpoint.id
    );
    let body = WebhookWithSecretJson {
        endpoint: WebhookJson::new(&registered.endpoint),
        secret: registered.secret.expose(),
    };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// Every webhook endpoint, oldest first, without secrets.
#[utoipa::path(
    get, path = "/api/admin/webhooks", tag = "webhooks",
    security(("bearer" = [])),
    responses((status = 200, description = "The endpoints", body = WebhookListJson))
)]
pub(crate) async fn list_endpoints(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<WebhookListJson>> {
    let endpoints = webhooks(&state)?.list(caller.actor()).await?;
    Ok(Json(WebhookListJson {
        items: endpoints.iter().map(WebhookJson::new).collect(),
    }))
}

/// One webhook endpoint, without its secret.
#[utoipa::path(
    get, path = "/api/admin/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Endpoint id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, description = "The endpoint", body = WebhookJson))
)]
pub(crate) async fn get_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    EndpointPath(id): EndpointPath,
) -> ApiResult<Json<WebhookJson>> {
    let endpoint = webhooks(&state)?.get(caller.actor(), id).await?;
    Ok(Json(WebhookJson::new(&endpoint)))
}

/// Delete a webhook endpoint with its secrets and delivery log.
#[utoipa::path(
    delete, path = "/api/admin/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Endpoint id (UUID)")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"))
)]
pub(crate) async fn delete_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    EndpointPath(id): EndpointPath,
) -> ApiResult<StatusCode> {
    webhooks(&state)?.delete(caller.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Disable a webhook endpoint: it gets no new deliveries and its pending ones wait.
#[utoipa::path(
    post, path = "/api/admin/webhooks/{id}/disable", tag = "webhooks",
    params(("id" = String, Path, description = "Endpoint id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, description = "The endpoint, disabled", body = WebhookJson))
)]
pub(crate) async fn disable_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    EndpointPath(id): EndpointPath,
) -> ApiResult<Json<WebhookJson>> {
    let endpoint = webhooks(&state)?.disable(caller.actor(), id).await?;
    Ok(Json(WebhookJson::new(&endpoint)))
}

/// Enable a webhook endpoint again: its pending deliveries are sent.
#[utoipa::path(
    post, path = "/api/admin/webhooks/{id}/enable", tag = "webhooks",
    params(("id" = String, Path, description = "Endpoint id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, description = "The endpoint, enabled", body = WebhookJson))
)]
pub(crate) async fn enable_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    EndpointPath(id): EndpointPath,
) -> ApiResult<Json<WebhookJson>> {
    let endpoint = webhooks(&state)?.enable(caller.actor(), id).await?;
    Ok(Json(WebhookJson::new(&endpoint)))
}

/// Give a webhook endpoint a new signing secret (shown this once). The old one keeps signing
/// deliveries, next to the new one, for 24 hours.
#[utoipa::path(
    post, path = "/api/admin/webhooks/{id}/rotate-secret", tag = "webhooks",
    params(("id" = String, Path, description = "Endpoint id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, description = "The new secret", body = RotatedSecretJson))
)]
pub(crate) async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    EndpointPath(id): EndpointPath,
) -> ApiResult<Json<RotatedSecretJson>> {
    let rotated = webhooks(&state)?.rotate_secret(caller.actor(), id).await?;
    Ok(Json(RotatedSecretJson {
        secret: rotated.secret.expose(),
        previous_secret_valid_until: time(rotated.previous_valid_until),
    }))
}

/// A page of a webhook endpoint's deliveries, newest first: state, attempts, the latest
/// attempt's status, latency and error, and when the next attempt is due.
#[utoipa::path(
    get, path = "/api/admin/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path, description = "Endpoint id (UUID)"), DeliveryParams),
    security(("bearer" = [])),
    responses((status = 200, description = "The deliveries", body = DeliveryPageJson))
)]
pub(crate) async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    EndpointPath(id): EndpointPath,
    Params(params): Params<DeliveryParams>,
) -> ApiResult<Json<DeliveryPageJson>> {
    let page = webhooks(&state)?
        .deliveries(caller.actor(), id, params.before, params.limit)
        .await?;
    Ok(Json(DeliveryPageJson {
        items: page.items.iter().map(DeliveryJson::new).collect(),
        next: page.next.map(EventId::get),
    }))
}

/// Retry a delivery now, with a fresh retry window (also one that failed for good).
#[utoipa::path(
    post, path = "/api/admin/webhooks/deliveries/{deliveryId}/retry", tag = "webhooks",
    params(("deliveryId" = String, Path, description = "Delivery id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, description = "The delivery, pending and due now", body = DeliveryJson))
)]
pub(crate) async fn retry_delivery(
    State(state): State<AppState>,
    caller: Caller,
    Path(delivery_id): Path<String>,
) -> ApiResult<Json<DeliveryJson>> {
    let not_found =
        || ApiError::not_found(format!("The webhook delivery {delivery_id} was not found."));
    let id = uuid_of(&delivery_id)
        .map(DeliveryId::from_uuid)
        .ok_or_else(not_found)?;
    let delivery = webhooks(&state)?.retry(caller.actor(), id).await?;
    Ok(Json(DeliveryJson::new(&delivery)))
}

fn uuid_of(text: &str) -> Option<uuid::Uuid> {
    uuid::Uuid::parse_str(text.trim()).ok()
}
