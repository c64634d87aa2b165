//! The per-session rules of attendance status: [`AttendanceThreshold`] and [`LateMinutes`].

use std::fmt;

use crate::field_error::FieldError;

/// Reads a whole number in `range` from text (blanks ignored); errors name `field`.
fn whole(
    text: &str,
    field: &'static str,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(FieldError::required(field));
    }
    let value: i64 = text
        .parse()
        .map_err(|_| FieldError::new(field, "invalid_number", "Enter a whole number."))?;
    in_range(value, field, range)
}

fn in_range(
    value: i64,
    field: &'static str,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, FieldError> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new(
            field,
            "out_of_range",
            format!("Enter a number from {} to {}.", range.start(), range.end()),
        ))
    }
}

/// The share of a session's live time, 1 to 100 percent, a participant must watch to be
/// `present` rather than `partial` (`attendanceThreshold`; 75 when a session has none, see
/// [`DEFAULT_ATTENDANCE_THRESHOLD_PERCENT`](crate::analytics::DEFAULT_ATTENDANCE_THRESHOLD_PERCENT)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttendanceThreshold(u8);

impl AttendanceThreshold {
    const FIELD: &'static str = "attendanceThreshold";

    /// Reads a whole percentage, 1 to 100, from text; errors name `attendanceThreshold`.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        whole(text, Self::FIELD, 1..=100).map(|v| AttendanceThreshold(v as u8))
    }

    /// Checks a percentage (a stored value, for instance): 1 to 100.
    pub fn new(percent: i64) -> Result<Self, FieldError> {
        in_range(percent, Self::FIELD, 1..=100).map(|v| AttendanceThreshold(v as u8))
    }

    /// The percentage.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for AttendanceThreshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Minutes after a session's `startedAt`, 0 to 1440, after which a participant's first
/// presence makes them `late` (`lateAfterMinutes`; a session without it flags nobody late).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LateMinutes(u16);

impl LateMinutes {
    const FIELD: &'static str = "lateAfterMinutes";

    /// Reads a whole number of minutes, 0 to 1440, from text; errors name `lateAfterMinutes`.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        whole(text, Self::FIELD, 0..=1440).map(|v| LateMinutes(v as u16))
    }

    /// Checks a number of minutes (a stored value, for instance): 0 to 1440.
    pub fn new(minutes: i64) -> Result<Self, FieldError> {
        in_range(minutes, Self::FIELD, 0..=1440).map(|v| LateMinutes(v as u16))
    }

    /// The minutes.
    pub fn get(self) -> u16 {
        self.0
    }

    /// The minutes as a duration.
    pub fn delta(self) -> chrono::TimeDelta {
        chrono::TimeDelta::minutes(i64::from(self.0))
    }
}

impl fmt::Display for LateMinutes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Whether users may add themselves to a session's roster (`registration`: `closed`, the
/// default, or `open`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Registration {
    /// Only admins add roster members.
    #[default]
    Closed,
    /// Signed-in users may register themselves.
    Open,
}

impl Registration {
    /// Reads `open` or `closed`; errors name `registration`.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        match text.trim() {
            "open" => Ok(Registration::Open),
            "closed" => Ok(Registration::Closed),
            "" => Err(FieldError::required("registration")),
            _ => Err(FieldError::new(
                "registration",
                "invalid",
                "Use open or closed.",
            )),
        }
    }

    /// `open` or `closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Registration::Open => "open",
            Registration::Closed => "closed",
        }
    }

    /// Whether users may register themselves.
    pub fn is_open(self) -> bool {
        self == Registration::Open
    }
}

impl fmt::Display for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_whole_percentages_from_one_to_a_hundred() {
        assert_eq!(AttendanceThreshold::parse(" 80 ").unwrap().get(), 80);
        assert_eq!(AttendanceThreshold::new(100).unwrap().get(), 100);
        for (text, code) in [
            ("0", "out_of_range"),
            ("101", "out_of_range"),
            ("-5", "out_of_range"),
            ("7.5", "invalid_number"),
            ("", "required"),
        ] {
            let error = AttendanceThreshold::parse(text).unwrap_err();
            assert_eq!(
                (error.field.as_str(), error.code),
                ("attendanceThreshold", code),
                "{text}"
            );
        }
    }

    #[test]
    fn late_minutes_run_from_zero_to_a_day() {
        assert_eq!(LateMinutes::parse("0").unwrap().get(), 0);
        assert_eq!(LateMinutes::parse("10").unwrap().delta().num_seconds(), 600);
        assert_eq!(
            LateMinutes::parse("1441").unwrap_err().field.as_str(),
            "lateAfterMinutes"
        );
        assert_eq!(LateMinutes::new(-1).unwrap_err().code, "out_of_range");
    }

    #[test]
    fn registration_is_open_or_closed() {
        assert_eq!(Registration::parse("open").unwrap(), Registration::Open);
        assert_eq!(Registration::parse("closed").unwrap().as_str(), "closed");
        assert_eq!(Registration::default(), Registration::Closed);
        assert_eq!(
            Registration::parse("maybe").unwrap_err().field.as_str(),
            "registration"
        );
    }
}
