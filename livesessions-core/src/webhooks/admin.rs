//! [`WebhookAdmin`]: what an admin does with webhook endpoints and their deliveries, with the
//! caller checked here, as [`LiveSessions`](crate::LiveSessions) checks it for sessions.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use super::delivery::{Delivery, DeliveryId, DeliveryPage, DeliveryQuery};
use super::endpoint::{
    DisabledReason, EndpointId, EndpointInput, RegisteredEndpoint, WebhookEndpoint,
    ROTATION_OVERLAP,
};
use super::port::WebhookStore;
use super::register::{register_endpoint, rotate_endpoint_secret};
use super::secret::WebhookSecret;
use super::target::TargetPolicy;
use crate::actor::Actor;
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, FieldError, Result};
use crate::events::EventId;
use crate::service::require_admin;

/// A new signing secret, shown once, and until when the replaced one still signs.
#[derive(Debug)]
pub struct RotatedSecret {
    /// The new secret.
    pub secret: WebhookSecret,
    /// Until when the replaced secret signs deliveries next to the new one
    /// ([`ROTATION_OVERLAP`] from the rotation).
    pub previous_valid_until: DateTime<Utc>,
}

/// Webhook administration: registering, reading, disabling, enabling, deleting endpoints,
/// rotating their secrets, reading their delivery logs and retrying a delivery. Every
/// operation takes the caller and refuses anyone but a signed-in admin
/// ([`Error::Unauthenticated`], [`Error::Forbidden`]) before it touches the store; a missing
/// endpoint or delivery is [`Error::NotFound`].
///
/// ```
/// # #[cfg(feature = "memory")]
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::sync::Arc;
/// use livesessions_core::webhooks::{EndpointInput, MemoryWebhooks, TargetPolicy, WebhookAdmin};
/// use livesessions_core::{Actor, Error, UserId};
///
/// let admin = WebhookAdmin::new(Arc::new(MemoryWebhooks::new()), TargetPolicy::default());
/// let root = Actor::admin(UserId::parse("root").unwrap());
/// let input = EndpointInput {
///     url: Some("https://93.184.216.34/hooks".into()),
///     ..Default::default()
/// };
/// let registered = admin.register(Some(&root), &input).await?;
/// assert_eq!(admin.list(Some(&root)).await?.len(), 1);
///
/// let student = Actor::user(UserId::parse("ana").unwrap());
/// assert!(matches!(admin.list(Some(&student)).await, Err(Error::Forbidden)));
/// assert!(matches!(admin.register(None, &input).await, Err(Error::Unauthenticated)));
///
/// let rotated = admin.rotate_secret(Some(&root), registered.endpoint.id).await?;
/// assert_ne!(rotated.secret.expose(), registered.secret.expose());
/// # Ok::<(), Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct WebhookAdmin {
    store: Arc<dyn WebhookStore>,
    policy: TargetPolicy,
    clock: Arc<dyn Clock>,
}

impl WebhookAdmin {
    /// Administration of the endpoints in `store`, new ones checked with `policy`, on the
    /// system clock.
    pub fn new(store: Arc<dyn WebhookStore>, policy: TargetPolicy) -> Self {
        WebhookAdmin {
            store,
            policy,
            clock: Arc::new(SystemClock),
        }
    }

