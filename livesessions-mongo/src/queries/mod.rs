//! Every filter, update, sort, pipeline and index the store sends, built by pure functions.
//!
//! The store's methods only send what these functions build; what they do is checked against
//! a server by the conformance suite and `tests/mongo_specific.rs`. Pipelines compute with the
//! exact times of the `micros` sub-document (microseconds since the epoch, see
//! [`documents`](crate::documents)) and then set the BSON dates from them; T is in
//! microseconds too. The watch-time rules are aggregation expressions that mirror
//! [`Participant`](livesessions_core::Participant)'s methods:
//!
//! - `credit(c)`: `watchSeconds += max(0, trunc((min(c, lastSeen + T) − presentSince) / 1 s))`,
//!   `presentSince = null`;
//! - the presence rule at t (`touch`): a t older than `lastSeen` or `leftAt` changes nothing;
//!   while live and from the current live period's start on, not present → `presentSince = t`;
//!   present and `t − lastSeen > T` → credit at `lastSeen + T` and `presentSince = t`;
//!   `lastSeen = t`; the first interval ever opened sets `firstPresentAt`;
//! - `leave(t)`: `credit(t)`, `leftAt = max(leftAt, t)`;
//! - `watchDuration = floor(watchSeconds / 60)` after every change of `watchSeconds`.
//!
//! Every participant change is one pipeline update of one document, hence atomic.

mod analytics;
mod calendar;
mod counts;
mod events;
mod expressions;
mod indexes;
mod participants;
mod roster;
mod search;
mod seats;
mod series;
mod sessions;
mod thumbnails;
mod webhooks;

pub(crate) use analytics::*;
pub(crate) use calendar::*;
pub(crate) use counts::*;
pub(crate) use events::*;
pub(crate) use indexes::*;
pub(crate) use participants::*;
pub(crate) use roster::*;
pub(crate) use search::*;
pub(crate) use seats::*;
pub(crate) use series::*;
pub(crate) use sessions::*;
pub(crate) use thumbnails::*;
pub(crate) use webhooks::*;
