//! The [`CalendarFeedStore`](livesessions_core::calendar::CalendarFeedStore) of both
//! databases, written once: the statements (built per database and table prefix) and the
//! operations. Tokens are kept in `calendar_feed_tokens` as the lower-case hex of their
//! SHA-256 (unique), one row per user; the feeds' sessions are selected, ordered and bounded
//! in the database.

use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use livesessions_core::calendar::{CalendarQuery, FeedTokenHash};
use livesessions_core::{LiveSession, Result, UserId};
use sqlx::{Decode, Encode, Executor, IntoArguments, Type};
use uuid::Uuid;

use crate::dialect::Dialect;
use crate::errors::map_error;
use crate::record::{corrupt, session_from_row};

/// The table of feed tokens (without prefix).
pub(crate) const TABLE: &str = "calendar_feed_tokens";

/// The calendar statements of one database.
#[derive(Debug)]
pub(crate) struct CalendarStatements {
    /// Gives a user a token hash, replacing theirs (parameters: user, hash, now).
    pub set_token: String,
    /// The user of a hash (parameter: hash).
    pub feed_user: String,
    /// Removes a user's token (parameter: user).
    pub revoke: String,
    /// The public feed (parameters: scheduled since, now, limit).
    pub public_sessions: String,
    /// A user's feed: the sessions they joined or are on the roster of (parameters: scheduled
    /// since, now, limit, user).
    pub user_sessions: String,
}

impl CalendarStatements {
    /// The statements on the tables named with `prefix` (a schema and a dot, or empty),
    /// selecting `session` (a [`session_select`](crate::record::session_select) on the alias
    /// `s`).
    pub(crate) fn new<D: Dialect>(prefix: &str, session: &str) -> Self {
        let p = D::PARAMETER;
        let t = format!("{prefix}{TABLE}");
        // The feeds' rule (`CalendarQuery::includes`); its status list is the condition of
        // the partial index `live_sessions_calendar_idx`, so the scan reads only that index.
        let rule = format!(
            "s.status IN ('scheduled', 'live', 'cancelled') \
             AND (s.status = 'live' \
                  OR (s.status = 'scheduled' AND s.start_time >= {p}1) \
                  OR (s.status = 'cancelled' AND s.start_time > {p}2))"
        );
        CalendarStatements {
            set_token: format!(
                "INSERT INTO {t} (user_id, token_hash, created_at) VALUES ({p}1, {p}2, {p}3) \
                 ON CONFLICT (user_id) DO UPDATE \
                 SET token_hash = excluded.token_hash, created_at = excluded.created_at"
            ),
            feed_user: format!("SELECT user_id FROM {t} WHERE token_hash = {p}1"),
            revoke: format!("DELETE FROM {t} WHERE user_id = {p}1"),
            public_sessions: format!(
                "SELECT {session} FROM {prefix}live_sessions s WHERE {rule} \
                 ORDER BY s.start_time, s.id LIMIT {p}3"
            ),
            // The sessions the user joined or is on the roster of, each found by the user's
            // index of its table.
            user_sessions: format!(
                "SELECT {session} FROM {prefix}live_sessions s \
                 WHERE s.id IN (SELECT p.session_id FROM {prefix}session_participants p \
                                WHERE p.user_id = {p}4 \
                                UNION \
                                SELECT r.session_id FROM {prefix}{roster} r \
                                WHERE r.user_id = {p}4) \
                   AND {rule} \
                 ORDER BY s.start_time, s.id LIMIT {p}3",
                roster = crate::roster::TABLE,
            ),
        }
    }
}

/// The shared calendar operations on the database `D`.
pub(crate) struct Calendar<D>(PhantomData<D>);

impl<D> Calendar<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> Uuid: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> String: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> D::Time: Encode<'q, D> + Type<D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> bool: Decode<'q, D> + Type<D>,
{
    /// [`CalendarFeedStore::set_feed_token`](livesessions_core::calendar::CalendarFeedStore::set_feed_token).
    pub(crate) async fn set_token(
        executor: impl Executor<'_, Database = D>,
        sql: &CalendarStatements,
        user: &UserId,
        hash: &FeedTokenHash,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(&sql.set_token)
            .bind(user.as_str().to_owned())
            .bind(hash.to_hex())
            .bind(D::store_time(now))
            .execute(executor)
            .await
            .map_err(map_error::<D>)?;
        Ok(())
    }

    /// [`CalendarFeedStore::feed_user`](livesessions_core::calendar::CalendarFeedStore::feed_user).
    pub(crate) async fn feed_user(
        executor: impl Executor<'_, Database = D>,
        sql: &CalendarStatements,
        hash: &FeedTokenHash,
    ) -> Result<Option<UserId>> {
        let row = sqlx::query(&sql.feed_user)
            .bind(hash.to_hex())
            .fetch_optional(executor)
            .await
            .map_err(map_error::<D>)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let user: String = D::get(&row, "user_id")?;
        UserId::parse(&user).map(Some).map_err(corrupt)
    }

    /// [`CalendarFeedStore::revoke_feed_token`](livesessions_core::calendar::CalendarFeedStore::revoke_feed_token).
    pub(crate) async fn revoke(
        executor: impl Executor<'_, Database = D>,
        sql: &CalendarStatements,
        user: &UserId,
    ) -> Result<bool> {
        let result = sqlx::query(&sql.revoke)
            .bind(user.as_str().to_owned())
            .execute(executor)
            .await
            .map_err(map_error::<D>)?;
        Ok(D::rows_affected(&result) > 0)
    }

    /// [`CalendarFeedStore::calendar_sessions`](livesessions_core::calendar::CalendarFeedStore::calendar_sessions).
    pub(crate) async fn sessions(
        executor: impl Executor<'_, Database = D>,
        sql: &CalendarStatements,
        query: &CalendarQuery,
    ) -> Result<Vec<LiveSession>> {
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let statement = match &query.user {
            None => sqlx::query(&sql.public_sessions),
            Some(_) => sqlx::query(&sql.user_sessions),
        }
        .bind(D::store_time(query.scheduled_since()))
        .bind(D::store_time(query.now))
        .bind(limit);
        let statement = match &query.user {
            None => statement,
            Some(user) => statement.bind(user.as_str().to_owned()),
        };
        statement
            .fetch_all(executor)
            .await
            .map_err(map_error::<D>)?
            .iter()
            .map(session_from_row::<D>)
            .collect()
    }
}
