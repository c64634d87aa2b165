//! [`MongoThumbnails`]: uploaded thumbnails in a GridFS bucket of the store's database.

use async_trait::async_trait;
use bson::{doc, Document};
use futures::io::{AsyncReadExt as _, AsyncWriteExt as _};
use livesessions_core::{Conflict, Error, Result, StoredImage, ThumbnailKey, ThumbnailStore};
use mongodb::error::{Error as DriverError, ErrorKind, GridFsErrorKind};
use mongodb::gridfs::GridFsBucket;
use mongodb::options::GridFsBucketOptions;
use mongodb::{Collection, Database};

use super::MongoStore;
use crate::documents::THUMBNAILS;
use crate::error::{map_error, to_domain};
use crate::queries;

/// Uploaded thumbnails in the GridFS bucket `live_session_thumbnails` of a [`MongoStore`]'s
/// database (collections `live_session_thumbnails.files` and `live_session_thumbnails.chunks`):
/// one file per image, its `filename` the thumbnail's key and its `metadata.contentType` the
/// image's MIME type. Made by [`MongoStore::thumbnails`]; clones share the store's client, so
/// every server instance on one database serves every upload.
///
/// # Existing keys
///
/// GridFS itself lets several files share a name (they are revisions of one another). A key
/// stored twice must instead be `Conflict::AlreadyExists` and keep the first image, also when
/// two uploads race, so [`MongoThumbnails::ensure_indexes`] (which
/// [`MongoStore::ensure_indexes`] calls) puts a unique index on `filename` in the files
/// collection: the second of two racing uploads fails when it writes its file document, and
/// the driver then deletes the chunks it had written (they belong to its own file id, never to
/// the first image's). A put first looks the key up, so that a plain repeat is refused before
/// any chunk is written; the index is what makes the refusal hold under races. The file ids are
/// the driver's fresh ObjectIds rather than the key: a failed upload deletes the chunks of its
/// own id, which with the key as id would be the first image's.
///
/// ```no_run
/// # async fn example() -> livesessions_core::Result<()> {
/// use std::sync::Arc;
/// use livesessions_core::LiveSessions;
/// use livesessions_mongo::MongoStore;
///
/// let store = MongoStore::connect("mongodb://127.0.0.1:27017/elearning").await?;
/// store.ensure_indexes().await?; // the thumbnails' unique index too
/// let service = LiveSessions::builder(Arc::new(store.clone()))
///     .thumbnails(Arc::new(store.thumbnails()))
///     .build();
/// # let _ = service;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct MongoThumbnails {
    bucket: GridFsBucket,
    files: Collection<Document>,
}

impl MongoThumbnails {
    /// The thumbnails in the bucket `live_session_thumbnails` of `database`. Nothing is sent
    /// until the first operation; call [`MongoThumbnails::ensure_indexes`] once at startup (or
    /// [`MongoStore::ensure_indexes`], which does it too).
    pub fn new(database: &Database) -> Self {
        let options = GridFsBucketOptions::builder()
            .bucket_name(THUMBNAILS.to_owned())
            .build();
        MongoThumbnails {
            bucket: database.gridfs_bucket(options),
            files: database.collection(&format!("{THUMBNAILS}.files")),
        }
    }

    /// The GridFS bucket.
    pub fn bucket(&self) -> &GridFsBucket {
        &self.bucket
    }

    /// Creates the unique index on `filename` in the bucket's files collection, which makes a
    /// second image under one key a conflict (see [the type's documentation](MongoThumbnails)).
    /// Idempotent.
    pub async fn ensure_indexes(&self) -> Result<()> {
        self.files
            .create_indexes(queries::thumbnail_file_indexes())
            .await
            .map_err(map_error)?;
        Ok(())
    }

    fn conflict(key: &ThumbnailKey) -> Error {
        Conflict::AlreadyExists {
            entity: "thumbnail",
            id: key.to_string(),
        }
        .into()
    }
}

impl MongoStore {
    /// The thumbnails kept in this store's database, in the GridFS bucket
    /// `live_session_thumbnails` (cheap: shares the client).
    pub fn thumbnails(&self) -> MongoThumbnails {
        MongoThumbnails::new(&self.database)
    }
}

/// The driver's error inside an error of the GridFS streams, which report through
/// `std::io::Error`.
fn from_io(error: std::io::Error, key: &ThumbnailKey) -> Error {
    match error
        .into_inner()
        .map(|inner| inner.downcast::<DriverError>())
    {
        Some(Ok(driver)) => to_domain(*driver, "thumbnail", key.to_string()),
        Some(Err(other)) => Error::storage(other),
        None => Error::storage(format!("GridFS stream of thumbnail {key} failed")),
    }
}

