//! [`RosterMember`]: a user expected at a session, and the validation of many of them at once.

use chrono::{DateTime, Utc};

use crate::error::{Error, FieldError, Result};
use crate::ids::UserId;
use crate::values::{Email, UserName};

/// The most members one request may add (a CSV upload's rows).
pub const MAX_ROSTER_ROWS: usize = 10_000;

/// A user on a session's roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterMember {
    /// The user.
    pub user_id: UserId,
    /// Display name as the admin gave it (or the user's token, when they registered).
    pub user_name: UserName,
    /// Email.
    pub email: Email,
    /// Whether the user added themself (self-registration) rather than an admin.
    pub registered: bool,
    /// When the member was first added.
    pub added_at: DateTime<Utc>,
}

/// One member as a client sends it (a JSON object or a CSV row), not yet validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberInput {
    /// The user's id (required).
    pub user_id: Option<String>,
    /// Display name (required).
    pub user_name: Option<String>,
    /// Email (required).
    pub email: Option<String>,
}

impl MemberInput {
    /// Validates many members at once, all or nothing: at most [`MAX_ROSTER_ROWS`], at least
    /// one, each field valid, no user id twice. Errors name the row: `rows[N].userId`,
    /// `rows[N].userName`, `rows[N].email`, with N counted from 1 (the first data row of a
    /// CSV file, after its header); a count outside the limits names `rows`.
    ///
    /// ```
    /// # use livesessions_core::roster::MemberInput;
    /// # use chrono::Utc;
    /// let rows = vec![
    ///     MemberInput { user_id: Some("u1".into()), user_name: Some("Ada".into()), email: Some("ada@example.com".into()) },
    ///     MemberInput { user_id: Some("u2".into()), user_name: Some("Bo".into()), email: Some("not an email".into()) },
    /// ];
    /// let Err(livesessions_core::Error::Validation(errors)) = MemberInput::validate_all(&rows, Utc::now()) else {
    ///     panic!("row 2 is invalid");
    /// };
    /// assert_eq!(errors[0].field, "rows[2].email");
    /// ```
    pub fn validate_all(rows: &[MemberInput], now: DateTime<Utc>) -> Result<Vec<RosterMember>> {
        if rows.is_empty() {
            return Err(Error::invalid(
                "rows",
                "empty",
                "Give at least one roster member.",
            ));
        }
        if rows.len() > MAX_ROSTER_ROWS {
            return Err(Error::invalid(
                "rows",
                "too_many",
                format!(
                    "A roster upload holds at most {MAX_ROSTER_ROWS} rows; this one has {}.",
                    rows.len()
                ),
            ));
        }
        let mut errors = Vec::new();
        let mut members = Vec::with_capacity(rows.len());
        let mut first_row = std::collections::HashMap::new();
        for (index, row) in rows.iter().enumerate() {
            let number = index + 1;
            let rename = |mut e: FieldError| {
                e.field = format!("rows[{number}].{}", e.field);
                e
            };
            let text = |v: &Option<String>| v.as_deref().unwrap_or_default().to_owned();
            let user_id = UserId::parse_field(&text(&row.user_id), "userId")
                .map_err(|e| errors.push(rename(e)))
                .ok();
            let user_name = UserName::parse(&text(&row.user_name))
                .map_err(|e| errors.push(rename(e)))
                .ok();
            let email = Email::parse(&text(&row.email))
                .map_err(|e| errors.push(rename(e)))
                .ok();
            if let Some(id) = &user_id {
                if let Some(first) = first_row.insert(id.clone(), number) {
                    errors.push(FieldError::new(
                        format!("rows[{number}].userId"),
                        "duplicate",
                        format!("The user {id} is already on row {first}."),
                    ));
                    first_row.insert(id.clone(), first);
                }
            }
            if let (Some(user_id), Some(user_name), Some(email)) = (user_id, user_name, email) {
                members.push(RosterMember {
                    user_id,
                    user_name,
                    email,
                    registered: false,
                    added_at: now,
                });
            }
        }
        if errors.is_empty() {
            Ok(members)
        } else {
            Err(Error::Validation(errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_errors(result: Result<Vec<RosterMember>>) -> Vec<FieldError> {
        match result {
            Err(Error::Validation(errors)) => errors,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    fn row(id: &str, name: &str, email: &str) -> MemberInput {
        MemberInput {
            user_id: Some(id.into()),
            user_name: Some(name.into()),
            email: Some(email.into()),
        }
    }

    #[test]
    fn every_bad_row_is_named_and_nothing_is_returned() {
        let mut rows: Vec<_> = (1..=60)
            .map(|i| {
                row(
                    &format!("u{i}"),
                    &format!("User {i}"),
                    &format!("u{i}@example.com"),
                )
            })
            .collect();
        rows[56].email = Some("not-an-email".into());
        rows[9].user_id = Some("u3".into());
        rows[20].user_name = None;
        let errors = field_errors(MemberInput::validate_all(&rows, Utc::now()));
        let fields: Vec<_> = errors.iter().map(|e| (e.field.clone(), e.code)).collect();
        assert_eq!(
            fields,
            [
                ("rows[10].userId".to_owned(), "duplicate"),
                ("rows[21].userName".to_owned(), "required"),
                ("rows[57].email".to_owned(), "invalid_email"),
            ]
        );
    }

    #[test]
    fn counts_outside_the_limits_name_the_rows() {
        let empty = field_errors(MemberInput::validate_all(&[], Utc::now()));
        assert_eq!(empty[0].field, "rows");
        let many = vec![row("u", "U", "u@example.com"); MAX_ROSTER_ROWS + 1];
        let errors = field_errors(MemberInput::validate_all(&many, Utc::now()));
        assert_eq!(
            (errors[0].field.as_str(), errors[0].code),
            ("rows", "too_many")
        );
        let fine =
            MemberInput::validate_all(&[row("u1", "Ada", "ada@example.com")], Utc::now()).unwrap();
        assert_eq!(fine[0].user_id.as_str(), "u1");
        assert!(!fine[0].registered);
    }
}
