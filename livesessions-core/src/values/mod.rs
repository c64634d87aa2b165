//! Validating value objects: each constructor checks its rule and names the field it refuses.
//!
//! Every constructor checks its input and reports a [`FieldError`](crate::FieldError) naming the
//! field, so a request can report all its invalid fields at once. Values read back from a store
//! go through the same constructors.
//!
//! - texts: [`Title`], [`Instructor`], [`Description`], [`UserName`], [`Email`];
//! - links: [`VideoUrl`] (with its [`VideoProvider`]) and [`ThumbnailUrl`];
//! - uploaded images: [`Thumbnail`], [`ThumbnailKey`], [`ImageKind`];
//! - times: [`parse_instant`], [`parse_start_time`], [`StartTime`], [`TimeZone`];
//! - repeat rules: [`Recurrence`];
//! - lengths of time: [`EmptyMinutes`];
//! - seats: [`Capacity`];
//! - attendance rules: [`AttendanceThreshold`], [`LateMinutes`], [`Registration`].

mod attendance_rules;
mod capacity;
mod empty_minutes;
mod recurrence;
mod text;
mod thumbnail;
mod time;
mod url;

pub use attendance_rules::{AttendanceThreshold, LateMinutes, Registration};
pub use capacity::{Capacity, Seat};
pub use empty_minutes::EmptyMinutes;
pub use recurrence::Recurrence;
pub use text::{Description, Email, Instructor, Title, UserName};
pub use thumbnail::{ImageKind, Thumbnail, ThumbnailKey};
pub use time::{parse_instant, parse_start_time, StartTime, TimeZone};
pub use url::{ThumbnailUrl, VideoProvider, VideoUrl};