/// Whether `error` says the file is not (or no longer) there.
fn is_file_not_found(error: &DriverError) -> bool {
    matches!(
        error.kind.as_ref(),
        ErrorKind::GridFs(GridFsErrorKind::FileNotFound { .. })
    )
}

#[async_trait]
impl ThumbnailStore for MongoThumbnails {
    async fn put(&self, key: &ThumbnailKey, bytes: &[u8]) -> Result<()> {
        let existing = self
            .files
            .find_one(queries::thumbnail_filter(key))
            .projection(doc! { "_id": 1 })
            .await
            .map_err(map_error)?;
        if existing.is_some() {
            return Err(Self::conflict(key));
        }
        let mut upload = self
            .bucket
            .open_upload_stream(key.as_str())
            .metadata(queries::thumbnail_metadata(key.kind()))
            .await
            .map_err(map_error)?;
        if let Err(error) = upload.write_all(bytes).await {
            // The stream is closed and its chunks deleted already.
            return Err(from_io(error, key));
        }
        upload.close().await.map_err(|error| from_io(error, key))
    }

    async fn get(&self, key: &ThumbnailKey) -> Result<Option<StoredImage>> {
        let Some(file) = self
            .bucket
            .find_one(queries::thumbnail_filter(key))
            .await
            .map_err(map_error)?
        else {
            return Ok(None);
        };
        let kind = queries::thumbnail_kind(file.metadata.as_ref(), key)?;
        let mut download = match self.bucket.open_download_stream(file.id).await {
            Ok(download) => download,
            // Deleted since it was found.
            Err(error) if is_file_not_found(&error) => return Ok(None),
            Err(error) => return Err(map_error(error)),
        };
        let mut bytes = Vec::with_capacity(usize::try_from(file.length).unwrap_or(0));
        download
            .read_to_end(&mut bytes)
            .await
            .map_err(|error| from_io(error, key))?;
        Ok(Some(StoredImage { kind, bytes }))
    }

    async fn delete(&self, key: &ThumbnailKey) -> Result<()> {
        match self.bucket.delete_by_name(key.as_str()).await {
            Ok(()) => Ok(()),
            Err(error) if is_file_not_found(&error) => Ok(()),
            Err(error) => Err(map_error(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use livesessions_core::ImageKind;
    use mongodb::error::{WriteError, WriteFailure};

    use super::*;

    fn duplicate_key() -> DriverError {
        let write: WriteError = bson::from_document(doc! {
            "code": 11000,
            "codeName": "DuplicateKey",
            "errmsg": "E11000 duplicate key error collection: db.live_session_thumbnails.files",
        })
        .unwrap();
        ErrorKind::Write(WriteFailure::WriteError(write)).into()
    }

    /// The GridFS streams report the driver's errors inside `std::io::Error`; they are mapped
    /// as the driver's own: a duplicate file name is a conflict on the thumbnail.
    #[test]
    fn stream_errors_map_as_the_drivers() {
        let key = ThumbnailKey::generate(ImageKind::Png);
        match from_io(std::io::Error::other(duplicate_key()), &key) {
            Error::Conflict(Conflict::AlreadyExists { entity, id }) => {
                assert_eq!((entity, id.as_str()), ("thumbnail", key.as_str()));
            }
            other => panic!("{other:?}"),
        }
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let driver: DriverError = ErrorKind::Io(std::sync::Arc::new(refused)).into();
        assert!(from_io(std::io::Error::other(driver), &key).is_transient());
        assert!(matches!(
            from_io(std::io::Error::other("something else"), &key),
            Error::Storage(_)
        ));
        assert!(matches!(
            from_io(std::io::ErrorKind::BrokenPipe.into(), &key),
            Error::Storage(_)
        ));
    }

    /// Nothing listens on the port: every operation is unavailable, not a storage failure.
    #[tokio::test]
    async fn an_unreachable_server_is_unavailable() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let uri = format!(
            "mongodb://127.0.0.1:{port}/db?serverSelectionTimeoutMS=200&connectTimeoutMS=200"
        );
        let thumbnails = MongoStore::connect(&uri).await.unwrap().thumbnails();
        let key = ThumbnailKey::generate(ImageKind::Png);
        let put = thumbnails.put(&key, b"\x89PNG").await.unwrap_err();
        assert!(put.is_transient(), "{put:?}");
        let get = thumbnails.get(&key).await.unwrap_err();
        assert!(get.is_transient(), "{get:?}");
        let delete = thumbnails.delete(&key).await.unwrap_err();
        assert!(delete.is_transient(), "{delete:?}");
        let indexes = thumbnails.ensure_indexes().await.unwrap_err();
        assert!(indexes.is_transient(), "{indexes:?}");
    }
}
