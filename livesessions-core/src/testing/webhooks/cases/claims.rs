//! Claims and attempts: exclusive leases, order per endpoint and session, lease expiry, the
//! retry schedule's times, and 410 Gone.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::events::{EventKind, LoggedEvent};
use crate::ids::SessionId;
use crate::testing::harness::scaled;
use crate::webhooks::{
    AttemptNext, AttemptRecord, ClaimedDelivery, DeliveryId, DeliveryState, DisabledReason,
    EventTypes, WebhookStore,
};

use super::support::{at, endpoint, enqueue, event, t0};

fn attempt(when: DateTime<Utc>, status: u16) -> AttemptRecord {
    AttemptRecord {
        at: when,
        status: Some(status),
        latency: Duration::from_millis(25),
        error: None,
    }
}

fn event_ids(claimed: &[ClaimedDelivery]) -> Vec<i64> {
    claimed.iter().map(|c| c.delivery.event.id.get()).collect()
}

async fn record(store: &dyn WebhookStore, id: DeliveryId, worker: &str, next: AttemptNext) {
    let recorded = store
        .record_attempt(id, worker, &attempt(t0(), 500), next)
        .await
        .expect("record_attempt");
    assert!(
        recorded,
        "{worker} holds the lease of {id}: its attempt must be recorded"
    );
}

/// Workers claiming at once never get the same delivery; together they get every one, each
/// with its endpoint and secrets.
pub async fn claims_are_exclusive_under_concurrency(store: Arc<dyn WebhookStore>) {
    let sessions = scaled(40, 10);
    let (a, secret_a) = endpoint(&*store, "a", EventTypes::All).await;
    let (b, secret_b) = endpoint(&*store, "b", EventTypes::All).await;
    let events: Vec<LoggedEvent> = (1..=sessions as i64)
        .map(|id| event(id, EventKind::Live, SessionId::new()))
        .collect();
    assert_eq!(enqueue(&*store, &events).await, 2 * sessions as u64);
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let store = Arc::clone(&store);
        let total = 2 * sessions;
        tasks.spawn(async move {
            let name = format!("worker-{worker}");
            let mut mine = Vec::new();
            loop {
                let claimed = store
                    .claim_due(t0(), 5, at(60), &name)
                    .await
                    .expect("claim_due");
                assert!(claimed.len() <= 5, "claim_due returned more than its limit");
                // A store that hands out leased deliveries again would never run dry: stop
                // once this worker alone holds more than there are.
                if claimed.is_empty() || mine.len() > total {
                    return mine;
                }
                mine.extend(claimed);
                tokio::task::yield_now().await;
            }
        });
    }
    let mut all = Vec::new();
    while let Some(done) = tasks.join_next().await {
        all.extend(done.expect("a claiming task"));
    }
    let unique: HashSet<DeliveryId> = all.iter().map(|c| c.delivery.id).collect();
    assert_eq!(
        all.len(),
        2 * sessions,
        "every delivery claimed, none twice"
    );
    assert_eq!(unique.len(), all.len(), "a delivery was claimed twice");
    for claim in &all {
        let expected = if claim.endpoint.id == a.id {
            &secret_a
        } else {
            &secret_b
        };
        assert!(claim.endpoint.id == a.id || claim.endpoint.id == b.id);
        assert_eq!(claim.delivery.endpoint_id, claim.endpoint.id);
        assert_eq!(
            &claim.secrets.current, expected,
            "a claim carries its endpoint's secret"
        );
    }
    assert!(store
        .claim_due(at(59), 100, at(120), "late")
        .await
        .unwrap()
        .is_empty());
}

