//! The ports of `livesessions_core` on PostgreSQL.

use std::time::Duration;

use async_trait::async_trait;
use livesessions_core::analytics::{
    AttendancePage, AttendanceQuery, Overview, OverviewQuery, Participation, ParticipationQuery,
    ReportQuery, SessionReport,
};
use livesessions_core::{
    AnalyticsStore, AttendanceStore, Conflict, Cursor, Error, EventKind, HealthCheck, JoinOutcome,
    JoinRequest, ListQuery, LiveSession, Page, Participant, Presence, Result, Seat, SeriesId,
    SeriesSummary, SeriesSummaryQuery, SessionId, SessionStore, UserId,
};
use sqlx::postgres::PgRow;
use sqlx::Postgres;
use uuid::Uuid;

use super::seats::{seat_taken_meanwhile, settle};
use super::shards::shard_of;
use super::{map_error, PostgresStore};
use crate::analytics;
use crate::dialect::Dialect as _;
use crate::events::LoggedStatements;
use crate::queries::{EndStatements, Queries};
use crate::record::{corrupt, participant_from_row, session_from_row, to_u64};
use crate::search::{ListFilters, Search};

/// The shared statements' runners on Postgres.
type Q = Queries<Postgres>;

/// How often a join is retried when a concurrent first join of the same user won the insert
/// after this join's snapshot was taken (the retry sees it and records a rejoin).
const JOIN_ATTEMPTS: usize = 3;

fn session(row: &PgRow) -> Result<LiveSession> {
    session_from_row::<Postgres>(row)
}

fn participant(row: &PgRow) -> Result<Option<Participant>> {
    participant_from_row::<Postgres>(row)
}

/// The session of a join's row, if the join was allowed: `InvalidTransition` unless it
/// accepts joins, then `NotOnRoster` when its roster check refused the joiner.
fn admitted(row: &PgRow) -> Result<LiveSession> {
    let session = session(row)?;
    session.check_joinable()?;
    if !Postgres::get::<bool>(row, "admitted")? {
        return Err(Error::NotOnRoster);
    }
    Ok(session)
}

impl PostgresStore {
    /// The locked path of a first join of a session with a capacity (see the module `seats`):
    /// a transaction that takes the session row `FOR NO KEY UPDATE` (`lock_seats`; ordinary
    /// joins and heartbeats, which hold it `FOR KEY SHARE`, go on), settles the seat shards
    /// when a roster write or session update made them stale, and runs `join_locked`: a walk-in
    /// takes a seat from any shard that has one, a roster member is admitted while the count is
    /// below the capacity. Locked paths of one session run one at a time, and so do they and
    /// roster writes, which take the same lock. The end, which takes the row `FOR UPDATE`,
    /// waits for them as for any join.
    async fn join_capped(&self, request: &JoinRequest, shard: i16) -> Result<JoinOutcome> {
        for _ in 0..JOIN_ATTEMPTS {
            let mut tx = self.pool.begin().await.map_err(map_error)?;
            let locked = sqlx::query(&self.sql.lock_seats)
                .bind(*request.session_id.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_error)?;
            if let Some(locked) = locked {
                if !Postgres::get::<bool>(&locked, "settled")? {
                    settle(&mut tx, &self.sql.settle, request.session_id).await?;
                }
            }
            let Some(row) = self.run_join(true, request, shard, &mut *tx).await? else {
                continue;
            };
            let session = admitted(&row)?;
            if let Some(participant) = participant(&row)? {
                let first_join: bool = Postgres::get(&row, "inserted")?;
                tx.commit().await.map_err(map_error)?;
                return Ok(JoinOutcome {
                    participant,
                    session,
                    first_join,
                });
            }
            // Nothing written: either no seat is left for this joiner, or a concurrent first
            // join of this user committed after the snapshot (the next attempt records a
            // rejoin). A member's seat was checked on the count in the snapshot; a walk-in
            // found no seat on any shard, which is the whole answer (first joins that took a
            // seat and have not committed are not in the snapshot's count).
            if Postgres::get::<bool>(&row, "on_roster")? {
                session.check_seat_for_new_participant(Seat::RosterMember)?;
            } else if let Some(capacity) = session.fields.capacity {
                let joined = sqlx::query(&self.sql.get_participant)
                    .bind(*request.session_id.as_uuid())
                    .bind(request.joiner.user_id.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_error)?;
                if joined.is_none() {
                    return Err(Conflict::SessionFull {
                        capacity: capacity.get(),
                    }
                    .into());
                }
            }
        }
        Err(corrupt(format_args!(
            "capped join of {} to session {} found no participant after {JOIN_ATTEMPTS} attempts",
            request.joiner.user_id, request.session_id
        )))
    }

