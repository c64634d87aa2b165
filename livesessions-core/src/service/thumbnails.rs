//! Uploaded thumbnails in the service: storing an upload ahead of the session row that refers
//! to it (the [`PendingUpload`] guard), deleting replaced ones and serving them.

use std::sync::Arc;

use super::LiveSessions;
use crate::error::{Error, Result};
use crate::ids::SessionId;
use crate::ports::Store;
use crate::thumbnails::{StoredImage, ThumbnailStore};
use crate::upload::ThumbnailUpload;
use crate::values::{Thumbnail, ThumbnailKey};

/// A thumbnail stored ahead of the session row that refers to it.
///
/// Kept once the row is committed, discarded when storing it failed (both through
/// [`PendingUpload::settle`]). Dropped without either — the caller's future was dropped while the store was busy,
/// e.g. by a request timeout — it spawns a task on the current Tokio runtime that deletes the
/// file unless the session turns out to refer to it after all (the write may have committed
/// just before the drop).
pub(super) struct PendingUpload {
    /// `None` once kept or discarded.
    key: Option<ThumbnailKey>,
    session_id: SessionId,
    thumbnails: Arc<dyn ThumbnailStore>,
    store: Arc<dyn Store>,
}

impl PendingUpload {
    /// The key the file is stored under.
    pub(super) fn key(&self) -> &ThumbnailKey {
        self.key
            .as_ref()
            .expect("a pending upload has its key until kept or discarded")
    }

    /// The session row refers to the file now: nothing to clean up.
    fn keep(mut self) {
        self.key = None;
    }

    /// Storing the row failed: delete the file now.
    async fn discard(mut self) {
        if let Some(key) = self.key.take() {
            delete_thumbnail(self.thumbnails.as_ref(), &key).await;
        }
    }

    /// Keeps the upload, if any, when the row that refers to it was `committed`; discards it
    /// otherwise.
    pub(super) async fn settle(pending: Option<PendingUpload>, committed: bool) {
        match pending {
            Some(pending) if committed => pending.keep(),
            Some(pending) => pending.discard().await,
            None => {}
        }
    }
}

impl Drop for PendingUpload {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else {
            return;
        };
        let (thumbnails, store, session_id) =
            (self.thumbnails.clone(), self.store.clone(), self.session_id);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(%key, "an interrupted upload is left behind: no runtime to delete it on");
            return;
        };
        runtime.spawn(async move {
            match store.get_session(session_id).await {
                Ok(Some(session))
                    if session.fields.thumbnail.as_ref().and_then(Thumbnail::uploaded_key)
                        == Some(&key) =>
                {
                    // The write committed before the caller went away: the file is in use.
                }
                Ok(_) => {
                    tracing::debug!(%key, "deleting the upload of an interrupted request");
                    delete_thumbnail(thumbnails.as_ref(), &key).await;
                }
                Err(error) => {
                    // Deleting a file the session may refer to would break it; an orphan file
                    // is the lesser harm.
                    tracing::warn!(%key, %error, "cannot tell whether an interrupted upload is in use; kept");
                }
            }
        });
    }
}

/// Deletes a thumbnail; a failure is logged, not returned.
async fn delete_thumbnail(thumbnails: &dyn ThumbnailStore, key: &ThumbnailKey) {
    if let Err(error) = thumbnails.delete(key).await {
        tracing::warn!(%key, %error, "could not delete a thumbnail");
    }
}

impl LiveSessions {
    /// Checks `upload`, if any, and stores it for `session_id`. The returned guard deletes the
    /// file again unless [`PendingUpload::settle`] keeps it once the session row that refers to
    /// it is committed: on an error, and also when the calling future is dropped half-way (a
    /// request timeout), in which case a task checks whether the row made it after all.
    pub(super) async fn store_upload(
        &self,
        session_id: SessionId,
        upload: Option<&ThumbnailUpload>,
    ) -> Result<Option<PendingUpload>> {
        let Some(upload) = upload else {
            return Ok(None);
        };
        let kind = upload.check()?;
        let thumbnails = self.thumbnails.as_ref().ok_or_else(|| {
            Error::invalid(
                "thumbnail",
                "uploads_disabled",
                "Uploads are not enabled on this server.",
            )
        })?;
        // Armed before the write starts: a future dropped during the write still cleans up.
        let pending = PendingUpload {
            key: Some(ThumbnailKey::generate(kind)),
            session_id,
            thumbnails: thumbnails.clone(),
            store: self.store.clone(),
        };
        thumbnails.put(pending.key(), &upload.bytes).await?;
        Ok(Some(pending))
    }

    /// Deletes an uploaded thumbnail that no session refers to any more.
    pub(super) async fn discard_upload(&self, key: &ThumbnailKey) {
        if let Some(thumbnails) = &self.thumbnails {
            delete_thumbnail(thumbnails.as_ref(), key).await;
        }
    }

    /// An uploaded thumbnail (anyone).
    pub async fn thumbnail(&self, key: &ThumbnailKey) -> Result<StoredImage> {
        let not_found = || Error::NotFound {
            entity: "thumbnail",
            id: key.to_string(),
        };
        let thumbnails = self.thumbnails.as_ref().ok_or_else(not_found)?;
        thumbnails.get(key).await?.ok_or_else(not_found)
    }
}