/// A pending delivery holds back the later ones of the same endpoint and session until it is
/// delivered or failed; other sessions and endpoints are not held back; claims come in event
/// order.
pub async fn deliveries_of_a_session_go_in_order(store: Arc<dyn WebhookStore>) {
    let store = &*store;
    let (a, _) = endpoint(store, "a", EventTypes::All).await;
    let (b, _) = endpoint(store, "b", EventTypes::only([EventKind::Ended])).await;
    let (s, other) = (SessionId::new(), SessionId::new());
    enqueue(
        store,
        &[
            event(1, EventKind::Live, s),
            event(2, EventKind::Participants, s),
            event(3, EventKind::Ended, s),
            event(4, EventKind::Live, other),
        ],
    )
    .await;
    let claimed = store.claim_due(t0(), 10, at(60), "w").await.unwrap();
    assert_eq!(event_ids(&claimed), [1, 3, 4], "a's 1 and 4, and b's 3");
    assert_eq!(
        claimed[1].endpoint.id, b.id,
        "b's delivery is not held back by a's"
    );
    assert!(claimed.iter().filter(|c| c.endpoint.id == a.id).count() == 2);
    for c in &claimed {
        record(store, c.delivery.id, "w", AttemptNext::Delivered).await;
    }
    let claimed = store.claim_due(t0(), 10, at(60), "w").await.unwrap();
    assert_eq!(event_ids(&claimed), [2]);
    record(
        store,
        claimed[0].delivery.id,
        "w",
        AttemptNext::RetryAt(at(30)),
    )
    .await;
    assert!(
        store
            .claim_due(at(29), 10, at(60), "w")
            .await
            .unwrap()
            .is_empty(),
        "event 3 of a waits for event 2, which is not due"
    );
    let claimed = store.claim_due(at(30), 10, at(90), "w").await.unwrap();
    assert_eq!(event_ids(&claimed), [2]);
    record(store, claimed[0].delivery.id, "w", AttemptNext::Failed).await;
    let claimed = store.claim_due(at(30), 10, at(90), "w").await.unwrap();
    assert_eq!(
        event_ids(&claimed),
        [3],
        "a failed delivery holds nothing back"
    );
    assert_eq!(claimed[0].endpoint.id, a.id);
}

/// A lease that ran out makes the delivery claimable again; the worker that lost it can no
/// longer record an attempt.
pub async fn an_expired_lease_makes_a_delivery_claimable_again(store: Arc<dyn WebhookStore>) {
    let store = &*store;
    endpoint(store, "a", EventTypes::All).await;
    enqueue(store, &[event(1, EventKind::Live, SessionId::new())]).await;
    let first = store.claim_due(t0(), 10, at(60), "w1").await.unwrap();
    assert_eq!(first.len(), 1);
    let id = first[0].delivery.id;
    assert!(store
        .claim_due(at(59), 10, at(120), "w2")
        .await
        .unwrap()
        .is_empty());
    let second = store.claim_due(at(60), 10, at(120), "w2").await.unwrap();
    assert_eq!(second.len(), 1, "the lease ended at 60 s");
    assert_eq!(second[0].delivery.id, id);
    let late = store
        .record_attempt(id, "w1", &attempt(at(61), 200), AttemptNext::Delivered)
        .await
        .unwrap();
    assert!(!late, "w1 lost its lease: its attempt must not be recorded");
    let unchanged = store.get_delivery(id).await.unwrap().unwrap();
    assert_eq!(
        (unchanged.state, unchanged.attempts),
        (DeliveryState::Pending, 0)
    );
    record(store, id, "w2", AttemptNext::Delivered).await;
    let again = store
        .record_attempt(id, "w2", &attempt(at(62), 200), AttemptNext::Delivered)
        .await
        .unwrap();
    assert!(!again, "a delivered delivery takes no more attempts");
    let missing = store
        .record_attempt(
            DeliveryId::new(),
            "w2",
            &attempt(at(62), 200),
            AttemptNext::Delivered,
        )
        .await
        .unwrap();
    assert!(!missing);
}

