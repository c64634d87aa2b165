//! [`PostgresThumbnails`]: uploaded thumbnails in a `bytea` column, beside the sessions.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use livesessions_core::{Result, StoredImage, ThumbnailKey, ThumbnailStore};
use sqlx::postgres::PgPool;
use sqlx::Postgres;

use super::statements::Statements;
use super::PostgresStore;
use crate::thumbnails;

/// Uploaded thumbnails in the table `live_session_thumbnails` of a [`PostgresStore`]'s schema
/// (migration `0003_thumbnails.sql`): the key as primary key, the content type, the bytes
/// (`bytea`) and when it was stored. Made by [`PostgresStore::thumbnails`]; clones share the
/// store's pool, so every server instance on one database serves every upload.
///
/// ```no_run
/// # async fn example() -> livesessions_core::Result<()> {
/// use std::sync::Arc;
/// use livesessions_core::LiveSessions;
/// use livesessions_sql::postgres::PostgresStore;
///
/// let store = PostgresStore::connect("postgres://postgres@127.0.0.1/app").await?;
/// store.migrate().await?;
/// let service = LiveSessions::builder(Arc::new(store.clone()))
///     .thumbnails(Arc::new(store.thumbnails()))
///     .build();
/// # let _ = service;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PostgresThumbnails {
    pool: PgPool,
    schema: Arc<str>,
    sql: Arc<Statements>,
}

impl fmt::Debug for PostgresThumbnails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresThumbnails")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// The thumbnails kept in this store's database and schema, on its pool (cheap: nothing is
    /// opened). [`PostgresStore::migrate`] creates their table.
    pub fn thumbnails(&self) -> PostgresThumbnails {
        PostgresThumbnails {
            pool: self.pool.clone(),
            schema: Arc::clone(&self.schema),
            sql: Arc::clone(&self.sql),
        }
    }
}

#[async_trait]
impl ThumbnailStore for PostgresThumbnails {
    async fn put(&self, key: &ThumbnailKey, bytes: &[u8]) -> Result<()> {
        thumbnails::put::<Postgres>(&self.pool, &self.sql.thumbnails, key, bytes).await
    }

    async fn get(&self, key: &ThumbnailKey) -> Result<Option<StoredImage>> {
        thumbnails::get::<Postgres>(&self.pool, &self.sql.thumbnails, key).await
    }

    async fn delete(&self, key: &ThumbnailKey) -> Result<()> {
        thumbnails::delete::<Postgres>(&self.pool, &self.sql.thumbnails, key).await
    }
}
