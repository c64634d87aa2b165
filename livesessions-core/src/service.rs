//! The [`LiveSessions`] service: one method per use case, each authorizing its caller.
//!
//! Callers are `Option<&Actor>`: `None` is an anonymous visitor. Admin use cases answer
//! [`Error::Unauthenticated`] to anonymous callers and [`Error::Forbidden`] to users.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::actor::Actor;
use crate::analytics::{
    AttendancePage, AttendanceQuery, AttendanceSort, Overview, OverviewQuery, Participation,
    ParticipationQuery, PopularBy, ReportQuery, SessionReport, SortOrder,
    DEFAULT_ATTENDANCE_THRESHOLD_PERCENT,
};
use crate::attendance::{Joiner, Participant, DEFAULT_PRESENCE_TIMEOUT};
use crate::clock::{Clock, SystemClock};
use crate::error::{Conflict, Error, FieldError, Result};
use crate::events::{EventKind, EventSink, NoEvents, SessionEvent};
use crate::ids::{SessionId, UserId};
use crate::ports::{HealthCheck, JoinOutcome, JoinRequest, Store};
use crate::presence::Presence;
use crate::session::{
    ListQuery, LiveSession, NewSession, Page, SessionStatus, SessionUpdate, Transition,
};
use crate::thumbnails::{StoredImage, ThumbnailStore};
use crate::values::{Email, ImageKind, Thumbnail, ThumbnailKey, TimeZone, UserName, VideoUrl};

/// The largest accepted thumbnail upload: 5 MiB.
pub const MAX_THUMBNAIL_BYTES: usize = 5 * 1024 * 1024;

/// How often an update retries after a concurrent change when the caller gave no version.
const UPDATE_RETRIES: usize = 3;

/// An uploaded thumbnail as received: the bytes and the type the client declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThumbnailUpload {
    /// The `Content-Type` the client declared for the file, if any.
    pub declared_type: Option<String>,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

impl ThumbnailUpload {
    /// Checks the upload: not empty, at most [`MAX_THUMBNAIL_BYTES`], a JPEG, PNG,
    /// GIF or WebP by its bytes, agreeing with the declared type, and free of embedded markup
    /// (polyglots). Field errors use the codes `empty`, `too_large`, `unsupported_type` and
    /// `type_mismatch`.
    pub fn check(&self) -> Result<ImageKind> {
        let fail = |code, message: &str| Err(Error::invalid("thumbnail", code, message));
        if self.bytes.is_empty() {
            return fail("empty", "the file is empty");
        }
        if self.bytes.len() > MAX_THUMBNAIL_BYTES {
            return fail("too_large", "must be at most 5 MiB");
        }
        let Some(kind) = ImageKind::sniff(&self.bytes) else {
            return fail("unsupported_type", "must be a JPEG, PNG, GIF or WebP image");
        };
        if carries_markup(&self.bytes) {
            // A polyglot: valid image magic with HTML, SVG or script inside, which a browser
            // that sniffs the content (or a later change of Content-Type) would run.
            return fail(
                "unsupported_type",
                "must be a plain image, without embedded HTML, SVG or script",
            );
        }
        match self.declared_type.as_deref().map(str::trim) {
            None | Some("") | Some("application/octet-stream") => Ok(kind),
            Some(declared) => match ImageKind::from_mime(declared) {
                Some(d) if d == kind => Ok(kind),
                Some(_) => fail(
                    "type_mismatch",
                    "the declared type does not match the file's content",
                ),
                None => fail("unsupported_type", "must be a JPEG, PNG, GIF or WebP image"),
            },
        }
    }
}

/// Whether `bytes` contain markup that browsers act on: `<script`, `<html`, `<svg`, `<iframe`,
/// `<body`, `<!doctype`, `<?php` or `javascript:`, in any letter case. Real image data holds
/// none of these byte strings except by a vanishingly rare accident.
fn carries_markup(bytes: &[u8]) -> bool {
    const MARKERS: [&[u8]; 8] = [
        b"<script",
        b"<html",
        b"<svg",
        b"<iframe",
        b"<body",
        b"<!doctype",
        b"<?php",
        b"javascript:",
    ];
    (0..bytes.len()).any(|i| {
        let rest = &bytes[i..];
        matches!(rest[0], b'<' | b'j' | b'J')
            && MARKERS
                .iter()
                .any(|m| rest.len() >= m.len() && rest[..m.len()].eq_ignore_ascii_case(m))
    })
}

