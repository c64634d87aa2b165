//! Statements that run the same way on every [`Dialect`]: the caller gives the statement
//! text (its own, built once) and an executor; binding, fetching and mapping the rows are
//! shared.

use livesessions_core::analytics::{
    AttendanceQuery, AttendanceRow, Overview, OverviewQuery, Participation, ParticipationQuery,
    ReportQuery,
};
use livesessions_core::{
    EmptySession, Error, EventKind, JoinRequest, ListQuery, LiveSession, Page, Participant,
    Presence, Result, SeriesId, SeriesSummary, SeriesSummaryQuery, SessionId, UserId,
};
use std::marker::PhantomData;
use std::time::Duration;

use sqlx::query::Query;
use sqlx::{Database, Decode, Encode, Executor, IntoArguments, Type};
use sqlx::{Pool, Transaction};
use uuid::Uuid;

use crate::analytics;
use crate::dialect::{opt_time, Dialect};
use crate::errors::{self, inserted, map_error, map_ping_error};
use crate::record::{bind_session, participant_from_row, session_from_row, to_i64, to_u64};
use crate::series::{self, SeriesStatements};

/// The statements that end a session.
pub(crate) struct EndStatements<'s> {
    /// The versioned update ([`Queries::update_session`]).
    pub update: &'s str,
    /// The credit of every open presence interval ([`Queries::credit`]).
    pub credit: &'s str,
    /// The stored version ([`Queries::version_mismatch`]).
    pub version_of: &'s str,
    /// The append of the `ended` event ([`Queries::append`]).
    pub append: &'s str,
}

/// A statement of the database `D` with its parameters bound.
type Statement<'q, D> = Query<'q, D, <D as Database>::Arguments<'q>>;

/// The shared statements' runners for the database `D`.
pub(crate) struct Queries<D>(PhantomData<D>);

