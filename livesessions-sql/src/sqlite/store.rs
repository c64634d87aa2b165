//! The ports of `livesessions_core` on SQLite. Every write that reads first (join, end,
//! delete) runs in `BEGIN IMMEDIATE`.

use std::time::Duration;

use async_trait::async_trait;
use livesessions_core::analytics::{
    AttendancePage, AttendanceQuery, Overview, OverviewQuery, Participation, ParticipationQuery,
    ReportQuery, SessionReport,
};
use livesessions_core::{
    check_seat, AnalyticsStore, AttendanceStore, Capacity, Conflict, Cursor, Error, EventKind,
    HealthCheck, JoinOutcome, JoinRequest, ListQuery, LiveSession, Page, Participant, Presence,
    Result, Seat, SeriesId, SeriesSummary, SeriesSummaryQuery, SessionAction, SessionId,
    SessionStatus, SessionStore, UserId,
};
use sqlx::sqlite::{SqliteRow, SqliteTransaction};
use sqlx::Sqlite;

use super::statements::{COUNT_CANDIDATES, SEARCH_CANDIDATES, SQL};
use super::{map_error, SqliteStore};
use crate::analytics;
use crate::dialect::Dialect as _;
use crate::events::LoggedStatements;
use crate::queries::{EndStatements, Queries};
use crate::record::{parse_status, participant_from_row, required, session_from_row, to_u64};
use crate::search::{ListFilters, Search};

/// The shared statements' runners on Sqlite.
type Q = Queries<Sqlite>;

fn session(row: &SqliteRow) -> Result<LiveSession> {
    session_from_row::<Sqlite>(row)
}

fn participant(row: &SqliteRow) -> Result<Participant> {
    required(participant_from_row::<Sqlite>(row)?)
}

