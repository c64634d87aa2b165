//! Session use cases: creating, changing, starting, ending, cancelling and deleting sessions
//! (admin), and reading them (anyone).

use super::thumbnails::PendingUpload;
use super::{require_admin, with_retries, LiveSessions};
use crate::actor::Actor;
use crate::error::{Conflict, Error, Result};
use crate::events::{EventKind, SessionEvent};
use crate::ids::SessionId;
use crate::session::{
    ListQuery, LiveSession, NewSession, Page, SessionPatch, SessionUpdate, Transition,
};
use crate::upload::ThumbnailUpload;
use crate::values::{Thumbnail, VideoUrl};

/// A session as a caller may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    /// The session. Its `video_url` must only be shown through [`SessionView::video`].
    pub session: LiveSession,
    /// Participants watching now.
    pub watching: u64,
    video_visible: bool,
}

impl SessionView {
    /// The video URL, for signed-in callers only, and for non-admins only once the session
    /// has gone live ([`LiveSession::video_visible_to`]).
    pub fn video(&self) -> Option<&VideoUrl> {
        self.video_visible.then_some(&self.session.fields.video_url)
    }
}

impl LiveSessions {
    /// Creates a session (admin). With `is_live` it is created already live ("Mark as Live").
    /// An uploaded thumbnail replaces `thumbnail_url`; it is stored first and removed again if
    /// the session cannot be stored.
    pub async fn create(
        &self,
        caller: Option<&Actor>,
        input: NewSession,
        upload: Option<ThumbnailUpload>,
    ) -> Result<LiveSession> {
        require_admin(caller)?;
        let fields = match (
            input.validate_in(self.settings.default_time_zone),
            upload.as_ref().map(ThumbnailUpload::check),
        ) {
            (Ok(fields), None | Some(Ok(_))) => fields,
            (Ok(_), Some(Err(e))) => return Err(e),
            (Err(Error::Validation(mut errors)), Some(Err(Error::Validation(more)))) => {
                errors.extend(more);
                return Err(Error::Validation(errors));
            }
            (Err(e), _) => return Err(e),
        };
        let now = self.clock.now();
        let mut session = LiveSession::new(fields, now);
        // With a repeat rule, the occurrences of a new series; otherwise just the session.
        let mut sessions = match input.fields.validate_recurrence()? {
            Some(rule) => crate::series::expand(&session, &rule, self.settings.default_time_zone)?,
            None => vec![session.clone()],
        };
        if input.is_live {
            sessions[0].start(now)?;
        }
        session = sessions[0].clone();
        let pending = self.store_upload(session.id, upload.as_ref()).await?;
        if let Some(pending) = &pending {
            for occurrence in &mut sessions {
                occurrence.fields.thumbnail = Some(Thumbnail::Uploaded(pending.key().clone()));
            }
        }
        let inserted = if session.series.is_some() {
            self.store.insert_series(&sessions).await
        } else {
            self.store.insert_session(&sessions[0]).await
        };
        PendingUpload::settle(pending, inserted.is_ok()).await;
        inserted?;
        for occurrence in &sessions {
            self.publish(EventKind::Created, occurrence);
        }
        let session = sessions.swap_remove(0);
        if session.is_live() {
            self.publish(EventKind::Live, &session);
        }
        Ok(session)
    }

    /// Changes a session (admin): the fields present in `update`, a new uploaded thumbnail,
    /// and `is_live` to start or end it.
    pub async fn update(
        &self,
        caller: Option<&Actor>,
        id: SessionId,
        update: SessionUpdate,
        upload: Option<ThumbnailUpload>,
    ) -> Result<LiveSession> {
        require_admin(caller)?;
        let mut patch = update.validate()?;
        let pending = self.store_upload(id, upload.as_ref()).await?;
        if let Some(pending) = &pending {
            patch.thumbnail = Some(Some(Thumbnail::Uploaded(pending.key().clone())));
        }
        let written = self.write_update(id, &update, &patch).await;
        PendingUpload::settle(pending, written.is_ok()).await;
        let (old_thumbnail, session, kind) = written?;
        if let Some(old) = old_thumbnail.as_ref().and_then(Thumbnail::uploaded_key) {
            if session
                .fields
                .thumbnail
                .as_ref()
                .and_then(Thumbnail::uploaded_key)
                != Some(old)
            {
                self.discard_unless_shared(&session, old).await;
            }
        }
        if let Some(kind) = kind {
            self.publish(kind, &session);
        }
        Ok(session)
    }

