//! The webhook conformance suite: every rule of the [`WebhookStore`] port, checked against
//! any store that implements it.
//!
//! Like the main suite, each case is a public async function (in [`cases`]) taking a fresh,
//! empty store, and [`webhook_store_tests!`](crate::webhook_store_tests) turns them into one
//! `#[test]` each, run on a four-worker multi-thread runtime, with the fixture's teardown
//! awaited after the case (also when it panicked).
//!
//! ```no_run
//! use std::sync::Arc;
//! use livesessions_core::testing::webhooks::WebhookFixture;
//! use livesessions_core::webhooks::MemoryWebhooks;
//!
//! async fn fresh_store() -> Option<WebhookFixture> {
//!     Some(WebhookFixture::new(Arc::new(MemoryWebhooks::new())))
//! }
//!
//! livesessions_core::webhook_store_tests!(fresh_store);
//! # fn main() {}
//! ```
//!
//! A single case can also be called directly:
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use livesessions_core::testing::webhooks::cases;
//! use livesessions_core::webhooks::MemoryWebhooks;
//!
//! cases::manual_retry_makes_a_delivery_due_again(Arc::new(MemoryWebhooks::new())).await;
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use super::Teardown;
use crate::webhooks::WebhookStore;

pub mod cases;

/// The webhook store one case runs against, and what to do when the case is over.
pub struct WebhookFixture {
    store: Arc<dyn WebhookStore>,
    teardown: Option<Teardown>,
    scale: Option<f64>,
}

impl WebhookFixture {
    /// A fixture around a fresh, empty store that needs no cleaning up.
    pub fn new(store: Arc<dyn WebhookStore>) -> Self {
        WebhookFixture {
            store,
            teardown: None,
            scale: None,
        }
    }

    /// Scales the sizes of the concurrency cases by `factor`, in (0, 1], as
    /// [`Fixture::with_scale`](crate::testing::Fixture::with_scale) does for the store suite.
    ///
    /// # Panics
    ///
    /// When `factor` is not in (0, 1].
    pub fn with_scale(mut self, factor: f64) -> Self {
        assert!(
            factor > 0.0 && factor <= 1.0,
            "a conformance scale is a factor in (0, 1], not {factor}"
        );
        self.scale = Some(factor);
        self
    }

    /// Adds a cleanup that runs after the case, whether it passed or panicked.
    pub fn with_teardown(mut self, teardown: impl Future<Output = ()> + Send + 'static) -> Self {
        self.teardown = Some(Box::pin(teardown));
        self
    }

    /// The store under test.
    pub fn store(&self) -> Arc<dyn WebhookStore> {
        Arc::clone(&self.store)
    }

    /// Runs `case` against the store, then the teardown (also when the case panicked), then
    /// lets a panic of the case continue.
    pub async fn run<F, Fut>(self, case: F)
    where
        F: FnOnce(Arc<dyn WebhookStore>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let case = case(self.store());
        super::run_then_tear_down(case, self.scale, self.teardown).await;
    }
}

impl fmt::Debug for WebhookFixture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookFixture")
            .field("store", &self.store)
            .field("teardown", &self.teardown.is_some())
            .field("scale", &self.scale)
            .finish()
    }
}

/// Runs one case the way [`webhook_store_tests!`](crate::webhook_store_tests) does.
#[doc(hidden)]
pub fn run_webhook_case<S, SFut, C, CFut>(setup: S, case: C)
where
    S: FnOnce() -> SFut,
    SFut: Future<Output = Option<WebhookFixture>>,
    C: FnOnce(Arc<dyn WebhookStore>) -> CFut,
    CFut: Future<Output = ()>,
{
    super::runtime().block_on(async move {
        if let Some(fixture) = setup().await {
            fixture.run(case).await;
        }
    });
}

/// Generates one `#[test]` per webhook conformance case for a
/// [`WebhookStore`](crate::webhooks::WebhookStore). Same form as
/// [`conformance_tests!`](crate::conformance_tests), with a setup returning
/// `Option<`[`WebhookFixture`](crate::testing::webhooks::WebhookFixture)`>`; attributes
/// before it go on every test.
///
/// ```no_run
/// use std::sync::Arc;
/// use livesessions_core::testing::webhooks::WebhookFixture;
/// use livesessions_core::webhooks::MemoryWebhooks;
///
/// async fn memory() -> Option<WebhookFixture> {
///     Some(WebhookFixture::new(Arc::new(MemoryWebhooks::new())))
/// }
///
/// livesessions_core::webhook_store_tests!(memory);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! webhook_store_tests {
    ($(#[$attr:meta])+ $setup:expr $(,)?) => {
        $crate::webhook_store_tests!(@list [$(#[$attr])+] $setup);
    };
    ($setup:expr $(,)?) => {
        $crate::webhook_store_tests!(@list [] $setup);
    };
    (@list [$($attrs:tt)*] $setup:expr) => {
        $crate::webhook_store_tests!(@cases [$($attrs)*] $setup;
            endpoints_register_list_get_and_delete,
            secrets_are_kept_apart_from_endpoints,
            rotation_keeps_the_old_secret_for_its_overlap,
            endpoints_disable_and_enable,
            enqueue_matches_enabled_endpoints_and_their_types,
            enqueue_is_exactly_once_under_concurrency,
            claims_are_exclusive_under_concurrency,
            deliveries_of_a_session_go_in_order,
            an_expired_lease_makes_a_delivery_claimable_again,
            attempts_follow_the_retry_schedule,
            gone_fails_the_delivery_and_disables_the_endpoint,
            manual_retry_makes_a_delivery_due_again,
            deliveries_page_newest_first,
            deleting_an_endpoint_deletes_its_deliveries,
        );
    };
    (@cases $attrs:tt $setup:expr; $($case:ident),* $(,)?) => {
        $(
            $crate::webhook_store_tests!(@one $attrs $setup; $case);
        )*
    };
    (@one [$($attr:tt)*] $setup:expr; $case:ident) => {
        #[test]
        $($attr)*
        fn $case() {
            $crate::testing::webhooks::run_webhook_case(
                || ($setup)(),
                $crate::testing::webhooks::cases::$case,
            );
        }
    };
}