impl SqliteStore {
    async fn session_exists(&self, id: SessionId) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar(SQL.session_exists)
            .bind(*id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_error)?;
        Ok(found.is_some())
    }

    /// A write transaction, holding the database's write lock from its start.
    pub(super) async fn write(&self) -> Result<SqliteTransaction<'static>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(map_error)
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn insert_session(&self, session: &LiveSession) -> Result<()> {
        let tx = self.write().await?;
        let event = Q::insert_logged(tx, &SQL.insert_session, &SQL.append, &[], session).await?;
        self.appended(event);
        Ok(())
    }

    async fn insert_series(&self, sessions: &[LiveSession]) -> Result<()> {
        let tx = self.write().await?;
        let event =
            Q::insert_series_logged(tx, &SQL.insert_session, &SQL.append, &[], sessions).await?;
        self.appended(event);
        Ok(())
    }

    async fn series_sessions(&self, series_id: SeriesId) -> Result<Vec<LiveSession>> {
        Q::series_sessions(&self.pool, &SQL.series.occurrences, series_id).await
    }

    async fn get_session(&self, id: SessionId) -> Result<Option<LiveSession>> {
        Q::get_session(&self.pool, &SQL.get_session, id).await
    }

    async fn update_session(&self, update: &LiveSession, event: EventKind) -> Result<LiveSession> {
        let tx = self.write().await?;
        let sql = LoggedStatements {
            append: &SQL.append,
            version_of: SQL.version_of,
            capped: &[],
        };
        let (updated, event) =
            Q::update_logged(tx, &self.pool, &SQL.update_session, sql, update, event).await?;
        self.appended(event);
        Ok(updated)
    }

    async fn delete_session(&self, id: SessionId) -> Result<bool> {
        let mut tx = self.write().await?;
        // Explicit rather than ON DELETE CASCADE alone: a pool from `from_pool` may have
        // foreign keys switched off.
        for delete in [SQL.delete_participants, SQL.delete_roster] {
            sqlx::query(delete)
                .bind(*id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(map_error)?;
        }
        let done = sqlx::query(SQL.delete_session)
            .bind(*id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(map_error)?;
        let deleted = done.rows_affected() > 0;
        let event = if deleted {
            Q::append(&mut *tx, &SQL.append, EventKind::Deleted, id).await?
        } else {
            None
        };
        tx.commit().await.map_err(map_error)?;
        if deleted {
            self.appended(event);
        }
        Ok(deleted)
    }

    async fn list_sessions(&self, query: &ListQuery) -> Result<Page<LiveSession>> {
        let filters = ListFilters::of(query);
        let (after_rank, after_time, after_id) = match filters.after {
            Some(Cursor(key)) => (key.rank, key.time_key, Some(*key.id.as_uuid())),
            None => (0, 0, None),
        };
        // A rare term is searched from the trigram index's candidates; a common one (or one
        // too short for a trigram) along the list index, which soon fills the page.
        let index_query = match &filters.index_query {
            Some(index_query) => {
                let candidates: i64 = sqlx::query_scalar(COUNT_CANDIDATES)
                    .bind(index_query.as_str())
                    .bind(SEARCH_CANDIDATES)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(map_error)?;
                (candidates < SEARCH_CANDIDATES).then_some(index_query.as_str())
            }
            None => None,
        };
        let search = match (&filters.pattern, index_query) {
            (None, _) => Search::None,
            (Some(_), None) => Search::Scan,
            (Some(_), Some(_)) => Search::Indexed,
        };
        let statement = SQL
            .list
            .get(filters.rank.is_some(), search, filters.after.is_some());
        let mut list = sqlx::query(statement)
            .bind(filters.rank.unwrap_or(0))
            .bind(filters.pattern.as_deref().unwrap_or(""))
            .bind(after_rank)
            .bind(after_time)
            .bind(after_id);
        // The trigram query (?6) exists only in the statements that use the index; the limit,
        // bound last, is then ?7.
        if let Some(index_query) = index_query {
            list = list.bind(index_query);
        }
        Q::page(&self.pool, list, query).await
    }

    async fn due_sessions(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Vec<LiveSession>> {
        Q::due_sessions(&self.pool, &SQL.due_sessions, now, limit).await
    }

    async fn empty_sessions(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        presence_timeout: std::time::Duration,
        limit: usize,
    ) -> Result<Vec<livesessions_core::EmptySession>> {
        let sql = &SQL.empty_sessions;
        Q::empty_sessions(&self.pool, sql, now, presence_timeout, limit).await
    }
}

#[async_trait]
impl AttendanceStore for SqliteStore {
    async fn join(&self, request: &JoinRequest) -> Result<JoinOutcome> {
        let sid = *request.session_id.as_uuid();
        let t = Sqlite::store_timeout(request.presence.timeout);
        let mut tx = self.write().await?;
        let (status, live_since, capacity, participants, open_to_user, on_roster, reserved): (
            String,
            Option<i64>,
            Option<i64>,
            i64,
            bool,
            bool,
            i64,
        ) = sqlx::query_as(&SQL.join_status)
            .bind(sid)
            .bind(request.joiner.user_id.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_error)?
            .ok_or_else(|| Error::session_not_found(request.session_id))?;
        let status = parse_status(&status)?;
        if !status.accepts_joins() {
            return Err(Conflict::InvalidTransition {
                status,
                action: SessionAction::Join,
            }
            .into());
        }
        // A restricted session admits its roster and admins, read in this transaction.
        if !open_to_user && !request.admin {
            return Err(Error::NotOnRoster);
        }
        // The start of the current live period; intervals open only from there on.
        let period = if status == SessionStatus::Live {
            live_since
        } else {
            None
        };
        let rejoin = Q::bind_joiner(sqlx::query(&SQL.rejoin), request)
            .bind(period)
            .bind(t)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_error)?;
        let (row, event) = match rejoin {
            Some(row) => (row, None),
            None => {
                // The capacity, the count and the reserved seats are read in this write
                // transaction, which holds the only write lock: no other first join or roster
                // change can come between this check and the insert.
                let capacity = capacity
                    .map(Capacity::new)
                    .transpose()
                    .map_err(crate::record::corrupt)?;
                check_seat(
                    capacity,
                    to_u64(participants, "participants")?,
                    to_u64(reserved, "reserved_seats")?,
                    Seat::of(on_roster),
                )?;
                let row = Q::bind_joiner(sqlx::query(&SQL.first_join), request)
                    .bind(period)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_error)?;
                sqlx::query(SQL.count_join)
                    .bind(sid)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_error)?;
                let event = Q::append(
                    &mut *tx,
                    &SQL.append,
                    EventKind::Participants,
                    request.session_id,
                )
                .await?;
                (row, Some(event))
            }
        };
        let joined = sqlx::query(&SQL.get_session)
            .bind(sid)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_error)?;
        tx.commit().await.map_err(map_error)?;
        if let Some(event) = event {
            self.appended(event);
        }
        Ok(JoinOutcome {
            participant: participant(&row)?,
            session: session(&joined)?,
            first_join: event.is_some(),
        })
    }

    async fn heartbeat(
        &self,
        session_id: SessionId,
        user_id: &UserId,
        presence: Presence,
    ) -> Result<Participant> {
        let row = Q::touch(&self.pool, &SQL.heartbeat, session_id, user_id, presence).await?;
        match row {
            Some(row) => participant(&row),
            None if self.session_exists(session_id).await? => {
                Err(Error::participant_not_found(session_id, user_id))
            }
            None => Err(Error::session_not_found(session_id)),
        }
    }

    async fn leave(
        &self,
        session_id: SessionId,
        user_id: &UserId,
        presence: Presence,
    ) -> Result<Participant> {
        Q::leave(&self.pool, &SQL.leave, session_id, user_id, presence).await
    }

    async fn end_session(&self, ended: &LiveSession, timeout: Duration) -> Result<LiveSession> {
        let tx = self.write().await?;
        let sql = EndStatements {
            update: &SQL.update_session,
            credit: &SQL.end_credit,
            version_of: SQL.version_of,
            append: &SQL.append,
        };
        let (ended, event) = Q::end_session(tx, &self.pool, sql, ended, timeout).await?;
        self.appended(event);
        Ok(ended)
    }

    async fn get_participant(
        &self,
        session_id: SessionId,
        user_id: &UserId,
    ) -> Result<Option<Participant>> {
        Q::get_participant(&self.pool, &SQL.get_participant, session_id, user_id).await
    }

    async fn watching(&self, session_id: SessionId, presence: Presence) -> Result<u64> {
        Q::watching(&self.pool, &SQL.watching, session_id, presence).await
    }
}

