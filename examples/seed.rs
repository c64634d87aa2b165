//! Seeds a PostgreSQL schema with many sessions and participant records, straight in SQL
//! (`INSERT … SELECT generate_series`) into the tables `PostgresStore::migrate` creates, for
//! the benchmarks at scale (`perf_scale`).
//!
//! ```sh
//! cargo run --release --example seed                       # 100 000 sessions, 1 000 000 records in ls_bench
//! cargo run --release --example seed -- --schema ls_bench_small --sessions 10100 --participants 1000
//! ```
//!
//! Layout (session number g = 1..=sessions):
//! - g 1–20 live (started an hour ago); g 1 has `--big` participants (default 10 000), all
//!   present; g 2 and g 3 have none (the join and end benchmarks use them);
//! - g 21–10 020 scheduled (every 50th cancelled), starting in the coming days;
//! - the rest ended, newest first, each with its share of the remaining participant records.
//!
//! Users are `user-1` … `user-100000`; `user-42` takes part in about ten sessions. Every
//! session's participant count is stored in count shard 0 (the store sums the shards, so any
//! split gives the same count). The schema is kept between runs; an existing one with the
//! asked-for sizes is left alone unless `--force` (sessions 2 and 3, which the benchmarks
//! fill and empty, are not counted).

#[path = "perf_common/mod.rs"]
mod perf_common;

use std::time::Instant;

use clap::Parser;
use livesessions_sql::postgres::PostgresStore;
use livesessions_sql::sqlx::{self, postgres::PgPoolOptions, Executor};

/// Seeds a benchmark schema.
#[derive(Debug, Parser)]
struct Args {
    /// Schema to fill.
    #[arg(long, default_value = "ls_bench")]
    schema: String,
    /// Sessions in all (at least 10 021: 20 live, 10 000 scheduled, the rest ended).
    #[arg(long, default_value_t = 100_000)]
    sessions: i64,
    /// Participant records in all.
    #[arg(long, default_value_t = 1_000_000)]
    participants: i64,
    /// Participants of the big live session (session 1).
    #[arg(long, default_value_t = 10_000)]
    big: i64,
    /// Experiment: set this fillfactor on `session_participants` before filling it (the
    /// migration leaves PostgreSQL's default, 100).
    #[arg(long)]
    fillfactor: Option<u8>,
    /// Re-create the schema even if it already holds the asked-for sizes.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    postgres: perf_common::Postgres,
}

