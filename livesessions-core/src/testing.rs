//! The conformance suite: every rule of the domain, checked against any [`Store`].
//!
//! A store implementation proves itself by running this suite against itself. Each case is a
//! public async function in [`cases`] that takes the store under test, drives it through a
//! [`LiveSessions`](crate::LiveSessions) service with a [`ManualClock`](crate::ManualClock)
//! and through the store ports directly, and compares every result with numbers worked out by
//! hand from the domain rules (not with another store's output). A failing rule panics with a message
//! that names it.
//!
//! The [`conformance_tests!`](crate::conformance_tests) macro turns the whole suite into one
//! `#[test]` per case, so a test run lists every case by name. It takes a setup function:
//! an `async fn() -> Option<Fixture>` that returns a fresh, empty store (and how to clean it
//! up), or `None` to end the case at once (cargo then counts it as passed: to have tests that
//! need a missing database counted as ignored, give the macro an `ignore` attribute, as its
//! documentation shows). Each generated test runs on its own multi-thread Tokio runtime with
//! four worker threads (as `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]` would),
//! calls the setup once, runs its case against [`Fixture::store`] and then awaits the fixture's
//! teardown, also when the case panicked.
//!
//! The store a setup returns must not be shared with other tests running at the same time:
//! the cases count sessions and participants and expect to find only their own.
//!
//! A store with an [`EventLog`] also runs the event-log cases with
//! [`event_log_tests!`](crate::event_log_tests), from a fixture made with
//! [`Fixture::with_event_log`].
//!
//! [`thumbnail_store_cases`] checks a [`ThumbnailStore`](crate::ThumbnailStore) (the checks one
//! by one are in [`thumbnails`]): call it from a test with the store under test.
//!
//! [`check_watch_time`] states the watch-time rules a participant satisfies at any moment, for
//! tests of a store's own that interleave events at random.
//!
//! # Example
//!
//! A third-party store `MyStore` runs the suite from an integration test of its crate, with
//! `livesessions-core = { version = "0.1", features = ["testing"] }` among its
//! dev-dependencies:
//!
//! ```no_run
//! // tests/conformance.rs
//! use std::sync::Arc;
//! use livesessions_core::testing::Fixture;
//! # use livesessions_core::MemoryStore as MyStore;
//! # struct Database;
//! # impl Database {
//! #     async fn create_scratch(_url: &str) -> Database { Database }
//! #     async fn store(&self) -> MyStore { MyStore::new() }
//! #     async fn drop_scratch(self) {}
//! # }
//!
//! async fn fresh_store() -> Option<Fixture> {
//!     let Ok(url) = std::env::var("MY_STORE_TEST_URL") else {
//!         eprintln!("MY_STORE_TEST_URL is not set: the conformance suite is skipped");
//!         return None;
//!     };
//!     // A database (or schema) of its own for every test, dropped afterwards.
//!     let database = Database::create_scratch(&url).await;
//!     let store = database.store().await;
//!     Some(Fixture::new(Arc::new(store)).with_teardown(async move {
//!         database.drop_scratch().await;
//!     }))
//! }
//!
//! livesessions_core::conformance_tests!(fresh_store);
//! # fn main() {}
//! ```
//!
//! `cargo test` then shows one test per case (`join_is_idempotent`,
//! `concurrent_joins_count_each_user_once`, …). A single case can also be called directly:
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use livesessions_core::{testing::cases, MemoryStore};
//!
//! cases::join_is_idempotent(Arc::new(MemoryStore::new())).await;
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use futures::FutureExt as _;

use crate::calendar::CalendarFeedStore;
use crate::events::EventLog;
use crate::ports::Store;

pub mod cases;
mod harness;
mod invariants;
pub mod thumbnails;
pub mod webhooks;

pub use invariants::check_watch_time;
pub use thumbnails::thumbnail_store_cases;

#[doc(hidden)]
pub use futures;
#[doc(hidden)]
pub use tokio;

type Teardown = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A fixture's event log and its fault injection.
type LogParts = (Arc<dyn EventLog>, Option<Arc<dyn EventLogFaults>>);

