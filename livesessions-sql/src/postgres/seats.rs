//! Seat shards: the walk-in seats of a capped session, spread over its count shard rows (see
//! docs/ARCHITECTURE.md, "Seat shards", and migration `0016_seat_shards.sql`).
//!
//! A capped session's seats for walk-ins (`capacity - participants - reserved seats`, never
//! below 0) are split over its [`COUNT_SHARDS`] rows of `session_participant_counts`, in the
//! column `seats`. A walk-in's first join takes one seat from its own shard in the join
//! statement, in the same row update that adds it to the count, so first joins of one capped
//! session commit in parallel as uncapped ones do. The seats are exact as long as every shard's
//! `epoch` equals the session's `seat_epoch`: each seat taken is one walk-in admitted, and
//! nothing else changes how many walk-ins may still come, except a write of the session or its
//! roster, which adds one to `seat_epoch` (a join that read the session before it takes no seat
//! after it) and [`settle`]s the seats again in its own transaction.
//!
//! Whenever a first join cannot take a seat from its own shard (a roster member, an empty
//! shard, stale seats), it runs the locked path: the session row `FOR NO KEY UPDATE`
//! (`lock_seats`, which also tells whether the seats are current: they are not only for shards
//! written before migration 0016), [`settle`] when they are not, then the join statement that
//! takes a seat from any shard that has one, or for a member checks the count. Settling locks
//! every shard row, so it waits for the joins that took a seat and have not committed, and then
//! counts the participants and reserved seats in a fresh snapshot: the seats it spreads are
//! exact.

use sqlx::postgres::PgConnection;

use super::map_error;
use super::shards::COUNT_SHARDS;
use livesessions_core::{Result, SessionId};

/// The statements of [`settle`], with the schema filled in (parameter: the session). Each
/// does nothing unless the session has a capacity, so a roster write may run them on any
/// session.
#[derive(Debug)]
pub(super) struct SettleStatements {
    /// In order: create the session's missing shard rows (count 0, with the seats of a session
    /// that has none of its rows yet); lock every shard row of the session, in shard order;
    /// spread `capacity - participants - reserved seats` (at least 0) over the shards and mark
    /// them current.
    statements: [String; 3],
}

impl SettleStatements {
    /// The statements on the schema `s` (quoted), with `reserved` the reserved-seat expression
    /// of the session row `s`.
    pub(super) fn new(s: &str, reserved: &str) -> Self {
        let shards = i64::from(COUNT_SHARDS);
        let capped = format!(
            "EXISTS (SELECT 1 FROM {s}.live_sessions WHERE id = $1 AND capacity IS NOT NULL)"
        );
        // The seats of shard `shard` when `n` are spread: `n / shards`, one more on the first
        // `n % shards`.
        let share = |n: &str, shard: &str| {
            format!("{n} / {shards} + CASE WHEN {shard} < {n} % {shards} THEN 1 ELSE 0 END")
        };
        // The walk-in seats of the capped session `s`, in a snapshot taken once every shard
        // row is locked.
        let seats = format!(
            "(SELECT s.seat_epoch AS epoch, GREATEST(0, s.capacity \
                - (SELECT COALESCE(SUM(x.count), 0)::bigint \
                   FROM {s}.session_participant_counts x WHERE x.session_id = s.id) \
                - {reserved}) AS n \
              FROM {s}.live_sessions s WHERE s.id = $1 AND s.capacity IS NOT NULL) t"
        );
        SettleStatements {
            statements: [
                // New shard rows get their seats at once (a new session's are then current
                // and the update below leaves them alone); existing rows are left as they are.
                format!(
                    "INSERT INTO {s}.session_participant_counts (session_id, shard, count, seats, epoch) \
                     SELECT $1, g, 0, {new_share}, t.epoch \
                     FROM generate_series(0, {last}) g, {seats} \
                     ON CONFLICT (session_id, shard) DO NOTHING",
                    new_share = share("t.n", "g"),
                    last = COUNT_SHARDS - 1,
                ),
                format!(
                    "SELECT 1 FROM {s}.session_participant_counts WHERE session_id = $1 AND {capped} \
                     ORDER BY shard FOR UPDATE"
                ),
                // Only rows whose seats or epoch change are written.
                format!(
                    "UPDATE {s}.session_participant_counts c SET seats = {row_share}, epoch = t.epoch \
                     FROM {seats} \
                     WHERE c.session_id = $1 \
                       AND (c.seats <> {row_share} OR c.epoch <> t.epoch)",
                    row_share = share("t.n", "c.shard"),
                ),
            ],
        }
    }