    /// The same on `clock` (tests, or the service's clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn WebhookStore> {
        &self.store
    }

    /// The policy new endpoints are checked with.
    pub fn policy(&self) -> &TargetPolicy {
        &self.policy
    }

    /// Registers an endpoint ([`register_endpoint`]); the answer holds its secret, the only
    /// time it is shown.
    pub async fn register(
        &self,
        caller: Option<&Actor>,
        input: &EndpointInput,
    ) -> Result<RegisteredEndpoint> {
        require_admin(caller)?;
        register_endpoint(self.store.as_ref(), &self.policy, input, self.clock.now()).await
    }

    /// Every endpoint, oldest registered first.
    pub async fn list(&self, caller: Option<&Actor>) -> Result<Vec<WebhookEndpoint>> {
        require_admin(caller)?;
        self.store.list_endpoints().await
    }

    /// One endpoint.
    pub async fn get(&self, caller: Option<&Actor>, id: EndpointId) -> Result<WebhookEndpoint> {
        require_admin(caller)?;
        self.store
            .get_endpoint(id)
            .await?
            .ok_or_else(|| endpoint_not_found(id))
    }

    /// Deletes an endpoint with its secrets and delivery log.
    pub async fn delete(&self, caller: Option<&Actor>, id: EndpointId) -> Result<()> {
        require_admin(caller)?;
        if self.store.delete_endpoint(id).await? {
            Ok(())
        } else {
            Err(endpoint_not_found(id))
        }
    }

    /// Disables an endpoint by hand: no new deliveries, its pending ones wait.
    pub async fn disable(&self, caller: Option<&Actor>, id: EndpointId) -> Result<WebhookEndpoint> {
        require_admin(caller)?;
        self.store
            .disable_endpoint(id, DisabledReason::Manual, self.clock.now())
            .await
    }

    /// Enables an endpoint again: its pending deliveries are sent.
    pub async fn enable(&self, caller: Option<&Actor>, id: EndpointId) -> Result<WebhookEndpoint> {
        require_admin(caller)?;
        self.store.enable_endpoint(id, self.clock.now()).await
    }

    /// Gives an endpoint a new secret ([`rotate_endpoint_secret`]).
    pub async fn rotate_secret(
        &self,
        caller: Option<&Actor>,
        id: EndpointId,
    ) -> Result<RotatedSecret> {
        require_admin(caller)?;
        let now = self.clock.now();
        let secret = rotate_endpoint_secret(self.store.as_ref(), id, now).await?;
        let overlap = TimeDelta::from_std(ROTATION_OVERLAP).unwrap_or(TimeDelta::zero());
        Ok(RotatedSecret {
            secret,
            previous_valid_until: now + overlap,
        })
    }

    /// A page of an endpoint's deliveries, newest first: `limit` of them (1 to
    /// [`DeliveryQuery::MAX_LIMIT`], 20 when not given) with event ids below `before`. An
    /// out-of-range `limit` or a negative `before` is a validation error naming the field.
    pub async fn deliveries(
        &self,
        caller: Option<&Actor>,
        id: EndpointId,
        before: Option<i64>,
        limit: Option<i64>,
    ) -> Result<DeliveryPage> {
        require_admin(caller)?;
        let query = delivery_query(id, before, limit)?;
        if self.store.get_endpoint(id).await?.is_none() {
            return Err(endpoint_not_found(id));
        }
        self.store.list_deliveries(&query).await
    }

    /// Makes a delivery due now with a fresh retry window (also one that failed for good).
    pub async fn retry(&self, caller: Option<&Actor>, id: DeliveryId) -> Result<Delivery> {
        require_admin(caller)?;
        self.store.retry_delivery(id, self.clock.now()).await
    }
}

/// The number of deliveries a page holds when the caller does not say.
pub const DEFAULT_DELIVERY_PAGE: usize = 20;

/// Reads a delivery page's `before` and `limit`, every error listed.
fn delivery_query(
    id: EndpointId,
    before: Option<i64>,
    limit: Option<i64>,
) -> Result<DeliveryQuery> {
    let mut errors = Vec::new();
    let limit = match limit {
        None => DEFAULT_DELIVERY_PAGE,
        Some(n) => match usize::try_from(n) {
            Ok(n) if (1..=DeliveryQuery::MAX_LIMIT).contains(&n) => n,
            _ => {
                errors.push(FieldError::new(
                    "limit",
                    "out_of_range",
                    format!("Use a limit from 1 to {}.", DeliveryQuery::MAX_LIMIT),
                ));
                0
            }
        },
    };
    let before = match before.map(EventId::new) {
        None => None,
        Some(Some(id)) => Some(id),
        Some(None) => {
            errors.push(FieldError::new(
                "before",
                "out_of_range",
                "Use an event id of 0 or more.",
            ));
            None
        }
    };
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    Ok(DeliveryQuery {
        endpoint_id: id,
        before,
        limit,
    })
}