/// Fault injection for the event-log cases: makes the store's event appends fail.
#[async_trait::async_trait]
pub trait EventLogFaults: Send + Sync + 'static {
    /// While `fail` is true, every change that would append an event must fail (with
    /// `Storage` or `Unavailable`) after the change itself was attempted, so that the store's
    /// transaction has to undo it.
    async fn fail_appends(&self, fail: bool);
}

#[cfg(feature = "memory")]
#[async_trait::async_trait]
impl EventLogFaults for crate::memory::MemoryStore {
    async fn fail_appends(&self, fail: bool) {
        self.fail_event_appends(fail);
    }
}

/// What the event-log cases run against: the store, its log (usually the same object) and,
/// for the outbox case, a way to make appends fail.
#[derive(Clone)]
pub struct LoggedStore {
    /// The store under test.
    pub store: Arc<dyn Store>,
    /// Its event log.
    pub log: Arc<dyn EventLog>,
    /// Fault injection (required by [`cases::an_event_exists_iff_its_change_committed`]).
    pub faults: Option<Arc<dyn EventLogFaults>>,
}

impl fmt::Debug for LoggedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoggedStore")
            .field("store", &self.store)
            .field("faults", &self.faults.is_some())
            .finish()
    }
}

/// What the calendar cases run against: the store and its [`CalendarFeedStore`] (usually the
/// same object).
#[derive(Clone, Debug)]
pub struct CalendarStore {
    /// The store under test.
    pub store: Arc<dyn Store>,
    /// Its calendar feeds.
    pub feeds: Arc<dyn CalendarFeedStore>,
}

/// The store one conformance case runs against, and what to do when the case is over.
pub struct Fixture {
    store: Arc<dyn Store>,
    log: Option<LogParts>,
    calendar: Option<Arc<dyn CalendarFeedStore>>,
    teardown: Option<Teardown>,
    scale: Option<f64>,
}

impl Fixture {
    /// A fixture around a fresh, empty store that needs no cleaning up.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Fixture {
            store,
            log: None,
            calendar: None,
            teardown: None,
            scale: None,
        }
    }

    /// Adds the store's event log (usually the store itself) and its fault injection, for
    /// [`event_log_tests!`](crate::event_log_tests).
    pub fn with_event_log(
        mut self,
        log: Arc<dyn EventLog>,
        faults: Option<Arc<dyn EventLogFaults>>,
    ) -> Self {
        self.log = Some((log, faults));
        self
    }

    /// Adds the store's calendar feeds (usually the store itself), for
    /// [`calendar_feed_tests!`](crate::calendar_feed_tests).
    pub fn with_calendar(mut self, feeds: Arc<dyn CalendarFeedStore>) -> Self {
        self.calendar = Some(feeds);
        self
    }

    /// Scales the sizes of the heavy cases (the concurrency cases: how many users join at
    /// once) by `factor`, in (0, 1], for a store whose test server is slow. Their assertions
    /// follow the sizes and never loosen. Without it the factor comes from the
    /// `LIVESESSIONS_TEST_SCALE` environment variable, 1 when that is not set.
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

    /// Adds a cleanup (dropping a scratch schema or database, stopping a container…) that runs
    /// after the case, whether it passed or panicked.
    pub fn with_teardown(mut self, teardown: impl Future<Output = ()> + Send + 'static) -> Self {
        self.teardown = Some(Box::pin(teardown));
        self
    }

    /// The store under test.
    pub fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    /// Runs the teardown, if there is one.
    pub async fn teardown(self) {
        if let Some(teardown) = self.teardown {
            teardown.await;
        }
    }

    /// The store with its event log, or `None` when [`Fixture::with_event_log`] was not
    /// called.
    pub fn logged(&self) -> Option<LoggedStore> {
        self.log.as_ref().map(|(log, faults)| LoggedStore {
            store: self.store(),
            log: Arc::clone(log),
            faults: faults.clone(),
        })
    }

    /// Runs `case` against the store, then the teardown (also when the case panicked), then
    /// lets a panic of the case continue.
    pub async fn run<F, Fut>(self, case: F)
    where
        F: FnOnce(Arc<dyn Store>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let store = self.store();
        self.run_with(store, case).await;
    }

    /// Runs an event-log `case` like [`Fixture::run`].
    ///
    /// # Panics
    ///
    /// When the fixture has no event log ([`Fixture::with_event_log`]).
    pub async fn run_logged<F, Fut>(self, case: F)
    where
        F: FnOnce(LoggedStore) -> Fut,
        Fut: Future<Output = ()>,
    {
        let logged = self
            .logged()
            .expect("the event-log cases need Fixture::with_event_log");
        self.run_with(logged, case).await;
    }

    /// Runs a calendar `case` like [`Fixture::run`].
    ///
    /// # Panics
    ///
    /// When the fixture has no calendar feeds ([`Fixture::with_calendar`]).
    pub async fn run_calendar<F, Fut>(self, case: F)
    where
        F: FnOnce(CalendarStore) -> Fut,
        Fut: Future<Output = ()>,
    {
        let stores = CalendarStore {
            store: self.store(),
            feeds: self
                .calendar
                .clone()
                .expect("the calendar cases need Fixture::with_calendar"),
        };
        self.run_with(stores, case).await;
    }

    async fn run_with<T, F, Fut>(self, input: T, case: F)
    where
        F: FnOnce(T) -> Fut,
        Fut: Future<Output = ()>,
    {
        let scale = self.scale;
        run_then_tear_down(case(input), scale, self.teardown).await;
    }
}

