//! The descriptive fields of a session and partial updates of them.

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::values::{Description, Instructor, StartTime, Thumbnail, TimeZone, Title, VideoUrl};

/// The descriptive fields of a session, validated: what an admin writes when creating or
/// editing it. [`LiveSession`](super::LiveSession) embeds them; a new field is declared here
/// once (see docs/ARCHITECTURE.md, "Adding a field").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionFields {
    /// Title.
    pub title: Title,
    /// Description.
    pub description: Description,
    /// Instructor.
    pub instructor: Instructor,
    /// Video URL.
    pub video_url: VideoUrl,
    /// Thumbnail.
    pub thumbnail: Option<Thumbnail>,
    /// Scheduled start.
    pub start_time: DateTime<Utc>,
    /// Display zone.
    pub timezone: Option<TimeZone>,
}

/// A validated partial update: `None` leaves a field unchanged; for the optional fields,
/// `Some(None)` clears them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionPatch {
    /// New title.
    pub title: Option<Title>,
    /// New description.
    pub description: Option<Description>,
    /// New instructor.
    pub instructor: Option<Instructor>,
    /// New video URL.
    pub video_url: Option<VideoUrl>,
    /// New thumbnail, or `Some(None)` to remove it.
    pub thumbnail: Option<Option<Thumbnail>>,
    /// New start time, as given: a local time is read in the session's zone when the patch is
    /// applied ([`SessionFields::apply`]).
    pub start_time: Option<StartTime>,
    /// New zone, or `Some(None)` to remove it.
    pub timezone: Option<Option<TimeZone>>,
}

impl SessionPatch {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == SessionPatch::default()
    }
}

impl SessionFields {
    /// Applies a validated partial update. A new start time without an offset is read in the
    /// zone the fields have after the update, else in `default_zone`; if that zone skips it (a
    /// daylight-saving gap) nothing changes and the error names `startTime`.
    pub fn apply(&mut self, patch: SessionPatch, default_zone: TimeZone) -> Result<()> {
        let zone = match patch.timezone {
            Some(zone) => zone,
            None => self.timezone,
        }
        .unwrap_or(default_zone);
        let start_time = patch
            .start_time
            .map(|start| start.resolve(zone, "startTime"))
            .transpose()?;
        let SessionPatch {
            title,
            description,
            instructor,
            video_url,
            thumbnail,
            start_time: _,
            timezone,
        } = patch;
        set(&mut self.title, title);
        set(&mut self.description, description);
        set(&mut self.instructor, instructor);
        set(&mut self.video_url, video_url);
        set(&mut self.thumbnail, thumbnail);
        set(&mut self.start_time, start_time);
        set(&mut self.timezone, timezone);
        Ok(())
    }
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}
