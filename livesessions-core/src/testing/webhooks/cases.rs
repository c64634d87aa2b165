//! The webhook conformance cases, one public async function per rule.
//!
//! Each takes a fresh, empty [`WebhookStore`](crate::webhooks::WebhookStore) and panics with
//! a message naming the rule it found broken. Times are fixed (2030); events are written by
//! hand, so no event log is needed.

mod claims;
mod deliveries;
mod endpoints;
mod support;

pub use claims::*;
pub use deliveries::*;
pub use endpoints::*;