/// Runs `case` (at `scale`, when given), then `teardown` (also when the case panicked), then
/// lets a panic of the case continue: how every fixture of the suites runs a case.
async fn run_then_tear_down(
    case: impl Future<Output = ()>,
    scale: Option<f64>,
    teardown: Option<Teardown>,
) {
    let outcome = match scale {
        Some(factor) => {
            AssertUnwindSafe(harness::SCALE.scope(factor, case))
                .catch_unwind()
                .await
        }
        None => AssertUnwindSafe(case).catch_unwind().await,
    };
    if let Some(teardown) = teardown {
        teardown.await;
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

impl fmt::Debug for Fixture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fixture")
            .field("store", &self.store)
            .field("event_log", &self.log.is_some())
            .field("calendar", &self.calendar.is_some())
            .field("teardown", &self.teardown.is_some())
            .field("scale", &self.scale)
            .finish()
    }
}

/// Runs one case the way [`conformance_tests!`](crate::conformance_tests) does: on a new
/// multi-thread runtime with four workers, `setup` first (`None` skips), then the case, then the
/// teardown.
#[doc(hidden)]
pub fn run_case<S, SFut, C, CFut>(setup: S, case: C)
where
    S: FnOnce() -> SFut,
    SFut: Future<Output = Option<Fixture>>,
    C: FnOnce(Arc<dyn Store>) -> CFut,
    CFut: Future<Output = ()>,
{
    runtime().block_on(async move {
        if let Some(fixture) = setup().await {
            fixture.run(case).await;
        }
    });
}

/// Runs one event-log case the way [`event_log_tests!`](crate::event_log_tests) does.
#[doc(hidden)]
pub fn run_logged_case<S, SFut, C, CFut>(setup: S, case: C)
where
    S: FnOnce() -> SFut,
    SFut: Future<Output = Option<Fixture>>,
    C: FnOnce(LoggedStore) -> CFut,
    CFut: Future<Output = ()>,
{
    runtime().block_on(async move {
        if let Some(fixture) = setup().await {
            fixture.run_logged(case).await;
        }
    });
}

