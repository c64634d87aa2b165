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
        Self::new(field, "required", "must not be empty")
    }

    /// `too_long`: the field has more than `max` characters.
    pub(crate) fn too_long(field: impl Into<String>, max: usize) -> Self {
        Self::new(
            field,
            "too_long",
            format!("must be at most {max} characters"),
        )
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
