//! The calendar feeds as iCalendar (RFC 5545), written with the `icalendar` crate (which
//! escapes text values and folds long lines), like CSV lives in [`crate::csv`].
//!
//! Every session is one `VEVENT`:
//!
//! - `UID` `<session id>@livesessions`: stable, so a calendar updates the event in place;
//! - `DTSTAMP` and `LAST-MODIFIED` the session's `updatedAt`, `CREATED` its `createdAt`;
//! - `DTSTART` the start, `DTEND` the end time or, without one, the start plus one hour, both
//!   in UTC;
//! - `SUMMARY` the title; `DESCRIPTION` the description, the instructor and the link to the
//!   session's page, which is also the `URL`;
//! - `SEQUENCE` the session's version, which grows with every change (a rescheduled session
//!   moves in the subscribers' calendars);
//! - `STATUS:CANCELLED` for a cancelled session, `CONFIRMED` otherwise.
//!
//! Sessions are first grouped into [`Entry`] values, each rendered as its events: today
//! every session is an [`Entry::Single`]. A series of sessions can become one entry that
//! renders as a single `VEVENT` with `RRULE` and an `EXDATE` per cancelled occurrence, without
//! changing the rest.

use chrono::{DateTime, TimeDelta, Utc};
use icalendar::{Calendar, Component, Event, EventLike, EventStatus, Property};
use livesessions_core::{LiveSession, SessionStatus};

/// The content type of the feeds.
pub(crate) const TEXT_CALENDAR: &str = "text/calendar; charset=utf-8";

/// How long an event lasts when its session has no end time.
pub(crate) const DEFAULT_LENGTH: TimeDelta = TimeDelta::hours(1);

/// How often subscribed calendars are asked to refresh (`REFRESH-INTERVAL`,
/// `X-PUBLISHED-TTL`); the feeds' `Cache-Control` max-age matches it.
pub(crate) const REFRESH: TimeDelta = TimeDelta::minutes(15);

/// Where the links in a feed point: the server's origin (`https://host[:port]`) and the path
/// prefix the router is mounted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Links {
    /// `scheme://host[:port]`, no trailing slash.
    pub origin: String,
    /// The router's path prefix, no trailing slash (may be empty).
    pub prefix: String,
}

impl Links {
    /// The page of a session: the web page's watch view.
    pub(crate) fn session_page(&self, session: &LiveSession) -> String {
        format!(
            "{}{}/live-sessions#/watch/{}",
            self.origin, self.prefix, session.id
        )
    }

    /// The link of a path of the API.
    pub(crate) fn api(&self, path: &str) -> String {
        format!("{}{}{}", self.origin, self.prefix, path)
    }
}

/// What one part of a feed renders from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Entry<'a> {
    /// One session: one `VEVENT`.
    Single(&'a LiveSession),
}

/// Groups the sessions of a feed into entries, in the sessions' order.
pub(crate) fn entries(sessions: &[LiveSession]) -> Vec<Entry<'_>> {
    sessions.iter().map(Entry::Single).collect()
}

/// The calendar named `name` with the events of `sessions`.
pub(crate) fn render(name: &str, sessions: &[LiveSession], links: &Links) -> String {
    let mut calendar = Calendar::empty();
    calendar
        .append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new(
            "PRODID",
            "-//livesessions//calendar feed//EN",
        ))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .append_property(Property::new("METHOD", "PUBLISH"))
        .name(&clean(name))
        .ttl(&REFRESH);
    for entry in entries(sessions) {
        match entry {
            Entry::Single(session) => {
                calendar.push(event(session, links));
            }
        }
    }
    calendar.done().to_string()
}

/// The `VEVENT` of one session.
fn event(session: &LiveSession, links: &Links) -> Event {
    let fields = &session.fields;
    let start = fields.start_time;
    let end = end_of(start, fields.end_time);
    let page = links.session_page(session);
    let mut description = String::new();
    let text = fields.description.as_str().trim();
    if !text.is_empty() {
        description.push_str(text);
        description.push_str("\n\n");
    }
    description.push_str(&format!("Instructor: {}\n", fields.instructor.as_str()));
    description.push_str(&format!("Join: {page}"));
    Event::new()
        .uid(&format!("{}@livesessions", session.id))
        .timestamp(session.updated_at)
        .last_modified(session.updated_at)
        .created(session.created_at)
        .starts(start)
        .ends(end)
        .summary(&clean(fields.title.as_str()))
        .description(&clean(&description))
        .url(&page)
        .sequence(u32::try_from(session.version).unwrap_or(u32::MAX))
        .status(match session.status {
            SessionStatus::Cancelled => EventStatus::Cancelled,
            _ => EventStatus::Confirmed,
        })
        .done()
}

/// The end of an event starting at `start`: `end_time`, or [`DEFAULT_LENGTH`] later.
pub(crate) fn end_of(start: DateTime<Utc>, end_time: Option<DateTime<Utc>>) -> DateTime<Utc> {
    end_time.unwrap_or(start + DEFAULT_LENGTH)
}

/// Text as iCalendar can carry it: line breaks as `\n` (which the writer escapes), no other
/// control characters (a carriage return would end the content line).
fn clean(text: &str) -> String {
    text.replace("\r\n", "\n")
        .chars()
        .map(|c| if c == '\r' { '\n' } else { c })
        .filter(|c| *c == '\n' || !c.is_control())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use livesessions_core::{NewSession, SessionInput};

    fn session(title: &str, description: &str) -> LiveSession {
        let new = NewSession {
            fields: SessionInput {
                title: Some(title.into()),
                description: Some(description.into()),
                instructor: Some("Sarah Khan".into()),
                video_url: Some("https://youtu.be/dQw4w9WgXcQ".into()),
                start_time: Some("2030-01-15T10:00:00Z".into()),
                ..Default::default()
            },
            is_live: false,
        };
        let fields = new.validate().unwrap();
        LiveSession::new(fields, "2030-01-01T00:00:00Z".parse().unwrap())
    }

    fn links() -> Links {
        Links {
            origin: "https://school.example".into(),
            prefix: String::new(),
        }
    }

    #[test]
    fn text_is_escaped_and_lines_are_crlf() {
        let s = session(
            "Maths, part 1; algebra",
            "Line one\r\nLine two, with; marks",
        );
        let text = render("Live sessions", std::slice::from_ref(&s), &links());
        assert!(
            text.contains("SUMMARY:Maths\\, part 1\\; algebra\r\n"),
            "{text}"
        );
        assert!(
            text.contains("Line one\\nLine two\\, with\\; marks"),
            "{text}"
        );
        assert!(!text.replace("\r\n", "").contains('\r'));
        assert!(text.contains(&format!("UID:{}@livesessions\r\n", s.id)));
        assert!(text.contains("DTSTART:20300115T100000Z\r\n"));
        assert!(text.contains("DTEND:20300115T110000Z\r\n"));
        assert!(text.contains("STATUS:CONFIRMED\r\n"));
        assert!(text.contains("SEQUENCE:1\r\n"));
        assert!(text.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
    }

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(clean("a\u{7}b\rc\r\nd\te"), "ab\nc\nde");
    }
}
