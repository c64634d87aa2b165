//! The conformance cases, one public async function per rule group.
//!
//! Each takes the store under test (fresh and empty) and panics with a message naming the rule
//! it found broken. [`conformance_tests!`](crate::conformance_tests) runs them all; a store
//! author may also call one directly while working on it. Expected numbers are worked out by
//! hand in each case from the domain rules; the presence timeout T is the default 90 seconds.

mod analytics;
mod attendance;
mod calendar;
mod capacity;
mod concurrency;
mod events;
mod lifecycle;
mod lists;
mod races;
mod roster;
mod schedule;
mod series;
mod sessions;

pub use analytics::*;
pub use attendance::*;
pub use calendar::*;
pub use capacity::*;
pub use concurrency::*;
pub use events::*;
pub use lifecycle::*;
pub use lists::*;
pub use races::*;
pub use roster::*;
pub use schedule::*;
pub use series::*;
pub use sessions::*;