    /// Runs the join statement for `request`, `join` or, on the locked path, `join_locked`
    /// with its seats checked: its row, `Ok(None)` when the seat it counted on was taken
    /// meanwhile (the statement was undone; run the join again), `NotFound` without the
    /// session.
    async fn run_join(
        &self,
        locked: bool,
        request: &JoinRequest,
        shard: i16,
        executor: impl sqlx::PgExecutor<'_>,
    ) -> Result<Option<PgRow>> {
        let sql = if locked {
            &self.sql.join_locked
        } else {
            &self.sql.join
        };
        let row = Q::bind_joiner(sqlx::query(sql), request)
            .bind(Postgres::store_timeout(request.presence.timeout))
            .bind(shard)
            .bind(locked)
            .bind(request.admin)
            .fetch_optional(executor)
            .await;
        match row {
            Ok(row) => row
                .map(Some)
                .ok_or_else(|| Error::session_not_found(request.session_id)),
            Err(error) if seat_taken_meanwhile(&error) => Ok(None),
            Err(error) => Err(map_error(error)),
        }
    }
}

#[async_trait]
impl SessionStore for PostgresStore {
    async fn insert_session(&self, session: &LiveSession) -> Result<()> {
        let tx = self.pool.begin().await.map_err(map_error)?;
        let (insert, append) = (&self.sql.insert_session, &self.sql.events.append);
        Q::insert_logged(tx, insert, append, self.sql.settle.statements(), session)
            .await
            .map(drop)
    }

    async fn get_session(&self, id: SessionId) -> Result<Option<LiveSession>> {
        Q::get_session(&self.pool, &self.sql.get_session, id).await
    }

    async fn update_session(&self, update: &LiveSession, event: EventKind) -> Result<LiveSession> {
        let tx = self.pool.begin().await.map_err(map_error)?;
        let sql = LoggedStatements {
            append: &self.sql.events.append,
            version_of: &self.sql.version_of,
            capped: self.sql.settle.statements(),
        };
        let update_sql = &self.sql.update_session;
        Q::update_logged(tx, &self.pool, update_sql, sql, update, event)
            .await
            .map(|(updated, _)| updated)
    }

