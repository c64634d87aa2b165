//! [`Recurrence`]: the repeat rule of a series of sessions, a subset of RFC 5545's `RRULE`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _, Utc};

use super::TimeZone;
use crate::error::FieldError;

/// The field a repeat rule is reported against.
const FIELD: &str = "recurrence";

/// The parts of a rule this subset accepts, in the order the rule is written back.
const PARTS: [&str; 5] = ["FREQ", "INTERVAL", "BYDAY", "COUNT", "UNTIL"];

/// The repeat rule of a series: an RFC 5545 `RRULE` limited to `FREQ` (`DAILY`, `WEEKLY` or
/// `MONTHLY`), `INTERVAL`, `BYDAY`, `COUNT` and `UNTIL`, for example
/// `FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10`. A value that exists is in the subset; how many
/// occurrences it has depends on the start, so that is checked by
/// [`Recurrence::occurrences`]: at most [`Recurrence::MAX_OCCURRENCES`], none more than a year
/// after the first start.
///
/// ```
/// # use livesessions_core::{Recurrence, TimeZone};
/// let rule = Recurrence::parse("FREQ=WEEKLY;BYDAY=TU;COUNT=3").unwrap();
/// let start = "2025-03-18T09:00:00Z".parse().unwrap(); // 10:00 in Berlin
/// let starts = rule.occurrences(start, TimeZone::parse("Europe/Berlin").unwrap()).unwrap();
/// // The third is after the change to summer time: still 10:00 in Berlin, 08:00 UTC.
/// assert_eq!(starts[2].to_rfc3339(), "2025-04-01T08:00:00+00:00");
/// assert!(Recurrence::parse("FREQ=HOURLY").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Recurrence(String);

impl Recurrence {
    /// The most occurrences a series may have.
    pub const MAX_OCCURRENCES: usize = 200;

