//! Series use cases: listing a series' occurrences (anyone), changing an occurrence and the
//! later ones ("this and following"), and the attendance summary of a series (admin).
//! Creating a series is [`LiveSessions::create`] with a repeat rule; cancelling one occurrence
//! is an ordinary [`LiveSessions::cancel`].

use super::sessions::SessionView;
use super::{require_admin, with_retries, LiveSessions};
use crate::actor::Actor;
use crate::error::{Error, FieldError, Result};
use crate::events::EventKind;
use crate::ids::{SeriesId, SessionId};
use crate::series::{local, SeriesScope, SeriesSummary, SeriesSummaryQuery, Shift};
use crate::session::{LiveSession, SessionPatch, SessionStatus, SessionUpdate};
use crate::upload::ThumbnailUpload;
use crate::values::{StartTime, Thumbnail, ThumbnailKey};

impl LiveSessions {
    /// The occurrences of a series, earliest first (anyone; video URLs only for signed-in
    /// callers). An unknown series is `NotFound`.
    pub async fn series(
        &self,
        caller: Option<&Actor>,
        series_id: SeriesId,
    ) -> Result<Vec<SessionView>> {
        let sessions = self.store.series_sessions(series_id).await?;
        if sessions.is_empty() {
            return Err(series_not_found(series_id));
        }
        let mut views = Vec::with_capacity(sessions.len());
        for session in sessions {
            views.push(self.view(caller, session).await?);
        }
        Ok(views)
    }

    /// Changes a session (admin) in `scope`: [`SeriesScope::This`] is
    /// [`LiveSessions::update`]; [`SeriesScope::Following`] applies the change to this
    /// occurrence (as `update` does, with its version check) and then to every later occurrence
    /// of its series that is still scheduled, each with its own version check. A later
    /// occurrence that is live, ended or cancelled is skipped. A change of the start or end
    /// time moves each later occurrence's start by the same local-time offset as this one's
    /// (in its zone, so across a daylight-saving change it keeps its wall time) and gives it
    /// this one's new duration. Every occurrence's new times are checked before anything is
    /// written, so a change that would be invalid for one of them changes none. Starting or
    /// ending (`isLive`) applies to one session only. Answers the changed sessions, this one
    /// first.
    pub async fn update_in_scope(
        &self,
        caller: Option<&Actor>,
        id: SessionId,
        update: SessionUpdate,
        scope: SeriesScope,
        upload: Option<ThumbnailUpload>,
    ) -> Result<Vec<LiveSession>> {
        require_admin(caller)?;
        if scope == SeriesScope::This {
            return Ok(vec![self.update(caller, id, update, upload).await?]);
        }
        if update.is_live.is_some() {
            return Err(FieldError::new(
                "isLive",
                "one_session_only",
                "Start or end one session at a time.",
            )
            .into());
        }
        let patch = update.validate()?;
        let before = self.load(id).await?;
        let Some(link) = before.series.clone() else {
            return Ok(vec![self.update(caller, id, update, upload).await?]);
        };
        let default_zone = self.settings.default_time_zone;
        let mut after = before.clone();
        after.apply(patch.clone(), self.clock.now(), default_zone)?;
        let shift = Shift::between(
            &before,
            &after,
            before.fields.timezone.unwrap_or(default_zone),
        );
        let moves_times = patch.start_time.is_some() || patch.end_time.is_some();
        let following: Vec<LiveSession> = self
            .store
            .series_sessions(link.id)
            .await?
            .into_iter()
            .filter(|s| s.id != id && s.fields.start_time > before.fields.start_time)
            .filter(|s| s.status == SessionStatus::Scheduled)
            .collect();
        // Every later occurrence's change is checked before anything is written.
        for occurrence in &following {
            let mut check = occurrence.clone();
            check.apply(
                self.patch_for(&patch, occurrence, shift, moves_times)?,
                self.clock.now(),
                default_zone,
            )?;
        }
        let first = self.update(caller, id, update, upload).await?;
        let old_thumbnail = before.fields.thumbnail.clone();
        let mut patch = patch;
        if first.fields.thumbnail != old_thumbnail {
            // A new upload is shared by the occurrences it reaches.
            patch.thumbnail = Some(first.fields.thumbnail.clone());
        }
        let mut changed = vec![first];
        for occurrence in following {
            if let Some(written) = self
                .update_following(occurrence.id, &patch, shift, moves_times)
                .await?
            {
                changed.push(written);
            }
        }
        if let Some(old) = old_thumbnail.as_ref().and_then(Thumbnail::uploaded_key) {
            self.discard_unless_shared(&changed[0], old).await;
        }
        Ok(changed)
    }