fn endpoint_not_found(id: EndpointId) -> Error {
    Error::NotFound {
        entity: "webhook endpoint",
        id: id.to_string(),
    }
}

#[cfg(all(test, feature = "memory"))]
mod tests {
    use super::*;
    use crate::ids::UserId;
    use crate::webhooks::MemoryWebhooks;

    fn admin() -> WebhookAdmin {
        WebhookAdmin::new(Arc::new(MemoryWebhooks::new()), TargetPolicy::default())
    }

    fn root() -> Actor {
        Actor::admin(UserId::parse("root").unwrap())
    }

    #[tokio::test]
    async fn only_signed_in_admins_reach_the_store() {
        let admin = admin();
        let student = Actor::user(UserId::parse("ana").unwrap());
        let id = EndpointId::new();
        let delivery = DeliveryId::new();
        let input = EndpointInput {
            url: Some("https://93.184.216.34/hooks".into()),
            ..Default::default()
        };
        for (caller, expected) in [(None, "Unauthenticated"), (Some(&student), "Forbidden")] {
            let outcomes = [
                admin.register(caller, &input).await.map(drop),
                admin.list(caller).await.map(drop),
                admin.get(caller, id).await.map(drop),
                admin.delete(caller, id).await,
                admin.disable(caller, id).await.map(drop),
                admin.enable(caller, id).await.map(drop),
                admin.rotate_secret(caller, id).await.map(drop),
                admin.deliveries(caller, id, None, None).await.map(drop),
                admin.retry(caller, delivery).await.map(drop),
            ];
            for outcome in outcomes {
                let error = outcome.expect_err("refused");
                assert!(format!("{error:?}").starts_with(expected), "{error:?}");
            }
        }
        assert!(
            admin.store().list_endpoints().await.unwrap().is_empty(),
            "a refused caller registered an endpoint"
        );
    }

    #[tokio::test]
    async fn missing_endpoints_and_bad_pages_are_named() {
        let admin = admin();
        let root = root();
        let id = EndpointId::new();
        let missing = |r: Result<()>| matches!(r, Err(Error::NotFound { entity, .. }) if entity == "webhook endpoint");
        assert!(missing(admin.get(Some(&root), id).await.map(drop)));
        assert!(missing(admin.delete(Some(&root), id).await));
        assert!(missing(
            admin
                .deliveries(Some(&root), id, None, None)
                .await
                .map(drop)
        ));
        let Err(Error::Validation(errors)) =
            admin.deliveries(Some(&root), id, Some(-1), Some(0)).await
        else {
            panic!("a negative before and a zero limit are refused");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["limit", "before"]);
        assert!(matches!(
            admin
                .deliveries(
                    Some(&root),
                    id,
                    None,
                    Some(DeliveryQuery::MAX_LIMIT as i64 + 1)
                )
                .await,
            Err(Error::Validation(_))
        ));
    }

    #[tokio::test]
    async fn rotation_says_until_when_the_old_secret_signs() {
        let clock = crate::clock::ManualClock::new("2030-01-15T10:00:00Z".parse().unwrap());
        let admin = admin().with_clock(Arc::new(clock.clone()));
        let root = root();
        let registered = admin
            .register(
                Some(&root),
                &EndpointInput {
                    url: Some("https://93.184.216.34/hooks".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let rotated = admin
            .rotate_secret(Some(&root), registered.endpoint.id)
            .await
            .unwrap();
        assert_eq!(
            rotated.previous_valid_until,
            clock.now() + TimeDelta::hours(24)
        );
    }
}
