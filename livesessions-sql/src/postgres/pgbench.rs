//! `pgbench/store_join.sql` is the store's join statement as pgbench runs it (the parameters
//! replaced by pgbench's values), and `pgbench/setup.sql` builds the lab's schema from every
//! migration: these tests keep both in step with the store, so that the lab prices the join the
//! store runs.

use std::collections::BTreeSet;

use super::statements::Statements;

/// The lab's live session (`pgbench/setup.sql`).
const SESSION: &str = "'00000000-0000-7000-8000-000000000001'";

/// The join statement with pgbench's values for its parameters: a new user `u<:u>`, now, the
/// default presence timeout, the user's count shard, an uncapped join by a non-admin.
fn as_pgbench(statement: &str) -> String {
    // From the last parameter down, so that `$1` never matches the start of another.
    [
        ("$9", "false"),
        ("$8", "false"),
        ("$7", "(:u % 64)::smallint"),
        ("$6", "'90 seconds'"),
        ("$5", "now()"),
        ("$4", "'s@example.com'"),
        ("$3", "'Student'"),
        ("$2", "('u' || :u)"),
        ("$1", SESSION),
    ]
    .iter()
    .fold(statement.to_owned(), |sql, (parameter, value)| {
        sql.replace(parameter, value)
    })
}

/// The statement without comments, pgbench's meta-commands, layout and the final `;`.
fn normalized(sql: &str) -> String {
    sql.lines()
        .filter(|line| !line.trim_start().starts_with("--") && !line.starts_with('\\'))
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches(';')
        .to_owned()
}

/// One common table expression per line, as `store_join.sql` lays it out (`designs.sh` and
/// `run.sh` edit it line by line).
fn laid_out(sql: &str) -> String {
    normalized(sql)
        .replace("WITH s AS ( ", "WITH s AS (\n    ")
        .replace(" ), ", "\n), ")
        .replace(" ) SELECT ", "\n)\nSELECT ")
        + ";"
}

#[test]
fn pgbench_store_join_is_the_store_join() {
    let file = include_str!("../../pgbench/store_join.sql");
    let join = as_pgbench(&Statements::new("ls_pgbench").join);
    assert_eq!(
        normalized(file),
        normalized(&join),
        "pgbench/store_join.sql is not the store's join; below its comments it should read:\n{}",
        laid_out(&join)
    );
}

#[test]
fn pgbench_setup_applies_every_migration() {
    let setup = include_str!("../../pgbench/setup.sql");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres");
    let migrations: BTreeSet<String> = std::fs::read_dir(dir)
        .expect("the migrations directory")
        .map(|entry| entry.expect("a directory entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql"))
        .collect();
    assert!(!migrations.is_empty());
    for migration in migrations {
        let include = format!("\\ir ../migrations/postgres/{migration}");
        assert!(
            setup.lines().any(|line| line == include),
            "pgbench/setup.sql does not apply {migration}"
        );
    }
}
