//! Endpoints: register, list, get, delete, secrets, rotation, disable and enable.

use std::sync::Arc;

use crate::error::{Conflict, Error};
use crate::events::EventKind;
use crate::webhooks::{DisabledReason, EndpointId, EventTypes, WebhookSecret, WebhookStore};

use super::support::{at, endpoint};

/// Registered endpoints are listed oldest first, read back unchanged, and deleted once.
pub async fn endpoints_register_list_get_and_delete(store: Arc<dyn WebhookStore>) {
    let store = &*store;
    assert!(
        store.list_endpoints().await.unwrap().is_empty(),
        "a fresh store has no endpoints"
    );
    let (a, _) = endpoint(store, "a", EventTypes::All).await;
    let (b, _) = endpoint(
        store,
        "b",
        EventTypes::only([EventKind::Live, EventKind::Ended]),
    )
    .await;
    assert_eq!(
        store.list_endpoints().await.unwrap(),
        vec![a.clone(), b.clone()]
    );
    assert_eq!(store.get_endpoint(b.id).await.unwrap(), Some(b.clone()));
    assert_eq!(store.get_endpoint(EndpointId::new()).await.unwrap(), None);

    let again = store.insert_endpoint(&a, &WebhookSecret::generate()).await;
    assert!(
        matches!(again, Err(Error::Conflict(Conflict::AlreadyExists { .. }))),
        "inserting an existing endpoint id must conflict, got {again:?}"
    );

    assert!(store.delete_endpoint(a.id).await.unwrap());
    assert!(
        !store.delete_endpoint(a.id).await.unwrap(),
        "a second delete finds nothing"
    );
    assert_eq!(store.get_endpoint(a.id).await.unwrap(), None);
    assert_eq!(store.endpoint_secrets(a.id).await.unwrap(), None);
    assert_eq!(store.list_endpoints().await.unwrap(), vec![b]);
}

/// The secret is stored with the endpoint and given back only by the secret read.
pub async fn secrets_are_kept_apart_from_endpoints(store: Arc<dyn WebhookStore>) {
    let store = &*store;
    let (a, secret) = endpoint(store, "a", EventTypes::All).await;
    let secrets = store
        .endpoint_secrets(a.id)
        .await
        .unwrap()
        .expect("secrets");
    assert_eq!(
        secrets.current, secret,
        "the stored secret is the one registered"
    );
    assert_eq!(secrets.previous, None);
    assert_eq!(
        store.endpoint_secrets(EndpointId::new()).await.unwrap(),
        None
    );
}

/// A rotation makes the new secret current and keeps the old one until the given time; a
/// second rotation forgets the first secret.
pub async fn rotation_keeps_the_old_secret_for_its_overlap(store: Arc<dyn WebhookStore>) {
    let store = &*store;
    let (a, first) = endpoint(store, "a", EventTypes::All).await;
    let second = WebhookSecret::generate();
    store
        .rotate_secret(a.id, &second, at(86_400), at(0))
        .await
        .unwrap();
    let secrets = store.endpoint_secrets(a.id).await.unwrap().unwrap();
    assert_eq!(secrets.current, second);
    let previous = secrets.previous.clone().expect("the old secret is kept");
    assert_eq!(
        (previous.secret, previous.valid_until),
        (first.clone(), at(86_400))
    );
    assert_eq!(secrets.signing_secrets(at(86_399)), vec![&second, &first]);
    assert_eq!(secrets.signing_secrets(at(86_400)), vec![&second]);
    assert_eq!(
        store.get_endpoint(a.id).await.unwrap().unwrap().updated_at,
        at(0)
    );

    let third = WebhookSecret::generate();
    store
        .rotate_secret(a.id, &third, at(90_000), at(10))
        .await
        .unwrap();
    let secrets = store.endpoint_secrets(a.id).await.unwrap().unwrap();
    assert_eq!(secrets.current, third);
    assert_eq!(secrets.previous.map(|p| p.secret), Some(second));

    let missing = store
        .rotate_secret(EndpointId::new(), &third, at(1), at(0))
        .await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
}

/// Disabling records the reason and the time; enabling clears the reason.
pub async fn endpoints_disable_and_enable(store: Arc<dyn WebhookStore>) {
    let store = &*store;
    let (a, _) = endpoint(store, "a", EventTypes::All).await;
    let disabled = store
        .disable_endpoint(a.id, DisabledReason::Manual, at(5))
        .await
        .unwrap();
    assert!(!disabled.enabled);
    assert_eq!(disabled.disabled_reason, Some(DisabledReason::Manual));
    assert_eq!(disabled.updated_at, at(5));
    assert_eq!(store.get_endpoint(a.id).await.unwrap(), Some(disabled));
    let enabled = store.enable_endpoint(a.id, at(6)).await.unwrap();
    assert!(enabled.enabled);
    assert_eq!(enabled.disabled_reason, None);
    assert_eq!(enabled.updated_at, at(6));
    for missing in [
        store.enable_endpoint(EndpointId::new(), at(7)).await,
        store
            .disable_endpoint(EndpointId::new(), DisabledReason::Manual, at(7))
            .await,
    ] {
        assert!(
            matches!(missing, Err(Error::NotFound { .. })),
            "{missing:?}"
        );
    }
}