/// Fails with "session not found" when a row's `found` column is NULL.
fn found(row: &SqliteRow, session_id: SessionId) -> Result<()> {
    match Sqlite::get::<Option<i64>>(row, "found")? {
        Some(_) => Ok(()),
        None => Err(Error::session_not_found(session_id)),
    }
}

#[async_trait]
impl AnalyticsStore for SqliteStore {
    async fn session_report(&self, query: &ReportQuery) -> Result<SessionReport> {
        let row = Q::report_row(&self.pool, &SQL.report, query)
            .await?
            .ok_or_else(|| Error::session_not_found(query.session_id))?;
        found(&row, query.session_id)?;
        analytics::report::<Sqlite>(&row, query)
    }

    async fn attendance(&self, query: &AttendanceQuery) -> Result<AttendancePage> {
        let sid = *query.session_id.as_uuid();
        let total_row = sqlx::query(SQL.attendance_total)
            .bind(sid)
            .fetch_one(&self.pool)
            .await
            .map_err(map_error)?;
        found(&total_row, query.session_id)?;
        let total = to_u64(Sqlite::get(&total_row, "total")?, "total")?;
        let sql = SQL.attendance.get(query.sort, query.order);
        let rows = Q::attendance_rows(&self.pool, sql, query).await?;
        Ok(AttendancePage { rows, total })
    }

    async fn overview(&self, query: &OverviewQuery) -> Result<Overview> {
        let popular = SQL.popular.get(query.by);
        Q::overview(&self.pool, SQL.overview_totals, popular, query).await
    }

    async fn participation(&self, query: &ParticipationQuery) -> Result<Participation> {
        let (totals, rows) = (SQL.participation_totals, SQL.participation_rows.as_str());
        Q::participation(&self.pool, totals, rows, query).await
    }

    async fn series_summary(&self, query: &SeriesSummaryQuery) -> Result<SeriesSummary> {
        Q::series_summary(&self.pool, &SQL.series, query).await
    }
}

#[async_trait]
impl HealthCheck for SqliteStore {
    async fn ping(&self) -> Result<()> {
        Q::ping(&self.pool).await
    }
}
