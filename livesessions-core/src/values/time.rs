//! Times: [`parse_instant`], [`StartTime`] read in a [`TimeZone`], and [`parse_start_time`].

use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone as _, Utc};

use crate::field_error::FieldError;

/// Parses an instant: RFC 3339 with an explicit offset (`Z` or `±hh:mm`), returned in UTC.
/// A time without an offset is refused (use [`parse_start_time`] where a zone is known to read
/// it in).
pub fn parse_instant(text: &str, field: &str) -> Result<DateTime<Utc>, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(FieldError::required(field));
    }
    DateTime::<FixedOffset>::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            FieldError::new(
                field,
                "invalid_time",
                "Enter an RFC 3339 time with an explicit offset, such as 2025-01-15T10:00:00Z or 2025-01-15T10:00:00+05:00.",
            )
        })
}

/// Parses a start time and returns it in UTC: RFC 3339 with an explicit offset, or a local
/// date-time without one (`2025-01-15T10:00` or `2025-01-15T10:00:00`, what an HTML
/// `datetime-local` input sends) read in `zone`. See [`StartTime`].
pub fn parse_start_time(
    text: &str,
    field: &str,
    zone: TimeZone,
) -> Result<DateTime<Utc>, FieldError> {
    StartTime::parse(text, field)?.resolve(zone, field)
}

/// A start time as a client wrote it: an instant (it carried an offset) or a wall-clock time
/// without one, which means nothing until it is read in a zone ([`StartTime::resolve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StartTime {
    /// An RFC 3339 time with an explicit offset.
    Instant(DateTime<Utc>),
    /// A local date-time without an offset (`2025-01-15T10:00`, seconds and a fraction optional).
    Local(NaiveDateTime),
}

impl StartTime {
    /// Parses RFC 3339 with an offset, or `YYYY-MM-DDTHH:MM[:SS[.fraction]]` without one.
    pub fn parse(text: &str, field: &str) -> Result<Self, FieldError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(FieldError::required(field));
        }
        if let Ok(t) = DateTime::<FixedOffset>::parse_from_rfc3339(text) {
            return Ok(StartTime::Instant(t.with_timezone(&Utc)));
        }
        parse_local(text).map(StartTime::Local).ok_or_else(|| {
            FieldError::new(
                field,
                "invalid_time",
                "Enter a date and time such as 2025-01-15T10:00 (read in the session's time zone) or an RFC 3339 time with an offset such as 2025-01-15T10:00:00+05:00.",
            )
        })
    }

    /// The instant: an [`StartTime::Instant`] as it is; a [`StartTime::Local`] read in `zone`.
    /// A local time the zone skips (a daylight-saving gap) is an `invalid_local_time` error on
    /// `field`; one it passes twice (the hour after the clocks go back) is the earlier instant.
    pub fn resolve(self, zone: TimeZone, field: &str) -> Result<DateTime<Utc>, FieldError> {
        match self {
            StartTime::Instant(t) => Ok(t),
            StartTime::Local(local) => zone
                .tz()
                .from_local_datetime(&local)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| {
                    FieldError::new(
                        field,
                        "invalid_local_time",
                        format!(
                            "The time {} does not exist in {} (the clocks skip it): choose another time or give an offset.",
                            local.format("%Y-%m-%dT%H:%M"),
                            zone.name()
                        ),
                    )
                }),
        }
    }
}

/// `YYYY-MM-DDTHH:MM`, optionally `:SS` and a fraction of 1–9 digits; nothing else (no space
/// instead of `T`, no signed or five-digit years).
fn parse_local(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
    let shape = b.len() >= 16
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16);
    if !shape {
        return None;
    }
    let rest = &b[16..];
    let format = match rest {
        [] => "%Y-%m-%dT%H:%M",
        [b':', s1, s2] if s1.is_ascii_digit() && s2.is_ascii_digit() => "%Y-%m-%dT%H:%M:%S",
        [b':', s1, s2, b'.', fraction @ ..]
            if s1.is_ascii_digit()
                && s2.is_ascii_digit()
                && (1..=9).contains(&fraction.len())
                && fraction.iter().all(u8::is_ascii_digit) =>
        {
            "%Y-%m-%dT%H:%M:%S%.f"
        }
        _ => return None,
    };
    NaiveDateTime::parse_from_str(text, format).ok()
}

/// An IANA time zone name (e.g. `Asia/Karachi`) used to display a session's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    /// Coordinated Universal Time.
    pub const UTC: TimeZone = TimeZone(chrono_tz::UTC);

    /// Validates an IANA zone name, reporting errors against `timezone`.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        text.trim()
            .parse::<chrono_tz::Tz>()
            .map(TimeZone)
            .map_err(|_| {
                FieldError::new(
                    "timezone",
                    "unknown_timezone",
                    "Enter a valid IANA time zone, such as Europe/Berlin.",
                )
            })
    }

    /// The zone.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.0
    }

    /// The zone's IANA name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

