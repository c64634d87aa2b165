//! [`EndpointDescription`]: what an endpoint is for, in the admin's words.

use std::fmt;

use crate::field_error::FieldError;

/// The field name description errors are reported against.
pub const DESCRIPTION_FIELD: &str = "description";

/// An endpoint's description: trimmed, one line without control characters, at most
/// [`EndpointDescription::MAX_CHARS`] characters. Blank text means no description.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct EndpointDescription(String);

impl EndpointDescription {
    /// The longest accepted description.
    pub const MAX_CHARS: usize = 256;

    /// Validates `text`; blank text is `None`. Errors name `description`.
    pub fn parse(text: &str) -> Result<Option<Self>, FieldError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::too_long(DESCRIPTION_FIELD, Self::MAX_CHARS));
        }
        if text.chars().any(char::is_control) {
            return Err(FieldError::new(
                DESCRIPTION_FIELD,
                "invalid_characters",
                "Use one line of text without control characters.",
            ));
        }
        Ok(Some(EndpointDescription(text.to_owned())))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EndpointDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_optional_bounded_single_lines() {
        assert_eq!(EndpointDescription::parse("  "), Ok(None));
        let d = EndpointDescription::parse(" Attendance sync ")
            .unwrap()
            .unwrap();
        assert_eq!(d.as_str(), "Attendance sync");
        let e = EndpointDescription::parse(&"é".repeat(257)).unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("description", "too_long"));
        assert!(EndpointDescription::parse(&"é".repeat(256))
            .unwrap()
            .is_some());
        let e = EndpointDescription::parse("a\nb").unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.code),
            ("description", "invalid_characters")
        );
    }
}