/// Runs one calendar case the way [`calendar_feed_tests!`](crate::calendar_feed_tests) does.
#[doc(hidden)]
pub fn run_calendar_case<S, SFut, C, CFut>(setup: S, case: C)
where
    S: FnOnce() -> SFut,
    SFut: Future<Output = Option<Fixture>>,
    C: FnOnce(CalendarStore) -> CFut,
    CFut: Future<Output = ()>,
{
    runtime().block_on(async move {
        if let Some(fixture) = setup().await {
            fixture.run_calendar(case).await;
        }
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("could not start a Tokio runtime for the conformance case")
}

/// Generates one `#[test]` per conformance case for a store.
///
/// The argument is a setup function (any expression callable as `setup()`) returning a future of
/// `Option<`[`Fixture`](crate::testing::Fixture)`>`: a fresh store, or `None` to skip. See the
/// [module documentation](crate::testing) for a complete example.
///
/// Attributes written before the setup function are put on every generated test. A store whose
/// tests need a server that may be missing marks them ignored, so that `cargo test` counts them
/// as ignored rather than passed (the cfg comes from the crate's build script):
///
/// ```ignore
/// livesessions_core::conformance_tests!(
///     #[cfg_attr(not(my_store_server), ignore = "set MY_STORE_TEST_URL to run these tests")]
///     fresh_store
/// );
/// ```
///
/// ```no_run
/// use std::sync::Arc;
/// use livesessions_core::{testing::Fixture, MemoryStore};
///
/// async fn memory() -> Option<Fixture> {
///     Some(Fixture::new(Arc::new(MemoryStore::new())))
/// }
///
/// livesessions_core::conformance_tests!(memory);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($(#[$attr:meta])+ $setup:expr $(,)?) => {
        $crate::conformance_tests!(@list [$(#[$attr])+] $setup);
    };
    ($setup:expr $(,)?) => {
        $crate::conformance_tests!(@list [] $setup);
    };
    (@list [$($attrs:tt)*] $setup:expr) => {
        $crate::conformance_tests!(@cases [$($attrs)*] $setup;
            sessions_round_trip_every_field,
            inserting_an_existing_id_conflicts,
            update_session_checks_the_version,
            partial_updates_change_only_given_fields,
            delete_cascades_to_participants,
            list_filters_by_status,
            list_search_is_case_insensitive_and_literal,
            list_search_edges_match_substrings_of_one_field,
            list_order_follows_the_list_key,
            list_pages_have_no_duplicates_or_gaps,
            lifecycle_start_end_restart,
            lifecycle_refuses_every_other_action,
            end_session_port_checks_the_version_first,
            join_is_idempotent,
            join_refreshes_name_and_email,
            unknown_sessions_and_participants_are_not_found,
            heartbeats_and_leave_credit_watch_time,
            gaps_longer_than_the_timeout_are_capped,
            stale_heartbeats_are_ignored,
            several_tabs_do_not_double_credit,
            heartbeat_while_scheduled_only_updates_last_seen,
            end_credits_every_present_participant,
            restart_keeps_attendance_and_credits_the_new_period,
            presence_after_the_end_is_not_credited,
            watching_counts_recent_present_participants,
            session_report_numbers,
            attendance_sorts_and_pages,
            overview_totals_and_popular_sessions,
            participation_of_one_user,
            concurrent_joins_count_each_user_once,
            concurrent_heartbeats_and_leaves_keep_credit,
            random_races_keep_watch_time_inside_live_periods,
            due_sessions_returns_what_the_scheduler_acts_on,
            the_scheduler_starts_and_ends_each_session_once,
            a_series_is_created_with_every_occurrence_in_order,
            creating_a_series_is_all_or_nothing,
            this_and_following_changes_only_later_scheduled_ones,
            cancelling_one_occurrence_keeps_the_rest,
            the_series_summary_counts_attended_n_of_m,
            empty_sessions_returns_the_live_sessions_nobody_watches,
            the_scheduler_ends_sessions_nobody_watches_once,
            a_full_session_refuses_a_new_user_and_admits_a_rejoin,
            concurrent_first_joins_admit_exactly_the_capacity,
            capacity_below_the_participants_is_refused,
            roster_members_hold_reserved_seats,
            removing_an_unjoined_member_frees_a_seat,
            concurrent_walk_ins_leave_the_members_their_seats,
            a_restricted_session_refuses_a_walk_in_and_admits_a_member,
            adding_to_the_roster_is_all_or_nothing,
            roster_statuses_follow_the_rules,
            removing_a_member_who_attended_keeps_their_attendance,
            registration_lets_users_add_themselves_where_open,
            the_roster_view_filters_sorts_and_pages,
        );
    };
    (@cases $attrs:tt $setup:expr; $($case:ident),* $(,)?) => {
        $(
            $crate::conformance_tests!(@one $attrs $setup; $case);
        )*
    };
    (@one [$($attr:tt)*] $setup:expr; $case:ident) => {
        #[test]
        $($attr)*
        fn $case() {
            $crate::testing::run_case(
                || ($setup)(),
                $crate::testing::cases::$case,
            );
        }
    };
}

/// Generates one `#[test]` per event-log case for a store with an
/// [`EventLog`](crate::events::EventLog). Same form as
/// [`conformance_tests!`](crate::conformance_tests); the setup's fixtures must come from
/// [`Fixture::with_event_log`](crate::testing::Fixture::with_event_log).
///
/// ```no_run
/// use std::sync::Arc;
/// use livesessions_core::{testing::Fixture, MemoryStore};
///
/// async fn memory() -> Option<Fixture> {
///     let store = Arc::new(MemoryStore::new());
///     Some(Fixture::new(store.clone()).with_event_log(store.clone(), Some(store)))
/// }
///
/// livesessions_core::event_log_tests!(memory);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! event_log_tests {
    ($(#[$attr:meta])+ $setup:expr $(,)?) => {
        $crate::event_log_tests!(@list [$(#[$attr])+] $setup);
    };
    ($setup:expr $(,)?) => {
        $crate::event_log_tests!(@list [] $setup);
    };
    (@list [$($attrs:tt)*] $setup:expr) => {
        $crate::event_log_tests!(@cases [$($attrs)*] $setup;
            every_change_appends_its_event,
            failed_changes_append_nothing,
            an_event_exists_iff_its_change_committed,
            reading_from_an_id_returns_exactly_what_followed,
            concurrent_writers_lose_nothing,
            pruning_moves_the_floor,
        );
    };
    (@cases $attrs:tt $setup:expr; $($case:ident),* $(,)?) => {
        $(
            $crate::event_log_tests!(@one $attrs $setup; $case);
        )*
    };
    (@one [$($attr:tt)*] $setup:expr; $case:ident) => {
        #[test]
        $($attr)*
        fn $case() {
            $crate::testing::run_logged_case(
                || ($setup)(),
                $crate::testing::cases::$case,
            );
        }
    };
}

/// Generates one `#[test]` per calendar case for a store with a
/// [`CalendarFeedStore`](crate::calendar::CalendarFeedStore). Same form as
/// [`conformance_tests!`](crate::conformance_tests); the setup's fixtures must come from
/// [`Fixture::with_calendar`](crate::testing::Fixture::with_calendar).
///
/// ```no_run
/// use std::sync::Arc;
/// use livesessions_core::{testing::Fixture, MemoryStore};
///
/// async fn memory() -> Option<Fixture> {
///     let store = Arc::new(MemoryStore::new());
///     Some(Fixture::new(store.clone()).with_calendar(store))
/// }
///
/// livesessions_core::calendar_feed_tests!(memory);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! calendar_feed_tests {
    ($(#[$attr:meta])+ $setup:expr $(,)?) => {
        $crate::calendar_feed_tests!(@list [$(#[$attr])+] $setup);
    };
    ($setup:expr $(,)?) => {
        $crate::calendar_feed_tests!(@list [] $setup);
    };
    (@list [$($attrs:tt)*] $setup:expr) => {
        $crate::calendar_feed_tests!(@cases [$($attrs)*] $setup;
            rotating_a_feed_token_invalidates_the_old_one,
            revoked_and_unknown_feed_tokens_are_not_found,
            the_public_feed_holds_upcoming_live_and_cancelled_upcoming,
            a_users_feed_holds_the_sessions_the_user_joined,
            a_users_feed_holds_the_sessions_of_their_rosters,
        );
    };
    (@cases $attrs:tt $setup:expr; $($case:ident),* $(,)?) => {
        $(
            $crate::calendar_feed_tests!(@one $attrs $setup; $case);
        )*
    };
    (@one [$($attr:tt)*] $setup:expr; $case:ident) => {
        #[test]
        $($attr)*
        fn $case() {
            $crate::testing::run_calendar_case(
                || ($setup)(),
                $crate::testing::cases::$case,
            );
        }
    };
}
