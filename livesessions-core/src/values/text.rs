//! Bounded texts ([`Title`], [`Instructor`], [`Description`], [`UserName`]) and [`Email`].

use std::fmt;

use crate::field_error::FieldError;

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, field = $field:literal, min = $min:expr, max = $max:expr, multiline = $multiline:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The fewest characters accepted (after trimming).
            pub const MIN_CHARS: usize = $min;
            /// The most characters accepted (after trimming).
            pub const MAX_CHARS: usize = $max;
            /// The field name used in validation errors.
            pub const FIELD: &'static str = $field;

            /// Trims and validates the text.
            pub fn parse(text: &str) -> Result<Self, FieldError> {
                check_text(text, $field, $min, $max, $multiline).map($name)
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

fn check_text(
    text: &str,
    field: &str,
    min: usize,
    max: usize,
    multiline: bool,
) -> Result<String, FieldError> {
    let trimmed = text.trim();
    let count = trimmed.chars().count();
    if count < min {
        return Err(FieldError::required(field));
    }
    if count > max {
        return Err(FieldError::too_long(field, max));
    }
    let allowed = |c: char| multiline && (c == '\n' || c == '\t' || c == '\r');
    if trimmed.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(FieldError::new(
            field,
            "invalid_characters",
            if multiline {
                "Remove control characters other than newline and tab."
            } else {
                "Remove control characters."
            },
        ));
    }
    Ok(trimmed.to_owned())
}

bounded_text!(
    /// A session title: 1–200 characters after trimming, no control characters.
    Title, field = "title", min = 1, max = 200, multiline = false
);
bounded_text!(
    /// An instructor's name: 1–100 characters after trimming, no control characters.
    Instructor, field = "instructor", min = 1, max = 100, multiline = false
);
bounded_text!(
    /// A session description: at most 5000 characters; newlines and tabs allowed.
    #[derive(Default)]
    Description, field = "description", min = 0, max = 5000, multiline = true
);
bounded_text!(
    /// A participant's display name: 1–100 characters after trimming.
    UserName, field = "userName", min = 1, max = 100, multiline = false
);

/// A plausible email address of at most 254 characters, kept as given (trimmed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// The longest accepted address.
    pub const MAX_CHARS: usize = 254;

    /// Validates an address: one `@`, a non-empty local part, a dotted domain, no spaces.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let text = text.trim();
        let invalid = || FieldError::new("email", "invalid_email", "Enter an email address.");
        FieldError::check_length(text, "email", Self::MAX_CHARS)?;
        let (local, domain) = text.split_once('@').ok_or_else(invalid)?;
        let plausible = !local.is_empty()
            && local.chars().count() <= 64
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && text
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && c != '<' && c != '>');
        if plausible {
            Ok(Email(text.to_owned()))
        } else {
            Err(invalid())
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(Title::parse("  Rust 101 ").unwrap().as_str(), "Rust 101");
        assert_eq!(Title::parse("   ").unwrap_err().code, "required");
        assert!(Title::parse(&"a".repeat(200)).is_ok());
        assert_eq!(Title::parse(&"a".repeat(201)).unwrap_err().code, "too_long");
        assert!(Instructor::parse(&"b".repeat(100)).is_ok());
        assert!(Instructor::parse(&"b".repeat(101)).is_err());
        assert!(Description::parse("").is_ok());
        assert!(Description::parse("line\n\tindented").is_ok());
        assert!(Description::parse("bell\u{7}").is_err());
        assert!(Title::parse("tab\there").is_err());
        assert!(Description::parse(&"d".repeat(5001)).is_err());
        assert!(UserName::parse(&"n".repeat(101)).is_err());
    }

    #[test]
    fn emails_are_plausible() {
        assert!(Email::parse("ahmed@example.com").is_ok());
        for bad in [
            "",
            "no-at",
            "a@b",
            "@example.com",
            "a@@b.com",
            "a b@c.com",
            "a@.com",
            "a@c.com.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        let long = format!("{}@{}.com", "a".repeat(60), "b".repeat(200));
        assert_eq!(Email::parse(&long).unwrap_err().code, "too_long");
    }
}
