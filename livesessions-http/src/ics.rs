//! The calendar feeds as iCalendar (RFC 5545), written with the `icalendar` crate (which
//! escapes text values and folds long lines), like CSV lives in [`crate::csv`].
//!
//! Sessions are first grouped into [`Entry`] values ([`entries`]), each rendered as one
//! `VEVENT`. A session on its own is an [`Entry::Single`]:
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
//! The occurrences of a series in a feed become one [`Entry::Series`]: one recurring `VEVENT`
//! ([`SeriesEvent`]) with
//!
//! - `UID` `<series id>@livesessions` (series and session ids never collide);
//! - `DTSTART;TZID=<zone>` the first occurrence in the feed, in the series' local time, so the
//!   rule repeats at the same wall-clock time across daylight-saving changes. `TZID` names the
//!   IANA zone (`Europe/Berlin`), which Google, Apple and Outlook calendars resolve
//!   themselves; RFC 5545 (§3.2.19) also asks for a `VTIMEZONE` per `TZID`, which the
//!   `icalendar` crate cannot write, so none is included;
//! - `RRULE` the series' rule re-anchored there: its `COUNT` or `UNTIL` replaced by an
//!   `UNTIL` (UTC) at the last occurrence in the feed, so the rule stays right when earlier
//!   occurrences have left the feed;
//! - `EXDATE;TZID=<zone>` every instant of that rule not held by an unchanged occurrence:
//!   cancelled occurrences, and those moved, edited or deleted;
//! - `DURATION` the first occurrence's length; `SEQUENCE` the highest version among the
//!   series' occurrences in the feed; `DTSTAMP`/`LAST-MODIFIED` the latest change, `CREATED`
//!   the earliest; title, description and link those of the first occurrence.
//!
//! An occurrence that differs from the others (another time, title, description, instructor
//! or length, a "this one" edit) stays its own event with its own session `UID`. The rule
//! written is checked by expanding the written `DTSTART`, `RRULE` and `EXDATE` again with the
//! `rrule` crate: the instants must be exactly the starts of the occurrences it stands for.
//! When they are not (or the rule cannot be re-anchored), every occurrence of that series is
//! its own event, as a session on its own: a feed never holds a wrong rule.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use icalendar::{Calendar, Component, Event, EventLike, EventStatus, Property};
use livesessions_core::{LiveSession, SeriesId, SessionId, SessionStatus, TimeZone};

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
#[derive(Debug, Clone)]
pub(crate) enum Entry<'a> {
    /// One session: one `VEVENT`.
    Single(&'a LiveSession),
    /// Occurrences of one series: one recurring `VEVENT`.
    Series(SeriesEvent<'a>),
}

/// The recurring event of a series' occurrences, checked against them.
#[derive(Debug, Clone)]
pub(crate) struct SeriesEvent<'a> {
    /// The series.
    id: SeriesId,
    /// The zone the rule repeats in.
    zone: TimeZone,
    /// The first occurrence the event stands for: title, description, link and length.
    first: &'a LiveSession,
    /// The rule, re-anchored at `first` and ending at the last occurrence.
    rule: String,
    /// The rule's instants that no occurrence holds.
    excluded: Vec<DateTime<Utc>>,
    /// The occurrences the event stands for (starts on the rule, unchanged, not cancelled).
    members: Vec<&'a LiveSession>,
    /// Every occurrence of the series in the feed (for `SEQUENCE` and the time stamps).
    occurrences: Vec<&'a LiveSession>,
}