impl Default for TimeZone {
    /// UTC.
    fn default() -> Self {
        TimeZone::UTC
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for TimeZone {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_need_an_offset() {
        let t = parse_instant("2025-01-15T10:00:00+05:00", "from").unwrap();
        assert_eq!(t.to_rfc3339(), "2025-01-15T05:00:00+00:00");
        assert!(parse_instant("2025-01-15T10:00:00Z", "from").is_ok());
        let error = parse_instant("2025-01-15T10:00", "from").unwrap_err();
        assert_eq!((error.field.as_str(), error.code), ("from", "invalid_time"));
        assert!(parse_instant("2025-01-15T10:00:00", "from").is_err());
        assert!(parse_instant("yesterday", "from").is_err());
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn start_times_with_an_offset_ignore_the_zone() {
        let karachi = TimeZone::parse("Asia/Karachi").unwrap();
        for zone in [TimeZone::UTC, karachi] {
            let t = parse_start_time("2025-01-15T10:00:00+05:00", "startTime", zone).unwrap();
            assert_eq!(t, utc("2025-01-15T05:00:00Z"));
            let z = parse_start_time("2025-01-15T10:00:00Z", "startTime", zone).unwrap();
            assert_eq!(z, utc("2025-01-15T10:00:00Z"));
        }
    }

    #[test]
    fn start_times_without_an_offset_are_read_in_the_zone() {
        let karachi = TimeZone::parse("Asia/Karachi").unwrap();
        let read = |text: &str, zone| parse_start_time(text, "startTime", zone);
        // What a datetime-local input sends, with and without seconds.
        assert_eq!(
            read("2025-01-15T10:00", karachi).unwrap(),
            utc("2025-01-15T05:00:00Z")
        );
        assert_eq!(
            read("2025-01-15T10:00:30", karachi).unwrap(),
            utc("2025-01-15T05:00:30Z")
        );
        assert_eq!(
            read("2025-01-15T10:00:30.250", karachi).unwrap(),
            utc("2025-01-15T05:00:30.250Z")
        );
        assert_eq!(
            read(" 2025-01-15T10:00 ", TimeZone::UTC).unwrap(),
            utc("2025-01-15T10:00:00Z")
        );
        assert_eq!(TimeZone::default(), TimeZone::UTC);
        // Summer time is the zone's too.
        let berlin = TimeZone::parse("Europe/Berlin").unwrap();
        assert_eq!(
            read("2025-07-01T12:00", berlin).unwrap(),
            utc("2025-07-01T10:00:00Z")
        );
        assert_eq!(
            StartTime::parse("2025-01-15T10:00", "startTime").unwrap(),
            StartTime::Local(
                NaiveDateTime::parse_from_str("2025-01-15T10:00", "%Y-%m-%dT%H:%M").unwrap()
            )
        );
    }

    #[test]
    fn a_local_time_in_a_daylight_saving_gap_is_refused() {
        let berlin = TimeZone::parse("Europe/Berlin").unwrap();
        // 2025-03-30 02:00 → 03:00 in Berlin: 02:30 never happens there.
        let error = parse_start_time("2025-03-30T02:30", "startTime", berlin).unwrap_err();
        assert_eq!(error.field, "startTime");
        assert_eq!(error.code, "invalid_local_time");
        assert!(error.message.contains("Europe/Berlin"), "{}", error.message);
        // The same wall-clock time is fine with an offset, or in another zone.
        assert!(parse_start_time("2025-03-30T02:30:00+01:00", "startTime", berlin).is_ok());
        assert!(parse_start_time("2025-03-30T02:30", "startTime", TimeZone::UTC).is_ok());
    }

    #[test]
    fn an_ambiguous_local_time_takes_the_earlier_instant() {
        let berlin = TimeZone::parse("Europe/Berlin").unwrap();
        // 2025-10-26 03:00 → 02:00 in Berlin: 02:30 happens at 00:30Z (summer) and 01:30Z.
        assert_eq!(
            parse_start_time("2025-10-26T02:30", "startTime", berlin).unwrap(),
            utc("2025-10-26T00:30:00Z")
        );
    }

    #[test]
    fn malformed_start_times_are_refused() {
        for bad in [
            "",
            "yesterday",
            "2025-01-15 10:00",
            "2025-01-15T10",
            "2025-01-15T10:0",
            "2025-01-15T10:00:0",
            "2025-01-15T10:00:00.",
            "2025-01-15T10:00:00.1234567890",
            "2025-13-45T10:00",
            "2025-02-30T10:00",
            "2025-01-15T25:61",
            "+2025-01-15T10:00",
            "12025-01-15T10:00",
            "2025-01-15t10:00x",
            "2025-01-15T10:00:00 +05:00",
            "2025-01-15T10:00:00+25:00",
        ] {
            let error = parse_start_time(bad, "startTime", TimeZone::UTC).unwrap_err();
            assert_eq!(error.field, "startTime", "{bad}");
        }
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(
            TimeZone::parse("Asia/Karachi").unwrap().name(),
            "Asia/Karachi"
        );
        assert!(TimeZone::parse("Mars/Olympus").is_err());
    }
}