    /// The statements, in the order they run.
    pub(super) fn statements(&self) -> &[String] {
        &self.statements
    }
}

/// Spreads a capped session's walk-in seats over its shards again, in `conn`: a transaction
/// that holds the session row (from `lock_seats`, a roster write or a session update), so that
/// no other settle, roster write or session update runs meanwhile. Three statements: the
/// missing shard rows are created, every shard row is locked (waiting for first joins that
/// took a seat and have not committed), and only then, in a snapshot that holds all of them,
/// the seats are counted and spread.
pub(super) async fn settle(
    conn: &mut PgConnection,
    sql: &SettleStatements,
    session: SessionId,
) -> Result<()> {
    for statement in sql.statements() {
        sqlx::query(statement)
            .bind(*session.as_uuid())
            .execute(&mut *conn)
            .await
            .map_err(map_error)?;
    }
    Ok(())
}

/// Whether `error` is the join statement's `seat_taken_meanwhile()`: it inserted a walk-in for
/// a seat its snapshot showed, and once it held the shard row the seat was gone. The statement
/// was undone; the join runs again on the locked path.
pub(super) fn seat_taken_meanwhile(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "LS409")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::Utc;
    use livesessions_core::roster::{RosterMember, RosterStore as _};
    use livesessions_core::{
        AttendanceStore as _, Capacity, Conflict, Email, Error, EventKind, JoinRequest, Joiner,
        LiveSession, NewSession, Presence, SessionStore as _, UserId, UserName,
    };
    use sqlx::postgres::PgPool;
    use sqlx::{Connection as _, Postgres, Row as _};

    use super::super::explain::{cleanup, migrated};
    use super::super::shards::shard_of;
    use super::super::{quote_ident, PostgresStore};
    use crate::dialect::Dialect as _;
    use crate::queries::Queries;

    fn request(session: &LiveSession, user: &str) -> JoinRequest {
        JoinRequest {
            session_id: session.id,
            joiner: Joiner {
                user_id: UserId::parse(user).unwrap(),
                user_name: UserName::parse(user).unwrap(),
                email: Email::parse(&format!("{user}@example.com")).unwrap(),
            },
            presence: Presence::new(Utc::now(), Duration::from_secs(90)),
            admin: false,
        }
    }

    fn member(user: &str) -> RosterMember {
        RosterMember {
            user_id: UserId::parse(user).unwrap(),
            user_name: UserName::parse(user).unwrap(),
            email: Email::parse(&format!("{user}@example.com")).unwrap(),
            registered: false,
            added_at: Utc::now(),
        }
    }

    async fn inserted(store: &PostgresStore, capacity: Option<&str>) -> LiveSession {
        let mut input = NewSession::new(
            "Seats",
            "Ferris",
            "https://youtu.be/abc",
            "2031-01-15T10:00:00Z",
        );
        input.fields.capacity = capacity.map(str::to_owned);
        let session = LiveSession::new(input.validate().unwrap(), Utc::now());
        store.insert_session(&session).await.unwrap();
        session
    }

    /// The seats on the session's shards and whether every shard is current.
    async fn seats(store: &PostgresStore, pool: &PgPool, session: &LiveSession) -> (i64, bool) {
        let s = quote_ident(store.schema());
        let row = sqlx::query(&format!(
            "SELECT COALESCE(SUM(c.seats), 0)::bigint AS seats, \
                count(*) FILTER (WHERE c.epoch = s.seat_epoch) = 64 AS current \
             FROM {s}.live_sessions s LEFT JOIN {s}.session_participant_counts c \
               ON c.session_id = s.id WHERE s.id = $1 GROUP BY s.id"
        ))
        .bind(*session.id.as_uuid())
        .fetch_one(pool)
        .await
        .unwrap();
        (row.get("seats"), row.get("current"))
    }

    /// Walk-in seats left by the rule: capacity - participants - reserved seats.
    async fn expected(store: &PostgresStore, session: &LiveSession) -> i64 {
        let read = store.get_session(session.id).await.unwrap().unwrap();
        let capacity = i64::from(read.fields.capacity.unwrap().get());
        (capacity - read.participants as i64 - read.reserved_seats as i64).max(0)
    }

    /// Session `session` updated to capacity `seats` (the update settles its seats).
    async fn with_capacity(
        store: &PostgresStore,
        session: &LiveSession,
        seats: i64,
    ) -> LiveSession {
        let mut update = store.get_session(session.id).await.unwrap().unwrap();
        update.fields.capacity = Some(Capacity::new(seats).unwrap());
        update.version += 1;
        store
            .update_session(&update, EventKind::Updated)
            .await
            .unwrap()
    }

    async fn assert_full(store: &PostgresStore, session: &LiveSession, user: &str) {
        let refused = store.join(&request(session, user)).await.unwrap_err();
        assert!(
            matches!(refused, Error::Conflict(Conflict::SessionFull { .. })),
            "{user}: {refused:?}"
        );
    }

    /// The seats on the shards are the rule's walk-in seats, settled by every session update
    /// and roster write, through first joins, roster adds and removes and capacity changes;
    /// shards left stale (as migration 0016 leaves those written before it) are settled by
    /// the next first join that needs a seat.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn seats_follow_joins_roster_writes_and_capacity_changes() {
        let (store, pool) = migrated().await;
        let session = inserted(&store, None).await;
        store.join(&request(&session, "early")).await.unwrap();
        assert_eq!(seats(&store, &pool, &session).await, (0, false));

        let capped = with_capacity(&store, &session, 6).await;
        assert_eq!(seats(&store, &pool, &capped).await, (5, true));
        store.join(&request(&capped, "w1")).await.unwrap();
        assert_eq!(seats(&store, &pool, &capped).await, (4, true));

        let added = [member("m1"), member("m2")];
        store.add_roster_members(capped.id, &added).await.unwrap();
        assert_eq!(seats(&store, &pool, &capped).await, (2, true));
        store.join(&request(&capped, "w2")).await.unwrap();
        assert_eq!(seats(&store, &pool, &capped).await, (1, true));
        assert_eq!(expected(&store, &capped).await, 1);

        // Stale shards: the next first join settles them before it takes a seat.
        let s = quote_ident(store.schema());
        sqlx::query(&format!(
            "UPDATE {s}.session_participant_counts SET epoch = -1, seats = 0"
        ))
        .execute(&pool)
        .await
        .unwrap();
        store.join(&request(&capped, "w3")).await.unwrap();
        assert_eq!(seats(&store, &pool, &capped).await, (0, true));
        assert_full(&store, &capped, "w4").await;
        let m1 = store.join(&request(&capped, "m1")).await.unwrap();
        assert!(m1.first_join);
        assert_eq!(seats(&store, &pool, &capped).await, (0, true));

        let m2 = UserId::parse("m2").unwrap();
        assert!(store.remove_roster_member(capped.id, &m2).await.unwrap());
        assert_eq!(seats(&store, &pool, &capped).await, (1, true));
        store.join(&request(&capped, "w4")).await.unwrap();
        assert_eq!(seats(&store, &pool, &capped).await, (0, true));
        assert_full(&store, &capped, "w5").await;

        let wider = with_capacity(&store, &capped, 8).await;
        assert_eq!(seats(&store, &pool, &wider).await, (2, true));
        store.join(&request(&wider, "w5")).await.unwrap();
        assert_eq!(seats(&store, &pool, &wider).await, (1, true));
        assert_eq!(expected(&store, &wider).await, 1);
        store.join(&request(&wider, "w6")).await.unwrap();
        assert_full(&store, &wider, "w7").await;
        let read = store.get_session(wider.id).await.unwrap().unwrap();
        assert_eq!((read.participants, read.reserved_seats), (8, 0));

        cleanup(store, pool).await;
    }

    /// Runs the fast join statement for `held` in a transaction left open (it must insert),
    /// then the store's join for `racing`, waits until that join waits for a lock the open
    /// transaction holds, commits it and returns what the store's join gave.
    async fn race(
        store: &PostgresStore,
        pool: &PgPool,
        held: &JoinRequest,
        racing: &JoinRequest,
    ) -> livesessions_core::Result<livesessions_core::JoinOutcome> {
        let mut holder = pool.begin().await.unwrap();
        let row = Queries::<Postgres>::bind_joiner(sqlx::query(&store.sql.join), held)
            .bind(Postgres::store_timeout(held.presence.timeout))
            .bind(shard_of(&held.joiner.user_id))
            .bind(false)
            .bind(false)
            .fetch_one(&mut *holder)
            .await
            .unwrap();
        assert!(
            row.get::<Option<bool>, _>("inserted").unwrap(),
            "the held join inserted"
        );
        let racing = {
            let (store, racing) = (store.clone(), racing.clone());
            tokio::spawn(async move { store.join(&racing).await })
        };
        // Watched on a connection outside the store's pool, which the two joins fill. The
        // statement's text is cut at `track_activity_query_size`; its start names the test's
        // schema.
        let url = std::env::var("LIVESESSIONS_TEST_POSTGRES_URL").unwrap();
        let mut watcher = sqlx::PgConnection::connect(&url).await.unwrap();
        let mut waited = false;
        for _ in 0..200 {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE wait_event_type = 'Lock' AND query LIKE 'WITH s AS%' \
                   AND strpos(query, $1) > 0",
            )
            .bind(store.schema())
            .fetch_one(&mut watcher)
            .await
            .unwrap();
            if waiting > 0 {
                waited = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            waited,
            "the store's join never waited for the held transaction"
        );
        holder.commit().await.unwrap();
        racing.await.unwrap()
    }

    /// No seat is taken for what a concurrent first join of the same user makes a rejoin:
    /// the store's join waits for the held insert of the same user, inserts nothing, and
    /// records a rejoin on the locked path; the seats lost one, for the held join only.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_seat_is_taken_for_a_rejoin() {
        let (store, pool) = migrated().await;
        // 1 000 seats: 15 or 16 on every shard, so every first join below finds one on its
        // own shard.
        let session = inserted(&store, Some("1000")).await;
        assert_eq!(seats(&store, &pool, &session).await, (1000, true));
        store.join(&request(&session, "first")).await.unwrap();
        assert_eq!(seats(&store, &pool, &session).await, (999, true));

        let twice = request(&session, "twice");
        let outcome = race(&store, &pool, &twice, &twice).await.unwrap();
        assert!(!outcome.first_join, "the racing join is a rejoin");
        assert_eq!(outcome.participant.join_count, 2);
        assert_eq!(outcome.session.participants, 2);
        assert_eq!(seats(&store, &pool, &session).await, (998, true));
        cleanup(store, pool).await;
    }

    /// A walk-in whose snapshot showed its shard's last seat, which another first join on the
    /// same shard took before it held the row, is undone (`seat_taken_meanwhile`) and joins
    /// again: on the locked path, with a seat from another shard. Without the undo it would
    /// be admitted with no seat taken, and the seats would count one walk-in too few.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_seat_taken_meanwhile_is_taken_again_elsewhere() {
        let (store, pool) = migrated().await;
        // 64 seats: one on every shard.
        let session = inserted(&store, Some("64")).await;
        assert_eq!(seats(&store, &pool, &session).await, (64, true));
        let shard = shard_of(&UserId::parse("held").unwrap());
        let same = (0..10_000)
            .map(|i| format!("racer{i}"))
            .find(|u| shard_of(&UserId::parse(u).unwrap()) == shard)
            .unwrap();

        let outcome = race(
            &store,
            &pool,
            &request(&session, "held"),
            &request(&session, &same),
        )
        .await
        .unwrap();
        assert!(outcome.first_join);
        assert_eq!(seats(&store, &pool, &session).await, (62, true));
        let s = quote_ident(store.schema());
        let rows: Vec<(i16, i64, i64)> = sqlx::query_as(&format!(
            "SELECT shard, count, seats FROM {s}.session_participant_counts \
             WHERE count > 0 OR seats = 0 ORDER BY shard"
        ))
        .fetch_all(&pool)
        .await
        .unwrap();
        let own = rows.iter().find(|r| r.0 == shard).unwrap();
        assert_eq!(
            (own.1, own.2),
            (2, 0),
            "both counted on their shard: {rows:?}"
        );
        assert_eq!(rows.len(), 2, "one other shard gave its seat: {rows:?}");
        let read = store.get_session(session.id).await.unwrap().unwrap();
        assert_eq!(read.participants, 2);
        cleanup(store, pool).await;
    }
}
