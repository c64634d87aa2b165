//! The roster at scale on PostgreSQL (ignored: a benchmark, run by hand, see BENCHMARKS.md):
//! a schema shaped like the `seed` example's (100 000 sessions, 1 000 000 participant
//! records; session 1 live with 10 000 present participants), where session 1 gets a roster
//! of 10 000 members through the store (9 000 of them participants, 1 000 absent; the other
//! 1 000 participants are walk-ins). Prints the upload's time and p50/p95/p99 of roster
//! views through the store, and checks the view's counts. Each view is timed call by call
//! beside the statement it replaced (`tests/roster_view_before/`, the view of commit
//! `8ee6f9c`), on the same pool and data, and both must give the same page and counts: the
//! before and after figures of BENCHMARKS.md ("Rosters at scale") come from one run.
//!
//! ```sh
//! cargo test --release -p livesessions-sql --all-features --test roster_scale_postgres \
//!     -- --ignored --nocapture
//! ```
//!
//! `LIVESESSIONS_ROSTER_BENCH_SESSIONS` and `LIVESESSIONS_ROSTER_BENCH_RECORDS` shrink the data
//! set (defaults 100 000 and 1 000 000); the schema `ls_roster_bench` is kept between runs and
//! seeded again only when its sizes differ.

mod common;

use std::time::{Duration, Instant};

use chrono::Utc;
use livesessions_core::analytics::SortOrder;
use livesessions_core::roster::{
    AttendanceStatus, RosterMember, RosterQuery, RosterSort, RosterStore, StatusRule,
};
use livesessions_core::{Email, SessionId, UserId, UserName};
use livesessions_sql::postgres::PostgresStore;
use livesessions_sql::sqlx::{self, postgres::PgPoolOptions, Executor, PgPool, Row};

const SCHEMA: &str = "ls_roster_bench";
const MEMBERS: i64 = 10_000;
const BIG: i64 = 10_000;

fn size(var: &str, default: i64) -> i64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The uuid of session number `g` (SQL expression over an integer expression), as `seed`.
fn session_uuid_sql(g: &str) -> String {
    format!("('00000000-0000-7000-8000-' || lpad(to_hex({g}), 12, '0'))::uuid")
}

fn session(g: u32) -> SessionId {
    SessionId::parse_field(&format!("00000000-0000-7000-8000-{g:012x}"), "id").unwrap()
}