/// Groups the sessions of a feed into entries, in the sessions' order: the occurrences of a
/// series that one recurring event can stand for become an [`Entry::Series`] where the
/// series' first occurrence was; the others stay [`Entry::Single`]. `default_zone` is the zone
/// of occurrences that name none.
pub(crate) fn entries(sessions: &[LiveSession], default_zone: TimeZone) -> Vec<Entry<'_>> {
    let mut groups: HashMap<SeriesId, Vec<&LiveSession>> = HashMap::new();
    for session in sessions {
        if let Some(link) = &session.series {
            groups.entry(link.id).or_default().push(session);
        }
    }
    let mut series: HashMap<SeriesId, SeriesEvent<'_>> = HashMap::new();
    let mut covered: HashSet<SessionId> = HashSet::new();
    for (id, group) in groups {
        if let Some(event) = SeriesEvent::plan(id, group, default_zone) {
            covered.extend(event.covered());
            series.insert(id, event);
        }
    }
    let mut out = Vec::with_capacity(sessions.len());
    for session in sessions {
        if let Some(event) = session.series.as_ref().and_then(|l| series.remove(&l.id)) {
            out.push(Entry::Series(event));
        }
        if !covered.contains(&session.id) {
            out.push(Entry::Single(session));
        }
    }
    out
}

/// What makes occurrences look alike in a calendar: title, description, instructor, length
/// and zone (the start is the rule's).
#[derive(Debug, PartialEq, Eq)]
struct Look<'a> {
    title: &'a str,
    description: &'a str,
    instructor: &'a str,
    length: TimeDelta,
    zone: TimeZone,
}

impl<'a> Look<'a> {
    fn of(session: &'a LiveSession, default_zone: TimeZone) -> Self {
        let fields = &session.fields;
        Look {
            title: fields.title.as_str(),
            description: fields.description.as_str(),
            instructor: fields.instructor.as_str(),
            length: end_of(fields.start_time, fields.end_time) - fields.start_time,
            zone: fields.timezone.unwrap_or(default_zone),
        }
    }
}

/// The most instants a series' rule is expanded to in a feed.
const MAX_INSTANTS: u16 = 1000;

/// The most occurrences of a series tried as the start of its rule.
const MAX_ANCHORS: usize = 20;

