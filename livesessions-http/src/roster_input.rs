//! The body of a roster upload: JSON (`{"members": [...]}`) or a CSV file whose header names
//! `userId`, `userName` and `email`, read into [`MemberInput`] rows that the service validates
//! all at once (errors name `rows[N].field`, N from 1 = the first data row).
//!
//! A CSV file may start with a byte order mark, quote fields as RFC 4180 does, end lines with
//! CRLF or LF, and have more columns (ignored: a roster export can be uploaded again). A
//! missing or wrong header is `422` naming `header`; more than [`MAX_ROSTER_ROWS`] rows is
//! `422` naming `rows` (reading stops one row past the limit).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use livesessions_core::roster::{MemberInput, MAX_ROSTER_ROWS};
use livesessions_core::FieldError;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::extract::{body_kind, parse_json_seed, BodyKind};
use crate::problem::ApiError;
use crate::state::AppState;

/// The largest roster upload, in bytes: room for [`MAX_ROSTER_ROWS`] rows of long names and
/// emails in JSON.
pub(crate) const ROSTER_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// The CSV header's columns, as a roster upload requires them.
pub(crate) const HEADER: [&str; 3] = ["userId", "userName", "email"];

/// A roster upload as JSON.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RosterUploadJson {
    /// The members to add, 1–10000 (otherwise `422` naming `rows`); `rows[N]` in errors is
    /// the N-th of them, from 1.
    #[serde(default)]
    #[schema(required = true)]
    pub members: Vec<MemberJson>,
}

/// One member of a roster upload.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MemberJson {
    /// The user's id, as their tokens' `sub` says it.
    #[serde(default)]
    #[schema(required = true)]
    pub user_id: Option<String>,
    /// Display name, 1–100 characters.
    #[serde(default)]
    #[schema(required = true)]
    pub user_name: Option<String>,
    /// Email.
    #[serde(default)]
    #[schema(required = true)]
    pub email: Option<String>,
}

impl From<MemberJson> for MemberInput {
    fn from(m: MemberJson) -> Self {
        MemberInput {
            user_id: m.user_id,
            user_name: m.user_name,
            email: m.email,
        }
    }
}

/// Whether a `Content-Type` is CSV (`text/csv`, or `application/csv` as some clients say it).
fn is_csv(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "text/csv" || v == "application/csv")
}

/// Reads a roster upload: JSON or CSV, at most [`ROSTER_BODY_LIMIT`] bytes (`413`); any
/// other content type is `415`.
pub(crate) async fn read(request: Request, state: &AppState) -> Result<Vec<MemberInput>, ApiError> {
    let csv = is_csv(&request);
    if !csv && body_kind(request.headers()) != BodyKind::Json {
        return Err(ApiError::unsupported_media_type(
            "Send the roster as application/json or text/csv.",
        ));
    }
    let too_large = || {
        ApiError::too_large(format!(
            "The roster must be at most {ROSTER_BODY_LIMIT} bytes."
        ))
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > ROSTER_BODY_LIMIT as u64) {
        return Err(too_large());
    }
    let bytes = Bytes::from_request(request, state).await.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::malformed(e.body_text())
        }
    })?;
    if csv {
        read_csv(&bytes)
    } else {
        let upload: RosterUploadJson =
            parse_json_seed(&bytes, std::marker::PhantomData::<RosterUploadJson>)?;
        Ok(upload.members.into_iter().map(MemberInput::from).collect())
    }
}

fn header_error() -> ApiError {
    ApiError::validation(&[FieldError::new(
        "header",
        "invalid_header",
        format!(
            "The first line of the file must be the header {}.",
            HEADER.join(",")
        ),
    )])
}

/// Reads a CSV roster: the header, then at most one row more than [`MAX_ROSTER_ROWS`] (the
/// service names the count). A row with too few cells reads its missing ones as empty.
pub(crate) fn read_csv(bytes: &[u8]) -> Result<Vec<MemberInput>, ApiError> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let mut records = reader.byte_records();
    let unreadable =
        |e: csv::Error| ApiError::malformed(format!("The CSV file could not be read: {e}."));
    let header = match records.next() {
        Some(record) => record.map_err(unreadable)?,
        None => return Err(header_error()),
    };
    let column = |name: &str| {
        header.iter().position(|cell| {
            String::from_utf8_lossy(cell)
                .trim()
                .eq_ignore_ascii_case(name)
        })
    };
    let (Some(id), Some(name), Some(email)) =
        (column(HEADER[0]), column(HEADER[1]), column(HEADER[2]))
    else {
        return Err(header_error());
    };
    let mut rows = Vec::new();
    for record in records.take(MAX_ROSTER_ROWS + 1) {
        let record = record.map_err(unreadable)?;
        let cell = |index: usize| -> Result<Option<String>, ApiError> {
            record
                .get(index)
                .map(|bytes| {
                    String::from_utf8(bytes.to_vec()).map_err(|_| {
                        ApiError::malformed(format!(
                            "The CSV file must be UTF-8 (row {} is not).",
                            rows.len() + 1
                        ))
                    })
                })
                .transpose()
        };
        rows.push(MemberInput {
            user_id: cell(id)?,
            user_name: cell(name)?,
            email: cell(email)?,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(rows: &[MemberInput]) -> Vec<Option<&str>> {
        rows.iter().map(|r| r.user_id.as_deref()).collect()
    }

    #[test]
    fn reads_quoted_cells_a_bom_crlf_and_extra_columns() {
        let text = "\u{feff}email,userName,userId,status\r\n\
                    ada@example.com,\"Lovelace, Ada\",u1,present\r\n\
                    bo@example.com,Bo,u2\n";
        let rows = read_csv(text.as_bytes()).unwrap();
        assert_eq!(ids(&rows), [Some("u1"), Some("u2")]);
        assert_eq!(rows[0].user_name.as_deref(), Some("Lovelace, Ada"));
        assert_eq!(rows[1].email.as_deref(), Some("bo@example.com"));
    }

    #[test]
    fn a_missing_or_wrong_header_is_named() {
        for text in [
            "",
            "u1,Ada,ada@example.com\n",
            "userId,name,email\nu1,Ada,a@b.co\n",
        ] {
            let error = read_csv(text.as_bytes()).unwrap_err();
            assert_eq!(error.status().as_u16(), 422, "{text:?}");
            assert_eq!(error.problem().errors[0].field, "header", "{text:?}");
        }
    }

    #[test]
    fn short_rows_read_missing_cells_as_absent_and_reading_stops_past_the_limit() {
        let rows = read_csv(b"userId,userName,email\nu1,Ada\n").unwrap();
        assert_eq!(rows[0].email, None);
        let mut text = String::from("userId,userName,email\n");
        for i in 0..MAX_ROSTER_ROWS + 50 {
            text.push_str(&format!("u{i},U,u{i}@example.com\n"));
        }
        assert_eq!(
            read_csv(text.as_bytes()).unwrap().len(),
            MAX_ROSTER_ROWS + 1
        );
    }
}
