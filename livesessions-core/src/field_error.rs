//! One invalid field of a request: what every validating constructor reports.

use std::fmt;

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// The field's name as clients send it (camelCase, e.g. `videoUrl`).
    pub field: String,
    /// A stable, machine-readable code (e.g. `too_long`, `required`).
    pub code: &'static str,
    /// A human-readable explanation.
    pub message: String,
}

impl FieldError {
    /// Creates a field error.
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    /// `required`: the field is empty (or blank, where it is trimmed).
    pub(crate) fn required(field: impl Into<String>) -> Self {
        Self::new(field, "required", "This field is required.")
    }

    /// `too_long`: the field has more than `max` characters.
    pub(crate) fn too_long(field: impl Into<String>, max: usize) -> Self {
        Self::new(field, "too_long", format!("Use at most {max} characters."))
    }

    /// Checks that `text` is neither empty nor longer than `max` characters.
    pub(crate) fn check_length(text: &str, field: &str, max: usize) -> Result<(), Self> {
        if text.is_empty() {
            return Err(Self::required(field));
        }
        if text.chars().count() > max {
            return Err(Self::too_long(field, max));
        }
        Ok(())
    }

    /// Returns a copy of this error attributed to another field name.
    pub fn for_field(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone as _, Utc};

    use super::FieldError;
    use crate::analytics::{AttendanceSort, OverviewQuery, PopularBy, SortOrder};
    use crate::session::{Cursor, ListQuery, SessionStatus};
    use crate::values::{
        parse_instant, Description, Email, Instructor, StartTime, ThumbnailKey, ThumbnailUrl,
        TimeZone, Title, UserName, VideoUrl,
    };
    use crate::{Error, SessionId, ThumbnailUpload, UserId};

    fn field_errors(e: Error) -> Vec<FieldError> {
        match e {
            Error::Validation(errors) => errors,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    /// Every message a validator sends is a full sentence in the page's voice: it starts with
    /// an upper-case letter and ends with a period.
    #[test]
    fn every_validation_message_is_a_sentence() {
        let long = "x".repeat(6000);
        let mut errors: Vec<FieldError> = Vec::new();
        for text in ["", "  ", long.as_str(), "a\u{7}b"] {
            errors.extend(Title::parse(text).err());
            errors.extend(Instructor::parse(text).err());
            errors.extend(UserName::parse(text).err());
            errors.extend(Description::parse(text).err());
        }
        for text in ["", "no-at-sign", long.as_str()] {
            errors.extend(Email::parse(text).err());
        }
        let long_url = format!("https://example.com/{long}");
        for text in [
            "",
            "not a link",
            "http://example.com/v",
            "https://user:pw@example.com/v",
            "file:///etc/passwd",
            "ftp://example.com/v",
            long_url.as_str(),
        ] {
            errors.extend(VideoUrl::parse(text).err());
            errors.extend(ThumbnailUrl::parse(text).err());
        }
        for text in ["", "yesterday", "2025-01-15T10:00"] {
            errors.extend(parse_instant(text, "from").err());
        }
        for text in ["", "soon"] {
            errors.extend(StartTime::parse(text, "startTime").err());
        }
        let paris = TimeZone::parse("Europe/Paris").expect("a zone");
        let skipped = StartTime::parse("2031-03-30T02:30", "startTime").expect("a local time");
        errors.extend(skipped.resolve(paris, "startTime").err());
        errors.extend(TimeZone::parse("Mars/Olympus").err());
        errors.extend(ThumbnailKey::parse("../evil").err());
        errors.extend("paused".parse::<SessionStatus>().err());
        errors.extend(SessionId::parse_field("42", "id").err());
        errors.extend(UserId::parse_field("", "userId").err());
        errors.extend(UserId::parse_field("a\u{0}b", "userId").err());
        errors.extend(
            Cursor::decode("not a cursor")
                .err()
                .map(field_errors)
                .into_iter()
                .flatten(),
        );
        let query = ListQuery::parse(Some("paused"), Some("a\u{7}"), Some(0), Some("x"));
        errors.extend(query.err().map(field_errors).into_iter().flatten());
        let query = ListQuery::parse(None, Some(long.as_str()), Some(1000), None);
        errors.extend(query.err().map(field_errors).into_iter().flatten());
        errors.extend(
            "x".parse::<AttendanceSort>()
                .err()
                .map(field_errors)
                .into_iter()
                .flatten(),
        );
        errors.extend(
            "x".parse::<SortOrder>()
                .err()
                .map(field_errors)
                .into_iter()
                .flatten(),
        );
        errors.extend(
            "x".parse::<PopularBy>()
                .err()
                .map(field_errors)
                .into_iter()
                .flatten(),
        );
        let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let overview = OverviewQuery {
            from: t,
            to: t,
            top: 101,
            by: PopularBy::Participants,
        };
        errors.extend(
            overview
                .validate()
                .err()
                .map(field_errors)
                .into_iter()
                .flatten(),
        );
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        for (declared, bytes) in [
            (None, Vec::new()),
            (None, vec![0; crate::MAX_THUMBNAIL_BYTES + 1]),
            (None, b"GIF89a<script>alert(1)</script>".to_vec()),
            (None, b"plain text".to_vec()),
            (Some("image/gif"), png),
        ] {
            let upload = ThumbnailUpload {
                declared_type: declared.map(str::to_owned),
                bytes,
            };
            errors.extend(upload.check().err().map(field_errors).into_iter().flatten());
        }

        assert!(
            errors.len() > 40,
            "the inputs above are refused: {errors:?}"
        );
        for e in &errors {
            let first = e.message.chars().next();
            assert!(
                first.is_some_and(char::is_uppercase) && e.message.ends_with('.'),
                "{} ({}): {:?} is not a sentence",
                e.field,
                e.code,
                e.message
            );
        }
    }
}