    /// The patch of a later occurrence: `patch`, with its times moved by `shift` from the
    /// occurrence's own when `moves_times`.
    fn patch_for(
        &self,
        patch: &SessionPatch,
        occurrence: &LiveSession,
        shift: Shift,
        moves_times: bool,
    ) -> Result<SessionPatch> {
        let mut patch = patch.clone();
        if moves_times {
            let default_zone = self.settings.default_time_zone;
            let zone_before = occurrence.fields.timezone.unwrap_or(default_zone);
            let zone_after = patch
                .timezone
                .unwrap_or(occurrence.fields.timezone)
                .unwrap_or(default_zone);
            let start =
                StartTime::Local(local(occurrence.fields.start_time, zone_before) + shift.start)
                    .resolve(zone_after, "startTime")?;
            patch.start_time = Some(StartTime::Instant(start));
            patch.end_time = Some(shift.duration.map(|d| StartTime::Instant(start + d)));
        }
        Ok(patch)
    }

    /// Applies the "following" part of a change to one later occurrence, with its own version
    /// check (retried after a concurrent change); `None` when it is no longer scheduled.
    async fn update_following(
        &self,
        id: SessionId,
        patch: &SessionPatch,
        shift: Shift,
        moves_times: bool,
    ) -> Result<Option<LiveSession>> {
        let written = with_retries(true, || async move {
            let Some(mut session) = self.store.get_session(id).await? else {
                return Ok(Ok(None));
            };
            if session.status != SessionStatus::Scheduled {
                return Ok(Ok(None));
            }
            let patch = self.patch_for(patch, &session, shift, moves_times)?;
            session.apply(patch, self.clock.now(), self.settings.default_time_zone)?;
            Ok(self
                .store
                .update_session(&session, EventKind::Updated)
                .await
                .map(Some))
        })
        .await?;
        if let Some(session) = &written {
            self.publish(EventKind::Updated, session);
        }
        Ok(written)
    }

    /// The attendance summary of a series (admin); see
    /// [`AnalyticsStore::series_summary`](crate::AnalyticsStore::series_summary).
    pub async fn series_summary(
        &self,
        caller: Option<&Actor>,
        query: &SeriesSummaryQuery,
    ) -> Result<SeriesSummary> {
        require_admin(caller)?;
        if query.threshold_percent > 100 {
            return Err(FieldError::new(
                "threshold",
                "out_of_range",
                "Use a percentage from 0 to 100.",
            )
            .into());
        }
        if query.limit == 0 || query.limit > crate::series::MAX_SUMMARY_PAGE {
            return Err(FieldError::new(
                "limit",
                "out_of_range",
                format!("Use a limit from 1 to {}.", crate::series::MAX_SUMMARY_PAGE),
            )
            .into());
        }
        self.store.series_summary(query).await
    }

    /// Discards the uploaded thumbnail `key` that `session` no longer uses, unless another
    /// occurrence of its series still shows it (a series shares one upload).
    pub(super) async fn discard_unless_shared(&self, session: &LiveSession, key: &ThumbnailKey) {
        if let Some(link) = &session.series {
            match self.store.series_sessions(link.id).await {
                Ok(sessions) => {
                    let shared = sessions.iter().any(|s| {
                        s.id != session.id
                            && s.fields
                                .thumbnail
                                .as_ref()
                                .and_then(Thumbnail::uploaded_key)
                                == Some(key)
                    });
                    if shared {
                        return;
                    }
                }
                // Keeping an unused image is better than removing one still shown.
                Err(_) => return,
            }
        }
        self.discard_upload(key).await;
    }
}

fn series_not_found(id: SeriesId) -> Error {
    Error::NotFound {
        entity: "series",
        id: id.to_string(),
    }
}