impl<D> Queries<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> Uuid: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
    for<'q> Option<&'q str>: Encode<'q, D> + Type<D>,
    for<'q> Option<Uuid>: Encode<'q, D> + Type<D>,
    for<'q> Option<D::Time>: Encode<'q, D> + Type<D>,
    for<'q> Option<i64>: Encode<'q, D> + Type<D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> i16: Encode<'q, D> + Type<D>,
    for<'q> bool: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'r> String: Decode<'r, D> + Type<D>,
{
    /// Whether the database answers at all.
    pub(crate) async fn ping(executor: impl Executor<'_, Database = D>) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(executor)
            .await
            .map(|_| ())
            .map_err(map_ping_error::<D>)
    }

    /// The row `statement` returns, if any.
    async fn optional(
        executor: impl Executor<'_, Database = D>,
        statement: Statement<'_, D>,
    ) -> Result<Option<D::Row>> {
        statement
            .fetch_optional(executor)
            .await
            .map_err(map_error::<D>)
    }

    /// The one row `statement` returns.
    async fn one(
        executor: impl Executor<'_, Database = D>,
        statement: Statement<'_, D>,
    ) -> Result<D::Row> {
        statement.fetch_one(executor).await.map_err(map_error::<D>)
    }

    /// Every row `statement` returns.
    async fn all(
        executor: impl Executor<'_, Database = D>,
        statement: Statement<'_, D>,
    ) -> Result<Vec<D::Row>> {
        statement.fetch_all(executor).await.map_err(map_error::<D>)
    }

    /// Binds the time and the timeout of `presence`, in that order.
    fn bind_presence(statement: Statement<'_, D>, presence: Presence) -> Statement<'_, D> {
        statement
            .bind(D::store_time(presence.at))
            .bind(D::store_timeout(presence.timeout))
    }

    /// The session `id` by `sql`, which takes its id as the one parameter.
    pub(crate) async fn get_session(
        executor: impl Executor<'_, Database = D>,
        sql: &str,
        id: SessionId,
    ) -> Result<Option<LiveSession>> {
        Self::optional(executor, sqlx::query(sql).bind(*id.as_uuid()))
            .await?
            .as_ref()
            .map(session_from_row::<D>)
            .transpose()
    }

    /// The participant `user` of `session` by `sql` (parameters: session, user).
    pub(crate) async fn get_participant(
        executor: impl Executor<'_, Database = D>,
        sql: &str,
        session: SessionId,
        user: &UserId,
    ) -> Result<Option<Participant>> {
        let statement = sqlx::query(sql)
            .bind(*session.as_uuid())
            .bind(user.as_str());
        let row = Self::optional(executor, statement).await?;
        Ok(row
            .as_ref()
            .map(participant_from_row::<D>)
            .transpose()?
            .flatten())
    }

    /// How many participants of `session` are watching, by `sql` (parameters: session, now,
    /// timeout; the count in column `n`).
    pub(crate) async fn watching(
        executor: impl Executor<'_, Database = D>,
        sql: &str,
        session: SessionId,
        presence: Presence,
    ) -> Result<u64> {
        let statement = Self::bind_presence(sqlx::query(sql).bind(*session.as_uuid()), presence);
        let row = Self::one(executor, statement).await?;
        to_u64(D::get(&row, "n")?, "watching")
    }

    /// An attendance page's rows by `sql` (parameters: session, offset, limit, now, timeout).
    pub(crate) async fn attendance_rows(
        executor: impl Executor<'_, Database = D>,
        sql: &str,
        query: &AttendanceQuery,
    ) -> Result<Vec<AttendanceRow>> {
        let page = sqlx::query(sql)
            .bind(*query.session_id.as_uuid())
            .bind(i64::try_from(query.offset).unwrap_or(i64::MAX))
            .bind(i64::from(query.limit));
        let now = Presence::new(query.now, query.timeout);
        Self::all(executor, Self::bind_presence(page, now))
            .await?
            .iter()
            .map(analytics::attendance_row::<D>)
            .collect()
    }

    /// The overview of a start-time range by `totals` (parameters: from, to) and `popular`
    /// (parameters: from, to, how many).
    pub(crate) async fn overview(
        executor: impl Executor<'_, Database = D> + Copy,
        totals: &str,
        popular: &str,
        query: &OverviewQuery,
    ) -> Result<Overview> {
        let in_range = |sql| {
            sqlx::query(sql)
                .bind(D::store_time(query.from))
                .bind(D::store_time(query.to))
        };
        let totals = Self::one(executor, in_range(totals)).await?;
        let popular = if query.top == 0 {
            Vec::new()
        } else {
            Self::all(executor, in_range(popular).bind(i64::from(query.top))).await?
        };
        analytics::overview::<D>(&totals, &popular)
    }

    /// A user's participation by `totals` (parameter: user) and `rows` (parameters: user,
    /// limit, now, timeout).
    pub(crate) async fn participation(
        executor: impl Executor<'_, Database = D> + Copy,
        totals: &str,
        rows: &str,
        query: &ParticipationQuery,
    ) -> Result<Participation> {
        let user = query.user_id.as_str();
        let totals = Self::one(executor, sqlx::query(totals).bind(user)).await?;
        let rows = sqlx::query(rows).bind(user).bind(i64::from(query.limit));
        let now = Presence::new(query.now, query.timeout);
        let rows = Self::all(executor, Self::bind_presence(rows, now)).await?;
        analytics::participation::<D>(query, &totals, &rows)
    }

    /// The occurrences of a series by [`SeriesStatements::occurrences`](crate::series::SeriesStatements).
    pub(crate) async fn series_sessions(
        executor: impl Executor<'_, Database = D>,
        sql: &str,
        id: SeriesId,
    ) -> Result<Vec<LiveSession>> {
        Self::all(executor, sqlx::query(sql).bind(*id.as_uuid()))
            .await?
            .iter()
            .map(session_from_row::<D>)
            .collect()
    }

    /// The summary of a series by [`SeriesStatements`](crate::series::SeriesStatements): its
    /// counts, then one more student than the page holds. `NotFound` for a series without
    /// sessions.
    pub(crate) async fn series_summary(
        executor: impl Executor<'_, Database = D> + Copy,
        sql: &SeriesStatements,
        query: &SeriesSummaryQuery,
    ) -> Result<SeriesSummary> {
        let id = *query.series_id.as_uuid();
        let counts = Self::one(executor, sqlx::query(&sql.counts).bind(id)).await?;
        let rows = sqlx::query(&sql.students)
            .bind(id)
            .bind(i64::from(query.threshold_percent))
            .bind(query.after.as_ref().map(UserId::as_str))
            .bind(i64::from(query.limit) + 1);
        let rows = Self::all(executor, rows).await?;
        series::summary::<D>(query, &counts, &rows)?.ok_or_else(|| Error::NotFound {
            entity: "series",
            id: query.series_id.to_string(),
        })
    }

    /// The row `sql` returns for the participant `user` of `session` at `presence` (parameters:
    /// session, user, time, timeout): a heartbeat or a leave.
    pub(crate) async fn touch(
        executor: impl Executor<'_, Database = D>,
        sql: &str,
        session: SessionId,
        user: &UserId,
        presence: Presence,
    ) -> Result<Option<D::Row>> {
        let statement = sqlx::query(sql)
            .bind(*session.as_uuid())
            .bind(user.as_str());
        Self::optional(executor, Self::bind_presence(statement, presence)).await
    }

    /// Credits every open presence interval of `session` at `presence` by `sql` (parameters:
    /// session, time, timeout): the end of a session.
    pub(crate) async fn credit(
        executor: impl Executor<'_, Database = D>,
        sql: &str,
        session: SessionId,
        presence: Presence,
    ) -> Result<()> {
        Self::bind_presence(sqlx::query(sql).bind(*session.as_uuid()), presence)
            .execute(executor)
            .await
            .map(|_| ())
            .map_err(map_error::<D>)
    }

    /// The row of a session's report by `sql` (parameters: session, now, timeout, live seconds,
    /// threshold percent, late cutoff or NULL).
    pub(crate) async fn report_row(
        executor: impl Executor<'_, Database = D>,
        sql: &str,
        query: &ReportQuery,
    ) -> Result<Option<D::Row>> {
        let now = Presence::new(query.now, query.timeout);
        let statement =
            Self::bind_presence(sqlx::query(sql).bind(*query.session_id.as_uuid()), now)
                .bind(query.live_seconds)
                .bind(i64::from(query.threshold_percent))
                .bind(query.late_after.map(D::store_time));
        Self::optional(executor, statement).await
    }

    /// Inserts `session` by `sql` (parameters: [`SESSION_COLUMNS`](crate::record::SESSION_COLUMNS)).
    pub(crate) async fn insert_session(
        executor: impl Executor<'_, Database = D>,
        sql: &str,
        session: &LiveSession,
    ) -> Result<()> {
        let result = bind_session(sqlx::query(sql), session)?
            .execute(executor)
            .await;
        inserted(result.map_err(map_error::<D>), session)
    }

    /// Writes `session` by `sql` if the stored version is the one before it (parameters:
    /// [`SESSION_COLUMNS`](crate::record::SESSION_COLUMNS), then the expected version); `None`
    /// when no row matched.
    pub(crate) async fn update_session(
        executor: impl Executor<'_, Database = D>,
        sql: &str,
        session: &LiveSession,
    ) -> Result<Option<D::Row>> {
        let expected = to_i64(session.version.saturating_sub(1), "version")?;
        let statement = bind_session(sqlx::query(sql), session)?.bind(expected);
        Self::optional(executor, statement).await
    }

    /// Why a versioned update of `session` matched no row, from the version `sql` reads
    /// (parameter: the session's id).
    pub(crate) async fn version_mismatch(
        executor: impl Executor<'_, Database = D>,
        sql: &str,
        session: &LiveSession,
    ) -> Error {
        let found = Self::optional(executor, sqlx::query(sql).bind(*session.id.as_uuid()))
            .await
            .and_then(|row| row.map(|row| D::get::<i64>(&row, "version")).transpose());
        errors::version_mismatch(session, found)
    }

    /// A page of sessions by the list statement `list`, its filters bound, given the limit here.
    pub(crate) async fn page(
        executor: impl Executor<'_, Database = D>,
        list: Statement<'_, D>,
        query: &ListQuery,
    ) -> Result<Page<LiveSession>> {
        let rows = Self::all(executor, list.bind(i64::from(query.limit) + 1)).await?;
        let more = rows.len() > query.limit as usize;
        let items = rows
            .iter()
            .take(query.limit as usize)
            .map(session_from_row::<D>)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::of_sessions(items, more))
    }

    /// The sessions due at `now` by `sql` ([`due_sessions_select`](crate::record::due_sessions_select)),
    /// at most `limit` of each kind.
    pub(crate) async fn due_sessions(
        executor: impl Executor<'_, Database = D>,
        sql: &str,
        now: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Vec<LiveSession>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let statement = sqlx::query(sql).bind(D::store_time(now)).bind(limit);
        Self::all(executor, statement)
            .await?
            .iter()
            .map(session_from_row::<D>)
            .collect()
    }

    /// The live sessions nobody watches at `now` by `sql`
    /// ([`empty_sessions_select`](crate::record::empty_sessions_select)), at most `limit`.
    pub(crate) async fn empty_sessions(
        executor: impl Executor<'_, Database = D>,
        sql: &str,
        now: chrono::DateTime<chrono::Utc>,
        presence_timeout: std::time::Duration,
        limit: usize,
    ) -> Result<Vec<EmptySession>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let statement = sqlx::query(sql)
            .bind(D::store_time(now))
            .bind(D::store_timeout(presence_timeout))
            .bind(limit);
        Self::all(executor, statement)
            .await?
            .iter()
            .map(|row| {
                Ok(EmptySession {
                    session: session_from_row::<D>(row)?,
                    last_seen: opt_time::<D>(row, "empty_last_seen")?,
                })
            })
            .collect()
    }

    /// Binds the session, user id, user name, email and time of a join, in that order.
    pub(crate) fn bind_joiner<'q>(
        query: Statement<'q, D>,
        request: &'q JoinRequest,
    ) -> Statement<'q, D> {
        query
            .bind(*request.session_id.as_uuid())
            .bind(request.joiner.user_id.as_str())
            .bind(request.joiner.user_name.as_str())
            .bind(request.joiner.email.as_str())
            .bind(D::store_time(request.presence.at))
    }

    /// The participant `user` of `session` after a leave by `sql` (parameters as [`Self::touch`]).
    pub(crate) async fn leave(
        executor: impl Executor<'_, Database = D>,
        sql: &str,
        session: SessionId,
        user: &UserId,
        presence: Presence,
    ) -> Result<Participant> {
        let row = Self::touch(executor, sql, session, user, presence).await?;
        row.as_ref()
            .map(participant_from_row::<D>)
            .transpose()?
            .flatten()
            .ok_or_else(|| Error::participant_not_found(session, user))
    }

    /// Ends a session in the transaction `tx`, which the caller opened with the locks its
    /// database needs: the versioned update, then the credit of every open presence interval at
    /// the end, then the `ended` event, then the commit. A version mismatch rolls back and is
    /// explained from `pool`. Returns the ended session and the event's id as
    /// [`Queries::append`] gives it.
    pub(crate) async fn end_session(
        mut tx: Transaction<'static, D>,
        pool: &Pool<D>,
        sql: EndStatements<'_>,
        ended: &LiveSession,
        timeout: Duration,
    ) -> Result<(LiveSession, Option<i64>)> {
        let Some(row) = Self::update_session(&mut *tx, sql.update, ended).await? else {
            drop(tx);
            return Err(Self::version_mismatch(pool, sql.version_of, ended).await);
        };
        let at = ended.ended_at.unwrap_or(ended.updated_at);
        Self::credit(&mut *tx, sql.credit, ended.id, Presence { at, timeout }).await?;
        let event = Self::append(&mut *tx, sql.append, EventKind::Ended, ended.id).await?;
        tx.commit().await.map_err(map_error::<D>)?;
        Ok((session_from_row::<D>(&row)?, event))
    }
}
