//! Calendar feeds: the sessions a calendar application subscribes to.
//!
//! Two feeds exist, both rendered as iCalendar by the HTTP adapter:
//!
//! - the public feed, every session a calendar should show ([`CalendarQuery::public`]);
//! - a user's own feed, the sessions the user has joined (joins while a session is
//!   scheduled included) or is on the roster of (added by an admin or registered), at a URL
//!   that carries a [`FeedToken`], because calendar applications cannot send bearer tokens.
//!
//! What a feed holds at `now` ([`CalendarQuery::includes`]): live sessions; scheduled sessions
//! whose start is at most [`STALE_AFTER`] past (a late start still shows); cancelled sessions
//! whose start is still ahead, so that subscribed calendars see the cancellation. Ordered by
//! start time (then id), at most [`CalendarQuery::limit`] ([`CALENDAR_LIMIT`] by default).
//!
//! A feed token is 32 bytes from a CSPRNG in URL-safe base64. Stores keep only its SHA-256
//! ([`FeedTokenHash`]) and look the user up by it, so a leaked database does not give working
//! feed URLs. A user has at most one token: asking for the feed URL again rotates it, and the
//! old URL stops working at once; revoking removes it.
//!
//! - The port [`CalendarFeedStore`], implemented by every store (the in-memory one included).
//! - The service [`CalendarFeeds`], which checks the caller.
//! - The conformance cases every store runs (in `testing::cases`, generated with
//!   `calendar_feed_tests!`; feature `testing`).

mod feeds;
#[cfg(feature = "memory")]
mod memory;
mod port;
mod query;
mod token;

pub use feeds::CalendarFeeds;
#[cfg(feature = "memory")]
pub(crate) use memory::FeedTokens;
pub use port::CalendarFeedStore;
pub use query::{CalendarQuery, CALENDAR_LIMIT, STALE_AFTER};
pub use token::{FeedToken, FeedTokenHash};