/// Fills the schema as `seed` does (fewer columns: the rest take their defaults), unless it
/// holds these sizes already.
async fn seed(pool: &PgPool, store: &PostgresStore, sessions: i64, records: i64) {
    let s = SCHEMA;
    let existing: Option<(i64, i64)> = sqlx::query_as(&format!(
        "SELECT (SELECT count(*) FROM {s}.live_sessions), \
                (SELECT count(*) FROM {s}.session_participants)"
    ))
    .fetch_optional(pool)
    .await
    .ok()
    .flatten();
    if existing == Some((sessions, records)) {
        println!("{s} already holds {sessions} sessions and {records} records");
        store.migrate().await.expect("migrate");
        return;
    }
    let started = Instant::now();
    pool.execute(format!("DROP SCHEMA IF EXISTS {s} CASCADE").as_str())
        .await
        .expect("drop");
    store.migrate().await.expect("migrate");
    let id = session_uuid_sql("g");
    let ended = sessions - 10_020;
    let rest = records - BIG;
    let statements = [
        format!(
            "INSERT INTO {s}.live_sessions (id, title, description, instructor, video_url, \
                start_time, status, started_at, ended_at, live_since, live_seconds, created_at, \
                updated_at, version, list_rank, list_time_key) \
             SELECT {id}, 'Class ' || g, 'Seeded session ' || g, 'Instructor ' || (g % 500), \
                'https://www.youtube.com/watch?v=dQw4w9WgXcQ', v.start_time, v.status, \
                CASE WHEN v.status IN ('live', 'ended') THEN v.start_time END, \
                CASE WHEN v.status = 'ended' THEN v.start_time + interval '1 hour' END, \
                CASE WHEN v.status = 'live' THEN v.start_time END, \
                CASE WHEN v.status = 'ended' THEN 3600 ELSE 0 END, \
                v.start_time - interval '7 days', v.start_time - interval '7 days', 1, \
                CASE v.status WHEN 'live' THEN 0 WHEN 'scheduled' THEN 1 ELSE 2 END, \
                (date_part('epoch', v.start_time) * 1000000)::bigint \
             FROM generate_series(1, {sessions}) g, \
             LATERAL (SELECT \
                CASE WHEN g <= 20 THEN date_trunc('second', now()) - interval '1 hour' \
                     WHEN g <= 10020 THEN date_trunc('minute', now()) + g * interval '10 minutes' \
                     ELSE date_trunc('minute', now()) - (g - 10020) * interval '30 minutes' END \
                  AS start_time, \
                CASE WHEN g <= 20 THEN 'live' WHEN g <= 10020 THEN 'scheduled' \
                     ELSE 'ended' END AS status) v"
        ),
        // The big live session: everyone present since their join, seen just now.
        format!(
            "INSERT INTO {s}.session_participants (session_id, user_id, user_name, email, \
                first_joined_at, last_joined_at, last_seen, present_since, first_present_at, \
                watch_seconds, join_count, created_at) \
             SELECT '00000000-0000-7000-8000-000000000001', 'user-' || k, 'Student ' || k, \
                'user' || k || '@example.com', t, t, now(), t, t, 0, 1, t \
             FROM generate_series(1, {BIG}) k, \
             LATERAL (SELECT date_trunc('second', now()) - interval '1 hour' \
                             + k * interval '250 milliseconds' AS t) v"
        ),
        format!(
            "INSERT INTO {s}.session_participants (session_id, user_id, user_name, email, \
                first_joined_at, last_joined_at, last_seen, left_at, first_present_at, \
                watch_seconds, join_count, created_at) \
             SELECT {sid}, 'user-' || u, 'Student ' || u, 'user' || u || '@example.com', \
                st, st, st + interval '1 hour', st + interval '1 hour', st, \
                3600 - (r % 600), 1 + r % 3, st \
             FROM generate_series(0, {rest} - 1) r, \
             LATERAL (SELECT 10021 + r % {ended} AS g) a, \
             LATERAL (SELECT (r / {ended} * 9973 + a.g) % 100000 + 1 AS u, \
                date_trunc('minute', now()) - (a.g - 10020) * interval '30 minutes' \
                  + (r % 600) * interval '1 second' AS st) b",
            sid = session_uuid_sql("a.g"),
        ),
        format!(
            "INSERT INTO {s}.session_participant_counts (session_id, shard, count) \
             SELECT session_id, 0, count(*) FROM {s}.session_participants GROUP BY session_id"
        ),
        format!("VACUUM ANALYZE {s}.live_sessions"),
        format!("VACUUM ANALYZE {s}.session_participants"),
        format!("VACUUM ANALYZE {s}.session_participant_counts"),
    ];
    for statement in &statements {
        pool.execute(statement.as_str()).await.expect("seed");
    }
    println!(
        "seeded {s}: {sessions} sessions, {records} records in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

fn members(from: i64, n: i64) -> Vec<RosterMember> {
    (from..from + n)
        .map(|k| RosterMember {
            user_id: UserId::parse(&format!("user-{k}")).unwrap(),
            user_name: UserName::parse(&format!("Student {k}")).unwrap(),
            email: Email::parse(&format!("user{k}@example.com")).unwrap(),
            registered: false,
            added_at: Utc::now(),
        })
        .collect()
}

/// The view of commit `8ee6f9c` sorted as `query` asks (the sorts the benchmark times).
fn before(query: &RosterQuery) -> &'static str {
    match (query.sort, query.order) {
        (RosterSort::Name, SortOrder::Asc) => include_str!("roster_view_before/name_asc.sql"),
        (RosterSort::WatchTime, SortOrder::Desc) => {
            include_str!("roster_view_before/watch_time_desc.sql")
        }
        (RosterSort::JoinTime, SortOrder::Desc) => {
            include_str!("roster_view_before/join_time_desc.sql")
        }
        (RosterSort::Status, SortOrder::Asc) => include_str!("roster_view_before/status_asc.sql"),
        other => panic!("no earlier statement for {other:?}"),
    }
}

/// Runs the earlier view for `query` with the parameters the store binds; returns the page's
/// user ids, the total and the counts per status.
async fn run_before(pool: &PgPool, query: &RosterQuery) -> (Vec<String>, [i64; 7]) {
    let rule = &query.rule;
    let rows = sqlx::query(before(query))
        .bind(*query.session_id.as_uuid())
        .bind(rule.now)
        .bind(Duration::from_secs(rule.timeout.as_secs()))
        .bind(rule.live_seconds)
        .bind(i64::from(rule.threshold_percent))
        .bind(rule.late_after)
        .bind(query.status.map(|s| i64::from(s.rank())))
        .bind(i64::try_from(query.offset).unwrap())
        .bind(i64::from(query.limit))
        .fetch_all(pool)
        .await
        .expect("the earlier view");
    let count = |column: &str| -> i64 { rows[0].get(column) };
    let counts = [
        "c_total",
        "c_members",
        "c_present",
        "c_partial",
        "c_lobby_only",
        "c_absent",
        "c_late",
    ]
    .map(count);
    let ids = rows
        .iter()
        .filter_map(|r| r.get::<Option<String>, _>("user_id"))
        .collect();
    (ids, counts)
}

fn percentiles(mut sample: Vec<Duration>) -> String {
    sample.sort();
    let at = |q: f64| {
        let i = ((sample.len() as f64 * q).ceil() as usize).clamp(1, sample.len()) - 1;
        sample[i].as_secs_f64() * 1000.0
    };
    format!(
        "p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms",
        at(0.50),
        at(0.95),
        at(0.99)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: seeds 1 000 000 records; run by hand (BENCHMARKS.md)"]
async fn roster_view_of_a_10_000_member_session_at_scale() {
    let sessions = size("LIVESESSIONS_ROSTER_BENCH_SESSIONS", 100_000);
    let records = size("LIVESESSIONS_ROSTER_BENCH_RECORDS", 1_000_000);
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&common::postgres_url())
        .await
        .expect("connect");
    let store = PostgresStore::from_pool(pool.clone())
        .with_schema(SCHEMA)
        .unwrap();
    seed(&pool, &store, sessions, records).await;

    // The upload: 10 000 members of session 1 in one call (a fresh roster each run), then
    // the same upload again (every row an update).
    let big = session(1);
    pool.execute(
        format!("DELETE FROM {SCHEMA}.roster_members WHERE session_id = '{big}'").as_str(),
    )
    .await
    .expect("empty the roster");
    let upload = members(1001, MEMBERS);
    let t = Instant::now();
    let added = store.add_roster_members(big, &upload).await.unwrap();
    let first = t.elapsed();
    let t = Instant::now();
    let again = store.add_roster_members(big, &upload).await.unwrap();
    let second = t.elapsed();
    assert_eq!((added, again), (MEMBERS as u64, 0));
    println!(
        "upload of {MEMBERS} members: {:.1} ms new, {:.1} ms again (all updates)",
        first.as_secs_f64() * 1000.0,
        second.as_secs_f64() * 1000.0
    );
    // Each run deletes and rewrites the roster: vacuumed as autovacuum would (a server may run
    // without it, as the one of BENCHMARKS.md does), or every view reads the dead rows of all
    // earlier runs.
    pool.execute(format!("VACUUM ANALYZE {SCHEMA}.roster_members").as_str())
        .await
        .expect("vacuum");

    let rule = StatusRule {
        now: Utc::now(),
        timeout: Duration::from_secs(90),
        live_seconds: 3600,
        threshold_percent: 75,
        late_after: Some(Utc::now() - chrono::Duration::minutes(50)),
    };
    let query = |status, sort, order, offset, limit| RosterQuery {
        session_id: big,
        rule,
        status,
        sort,
        order,
        offset,
        limit,
    };
    let views = [
        (
            "default: by name, 100 rows",
            query(None, RosterSort::Name, SortOrder::Asc, 0, 100),
        ),
        (
            "by name, page 50 (offset 4 900)",
            query(None, RosterSort::Name, SortOrder::Asc, 4900, 100),
        ),
        (
            "status=absent, by name",
            query(
                Some(AttendanceStatus::Absent),
                RosterSort::Name,
                SortOrder::Asc,
                0,
                100,
            ),
        ),
        (
            "by watch time desc",
            query(None, RosterSort::WatchTime, SortOrder::Desc, 0, 100),
        ),
        (
            "by join time desc",
            query(None, RosterSort::JoinTime, SortOrder::Desc, 0, 100),
        ),
        (
            "by status, all 10 000 rows",
            query(None, RosterSort::Status, SortOrder::Asc, 0, 10_000),
        ),
    ];
    let page = store.roster(&views[0].1).await.unwrap();
    assert_eq!(
        (
            page.total,
            page.members,
            page.counts.absent,
            page.rows.len()
        ),
        (11_000, 10_000, 1_000, 100),
        "the view of 10 000 members and 1 000 walk-ins"
    );
    for (name, query) in &views {
        // The same page and counts from the store and from the earlier statement.
        let page = store.roster(query).await.unwrap();
        let c = &page.counts;
        let after = (
            page.rows
                .iter()
                .map(|r| r.user_id.as_str().to_owned())
                .collect::<Vec<_>>(),
            [
                page.total,
                page.members,
                c.present,
                c.partial,
                c.lobby_only,
                c.absent,
                c.late,
            ]
            .map(|n| i64::try_from(n).unwrap()),
        );
        assert_eq!(after, run_before(&pool, query).await, "{name}");
        for _ in 0..3 {
            store.roster(query).await.unwrap();
            run_before(&pool, query).await;
        }
        // Call by call, one of each in turn, so that both see the same load.
        let (mut now, mut then) = (Vec::with_capacity(200), Vec::with_capacity(200));
        for _ in 0..200 {
            let t = Instant::now();
            store.roster(query).await.unwrap();
            now.push(t.elapsed());
            let t = Instant::now();
            run_before(&pool, query).await;
            then.push(t.elapsed());
        }
        println!("roster view, {name:<34} {}", percentiles(now));
        println!("  before (8ee6f9c), {:<27} {}", "", percentiles(then));
    }
    pool.close().await;
}