/// The uuid of session number `g` (SQL expression over an integer expression).
fn session_uuid_sql(g: &str) -> String {
    format!("('00000000-0000-7000-8000-' || lpad(to_hex({g}), 12, '0'))::uuid")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if args.sessions < 10_021 || args.participants < args.big {
        return Err("need --sessions ≥ 10021 and --participants ≥ --big".into());
    }
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&args.postgres.url)
        .await?;
    let s = &args.schema;
    let existing: Option<(i64, i64)> = sqlx::query_as(&format!(
        "SELECT (SELECT count(*) FROM {s}.live_sessions), \
                (SELECT count(*) FROM {s}.session_participants WHERE session_id NOT IN \
                  ('00000000-0000-7000-8000-000000000002', '00000000-0000-7000-8000-000000000003'))"
    ))
    .fetch_optional(&pool)
    .await
    .ok()
    .flatten();
    if existing == Some((args.sessions, args.participants)) && !args.force {
        println!(
            "{s} already holds {} sessions and {} participant records (use --force to re-seed)",
            args.sessions, args.participants
        );
        return Ok(());
    }
    let started = Instant::now();
    pool.execute(format!("DROP SCHEMA IF EXISTS {s} CASCADE").as_str())
        .await?;
    let store = PostgresStore::from_pool(pool.clone()).with_schema(s)?;
    store.migrate().await?;
    if let Some(fillfactor) = args.fillfactor {
        pool.execute(
            format!("ALTER TABLE {s}.session_participants SET (fillfactor = {fillfactor})")
                .as_str(),
        )
        .await?;
    }
    let id = session_uuid_sql("g");
    let ended = args.sessions - 10_020;
    let rest = args.participants - args.big;
    let statements = [
        // Sessions.
        format!(
            "INSERT INTO {s}.live_sessions (id, title, description, instructor, video_url, \
                start_time, status, started_at, ended_at, live_since, live_seconds, created_at, \
                updated_at, version, list_rank, list_time_key)
             SELECT {id}, v.title, 'Seeded session ' || g, 'Instructor ' || (g % 500),
                'https://www.youtube.com/watch?v=dQw4w9WgXcQ', v.start_time, v.status,
                CASE WHEN v.status IN ('live', 'ended') THEN v.start_time END,
                CASE WHEN v.status = 'ended' THEN v.start_time + interval '1 hour' END,
                CASE WHEN v.status = 'live' THEN v.start_time END,
                CASE WHEN v.status = 'ended' THEN 3600 ELSE 0 END,
                v.start_time - interval '7 days', v.start_time - interval '7 days',
                CASE v.status WHEN 'scheduled' THEN 1 WHEN 'live' THEN 2 ELSE 3 END,
                CASE v.status WHEN 'live' THEN 0 WHEN 'scheduled' THEN 1 WHEN 'ended' THEN 2 ELSE 3 END,
                CASE WHEN v.status IN ('live', 'scheduled')
                     THEN (date_part('epoch', v.start_time) * 1000000)::bigint
                     ELSE -(date_part('epoch', v.start_time) * 1000000)::bigint END
             FROM generate_series(1, {n}) g,
             LATERAL (SELECT
                (ARRAY['Algebra','Biology','Chemistry','Drawing','English','French','Geometry','History'])[g % 8 + 1]
                    || ' class ' || g AS title,
                CASE WHEN g <= 20 THEN date_trunc('second', now()) - interval '1 hour'
                     WHEN g <= 10020 THEN date_trunc('minute', now()) + g * interval '10 minutes'
                     ELSE date_trunc('minute', now()) - (g - 10020) * interval '30 minutes' END AS start_time,
                CASE WHEN g <= 20 THEN 'live'
                     WHEN g <= 10020 AND g % 50 = 0 THEN 'cancelled'
                     WHEN g <= 10020 THEN 'scheduled'
                     ELSE 'ended' END AS status) v",
            n = args.sessions
        ),
        // The big live session: everyone present, seen just now.
        format!(
            "INSERT INTO {s}.session_participants (session_id, user_id, user_name, email, \
                first_joined_at, last_joined_at, last_seen, present_since, watch_seconds, \
                join_count, created_at)
             SELECT '00000000-0000-7000-8000-000000000001', 'user-' || k, 'Student ' || k,
                'user' || k || '@example.com', t, t, now(), t, 0, 1, t
             FROM generate_series(1, {big}) k,
             LATERAL (SELECT date_trunc('second', now()) - interval '1 hour' + k * interval '1 millisecond' AS t) v",
            big = args.big
        ),
        // The rest over the ended sessions: record r goes to session 10021 + r % ended, user
        // (r / ended * 9973 + session) % 100000 + 1 (distinct within a session).
        format!(
            "INSERT INTO {s}.session_participants (session_id, user_id, user_name, email, \
                first_joined_at, last_joined_at, last_seen, left_at, present_since, \
                watch_seconds, join_count, created_at)
             SELECT {sid}, 'user-' || u, 'Student ' || u, 'user' || u || '@example.com',
                st + (r % 600) * interval '1 second', st + (r % 600) * interval '1 second',
                st + interval '1 hour', st + interval '1 hour', NULL,
                3600 - (r % 600), 1 + r % 3, st + (r % 600) * interval '1 second'
             FROM generate_series(0, {rest} - 1) r,
             LATERAL (SELECT 10021 + r % {ended} AS g) a,
             LATERAL (SELECT (r / {ended} * 9973 + a.g) % 100000 + 1 AS u,
                date_trunc('minute', now()) - (a.g - 10020) * interval '30 minutes' AS st) b",
            sid = session_uuid_sql("a.g"),
        ),
        format!(
            "INSERT INTO {s}.session_participant_counts (session_id, shard, count)
             SELECT session_id, 0, count(*) FROM {s}.session_participants GROUP BY session_id"
        ),
        format!("VACUUM ANALYZE {s}.live_sessions"),
        format!("VACUUM ANALYZE {s}.session_participants"),
        format!("VACUUM ANALYZE {s}.session_participant_counts"),
    ];
    for statement in &statements {
        let t = Instant::now();
        pool.execute(statement.as_str()).await?;
        let first = statement
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ");
        println!("{:>7.1}s  {first} …", t.elapsed().as_secs_f64());
    }
    let (sessions, participants): (i64, i64) = sqlx::query_as(&format!(
        "SELECT (SELECT count(*) FROM {s}.live_sessions), \
                (SELECT count(*) FROM {s}.session_participants)"
    ))
    .fetch_one(&pool)
    .await?;
    println!(
        "seeded {s}: {sessions} sessions, {participants} participant records in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