impl<'a> SeriesEvent<'a> {
    /// The recurring event standing for the most alike occurrences of `group` (one series),
    /// or `None` when no rule written for them expands to exactly their starts.
    fn plan(id: SeriesId, mut group: Vec<&'a LiveSession>, default_zone: TimeZone) -> Option<Self> {
        group.sort_by_key(|s| (s.fields.start_time, s.id));
        let recurrence = group.first()?.series.as_ref()?.recurrence.clone();
        // The look most not-cancelled occurrences share (the earliest on a tie).
        let open: Vec<&LiveSession> = group
            .iter()
            .copied()
            .filter(|s| s.status != SessionStatus::Cancelled)
            .collect();
        let mut best: Option<(Look<'_>, usize)> = None;
        for session in &open {
            let look = Look::of(session, default_zone);
            let count = open
                .iter()
                .filter(|s| Look::of(s, default_zone) == look)
                .count();
            if best.as_ref().is_none_or(|(_, most)| count > *most) {
                best = Some((look, count));
            }
        }
        let (look, _) = best?;
        let alike: Vec<&LiveSession> = open
            .iter()
            .copied()
            .filter(|s| Look::of(s, default_zone) == look)
            .collect();
        let last = alike.last()?.fields.start_time;
        let rule = reanchored(recurrence.as_str(), last)?;
        let zone = look.zone;
        let plan = |anchor: DateTime<Utc>| Self::build(id, zone, &rule, anchor, &alike, &group);
        // Anchored at the first occurrence of the feed when that stands for the most alike
        // ones (a cancelled or changed occurrence on the rule is then its first EXDATE),
        // else at the earliest that does: a first occurrence moved to another time would
        // anchor the rule at the wrong time of day.
        let mut best: Option<Self> = None;
        for candidate in group.iter().take(MAX_ANCHORS) {
            let Some(event) = plan(candidate.fields.start_time) else {
                continue;
            };
            if best
                .as_ref()
                .is_none_or(|b| event.members.len() > b.members.len())
            {
                let complete = event.members.len() == alike.len();
                best = Some(event);
                if complete {
                    break;
                }
            }
        }
        best
    }

    /// The event of `rule` from `anchor`: the `alike` occurrences on its instants are its
    /// members, the other instants excluded; `None` unless the written event expands to
    /// exactly the members' starts.
    fn build(
        id: SeriesId,
        zone: TimeZone,
        rule: &str,
        anchor: DateTime<Utc>,
        alike: &[&'a LiveSession],
        group: &[&'a LiveSession],
    ) -> Option<Self> {
        let instants = expand(&format!("{}\nRRULE:{rule}", dtstart(zone, anchor)))?;
        if instants.first() != Some(&anchor) {
            return None;
        }
        let mut used: HashSet<SessionId> = HashSet::new();
        let mut members = Vec::new();
        let mut excluded = Vec::new();
        for instant in &instants {
            match alike
                .iter()
                .find(|s| s.fields.start_time == *instant && !used.contains(&s.id))
            {
                Some(member) => {
                    used.insert(member.id);
                    members.push(*member);
                }
                None => excluded.push(*instant),
            }
        }
        let first = *members.first()?;
        let event = SeriesEvent {
            id,
            zone,
            first,
            rule: rule.to_owned(),
            excluded,
            members,
            occurrences: group.to_vec(),
        };
        // The check: what is written expands to the members' starts, no more, no less.
        let written = expand(&event.rule_set(anchor))?;
        let starts: Vec<DateTime<Utc>> =
            event.members.iter().map(|s| s.fields.start_time).collect();
        (written == starts && event.start() == anchor).then_some(event)
    }

    /// The sessions the event stands for, which get no event of their own: its members and
    /// the cancelled occurrences on its excluded instants (one each).
    fn covered(&self) -> Vec<SessionId> {
        let mut out: Vec<SessionId> = self.members.iter().map(|s| s.id).collect();
        let mut excluded = self.excluded.clone();
        for session in &self.occurrences {
            if session.status == SessionStatus::Cancelled {
                if let Some(i) = excluded
                    .iter()
                    .position(|t| *t == session.fields.start_time)
                {
                    excluded.swap_remove(i);
                    out.push(session.id);
                }
            }
        }
        out
    }

    /// The first instant: the first member, or the excluded instant before it.
    fn start(&self) -> DateTime<Utc> {
        let first = self.first.fields.start_time;
        self.excluded.first().map_or(first, |t| (*t).min(first))
    }

    /// `DTSTART`, `RRULE` and `EXDATE` as the `rrule` crate reads them.
    fn rule_set(&self, anchor: DateTime<Utc>) -> String {
        let mut text = format!("{}\nRRULE:{}", dtstart(self.zone, anchor), self.rule);
        if !self.excluded.is_empty() {
            text.push_str(&format!(
                "\nEXDATE;TZID={}:{}",
                self.zone.name(),
                self.exdates()
            ));
        }
        text
    }

    /// The excluded instants in the series' local time, comma separated.
    fn exdates(&self) -> String {
        self.excluded
            .iter()
            .map(|t| local(self.zone, *t))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The recurring `VEVENT`.
    fn event(&self, links: &Links) -> Event {
        let mut event = event(self.first, links);
        let tzid = self.zone.name();
        let updated = self
            .occurrences
            .iter()
            .map(|s| s.updated_at)
            .max()
            .unwrap_or(self.first.updated_at);
        let created = self
            .occurrences
            .iter()
            .map(|s| s.created_at)
            .min()
            .unwrap_or(self.first.created_at);
        let sequence = self
            .occurrences
            .iter()
            .map(|s| s.version)
            .max()
            .unwrap_or(1);
        let length = end_of(self.first.fields.start_time, self.first.fields.end_time)
            - self.first.fields.start_time;
        event
            .uid(&format!("{}@livesessions", self.id))
            .timestamp(updated)
            .last_modified(updated)
            .created(created)
            .remove_property("DTEND")
            .append_property(
                Property::new("DTSTART", local(self.zone, self.start()))
                    .add_parameter("TZID", tzid)
                    .done(),
            )
            .append_property(Property::new(
                "DURATION",
                format!("PT{}S", length.num_seconds()),
            ))
            .append_property(Property::new("RRULE", &self.rule))
            .sequence(u32::try_from(sequence).unwrap_or(u32::MAX))
            .status(EventStatus::Confirmed);
        if !self.excluded.is_empty() {
            event.append_property(
                Property::new("EXDATE", self.exdates())
                    .add_parameter("TZID", tzid)
                    .done(),
            );
        }
        event.done()
    }
}

/// `rule` (a series' rule in its canonical form) ending at `last`: `COUNT` and `UNTIL`
/// replaced by `UNTIL=<last in UTC>`.
fn reanchored(rule: &str, last: DateTime<Utc>) -> Option<String> {
    let mut parts: Vec<String> = rule
        .split(';')
        .filter(|p| !p.is_empty() && !p.starts_with("COUNT=") && !p.starts_with("UNTIL="))
        .map(str::to_owned)
        .collect();
    if !parts.iter().any(|p| p.starts_with("FREQ=")) {
        return None;
    }
    parts.push(format!("UNTIL={}", last.format("%Y%m%dT%H%M%SZ")));
    Some(parts.join(";"))
}

/// `DTSTART;TZID=<zone>:<local time>` of `at`.
fn dtstart(zone: TimeZone, at: DateTime<Utc>) -> String {
    format!("DTSTART;TZID={}:{}", zone.name(), local(zone, at))
}

/// `at` as a local date-time in `zone` (`YYYYMMDDTHHMMSS`).
fn local(zone: TimeZone, at: DateTime<Utc>) -> String {
    at.with_timezone(&zone.tz())
        .naive_local()
        .format("%Y%m%dT%H%M%S")
        .to_string()
}

/// The instants of a recurrence set written as `DTSTART`/`RRULE`/`EXDATE` lines, in order,
/// or `None` when the `rrule` crate does not read it or it has too many.
fn expand(text: &str) -> Option<Vec<DateTime<Utc>>> {
    let set: rrule::RRuleSet = text.parse().ok()?;
    let result = set.all(MAX_INSTANTS);
    if result.limited {
        return None;
    }
    Some(
        result
            .dates
            .into_iter()
            .map(|d| d.with_timezone(&Utc))
            .collect(),
    )
}

/// The calendar named `name` with the events of `entries`.
pub(crate) fn render(name: &str, entries: &[Entry<'_>], links: &Links) -> String {
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
    for entry in entries {
        match entry {
            Entry::Single(session) => {
                calendar.push(event(session, links));
            }
            Entry::Series(series) => {
                calendar.push(series.event(links));
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
    use livesessions_core::{NewSession, Recurrence, SeriesLink, SessionInput};

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
        let text = render("Live sessions", &[Entry::Single(&s)], &links());
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

    /// A series of `rule` from `start` in `zone`, built as the service builds one.
    fn series(rule: &str, start: &str, zone: &str) -> Vec<LiveSession> {
        let first = session("Weekly", "");
        let zone = TimeZone::parse(zone).unwrap();
        let mut first = first;
        first.fields.start_time = start.parse().unwrap();
        first.fields.timezone = Some(zone);
        livesessions_core::series::expand(&first, &Recurrence::parse(rule).unwrap(), zone).unwrap()
    }

    fn kinds(entries: &[Entry<'_>]) -> (usize, usize) {
        let series = entries
            .iter()
            .filter(|e| matches!(e, Entry::Series(_)))
            .count();
        (series, entries.len() - series)
    }

    #[test]
    fn a_series_is_one_recurring_event_in_its_local_time() {
        // Tuesdays at 10:00 in Berlin, across the change to summer time.
        let sessions = series(
            "FREQ=WEEKLY;BYDAY=TU;COUNT=4",
            "2025-03-18T09:00:00Z",
            "Europe/Berlin",
        );
        let entries = entries(&sessions[1..], TimeZone::UTC);
        assert_eq!(kinds(&entries), (1, 0));
        let text = render("Live sessions", &entries, &links());
        let id = sessions[0].series.as_ref().unwrap().id;
        assert!(
            text.contains(&format!("UID:{id}@livesessions\r\n")),
            "{text}"
        );
        // Re-anchored at the first occurrence still present; COUNT became UNTIL at the last.
        assert!(
            text.contains("DTSTART;TZID=Europe/Berlin:20250325T100000\r\n"),
            "{text}"
        );
        assert!(
            text.contains("RRULE:FREQ=WEEKLY;BYDAY=TU;UNTIL=20250408T080000Z\r\n"),
            "{text}"
        );
        assert!(text.contains("DURATION:PT3600S\r\n"), "{text}");
        assert!(!text.contains("EXDATE"), "{text}");
        assert!(!text.contains("DTEND"), "{text}");
    }

    #[test]
    fn occurrences_no_rule_can_stand_for_stay_single_events() {
        // The rule says Mondays, the occurrences are on Tuesdays: no written rule gives their
        // starts, so each is its own event.
        let mut sessions = series(
            "FREQ=WEEKLY;BYDAY=TU;COUNT=3",
            "2025-03-18T09:00:00Z",
            "Europe/Berlin",
        );
        let wrong = SeriesLink {
            recurrence: Recurrence::parse("FREQ=WEEKLY;BYDAY=MO;COUNT=3").unwrap(),
            ..sessions[0].series.clone().unwrap()
        };
        for s in &mut sessions {
            s.series = Some(wrong.clone());
        }
        let entries = entries(&sessions, TimeZone::UTC);
        assert_eq!(kinds(&entries), (0, 3));
        let text = render("Live sessions", &entries, &links());
        assert!(!text.contains("RRULE"), "{text}");
        for s in &sessions {
            assert!(text.contains(&format!("UID:{}@livesessions\r\n", s.id)));
        }
        // A series present by one changed occurrence only is that occurrence's event.
        let mut lone = series("FREQ=DAILY;COUNT=2", "2025-03-18T09:00:00Z", "UTC");
        lone[0].status = SessionStatus::Cancelled;
        lone.truncate(1);
        assert_eq!(kinds(&entries_of(&lone)), (0, 1));
    }

    fn entries_of(sessions: &[LiveSession]) -> Vec<Entry<'_>> {
        entries(sessions, TimeZone::UTC)
    }

    #[test]
    fn a_rule_is_never_written_beyond_what_the_crate_checks() {
        assert_eq!(
            reanchored(
                "FREQ=DAILY;INTERVAL=2;COUNT=5",
                "2025-01-01T10:00:00Z".parse().unwrap()
            )
            .as_deref(),
            Some("FREQ=DAILY;INTERVAL=2;UNTIL=20250101T100000Z")
        );
        assert_eq!(reanchored("COUNT=5", Utc::now()), None);
        assert_eq!(expand("RRULE:NOT A RULE"), None);
    }

    #[test]
    fn the_rule_starts_at_the_feeds_first_occurrence_on_it() {
        let mut sessions = series(
            "FREQ=WEEKLY;BYDAY=TU;COUNT=4",
            "2025-03-18T09:00:00Z",
            "Europe/Berlin",
        );
        // A cancelled first occurrence: the rule still starts there, excluding it.
        sessions[0].status = SessionStatus::Cancelled;
        let text = render("Live sessions", &entries_of(&sessions), &links());
        assert!(
            text.contains("DTSTART;TZID=Europe/Berlin:20250318T100000\r\n"),
            "{text}"
        );
        assert!(
            text.contains("EXDATE;TZID=Europe/Berlin:20250318T100000\r\n"),
            "{text}"
        );
        assert!(
            !text.contains(&format!("UID:{}@", sessions[0].id)),
            "{text}"
        );
        // A first occurrence moved an hour later: its own event, the rule from the second.
        sessions[0].status = SessionStatus::Scheduled;
        sessions[0].fields.start_time += TimeDelta::hours(1);
        let entries = entries_of(&sessions);
        assert_eq!(kinds(&entries), (1, 1));
        let text = render("Live sessions", &entries, &links());
        assert!(
            text.contains("DTSTART;TZID=Europe/Berlin:20250325T100000\r\n"),
            "{text}"
        );
        assert!(!text.contains("EXDATE"), "{text}");
        assert!(text.contains("DTSTART:20250318T100000Z\r\n"), "{text}");
    }
}
