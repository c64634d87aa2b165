//! Whether a schema has the trigram search index (migration `0010_search.sql`), which decides
//! the shape of a search's list statement: with the index, the statement adds the condition
//! on the joined text that the index serves; without it (the role could not create `pg_trgm`),
//! the per-column condition alone, which the planner estimates better on its own.

use std::sync::atomic::{AtomicU8, Ordering};

use livesessions_core::Result;
use sqlx::PgPool;

use super::{map_error, quote_ident};

const UNKNOWN: u8 = 0;
const ABSENT: u8 = 1;
const PRESENT: u8 = 2;

/// The name of the index.
pub(super) const INDEX: &str = "live_sessions_search_trgm_idx";

/// Whether the search index exists, looked up once per store (or set by `migrate`).
#[derive(Debug)]
pub(super) struct SearchIndex(AtomicU8);

impl Default for SearchIndex {
    fn default() -> Self {
        SearchIndex(AtomicU8::new(UNKNOWN))
    }
}

impl SearchIndex {
    /// Records what `migrate` found.
    pub(super) fn set(&self, present: bool) {
        self.0
            .store(if present { PRESENT } else { ABSENT }, Ordering::Relaxed);
    }

    /// Whether the index exists in `schema`: known after `migrate` or the first search.
    pub(super) async fn present(&self, pool: &PgPool, schema: &str) -> Result<bool> {
        match self.0.load(Ordering::Relaxed) {
            PRESENT => Ok(true),
            ABSENT => Ok(false),
            _ => {
                let name = format!("{}.{INDEX}", quote_ident(schema));
                let present: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
                    .bind(name)
                    .fetch_one(pool)
                    .await
                    .map_err(map_error)?;
                self.set(present);
                Ok(present)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_migrate_found_is_kept() {
        let index = SearchIndex::default();
        assert_eq!(index.0.load(Ordering::Relaxed), UNKNOWN);
        index.set(false);
        assert_eq!(index.0.load(Ordering::Relaxed), ABSENT);
        index.set(true);
        assert_eq!(index.0.load(Ordering::Relaxed), PRESENT);
    }
}