/// Attempts count up, the window starts at the first one, a retry is due exactly at its time,
/// and delivered and failed deliveries are never claimed again.
pub async fn attempts_follow_the_retry_schedule(store: Arc<dyn WebhookStore>) {
    let store = &*store;
    endpoint(store, "a", EventTypes::All).await;
    enqueue(
        store,
        &[
            event(1, EventKind::Live, SessionId::new()),
            event(2, EventKind::Live, SessionId::new()),
        ],
    )
    .await;
    let claimed = store.claim_due(t0(), 10, at(60), "w").await.unwrap();
    assert_eq!(event_ids(&claimed), [1, 2]);
    let (one, two) = (claimed[0].delivery.id, claimed[1].delivery.id);

    let first = attempt(t0(), 500);
    assert!(store
        .record_attempt(one, "w", &first, AttemptNext::RetryAt(at(10)))
        .await
        .unwrap());
    let after = store.get_delivery(one).await.unwrap().unwrap();
    assert_eq!(after.state, DeliveryState::Pending);
    assert_eq!((after.attempts, after.first_attempt_at), (1, Some(t0())));
    assert_eq!(after.next_attempt_at, at(10));
    assert_eq!(after.last_attempt, Some(first));

    let delivered = AttemptRecord {
        at: t0(),
        status: Some(204),
        latency: Duration::from_millis(9),
        error: None,
    };
    assert!(store
        .record_attempt(two, "w", &delivered, AttemptNext::Delivered)
        .await
        .unwrap());
    let two_after = store.get_delivery(two).await.unwrap().unwrap();
    assert_eq!(
        (two_after.state, two_after.attempts),
        (DeliveryState::Delivered, 1)
    );

    assert!(store
        .claim_due(at(9), 10, at(70), "w")
        .await
        .unwrap()
        .is_empty());
    let claimed = store.claim_due(at(10), 10, at(70), "w").await.unwrap();
    assert_eq!(
        event_ids(&claimed),
        [1],
        "due exactly at its time; the delivered one never"
    );
    assert_eq!(claimed[0].delivery.attempts, 1);
    let timed_out = AttemptRecord {
        at: at(10),
        status: None,
        latency: Duration::from_secs(15),
        error: Some("timed out".into()),
    };
    assert!(store
        .record_attempt(one, "w", &timed_out, AttemptNext::RetryAt(at(40)))
        .await
        .unwrap());
    let after = store.get_delivery(one).await.unwrap().unwrap();
    assert_eq!((after.attempts, after.first_attempt_at), (2, Some(t0())));
    assert_eq!(after.last_attempt, Some(timed_out));

    let claimed = store.claim_due(at(40), 10, at(100), "w").await.unwrap();
    assert_eq!(event_ids(&claimed), [1]);
    record(store, one, "w", AttemptNext::Failed).await;
    let failed = store.get_delivery(one).await.unwrap().unwrap();
    assert_eq!((failed.state, failed.attempts), (DeliveryState::Failed, 3));
    assert!(store
        .claim_due(at(100_000), 10, at(100_060), "w")
        .await
        .unwrap()
        .is_empty());
}

/// 410 Gone fails the delivery and disables its endpoint, whose other deliveries wait until
/// it is enabled again.
pub async fn gone_fails_the_delivery_and_disables_the_endpoint(store: Arc<dyn WebhookStore>) {
    let store = &*store;
    let (a, _) = endpoint(store, "a", EventTypes::All).await;
    let (b, _) = endpoint(store, "b", EventTypes::only([EventKind::Ended])).await;
    enqueue(
        store,
        &[
            event(1, EventKind::Live, SessionId::new()),
            event(2, EventKind::Ended, SessionId::new()),
        ],
    )
    .await;
    let claimed = store.claim_due(t0(), 1, at(60), "w").await.unwrap();
    assert_eq!(event_ids(&claimed), [1], "a limit of one claims one");
    assert!(store
        .record_attempt(
            claimed[0].delivery.id,
            "w",
            &attempt(at(3), 410),
            AttemptNext::EndpointGone
        )
        .await
        .unwrap());
    let failed = store
        .get_delivery(claimed[0].delivery.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failed.state, DeliveryState::Failed);
    let disabled = store.get_endpoint(a.id).await.unwrap().unwrap();
    assert!(!disabled.enabled);
    assert_eq!(disabled.disabled_reason, Some(DisabledReason::Gone));
    assert_eq!(disabled.updated_at, at(3));
    assert!(store.get_endpoint(b.id).await.unwrap().unwrap().enabled);

    let claimed = store.claim_due(at(5), 10, at(60), "w").await.unwrap();
    assert!(
        claimed.iter().all(|c| c.endpoint.id == b.id),
        "a disabled endpoint's deliveries are not claimed"
    );
    assert_eq!(claimed.len(), 1);
    store.enable_endpoint(a.id, at(6)).await.unwrap();
    let claimed = store.claim_due(at(6), 10, at(60), "w").await.unwrap();
    assert_eq!(
        event_ids(&claimed),
        [2],
        "enabled again, its pending delivery is due"
    );
    assert_eq!(claimed[0].endpoint.id, a.id);
}