impl ImageKind {
    /// The image format by its leading bytes (magic numbers), or `None` for anything else.
    ///
    /// Only four formats are accepted, so their signatures are checked directly.
    pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageKind::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageKind::Png)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(ImageKind::Gif)
        } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(ImageKind::Webp)
        } else {
            None
        }
    }
}

/// A join as a client asks for it. Identity comes from the [`Actor`]; `user_id`, if given,
/// must equal the actor's (else [`Error::Forbidden`]). `user_name` and `email` are used only
/// when the actor's token carries none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JoinInput {
    /// The session.
    pub session_id: String,
    /// The user id the client believes it has.
    pub user_id: Option<String>,
    /// Display name, when the token has none.
    pub user_name: Option<String>,
    /// Email, when the token has none.
    pub email: Option<String>,
}

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
    /// The video URL, for signed-in callers only.
    pub fn video(&self) -> Option<&VideoUrl> {
        self.video_visible.then_some(&self.session.fields.video_url)
    }
}

/// A thumbnail stored ahead of the session row that refers to it.
///
/// [`PendingUpload::keep`] once the row is committed; [`PendingUpload::discard`] when storing it
/// failed. Dropped without either — the caller's future was dropped while the store was busy,
/// e.g. by a request timeout — it spawns a task on the current Tokio runtime that deletes the
/// file unless the session turns out to refer to it after all (the write may have committed
/// just before the drop).
struct PendingUpload {
    /// `None` once kept or discarded.
    key: Option<ThumbnailKey>,
    session_id: SessionId,
    thumbnails: Arc<dyn ThumbnailStore>,
    store: Arc<dyn Store>,
}

impl PendingUpload {
    fn key(&self) -> &ThumbnailKey {
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

async fn delete_thumbnail(thumbnails: &dyn ThumbnailStore, key: &ThumbnailKey) {
    if let Err(error) = thumbnails.delete(key).await {
        tracing::warn!(%key, %error, "could not delete a thumbnail");
    }
}

/// Settings of the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSettings {
    /// Presence timeout T (default 90 s).
    pub presence_timeout: Duration,
    /// The zone a start time without an offset (`2025-01-15T10:00`, as an HTML
    /// `datetime-local` input sends it) is read in when the session names no `timeZone`
    /// (default UTC).
    pub default_time_zone: TimeZone,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        ServiceSettings {
            presence_timeout: DEFAULT_PRESENCE_TIMEOUT,
            default_time_zone: TimeZone::UTC,
        }
    }
}

/// The live-sessions service. Cheap to clone; share one per application.
///
/// ```
/// # #[cfg(feature = "memory")]
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::sync::Arc;
/// use livesessions_core::{Actor, LiveSessions, MemoryStore, NewSession, SessionInput, UserId};
///
/// let service = LiveSessions::builder(Arc::new(MemoryStore::new())).build();
/// let admin = Actor::admin(UserId::parse("admin-1")?);
/// let session = service
///     .create(Some(&admin), NewSession {
///         fields: SessionInput {
///             title: Some("JavaScript Basics".into()),
///             instructor: Some("John Doe".into()),
///             video_url: Some("https://youtube.com/watch?v=dQw4w9WgXcQ".into()),
///             start_time: Some("2025-01-15T10:00:00Z".into()),
///             ..Default::default()
///         },
///         is_live: true,
///     }, None)
///     .await?;
/// assert!(session.is_live());
/// # Ok::<(), livesessions_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct LiveSessions {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    events: Arc<dyn EventSink>,
    thumbnails: Option<Arc<dyn ThumbnailStore>>,
    health: Option<Arc<dyn HealthCheck>>,
    settings: ServiceSettings,
}

/// Builds a [`LiveSessions`].
#[derive(Debug)]
pub struct LiveSessionsBuilder {
    service: LiveSessions,
}

