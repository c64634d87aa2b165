//! Rosters: who is expected at a session, and whether they came.
//!
//! - A roster member ([`RosterMember`]) is added by an admin, one by one or many at once
//!   ([`MemberInput::validate_all`]: all or nothing, at most [`MAX_ROSTER_ROWS`], errors naming
//!   `rows[N].field`), or adds themself where the session's `registration` is `open`.
//! - A `restricted` session admits only its roster members and admins: anyone else's join is
//!   [`Error::NotOnRoster`](crate::Error::NotOnRoster), checked inside the store's atomic join.
//! - Every member and every walk-in (a participant not on the roster) has an
//!   [`AttendanceStatus`], computed when asked by [`StatusRule::status`] from the participant
//!   record (its `first_present_at` and watch time), the session's live time, its
//!   `attendanceThreshold` and its `lateAfterMinutes`. Nothing of it is stored.
//! - The port [`RosterStore`], implemented by every store; the roster view
//!   ([`RosterQuery`]/[`RosterPage`]) is filtered, sorted, paged and counted in the database.
//!
//! ```
//! # #[cfg(feature = "memory")]
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use livesessions_core::roster::{MemberInput, RosterView};
//! use livesessions_core::{Actor, LiveSessions, MemoryStore, NewSession, UserId};
//!
//! let service = LiveSessions::builder(Arc::new(MemoryStore::new())).build();
//! let admin = Actor::admin(UserId::parse("admin")?);
//! let new = NewSession::new("Rust", "Ferris", "https://youtu.be/abc", "2030-01-15T10:00:00Z");
//! let session = service.create(Some(&admin), new, None).await?;
//! let rows = vec![MemberInput {
//!     user_id: Some("u1".into()),
//!     user_name: Some("Ada".into()),
//!     email: Some("ada@example.com".into()),
//! }];
//! service.add_to_roster(Some(&admin), session.id, &rows).await?;
//! let page = service.roster(Some(&admin), session.id, RosterView::default()).await?;
//! assert_eq!(page.counts.absent, 1);
//! # Ok::<(), livesessions_core::Error>(())
//! # }).unwrap();
//! ```

mod member;
#[cfg(feature = "memory")]
mod memory;
mod port;
mod query;
mod status;

pub use member::{MemberInput, RosterMember, MAX_ROSTER_ROWS};
pub use port::RosterStore;
pub use query::{RosterPage, RosterQuery, RosterRow, RosterSort, RosterView};
pub use status::{AttendanceStatus, StatusCounts, StatusRule};
