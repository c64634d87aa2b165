//! CSV exports: a session's attendance (every participant and every absent roster member,
//! with their attendance status), its roster, and a series' summary.
//!
//! RFC 4180: a header row, CRLF line ends, fields containing `,`, `"`, CR or LF quoted with
//! inner quotes doubled. The body is UTF-8 and starts with a byte order mark so that
//! spreadsheet programs read names in any script correctly. Cells starting with `=`, `+`, `-`,
//! `@`, tab or CR are prefixed with `'` so that spreadsheet programs do not run them as
//! formulas (names and emails come from users).
//!
//! Times are RFC 3339 in the session's zone with its offset, in whole seconds; `leftAt` is
//! empty when the participant joined again after leaving, and every time is empty for a roster
//! member who never joined. The download is named after the session's title and start date
//! (see [`content_disposition`]).

use chrono::{DateTime, SecondsFormat, Utc};
use livesessions_core::roster::RosterRow;
use livesessions_core::TimeZone;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// The byte order mark the body starts with.
pub(crate) const BOM: char = '\u{feff}';

/// The header row's columns of the attendance export.
pub(crate) const COLUMNS: [&str; 14] = [
    "userId",
    "userName",
    "email",
    "joinTime",
    "lastJoinTime",
    "lastSeen",
    "leftAt",
    "watchSeconds",
    "watchDuration",
    "joinCount",
    "present",
    "watchTime",
    "status",
    "late",
];

/// The header row's columns of the roster export: its first three are the columns a roster
/// upload reads, so the file can be uploaded again.
pub(crate) const ROSTER_COLUMNS: [&str; 11] = [
    "userId",
    "userName",
    "email",
    "status",
    "late",
    "onRoster",
    "registered",
    "joinTime",
    "watchSeconds",
    "watchTime",
    "joinCount",
];

/// Appends one cell, quoted and neutralised as needed.
fn push_cell(out: &mut String, value: &str) {
    let neutralised;
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        neutralised = format!("'{value}");
        neutralised.as_str()
    } else {
        value
    };
    if value.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn push_row<'a>(out: &mut String, cells: impl IntoIterator<Item = &'a str>) {
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_cell(out, cell);
    }
    out.push_str("\r\n");
}

/// The byte order mark and the header row of the attendance export.
pub(crate) fn header() -> String {
    let mut out = String::from(BOM);
    push_row(&mut out, COLUMNS);
    out
}

/// The byte order mark and the header row of the roster export.
pub(crate) fn roster_header() -> String {
    let mut out = String::from(BOM);
    push_row(&mut out, ROSTER_COLUMNS);
    out
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}