    async fn delete_session(&self, id: SessionId) -> Result<bool> {
        let mut tx = self.pool.begin().await.map_err(map_error)?;
        let done = sqlx::query(&self.sql.delete_session)
            .bind(*id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(map_error)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        Q::append(&mut *tx, &self.sql.events.append, EventKind::Deleted, id).await?;
        tx.commit().await.map_err(map_error)?;
        Ok(true)
    }

    async fn list_sessions(&self, query: &ListQuery) -> Result<Page<LiveSession>> {
        let filters = ListFilters::of(query);
        let search = match filters.pattern {
            None => Search::None,
            Some(_) if self.search_index.present(&self.pool, &self.schema).await? => {
                Search::Indexed
            }
            Some(_) => Search::Scan,
        };
        let list = self
            .sql
            .list
            .get(filters.rank.is_some(), search, filters.after.is_some());
        let mut q = sqlx::query(list);
        if let Some(rank) = filters.rank {
            q = q.bind(rank);
        }
        if let Some(pattern) = &filters.pattern {
            // Planned with the term itself (an unnamed statement, never a cached generic
            // plan): the planner picks the trigram index for a rare term and the list
            // index for a common one (migration 0010).
            q = q.bind(pattern.as_str()).persistent(false);
        }
        if let Some(Cursor(key)) = filters.after {
            q = q.bind(key.rank).bind(key.time_key).bind(*key.id.as_uuid());
        }
        Q::page(&self.pool, q, query).await
    }

    async fn due_sessions(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Vec<LiveSession>> {
        Q::due_sessions(&self.pool, &self.sql.due_sessions, now, limit).await
    }

    async fn insert_series(&self, sessions: &[LiveSession]) -> Result<()> {
        let tx = self.pool.begin().await.map_err(map_error)?;
        let (insert, append) = (&self.sql.insert_session, &self.sql.events.append);
        Q::insert_series_logged(tx, insert, append, self.sql.settle.statements(), sessions)
            .await
            .map(drop)
    }

    async fn series_sessions(&self, series_id: SeriesId) -> Result<Vec<LiveSession>> {
        Q::series_sessions(&self.pool, &self.sql.series.occurrences, series_id).await
    }

    async fn empty_sessions(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        presence_timeout: std::time::Duration,
        limit: usize,
    ) -> Result<Vec<livesessions_core::EmptySession>> {
        let sql = &self.sql.empty_sessions;
        Q::empty_sessions(&self.pool, sql, now, presence_timeout, limit).await
    }
}

#[async_trait]
impl AttendanceStore for PostgresStore {
    async fn join(&self, request: &JoinRequest) -> Result<JoinOutcome> {
        let shard = shard_of(&request.joiner.user_id);
        for _ in 0..JOIN_ATTEMPTS {
            let Some(row) = self.run_join(false, request, shard, &self.pool).await? else {
                // The seat its snapshot showed went to another join meanwhile: the shard is
                // near its last seats, where the locked path takes one from any shard.
                return self.join_capped(request, shard).await;
            };
            let session = admitted(&row)?;
            if let Some(participant) = participant(&row)? {
                let first_join: bool = Postgres::get(&row, "inserted")?;
                return Ok(JoinOutcome {
                    participant,
                    session,
                    first_join,
                });
            }
            if session.fields.capacity.is_some() {
                // A first join of a capped session that took no seat from its own shard (a
                // roster member, an empty or stale shard, a full session): the locked path.
                return self.join_capped(request, shard).await;
            }
            // Joinable but neither updated nor inserted: a concurrent first join of this user
            // committed after this statement's snapshot. Run again to record a rejoin.
        }
        Err(corrupt(format_args!(
            "join of {} to session {} found no participant after {JOIN_ATTEMPTS} attempts",
            request.joiner.user_id, request.session_id
        )))
    }

    async fn heartbeat(
        &self,
        session_id: SessionId,
        user_id: &UserId,
        presence: Presence,
    ) -> Result<Participant> {
        let row = Q::touch(
            &self.pool,
            &self.sql.heartbeat,
            session_id,
            user_id,
            presence,
        )
        .await?
        .ok_or_else(|| Error::session_not_found(session_id))?;
        participant(&row)?.ok_or_else(|| Error::participant_not_found(session_id, user_id))
    }

    async fn leave(
        &self,
        session_id: SessionId,
        user_id: &UserId,
        presence: Presence,
    ) -> Result<Participant> {
        Q::leave(&self.pool, &self.sql.leave, session_id, user_id, presence).await
    }

    async fn end_session(&self, ended: &LiveSession, timeout: Duration) -> Result<LiveSession> {
        let mut tx = self.pool.begin().await.map_err(map_error)?;
        // Lock the session row first, FOR UPDATE: that waits for joins and heartbeats in flight
        // (they hold it FOR KEY SHARE, which a plain UPDATE would not wait for) and makes later
        // ones wait and then see `ended`. The credit below, a new statement with a new snapshot,
        // then sees every participant they wrote (docs/ARCHITECTURE.md, "The join/end
        // interlock").
        sqlx::query(&self.sql.lock_session)
            .bind(*ended.id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(map_error)?;
        let sql = EndStatements {
            update: &self.sql.update_session,
            credit: &self.sql.end_credit,
            version_of: &self.sql.version_of,
            append: &self.sql.events.append,
        };
        let (ended, _) = Q::end_session(tx, &self.pool, sql, ended, timeout).await?;
        Ok(ended)
    }

    async fn get_participant(
        &self,
        session_id: SessionId,
        user_id: &UserId,
    ) -> Result<Option<Participant>> {
        Q::get_participant(&self.pool, &self.sql.get_participant, session_id, user_id).await
    }

    async fn watching(&self, session_id: SessionId, presence: Presence) -> Result<u64> {
        Q::watching(&self.pool, &self.sql.watching, session_id, presence).await
    }

    async fn watching_many(
        &self,
        session_ids: &[SessionId],
        Presence { at: now, timeout }: Presence,
    ) -> Result<Vec<u64>> {
        let ids: Vec<Uuid> = session_ids.iter().map(|id| *id.as_uuid()).collect();
        let counts: Vec<i64> = sqlx::query_scalar(&self.sql.watching_many)
            .bind(ids)
            .bind(now)
            .bind(Postgres::store_timeout(timeout))
            .fetch_all(&self.pool)
            .await
            .map_err(map_error)?;
        counts.into_iter().map(|n| to_u64(n, "watching")).collect()
    }
}

#[async_trait]
impl AnalyticsStore for PostgresStore {
    async fn session_report(&self, query: &ReportQuery) -> Result<SessionReport> {
        let row = Q::report_row(&self.pool, &self.sql.report, query)
            .await?
            .ok_or_else(|| Error::session_not_found(query.session_id))?;
        analytics::report::<Postgres>(&row, query)
    }

    async fn attendance(&self, query: &AttendanceQuery) -> Result<AttendancePage> {
        let total_row = sqlx::query(&self.sql.attendance_total)
            .bind(*query.session_id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_error)?
            .ok_or_else(|| Error::session_not_found(query.session_id))?;
        let total = to_u64(Postgres::get(&total_row, "total")?, "total")?;
        let sql = self.sql.attendance.get(query.sort, query.order);
        let rows = Q::attendance_rows(&self.pool, sql, query).await?;
        Ok(AttendancePage { rows, total })
    }

    async fn overview(&self, query: &OverviewQuery) -> Result<Overview> {
        let popular = self.sql.popular.get(query.by);
        Q::overview(&self.pool, &self.sql.overview_totals, popular, query).await
    }

    async fn participation(&self, query: &ParticipationQuery) -> Result<Participation> {
        let (totals, rows) = (&self.sql.participation_totals, &self.sql.participation_rows);
        Q::participation(&self.pool, totals, rows, query).await
    }

    async fn series_summary(&self, query: &SeriesSummaryQuery) -> Result<SeriesSummary> {
        Q::series_summary(&self.pool, &self.sql.series, query).await
    }
}

#[async_trait]
impl HealthCheck for PostgresStore {
    async fn ping(&self) -> Result<()> {
        Q::ping(&self.pool).await
    }
}