    /// Validates a rule (an optional `RRULE:` prefix, any letter case), reporting errors
    /// against `recurrence`: `unsupported` for a part or frequency outside the subset,
    /// `invalid` for text that is no rule. The rule is kept in a canonical form (upper case,
    /// parts in a fixed order).
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let text = text.trim();
        let text = text
            .strip_prefix("RRULE:")
            .or_else(|| text.strip_prefix("rrule:"))
            .unwrap_or(text)
            .to_ascii_uppercase();
        if text.is_empty() || text.len() > 500 {
            return Err(invalid());
        }
        let mut values: [Option<&str>; 5] = [None; 5];
        for part in text.split(';').filter(|p| !p.is_empty()) {
            let (name, value) = part.split_once('=').ok_or_else(invalid)?;
            let Some(i) = PARTS.iter().position(|p| *p == name.trim()) else {
                return Err(unsupported(format!(
                    "{} is not supported: use FREQ, INTERVAL, BYDAY, COUNT and UNTIL.",
                    name.trim()
                )));
            };
            if values[i].replace(value.trim()).is_some() {
                return Err(invalid());
            }
        }
        let [freq, interval, by_day, count, until] = values;
        match freq {
            Some("DAILY" | "WEEKLY" | "MONTHLY") => {}
            Some(other) if other.parse::<rrule::Frequency>().is_ok() => {
                return Err(unsupported(format!(
                    "FREQ={other} is not supported: use DAILY, WEEKLY or MONTHLY."
                )))
            }
            _ => return Err(invalid()),
        }
        if count.is_some() && until.is_some() {
            return Err(FieldError::new(
                FIELD,
                "invalid",
                "Give either COUNT or UNTIL, not both.",
            ));
        }
        if let Some(until) = until {
            parse_until(until)?;
        }
        let canonical = PARTS
            .iter()
            .zip(values)
            .filter_map(|(name, value)| value.map(|v| format!("{name}={v}")))
            .collect::<Vec<_>>()
            .join(";");
        // The crate reads every value (numbers in range, weekdays, …).
        canonical
            .parse::<rrule::RRule<rrule::Unvalidated>>()
            .map_err(|_| invalid())?;
        if let (Some(by_day), Some("DAILY" | "WEEKLY")) = (by_day, freq) {
            if by_day.split(',').any(|d| d.trim().len() != 2) {
                return Err(unsupported(
                    "A numbered weekday (1MO) needs FREQ=MONTHLY.".to_owned(),
                ));
            }
        }
        if interval.is_some_and(|i| i.parse::<u16>().is_ok_and(|i| i == 0)) {
            return Err(invalid());
        }
        Ok(Recurrence(canonical))
    }

    /// The rule in its canonical form, without the `RRULE:` prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The starts of the series' occurrences, in order, for a first start at `start` read in
    /// `zone`: every start keeps the local wall time of `start` in `zone`, across changes of
    /// daylight-saving time. `start` itself is the first occurrence when it matches the rule
    /// (RFC 5545 leaves the other case open; here the first match after it comes first). An
    /// `UNTIL` without `Z` (a date, or a local time) is read in `zone`, a date meaning the end of
    /// that day. Errors name `recurrence`: `too_many` beyond
    /// [`Recurrence::MAX_OCCURRENCES`] or more than a year after `start`, `empty` when nothing
    /// matches, `invalid` when the rule cannot be expanded from this start.
    pub fn occurrences(
        &self,
        start: DateTime<Utc>,
        zone: TimeZone,
    ) -> Result<Vec<DateTime<Utc>>, FieldError> {
        let tz = rrule::Tz::Tz(zone.tz());
        let dt_start = start.with_timezone(&tz);
        let rule = self.with_utc_until(zone)?;
        let set = rule
            .parse::<rrule::RRule<rrule::Unvalidated>>()
            .and_then(|r| r.build(dt_start))
            .map_err(|_| invalid())?;
        let limit = u16::try_from(Self::MAX_OCCURRENCES + 1).unwrap_or(u16::MAX);
        let dates: Vec<DateTime<Utc>> = set
            .all(limit)
            .dates
            .into_iter()
            .map(|d| d.with_timezone(&Utc))
            .collect();
        let last_allowed = start
            .with_timezone(&zone.tz())
            .checked_add_months(Months::new(12))
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        if dates.len() > Self::MAX_OCCURRENCES || dates.iter().any(|d| *d > last_allowed) {
            return Err(FieldError::new(
                FIELD,
                "too_many",
                format!(
                    "A series has at most {} sessions, within one year of the first: add COUNT or an earlier UNTIL.",
                    Self::MAX_OCCURRENCES
                ),
            ));
        }
        if dates.is_empty() {
            return Err(FieldError::new(
                FIELD,
                "empty",
                "The repeat rule gives no session after the start time.",
            ));
        }
        Ok(dates)
    }

    /// The rule with its `UNTIL` (if any) as a UTC time, which the crate needs for a start in a
    /// named zone.
    fn with_utc_until(&self, zone: TimeZone) -> Result<String, FieldError> {
        let parts = self
            .0
            .split(';')
            .map(|part| match part.strip_prefix("UNTIL=") {
                Some(until) => parse_until(until).and_then(|until| {
                    let utc = match until {
                        Until::Utc(utc) => utc,
                        Until::Local(local) => zone
                            .tz()
                            .from_local_datetime(&local)
                            .latest()
                            .ok_or_else(invalid)?
                            .with_timezone(&Utc),
                    };
                    Ok(format!("UNTIL={}", utc.format("%Y%m%dT%H%M%SZ")))
                }),
                None => Ok(part.to_owned()),
            });
        Ok(parts.collect::<Result<Vec<_>, _>>()?.join(";"))
    }
}

/// An `UNTIL` value: a UTC time (`…Z`), or a local time (a date is its last second).
enum Until {
    Utc(DateTime<Utc>),
    Local(NaiveDateTime),
}

fn parse_until(text: &str) -> Result<Until, FieldError> {
    if let Some(utc) = text.strip_suffix('Z') {
        return NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S")
            .map(|t| Until::Utc(t.and_utc()))
            .map_err(|_| invalid());
    }
    if text.len() == 8 {
        return NaiveDate::parse_from_str(text, "%Y%m%d")
            .map(|d| {
                Until::Local(d.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default()))
            })
            .map_err(|_| invalid());
    }
    NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%S")
        .map(Until::Local)
        .map_err(|_| invalid())
}

fn invalid() -> FieldError {
    FieldError::new(
        FIELD,
        "invalid",
        "Enter a repeat rule such as FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10.",
    )
}

fn unsupported(message: String) -> FieldError {
    FieldError::new(FIELD, "unsupported", message)
}

impl fmt::Display for Recurrence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Recurrence {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Recurrence::parse(s)
    }
}

