//! [`EmptyMinutes`]: how long a live session may have nobody watching before it ends.

use std::fmt;

use chrono::TimeDelta;

use crate::field_error::FieldError;

/// Whole minutes, 1 to [`EmptyMinutes::MAX`] (a day): a live session that nobody has watched
/// for this long ends (`endWhenEmptyMinutes`; see
/// [`LiveSession::empty_end`](crate::LiveSession::empty_end)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EmptyMinutes(u16);

impl EmptyMinutes {
    /// The longest: 1440 minutes, a day.
    pub const MAX: u16 = 1440;

    /// The field errors name.
    const FIELD: &'static str = "endWhenEmptyMinutes";

    /// Reads a whole number of minutes, 1 to 1440, from text (surrounding blanks ignored);
    /// errors name `endWhenEmptyMinutes`.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(FieldError::required(Self::FIELD));
        }
        let minutes: i64 = text.parse().map_err(|_| {
            FieldError::new(
                Self::FIELD,
                "invalid_number",
                "Enter a whole number of minutes.",
            )
        })?;
        Self::new(minutes)
    }

    /// Checks a number of minutes (a stored value, for instance): 1 to 1440.
    pub fn new(minutes: i64) -> Result<Self, FieldError> {
        u16::try_from(minutes)
            .ok()
            .filter(|m| (1..=Self::MAX).contains(m))
            .map(EmptyMinutes)
            .ok_or_else(|| {
                FieldError::new(
                    Self::FIELD,
                    "out_of_range",
                    "Enter between 1 and 1440 minutes.",
                )
            })
    }

    /// The number of minutes.
    pub fn get(self) -> u16 {
        self.0
    }

    /// The length of time.
    pub fn duration(self) -> TimeDelta {
        TimeDelta::minutes(i64::from(self.0))
    }
}

impl fmt::Display for EmptyMinutes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_minutes_from_one_to_a_day() {
        assert_eq!(EmptyMinutes::parse(" 15 ").unwrap().get(), 15);
        assert_eq!(
            EmptyMinutes::parse("1").unwrap().duration(),
            TimeDelta::minutes(1)
        );
        assert_eq!(EmptyMinutes::parse("1440").unwrap().get(), 1440);
        for (text, code) in [
            ("0", "out_of_range"),
            ("1441", "out_of_range"),
            ("-5", "out_of_range"),
            ("99999999999", "out_of_range"),
            ("1.5", "invalid_number"),
            ("ten", "invalid_number"),
            ("true", "invalid_number"),
            ("", "required"),
        ] {
            let error = EmptyMinutes::parse(text).unwrap_err();
            assert_eq!(
                (error.field.as_str(), error.code),
                ("endWhenEmptyMinutes", code),
                "{text}"
            );
        }
        assert!(EmptyMinutes::new(i64::MAX).is_err());
    }
}
