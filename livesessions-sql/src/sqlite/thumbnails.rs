//! [`SqliteThumbnails`]: uploaded thumbnails in a BLOB column, beside the sessions.

use std::fmt;

use async_trait::async_trait;
use livesessions_core::{Result, StoredImage, ThumbnailKey, ThumbnailStore};
use sqlx::sqlite::SqlitePool;
use sqlx::Sqlite;

use super::statements::SQL;
use super::SqliteStore;
use crate::thumbnails;

/// Uploaded thumbnails in the table `live_session_thumbnails` of a [`SqliteStore`]'s database
/// (migration `0002_thumbnails.sql`): the key as primary key, the content type, the bytes (a
/// BLOB) and when it was stored. Made by [`SqliteStore::thumbnails`]; clones share the store's
/// pool, so every process that opens the database file serves every upload.
///
/// ```no_run
/// # async fn example() -> livesessions_core::Result<()> {
/// use std::sync::Arc;
/// use livesessions_core::LiveSessions;
/// use livesessions_sql::sqlite::SqliteStore;
///
/// let store = SqliteStore::connect("sqlite://livesessions.db").await?;
/// store.migrate().await?;
/// let service = LiveSessions::builder(Arc::new(store.clone()))
///     .thumbnails(Arc::new(store.thumbnails()))
///     .build();
/// # let _ = service;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SqliteThumbnails {
    pool: SqlitePool,
}

impl fmt::Debug for SqliteThumbnails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteThumbnails").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// The thumbnails kept in this store's database, on its pool (cheap: nothing is opened).
    /// [`SqliteStore::migrate`] creates their table.
    pub fn thumbnails(&self) -> SqliteThumbnails {
        SqliteThumbnails {
            pool: self.pool.clone(),
        }
    }
}

#[async_trait]
impl ThumbnailStore for SqliteThumbnails {
    async fn put(&self, key: &ThumbnailKey, bytes: &[u8]) -> Result<()> {
        thumbnails::put::<Sqlite>(&self.pool, &SQL.thumbnails, key, bytes).await
    }

    async fn get(&self, key: &ThumbnailKey) -> Result<Option<StoredImage>> {
        thumbnails::get::<Sqlite>(&self.pool, &SQL.thumbnails, key).await
    }

    async fn delete(&self, key: &ThumbnailKey) -> Result<()> {
        thumbnails::delete::<Sqlite>(&self.pool, &SQL.thumbnails, key).await
    }
}