impl LiveSessionsBuilder {
    /// The clock (default [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.service.clock = clock;
        self
    }

    /// Where changes are published (default: nowhere).
    pub fn events(mut self, events: Arc<dyn EventSink>) -> Self {
        self.service.events = events;
        self
    }

    /// Where uploads go (default: none; uploads are then refused).
    pub fn thumbnails(mut self, thumbnails: Arc<dyn ThumbnailStore>) -> Self {
        self.service.thumbnails = Some(thumbnails);
        self
    }

    /// A readiness check of the store's backend (default: [`LiveSessions::ready`] reads a
    /// session that does not exist).
    pub fn health(mut self, health: Arc<dyn HealthCheck>) -> Self {
        self.service.health = Some(health);
        self
    }

    /// Settings.
    pub fn settings(mut self, settings: ServiceSettings) -> Self {
        self.service.settings = settings;
        self
    }

    /// The service.
    pub fn build(self) -> LiveSessions {
        self.service
    }
}

fn require_user(caller: Option<&Actor>) -> Result<&Actor> {
    caller.ok_or(Error::Unauthenticated)
}

fn require_admin(caller: Option<&Actor>) -> Result<&Actor> {
    let actor = require_user(caller)?;
    if actor.admin {
        Ok(actor)
    } else {
        Err(Error::Forbidden)
    }
}