/// A time in `zone`: RFC 3339 with the zone's offset, in whole seconds.
fn time(t: DateTime<Utc>, zone: TimeZone) -> String {
    t.with_timezone(&zone.tz())
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// Seconds as `h:mm:ss` (hours unbounded).
fn clock_time(seconds: i64) -> String {
    let s = seconds.max(0);
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Appends a row of the attendance export, times in `zone`: a participant, or a roster
/// member who never joined (empty times, no watch time, `absent`).
pub(crate) fn push_attendance(out: &mut String, row: &RosterRow, zone: TimeZone) {
    let seconds = row.watch_seconds_now;
    let mut cells: [String; 5] = Default::default();
    let mut join_count = 0;
    let mut present = false;
    if let Some(p) = &row.participant {
        // A leave before the last join is stale: the participant came back afterwards.
        let left_at = p
            .left_at
            .filter(|left| *left >= p.last_joined_at)
            .map(|left| time(left, zone))
            .unwrap_or_default();
        cells = [
            time(p.first_joined_at, zone),
            time(p.last_joined_at, zone),
            time(p.last_seen, zone),
            left_at,
            String::new(),
        ];
        join_count = p.join_count;
        present = p.is_present();
    }
    let (watch, minutes, joins, clock) = (
        seconds.to_string(),
        (seconds / 60).to_string(),
        join_count.to_string(),
        clock_time(seconds),
    );
    push_row(
        out,
        [
            row.user_id.as_str(),
            row.user_name.as_str(),
            row.email.as_str(),
            cells[0].as_str(),
            cells[1].as_str(),
            cells[2].as_str(),
            cells[3].as_str(),
            watch.as_str(),
            minutes.as_str(),
            joins.as_str(),
            yes_no(present),
            clock.as_str(),
            row.status.as_str(),
            yes_no(row.late),
        ],
    );
}

/// Appends a row of the roster export, times in `zone`.
pub(crate) fn push_roster_row(out: &mut String, row: &RosterRow, zone: TimeZone) {
    let seconds = row.watch_seconds_now;
    let join_time = row
        .first_joined_at()
        .map(|t| time(t, zone))
        .unwrap_or_default();
    let (watch, clock) = (seconds.to_string(), clock_time(seconds));
    let joins = row
        .participant
        .as_ref()
        .map_or(0, |p| p.join_count)
        .to_string();
    push_row(
        out,
        [
            row.user_id.as_str(),
            row.user_name.as_str(),
            row.email.as_str(),
            row.status.as_str(),
            yes_no(row.late),
            yes_no(row.member.is_some()),
            yes_no(row.member.as_ref().is_some_and(|m| m.registered)),
            join_time.as_str(),
            watch.as_str(),
            clock.as_str(),
            joins.as_str(),
        ],
    );
}

/// Longest slug of a title in a file name, in characters.
const SLUG_MAX: usize = 60;

/// The title's words, lower-cased and joined by `-`: a word is a run of characters that
/// `keep` accepts. At most [`SLUG_MAX`] characters; `session` when nothing is left.
fn slug(title: &str, keep: fn(char) -> bool) -> String {
    let mut out = String::new();
    let mut len = 0;
    for word in title.split(|c: char| !keep(c)).filter(|w| !w.is_empty()) {
        let word: String = word.chars().flat_map(char::to_lowercase).collect();
        let sep = usize::from(len > 0);
        let chars = word.chars().count();
        if len + sep + chars > SLUG_MAX {
            if len == 0 {
                out.extend(word.chars().take(SLUG_MAX));
            }
            break;
        }
        if sep == 1 {
            out.push('-');
        }
        out.push_str(&word);
        len += sep + chars;
    }
    if out.is_empty() {
        out.push_str("session");
    }
    out
}

/// Characters of RFC 8187 `attr-char` left as they are in `filename*`.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// The download's `Content-Disposition`: `<kind>-<title>-<date>.csv` (`kind` is `attendance`
/// or `roster`) with the date the session starts in `zone`. `filename` has the title's ASCII
/// letters and digits, `filename*` (RFC 6266) its letters and digits in any script, each as a
/// lower-case slug.
pub(crate) fn content_disposition(
    kind: &str,
    title: &str,
    start: DateTime<Utc>,
    zone: TimeZone,
) -> String {
    let date = start.with_timezone(&zone.tz()).format("%Y-%m-%d");
    let ascii = slug(title, |c| c.is_ascii_alphanumeric());
    let any_script = slug(title, char::is_alphanumeric);
    let name = |title: &str| format!("{kind}-{title}-{date}.csv");
    format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        name(&ascii),
        utf8_percent_encode(&name(&any_script), ATTR_CHAR)
    )
}

/// The header row of a series summary's CSV (with the byte order mark).
pub(crate) fn series_header() -> String {
    let mut out = String::from(BOM);
    push_row(
        &mut out,
        [
            "userId",
            "userName",
            "email",
            "attended",
            "ended",
            "watchSeconds",
        ],
    );
    out
}

/// One student of a series summary.
pub(crate) fn push_series_row(out: &mut String, row: &livesessions_core::SeriesAttendance) {
    let (attended, ended, seconds) = (
        row.attended.to_string(),
        row.ended.to_string(),
        row.watch_seconds.to_string(),
    );
    push_row(
        out,
        [
            row.user_id.as_str(),
            row.user_name.as_str(),
            row.email.as_str(),
            attended.as_str(),
            ended.as_str(),
            seconds.as_str(),
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks each `(value, cell)`: `value` is written as `cell`.
    fn assert_cells(cases: &[(&str, &str)]) {
        for (value, expected) in cases {
            let mut out = String::new();
            push_cell(&mut out, value);
            assert_eq!(out, *expected, "{value:?}");
        }
    }

    #[test]
    fn quoting() {
        assert_cells(&[
            ("plain", "plain"),
            ("Khan, Sarah", "\"Khan, Sarah\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("two\nlines", "\"two\nlines\""),
            ("cr\rhere", "\"cr\rhere\""),
            ("", ""),
        ]);
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_cells(&[
            ("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("a=b", "a=b"),
        ]);
    }

    #[test]
    fn header_row() {
        assert!(header().starts_with("\u{feff}userId,userName,email,joinTime,"));
        assert!(header().ends_with("present,watchTime,status,late\r\n"));
        assert!(roster_header().starts_with("\u{feff}userId,userName,email,status,late,"));
    }

    #[test]
    fn clock_times() {
        assert_eq!(clock_time(0), "0:00:00");
        assert_eq!(clock_time(42), "0:00:42");
        assert_eq!(clock_time(3725), "1:02:05");
        assert_eq!(clock_time(100 * 3600 + 59), "100:00:59");
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn times_in_the_zone_in_whole_seconds() {
        let t = utc("2025-01-15T09:00:07.123456Z");
        let karachi = TimeZone::parse("Asia/Karachi").unwrap();
        assert_eq!(time(t, karachi), "2025-01-15T14:00:07+05:00");
        assert_eq!(time(t, TimeZone::UTC), "2025-01-15T09:00:07+00:00");
        let new_york = TimeZone::parse("America/New_York").unwrap();
        assert_eq!(time(t, new_york), "2025-01-15T04:00:07-05:00");
    }

    #[test]
    fn slugs() {
        let ascii = |t: &str| slug(t, |c| c.is_ascii_alphanumeric());
        assert_eq!(ascii("JavaScript Basics"), "javascript-basics");
        assert_eq!(
            ascii("  Rust 101: Ownership & Borrowing!  "),
            "rust-101-ownership-borrowing"
        );
        assert_eq!(ascii("Café Ünïcode"), "caf-n-code");
        assert_eq!(ascii("数学"), "session");
        assert_eq!(ascii(&"word ".repeat(30)).len(), 59);
        assert_eq!(ascii(&"x".repeat(100)).len(), SLUG_MAX);
        let any = |t: &str| slug(t, char::is_alphanumeric);
        assert_eq!(any("Café Ünïcode"), "café-ünïcode");
        assert_eq!(any("数学 / 101"), "数学-101");
        assert_eq!(any(&"数".repeat(100)).chars().count(), SLUG_MAX);
    }

    #[test]
    fn dispositions() {
        let start = utc("2025-01-15T22:30:00Z");
        let karachi = TimeZone::parse("Asia/Karachi").unwrap();
        assert_eq!(
            content_disposition("attendance", "Café: Intro", start, karachi),
            "attachment; filename=\"attendance-caf-intro-2025-01-16.csv\"; \
             filename*=UTF-8''attendance-caf%C3%A9-intro-2025-01-16.csv"
        );
        assert_eq!(
            content_disposition("attendance", "Plain \"Title\"", start, TimeZone::UTC),
            "attachment; filename=\"attendance-plain-title-2025-01-15.csv\"; \
             filename*=UTF-8''attendance-plain-title-2025-01-15.csv"
        );
    }
}
