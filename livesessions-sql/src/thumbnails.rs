//! Uploaded thumbnails in the database, for every [`Dialect`]: the table's statements and how
//! an image is written, read and deleted. Each backend wraps these in its public
//! `ThumbnailStore` type (`PostgresThumbnails`, `SqliteThumbnails`).

use chrono::Utc;
use livesessions_core::{Conflict, Error, ImageKind, Result, StoredImage, ThumbnailKey};
use sqlx::{Decode, Encode, Executor, IntoArguments, Type};

use crate::dialect::{parameters, Dialect};
use crate::errors::map_error;
use crate::record::corrupt;

/// The table the images live in (in the store's schema on Postgres).
pub(crate) const TABLE: &str = "live_session_thumbnails";

/// The statements on the thumbnail table, built once per schema.
#[derive(Debug)]
pub(crate) struct ThumbnailStatements {
    insert: String,
    select: String,
    delete: String,
}

impl ThumbnailStatements {
    /// The statements on `table` (qualified and quoted as the database needs).
    pub(crate) fn new<D: Dialect>(table: &str) -> Self {
        let key = format!("{}1", D::PARAMETER);
        ThumbnailStatements {
            insert: format!(
                "INSERT INTO {table} (key, content_type, bytes, created_at) VALUES ({})",
                parameters::<D>(1, 4)
            ),
            select: format!("SELECT content_type, bytes FROM {table} WHERE key = {key}"),
            delete: format!("DELETE FROM {table} WHERE key = {key}"),
        }
    }
}

/// Stores `bytes` under `key`, of the kind the key names; an existing key is
/// `Conflict::AlreadyExists` for the entity `thumbnail`.
pub(crate) async fn put<D>(
    executor: impl Executor<'_, Database = D>,
    sql: &ThumbnailStatements,
    key: &ThumbnailKey,
    bytes: &[u8],
) -> Result<()>
where
    D: Dialect,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
    for<'q> &'q [u8]: Encode<'q, D> + Type<D>,
{
    let result = sqlx::query(&sql.insert)
        .bind(key.as_str())
        .bind(key.kind().mime())
        .bind(bytes)
        .bind(D::store_time(Utc::now()))
        .execute(executor)
        .await;
    match result.map_err(map_error::<D>) {
        Ok(_) => Ok(()),
        Err(Error::Conflict(Conflict::AlreadyExists { .. })) => Err(Conflict::AlreadyExists {
            entity: "thumbnail",
            id: key.to_string(),
        }
        .into()),
        Err(other) => Err(other),
    }
}

/// The image stored under `key`, or `None`.
pub(crate) async fn get<D>(
    executor: impl Executor<'_, Database = D>,
    sql: &ThumbnailStatements,
    key: &ThumbnailKey,
) -> Result<Option<StoredImage>>
where
    D: Dialect,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
    for<'r> String: Decode<'r, D> + Type<D>,
    for<'r> Vec<u8>: Decode<'r, D> + Type<D>,
{
    let row = sqlx::query(&sql.select)
        .bind(key.as_str())
        .fetch_optional(executor)
        .await
        .map_err(map_error::<D>)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let content_type: String = D::get(&row, "content_type")?;
    let kind = ImageKind::from_mime(&content_type).ok_or_else(|| {
        corrupt(format_args!(
            "thumbnail {key} has an unknown content type {content_type:?}"
        ))
    })?;
    Ok(Some(StoredImage {
        kind,
        bytes: D::get(&row, "bytes")?,
    }))
}

/// Deletes the image stored under `key`; a missing key is not an error.
pub(crate) async fn delete<D>(
    executor: impl Executor<'_, Database = D>,
    sql: &ThumbnailStatements,
    key: &ThumbnailKey,
) -> Result<()>
where
    D: Dialect,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
{
    sqlx::query(&sql.delete)
        .bind(key.as_str())
        .execute(executor)
        .await
        .map(|_| ())
        .map_err(map_error::<D>)
}