impl LiveSessions {
    /// Starts building a service on `store`.
    pub fn builder(store: Arc<dyn Store>) -> LiveSessionsBuilder {
        LiveSessionsBuilder {
            service: LiveSessions {
                store,
                clock: Arc::new(SystemClock),
                events: Arc::new(NoEvents),
                thumbnails: None,
                health: None,
                settings: ServiceSettings::default(),
            },
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &ServiceSettings {
        &self.settings
    }

    /// The current time of the service's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn publish(&self, kind: EventKind, session: &LiveSession) {
        self.events.publish(SessionEvent {
            kind,
            session_id: session.id,
            session: Some(session.clone()),
            at: self.clock.now(),
        });
    }

    /// Now, with the configured presence timeout.
    fn presence(&self) -> Presence {
        Presence::new(self.clock.now(), self.settings.presence_timeout)
    }

    async fn load(&self, id: SessionId) -> Result<LiveSession> {
        self.store
            .get_session(id)
            .await?
            .ok_or_else(|| Error::session_not_found(id))
    }

    /// Checks `upload` and stores it for `session_id`. The returned guard deletes the file again
    /// unless [`PendingUpload::keep`] is called once the session row that refers to it is
    /// committed: on an error, and also when the calling future is dropped half-way (a request
    /// timeout), in which case a task checks whether the row made it after all.
    async fn store_upload(
        &self,
        session_id: SessionId,
        upload: &ThumbnailUpload,
    ) -> Result<PendingUpload> {
        let kind = upload.check()?;
        let thumbnails = self.thumbnails.as_ref().ok_or_else(|| {
            Error::invalid(
                "thumbnail",
                "uploads_disabled",
                "uploads are not enabled on this server",
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
        Ok(pending)
    }

    async fn discard_upload(&self, key: &ThumbnailKey) {
        if let Some(thumbnails) = &self.thumbnails {
            delete_thumbnail(thumbnails.as_ref(), key).await;
        }
    }

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
        if input.is_live {
            session.start(now)?;
        }
        let pending = match &upload {
            Some(upload) => Some(self.store_upload(session.id, upload).await?),
            None => None,
        };
        if let Some(pending) = &pending {
            session.fields.thumbnail = Some(Thumbnail::Uploaded(pending.key().clone()));
        }
        if let Err(e) = self.store.insert_session(&session).await {
            if let Some(pending) = pending {
                pending.discard().await;
            }
            return Err(e);
        }
        if let Some(pending) = pending {
            pending.keep();
        }
        self.publish(EventKind::Created, &session);
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
        let pending = match &upload {
            Some(upload) => Some(self.store_upload(id, upload).await?),
            None => None,
        };
        if let Some(pending) = &pending {
            patch.thumbnail = Some(Some(Thumbnail::Uploaded(pending.key().clone())));
        }
        let result = self.update_with_retries(id, &update, &patch).await;
        match result {
            Ok((old_thumbnail, session, kind)) => {
                if let Some(pending) = pending {
                    pending.keep();
                }
                if let Some(old) = old_thumbnail.as_ref().and_then(Thumbnail::uploaded_key) {
                    if session
                        .fields
                        .thumbnail
                        .as_ref()
                        .and_then(Thumbnail::uploaded_key)
                        != Some(old)
                    {
                        self.discard_upload(old).await;
                    }
                }
                if let Some(kind) = kind {
                    self.publish(kind, &session);
                }
                Ok(session)
            }
            Err(e) => {
                if let Some(pending) = pending {
                    pending.discard().await;
                }
                Err(e)
            }
        }
    }

    async fn update_with_retries(
        &self,
        id: SessionId,
        update: &SessionUpdate,
        patch: &crate::SessionPatch,
    ) -> Result<(Option<Thumbnail>, LiveSession, Option<EventKind>)> {
        let mut attempt = 0;
        loop {
            attempt += 1;
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
            let result = if session.version == version {
                Ok(session.clone())
            } else if update.is_live == Some(false) && lifecycle == Transition::Changed {
                self.store
                    .end_session(&session, self.settings.presence_timeout)
                    .await
            } else {
                self.store.update_session(&session).await
            };
            match result {
                Ok(stored) => {
                    let kind = match (update.is_live, lifecycle) {
                        (Some(true), Transition::Changed) => Some(EventKind::Live),
                        (Some(false), Transition::Changed) => Some(EventKind::Ended),
                        _ if stored.version != version => Some(EventKind::Updated),
                        _ => None,
                    };
                    return Ok((old_thumbnail, stored, kind));
                }
                Err(Error::Conflict(Conflict::VersionMismatch { .. }))
                    if update.expected_version.is_none() && attempt < UPDATE_RETRIES => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Starts a session (admin); see [`LiveSession::start`].
    pub async fn start(&self, caller: Option<&Actor>, id: SessionId) -> Result<LiveSession> {
        self.update(
            caller,
            id,
            SessionUpdate {
                is_live: Some(true),
                ..Default::default()
            },
            None,
        )
        .await
    }

    /// Ends a session (admin), crediting every present participant.
    pub async fn end(&self, caller: Option<&Actor>, id: SessionId) -> Result<LiveSession> {
        self.update(
            caller,
            id,
            SessionUpdate {
                is_live: Some(false),
                ..Default::default()
            },
            None,
        )
        .await
    }

    /// Cancels a scheduled session (admin).
    pub async fn cancel(&self, caller: Option<&Actor>, id: SessionId) -> Result<LiveSession> {
        require_admin(caller)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut session = self.load(id).await?;
            session.cancel(self.clock.now())?;
            match self.store.update_session(&session).await {
                Ok(stored) => {
                    self.publish(EventKind::Updated, &stored);
                    return Ok(stored);
                }
                Err(Error::Conflict(Conflict::VersionMismatch { .. }))
                    if attempt < UPDATE_RETRIES => {}
                Err(e) => return Err(e),
            }
        }
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
            self.discard_upload(key).await;
        }
        self.events.publish(SessionEvent {
            kind: EventKind::Deleted,
            session_id: id,
            session: None,
            at: self.clock.now(),
        });
        Ok(())
    }

    async fn view(&self, caller: Option<&Actor>, session: LiveSession) -> Result<SessionView> {
        let watching = if session.is_live() {
            self.store.watching(session.id, self.presence()).await?
        } else {
            0
        };
        Ok(SessionView {
            session,
            watching,
            video_visible: caller.is_some(),
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
                session,
                video_visible: caller.is_some(),
            })
            .collect();
        Ok(Page {
            items,
            next: page.next,
        })
    }

    /// Joins a session as the signed-in caller. Counts the user once however often they join.
    pub async fn join(&self, caller: Option<&Actor>, input: JoinInput) -> Result<JoinOutcome> {
        let actor = require_user(caller)?;
        let mut errors = Vec::new();
        let session_id = SessionId::parse_field(&input.session_id, "sessionId")
            .map_err(|e| errors.push(e))
            .ok();
        if let Some(claimed) = input.user_id.as_deref() {
            if claimed != actor.user_id.as_str() {
                return Err(Error::Forbidden);
            }
        }
        let name = actor
            .name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .or(input.user_name.as_deref());
        let email = actor
            .email
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .or(input.email.as_deref());
        let user_name = UserName::parse(name.unwrap_or_default())
            .map_err(|e| errors.push(e))
            .ok();
        let email = Email::parse(email.unwrap_or_default())
            .map_err(|e| errors.push(e))
            .ok();
        let (Some(session_id), Some(user_name), Some(email)) = (session_id, user_name, email)
        else {
            return Err(Error::Validation(errors));
        };
        let outcome = self
            .store
            .join(&JoinRequest {
                session_id,
                joiner: Joiner {
                    user_id: actor.user_id.clone(),
                    user_name,
                    email,
                },
                presence: self.presence(),
            })
            .await?;
        if outcome.first_join {
            self.publish(EventKind::Participants, &outcome.session);
        }
        Ok(outcome)
    }

    /// Records that the signed-in caller is still watching.
    pub async fn heartbeat(&self, caller: Option<&Actor>, id: SessionId) -> Result<Participant> {
        let actor = require_user(caller)?;
        self.store
            .heartbeat(id, &actor.user_id, self.presence())
            .await
    }

    /// Records that the signed-in caller left.
    pub async fn leave(&self, caller: Option<&Actor>, id: SessionId) -> Result<Participant> {
        let actor = require_user(caller)?;
        self.store.leave(id, &actor.user_id, self.presence()).await
    }

    /// A session's report (admin); `threshold_percent` defaults to 75.
    pub async fn report(
        &self,
        caller: Option<&Actor>,
        id: SessionId,
        threshold_percent: Option<u8>,
    ) -> Result<SessionReport> {
        require_admin(caller)?;
        let threshold = threshold_percent.unwrap_or(DEFAULT_ATTENDANCE_THRESHOLD_PERCENT);
        if threshold > 100 {
            return Err(Error::invalid(
                "threshold",
                "out_of_range",
                "must be between 0 and 100",
            ));
        }
        let session = self.load(id).await?;
        let now = self.clock.now();
        self.store
            .session_report(&ReportQuery {
                session_id: id,
                now,
                timeout: self.settings.presence_timeout,
                live_seconds: session.live_duration_at(now),
                threshold_percent: threshold,
            })
            .await
    }

    /// A page of a session's attendance (admin).
    pub async fn attendance(
        &self,
        caller: Option<&Actor>,
        id: SessionId,
        sort: AttendanceSort,
        order: SortOrder,
        offset: u64,
        limit: u32,
    ) -> Result<AttendancePage> {
        require_admin(caller)?;
        if !(1..=AttendanceQuery::MAX_LIMIT).contains(&limit) {
            return Err(Error::invalid(
                "limit",
                "out_of_range",
                format!("must be between 1 and {}", AttendanceQuery::MAX_LIMIT),
            ));
        }
        self.store
            .attendance(&AttendanceQuery {
                session_id: id,
                sort,
                order,
                offset,
                limit,
                now: self.clock.now(),
                timeout: self.settings.presence_timeout,
            })
            .await
    }

    /// Totals and the top sessions of a time range (admin).
    pub async fn overview(
        &self,
        caller: Option<&Actor>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        top: u32,
        by: PopularBy,
    ) -> Result<Overview> {
        require_admin(caller)?;
        let query = OverviewQuery { from, to, top, by };
        query.validate()?;
        self.store.overview(&query).await
    }

    /// A user's participation: admins may ask for anyone, users for themselves.
    pub async fn participation(
        &self,
        caller: Option<&Actor>,
        user_id: &UserId,
        limit: u32,
    ) -> Result<Participation> {
        let actor = require_user(caller)?;
        if !actor.admin && &actor.user_id != user_id {
            return Err(Error::Forbidden);
        }
        if !(1..=1000).contains(&limit) {
            return Err(Error::Validation(vec![FieldError::new(
                "limit",
                "out_of_range",
                "must be between 1 and 1000",
            )]));
        }
        self.store
            .participation(&ParticipationQuery {
                user_id: user_id.clone(),
                limit,
            })
            .await
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

    /// Whether the store's backend answers: the [`HealthCheck`] when one was given, otherwise
    /// a read of a session that does not exist (any answer, found or not, shows that the
    /// backend is reachable; its errors are returned).
    pub async fn ready(&self) -> Result<()> {
        match &self.health {
            Some(health) => health.ping().await,
            None => self.store.get_session(SessionId::new()).await.map(|_| ()),
        }
    }

    /// Whether the session exists and is in `status` (a helper for adapters and tests).
    pub async fn status_of(&self, id: SessionId) -> Result<SessionStatus> {
        Ok(self.load(id).await?.status)
    }
}