    /// Applies `patch` and the lifecycle change of `update` to the stored session and writes it,
    /// retrying after a concurrent change when the caller gave no version. Answers the session's
    /// thumbnail before the change, the stored session and the event the change is.
    async fn write_update(
        &self,
        id: SessionId,
        update: &SessionUpdate,
        patch: &SessionPatch,
    ) -> Result<(Option<Thumbnail>, LiveSession, Option<EventKind>)> {
        with_retries(update.expected_version.is_none(), || async move {
            let mut session = self.load(id).await?;
            if let Some(expected) = update.expected_version {
                if expected != session.version {
                    return Err(Conflict::VersionMismatch {
                        expected,
                        actual: Some(session.version),
                    }
                    .into());
                }
            }
            let old_thumbnail = session.fields.thumbnail.clone();
            let now = self.clock.now();
            let version = session.version;
            if !patch.is_empty() {
                session.apply(patch.clone(), now, self.settings.default_time_zone)?;
                if patch.capacity.is_some() {
                    session.check_capacity()?;
                }
            }
            let lifecycle = match update.is_live {
                Some(true) => session.start(now)?,
                Some(false) => session.end(now)?,
                None => Transition::Unchanged,
            };
            if session.version != version {
                // Several changes in one request still move the version by one.
                session.version = version + 1;
            }
            let kind = match (update.is_live, lifecycle) {
                (Some(true), Transition::Changed) => EventKind::Live,
                (Some(false), Transition::Changed) => EventKind::Ended,
                _ => EventKind::Updated,
            };
            let written = if session.version == version {
                Ok(session)
            } else if kind == EventKind::Ended {
                self.store
                    .end_session(&session, self.settings.presence_timeout)
                    .await
            } else {
                self.store.update_session(&session, kind).await
            };
            Ok(written.map(|stored| {
                let changed = stored.version != version;
                (old_thumbnail, stored, changed.then_some(kind))
            }))
        })
        .await
    }

    /// Starts a session (admin); see [`LiveSession::start`].
    pub async fn start(&self, caller: Option<&Actor>, id: SessionId) -> Result<LiveSession> {
        self.set_live(caller, id, true).await
    }

    /// Ends a session (admin), crediting every present participant.
    pub async fn end(&self, caller: Option<&Actor>, id: SessionId) -> Result<LiveSession> {
        self.set_live(caller, id, false).await
    }

    /// Starts (`live`) or ends a session through [`LiveSessions::update`].
    async fn set_live(
        &self,
        caller: Option<&Actor>,
        id: SessionId,
        live: bool,
    ) -> Result<LiveSession> {
        let update = SessionUpdate {
            is_live: Some(live),
            ..Default::default()
        };
        self.update(caller, id, update, None).await
    }

    /// Cancels a scheduled session (admin).
    pub async fn cancel(&self, caller: Option<&Actor>, id: SessionId) -> Result<LiveSession> {
        require_admin(caller)?;
        let stored = with_retries(true, || async move {
            let mut session = self.load(id).await?;
            session.cancel(self.clock.now())?;
            Ok(self
                .store
                .update_session(&session, EventKind::Cancelled)
                .await)
        })
        .await?;
        self.publish(EventKind::Cancelled, &stored);
        Ok(stored)
    }

    /// Deletes a session, its participants and its uploaded thumbnail (admin).
    pub async fn delete(&self, caller: Option<&Actor>, id: SessionId) -> Result<()> {
        require_admin(caller)?;
        let session = self.load(id).await?;
        if !self.store.delete_session(id).await? {
            return Err(Error::session_not_found(id));
        }
        if let Some(key) = session
            .fields
            .thumbnail
            .as_ref()
            .and_then(Thumbnail::uploaded_key)
        {
            self.discard_unless_shared(&session, key).await;
        }
        self.events.publish(SessionEvent {
            id: None,
            kind: EventKind::Deleted,
            session_id: id,
            session: None,
            at: self.clock.now(),
        });
        Ok(())
    }

    /// `session` as `caller` may see it, with its watching count.
    pub(super) async fn view(
        &self,
        caller: Option<&Actor>,
        session: LiveSession,
    ) -> Result<SessionView> {
        let watching = if session.is_live() {
            self.store.watching(session.id, self.presence()).await?
        } else {
            0
        };
        Ok(SessionView {
            video_visible: session.video_visible_to(caller),
            session,
            watching,
        })
    }

    /// One session (anyone; the video URL only for signed-in callers).
    pub async fn get(&self, caller: Option<&Actor>, id: SessionId) -> Result<SessionView> {
        let session = self.load(id).await?;
        self.view(caller, session).await
    }

    /// A page of sessions (anyone; video URLs only for signed-in callers).
    pub async fn list(
        &self,
        caller: Option<&Actor>,
        query: &ListQuery,
    ) -> Result<Page<SessionView>> {
        let page = self.store.list_sessions(query).await?;
        // One question to the store for all live sessions of the page, not one each.
        let live: Vec<SessionId> = page
            .items
            .iter()
            .filter(|s| s.is_live())
            .map(|s| s.id)
            .collect();
        let mut watching = if live.is_empty() {
            Vec::new()
        } else {
            self.store.watching_many(&live, self.presence()).await?
        }
        .into_iter();
        let items = page
            .items
            .into_iter()
            .map(|session| SessionView {
                watching: if session.is_live() {
                    watching.next().unwrap_or(0)
                } else {
                    0
                },
                video_visible: session.video_visible_to(caller),
                session,
            })
            .collect();
        Ok(Page {
            items,
            next: page.next,
        })
    }
}
