//! Statements that run the same way on every [`Dialect`]: the caller gives the statement
//! text (its own, built once) and an executor; binding, fetching and mapping the rows are
//! shared.

use livesessions_core::analytics::{
    AttendanceQuery, AttendanceRow, Overview, OverviewQuery, Participation, ParticipationQuery,
};
use livesessions_core::{LiveSession, Participant, Presence, Result, SessionId, UserId};
use sqlx::{Decode, Encode, Executor, IntoArguments, Type};
use uuid::Uuid;

use crate::analytics;
use crate::dialect::Dialect;
use crate::errors::{map_error, map_ping_error};
use crate::record::{participant_from_row, session_from_row, to_u64};

/// Whether the database answers at all.
pub(crate) async fn ping<'e, D, E>(executor: E) -> Result<()>
where
    D: Dialect,
    E: Executor<'e, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
{
    sqlx::query("SELECT 1")
        .execute(executor)
        .await
        .map(|_| ())
        .map_err(map_ping_error::<D>)
}

/// The session `id` by `sql`, which takes its id as the one parameter.
pub(crate) async fn get_session<'e, D, E>(
    executor: E,
    sql: &str,
    id: SessionId,
) -> Result<Option<LiveSession>>
where
    D: Dialect,
    E: Executor<'e, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> Uuid: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'r> String: Decode<'r, D> + Type<D>,
    for<'r> i64: Decode<'r, D> + Type<D>,
{
    sqlx::query(sql)
        .bind(*id.as_uuid())
        .fetch_optional(executor)
        .await
        .map_err(map_error::<D>)?
        .as_ref()
        .map(session_from_row::<D>)
        .transpose()
}

/// The participant `user` of `session` by `sql` (parameters: session, user).
pub(crate) async fn get_participant<'e, D, E>(
    executor: E,
    sql: &str,
    session: SessionId,
    user: &UserId,
) -> Result<Option<Participant>>
where
    D: Dialect,
    E: Executor<'e, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> Uuid: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
    for<'r> String: Decode<'r, D> + Type<D>,
    for<'r> i64: Decode<'r, D> + Type<D>,
{
    let row = sqlx::query(sql)
        .bind(*session.as_uuid())
        .bind(user.as_str())
        .fetch_optional(executor)
        .await
        .map_err(map_error::<D>)?;
    Ok(row
        .as_ref()
        .map(participant_from_row::<D>)
        .transpose()?
        .flatten())
}

/// How many participants of `session` are watching, by `sql` (parameters: session, now,
/// timeout; the count in column `n`).
pub(crate) async fn watching<'e, D, E>(
    executor: E,
    sql: &str,
    session: SessionId,
    presence: Presence,
) -> Result<u64>
where
    D: Dialect,
    E: Executor<'e, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> Uuid: Encode<'q, D> + Type<D>,
    for<'r> i64: Decode<'r, D> + Type<D>,
{
    let row = sqlx::query(sql)
        .bind(*session.as_uuid())
        .bind(D::store_time(presence.at))
        .bind(D::store_timeout(presence.timeout))
        .fetch_one(executor)
        .await
        .map_err(map_error::<D>)?;
    to_u64(D::get(&row, "n")?, "watching")
}

/// An attendance page's rows by `sql` (parameters: session, offset, limit, now, timeout).
pub(crate) async fn attendance_rows<'e, D, E>(
    executor: E,
    sql: &str,
    query: &AttendanceQuery,
) -> Result<Vec<AttendanceRow>>
where
    D: Dialect,
    E: Executor<'e, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> Uuid: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'r> String: Decode<'r, D> + Type<D>,
{
    sqlx::query(sql)
        .bind(*query.session_id.as_uuid())
        .bind(i64::try_from(query.offset).unwrap_or(i64::MAX))
        .bind(i64::from(query.limit))
        .bind(D::store_time(query.now))
        .bind(D::store_timeout(query.timeout))
        .fetch_all(executor)
        .await
        .map_err(map_error::<D>)?
        .iter()
        .map(analytics::attendance_row::<D>)
        .collect()
}

/// The overview of a start-time range by `totals` (parameters: from, to) and `popular`
/// (parameters: from, to, how many).
pub(crate) async fn overview<'e, D, E>(
    executor: E,
    totals: &str,
    popular: &str,
    query: &OverviewQuery,
) -> Result<Overview>
where
    D: Dialect,
    E: Executor<'e, Database = D> + Copy,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> Uuid: Decode<'q, D> + Type<D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'r> String: Decode<'r, D> + Type<D>,
{
    let totals = sqlx::query(totals)
        .bind(D::store_time(query.from))
        .bind(D::store_time(query.to))
        .fetch_one(executor)
        .await
        .map_err(map_error::<D>)?;
    let popular = if query.top == 0 {
        Vec::new()
    } else {
        sqlx::query(popular)
            .bind(D::store_time(query.from))
            .bind(D::store_time(query.to))
            .bind(i64::from(query.top))
            .fetch_all(executor)
            .await
            .map_err(map_error::<D>)?
    };
    analytics::overview::<D>(&totals, &popular)
}

/// A user's participation by `totals` (parameter: user) and `rows` (parameters: user,
/// limit).
pub(crate) async fn participation<'e, D, E>(
    executor: E,
    totals: &str,
    rows: &str,
    query: &ParticipationQuery,
) -> Result<Participation>
where
    D: Dialect,
    E: Executor<'e, Database = D> + Copy,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> Uuid: Decode<'q, D> + Type<D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'r> String: Decode<'r, D> + Type<D>,
{
    let totals = sqlx::query(totals)
        .bind(query.user_id.as_str())
        .fetch_one(executor)
        .await
        .map_err(map_error::<D>)?;
    let rows = sqlx::query(rows)
        .bind(query.user_id.as_str())
        .bind(i64::from(query.limit))
        .fetch_all(executor)
        .await
        .map_err(map_error::<D>)?;
    analytics::participation::<D>(query, &totals, &rows)
}