impl serde::Serialize for Recurrence {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Timelike, Weekday};

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn zone(name: &str) -> TimeZone {
        TimeZone::parse(name).unwrap()
    }

    fn code(text: &str) -> &'static str {
        let e = Recurrence::parse(text).unwrap_err();
        assert_eq!(e.field, "recurrence");
        e.code
    }

    #[test]
    fn only_the_subset_is_accepted() {
        for ok in [
            "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10",
            "RRULE:freq=daily;interval=2;count=5",
            "FREQ=MONTHLY;BYDAY=1MO;UNTIL=20260101",
            "FREQ=WEEKLY;UNTIL=20260101T000000Z",
        ] {
            Recurrence::parse(ok).unwrap();
        }
        assert_eq!(
            Recurrence::parse("count=3;freq=weekly").unwrap().as_str(),
            "FREQ=WEEKLY;COUNT=3"
        );
        assert_eq!(code("FREQ=HOURLY;COUNT=3"), "unsupported");
        assert_eq!(code("FREQ=YEARLY"), "unsupported");
        assert_eq!(code("FREQ=WEEKLY;BYMONTH=3"), "unsupported");
        assert_eq!(code("FREQ=WEEKLY;WKST=SU"), "unsupported");
        assert_eq!(code("FREQ=WEEKLY;BYDAY=1MO"), "unsupported");
        assert_eq!(code("FREQ=WEEKLY;BYDAY=XX"), "invalid");
        assert_eq!(code("FREQ=WEEKLY;COUNT=ten"), "invalid");
        assert_eq!(code("FREQ=WEEKLY;COUNT=3;UNTIL=20260101"), "invalid");
        assert_eq!(code("FREQ=WEEKLY;UNTIL=2026-01-01"), "invalid");
        assert_eq!(code("FREQ=WEEKLY;FREQ=DAILY"), "invalid");
        assert_eq!(code("COUNT=3"), "invalid");
        assert_eq!(code("every monday"), "invalid");
        assert_eq!(code(""), "invalid");
        assert_eq!(code("FREQ=DAILY;INTERVAL=0;COUNT=2"), "invalid");
    }

    #[test]
    fn a_weekly_class_keeps_its_local_time_across_daylight_saving_changes() {
        let berlin = zone("Europe/Berlin");
        // Tuesdays at 10:00 in Berlin from March to April (summer time from 30 March) …
        let rule = Recurrence::parse("FREQ=WEEKLY;BYDAY=TU;COUNT=4").unwrap();
        let starts = rule
            .occurrences(utc("2025-03-18T09:00:00Z"), berlin)
            .unwrap();
        assert_eq!(
            starts,
            [
                utc("2025-03-18T09:00:00Z"),
                utc("2025-03-25T09:00:00Z"),
                utc("2025-04-01T08:00:00Z"),
                utc("2025-04-08T08:00:00Z"),
            ]
        );
        // … and in New York across the November change.
        let new_york = zone("America/New_York");
        let rule = Recurrence::parse("FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4").unwrap();
        let starts = rule
            .occurrences(utc("2025-10-27T14:00:00Z"), new_york)
            .unwrap();
        for s in &starts {
            let local = s.with_timezone(&new_york.tz());
            assert_eq!((local.hour(), local.minute()), (10, 0));
            assert!(matches!(local.weekday(), Weekday::Mon | Weekday::Wed));
        }
        assert_eq!(starts[3], utc("2025-11-05T15:00:00Z"));
    }

    #[test]
    fn too_many_or_too_far_ahead_is_refused() {
        let start = utc("2025-01-06T10:00:00Z");
        let count = |text: &str| {
            Recurrence::parse(text)
                .unwrap()
                .occurrences(start, TimeZone::UTC)
        };
        assert_eq!(count("FREQ=DAILY;COUNT=200").unwrap().len(), 200);
        assert_eq!(count("FREQ=DAILY;COUNT=201").unwrap_err().code, "too_many");
        assert_eq!(count("FREQ=DAILY").unwrap_err().code, "too_many");
        // One year ahead is the last start allowed.
        assert_eq!(count("FREQ=MONTHLY;COUNT=14").unwrap_err().code, "too_many");
        assert_eq!(count("FREQ=MONTHLY;COUNT=13").unwrap().len(), 13);
        assert_eq!(
            count("FREQ=WEEKLY;UNTIL=20260201").unwrap_err().code,
            "too_many"
        );
        assert_eq!(count("FREQ=WEEKLY;UNTIL=20250127").unwrap().len(), 4);
        assert_eq!(
            count("FREQ=WEEKLY;UNTIL=20250101").unwrap_err().field,
            "recurrence"
        );
    }
}
