//! What the shared code needs to know of a database: how a time is stored, how statements
//! number their parameters, the few SQL functions whose names differ, and how the driver
//! reports a unique violation or a transient failure.

use std::time::Duration;

use chrono::{DateTime, Utc};
use livesessions_core::Result;
use sqlx::error::DatabaseError;
use sqlx::{Database, Decode, Encode, Type};

/// A database the stores run on (implemented for [`sqlx::Postgres`] and [`sqlx::Sqlite`]).
pub(crate) trait Dialect: Database {
    /// The stored form of a time.
    type Time: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self> + Type<Self> + Send + 'static;

    /// The stored form of the presence timeout.
    type Timeout: for<'q> Encode<'q, Self> + Type<Self> + Send + 'static;

    /// The prefix of a numbered parameter (`$1` or `?1`).
    const PARAMETER: char;
    /// The qualifier of a participant's columns in the presence rule (`p.` or empty).
    const PARTICIPANT: &'static str;
    /// The smaller of two values (`LEAST` or `MIN`).
    const LEAST: &'static str;
    /// The greater of two values (`GREATEST` or `MAX`).
    const GREATEST: &'static str;
    /// The current time by the database's clock, in the stored form of a time.
    const NOW: &'static str;
    /// What makes a text comparison follow byte order, as the domain compares strings (a
    /// `COLLATE` clause, or nothing where that is the default).
    const BYTE_ORDER: &'static str;

    /// A time in its stored form.
    fn store_time(time: DateTime<Utc>) -> Self::Time;

    /// The presence timeout in its stored form: whole seconds, as the domain's rules use
    /// (`timeout_delta`), at most a year.
    fn store_timeout(timeout: Duration) -> Self::Timeout;

    /// A stored time; `column` names it in the error if it is out of range.
    fn load_time(value: Self::Time, column: &str) -> Result<DateTime<Utc>>;

    /// Whole seconds, floored and never negative, of the SQL time difference `span`.
    fn seconds(span: &str) -> String;

    /// The SQL time span of `count` (an integer expression) minutes, to add to a time.
    fn minutes(count: &str) -> String;

    /// The entity and id a unique violation reports.
    fn duplicate(error: &dyn DatabaseError) -> (&'static str, String);

    /// How many rows a statement changed.
    fn rows_affected(result: &Self::QueryResult) -> u64;

    /// Whether a database error code means "try again later".
    fn is_transient(code: &str) -> bool;

    /// Reads `column` of `row`, mapping a driver error onto the domain's.
    fn get<'r, T>(row: &'r Self::Row, column: &str) -> Result<T>
    where
        T: Decode<'r, Self> + Type<Self>;
}

/// The time in `column` of `row`.
pub(crate) fn time<D: Dialect>(row: &D::Row, column: &str) -> Result<DateTime<Utc>> {
    D::load_time(D::get(row, column)?, column)
}

/// The time or NULL in `column` of `row`.
pub(crate) fn opt_time<D: Dialect>(row: &D::Row, column: &str) -> Result<Option<DateTime<Utc>>> {
    D::get::<Option<D::Time>>(row, column)?
        .map(|value| D::load_time(value, column))
        .transpose()
}

/// `n` numbered parameters from `first`, comma-separated: `$1, $2, …` or `?1, ?2, …`.
pub(crate) fn parameters<D: Dialect>(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("{}{i}", D::PARAMETER))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The presence timeout in whole seconds, at most a year.
pub(crate) fn timeout_seconds(timeout: Duration) -> u64 {
    timeout.as_secs().min(365 * 24 * 3600)
}
