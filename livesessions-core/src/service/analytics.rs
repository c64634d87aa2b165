//! Analytics use cases: a session's report and attendance, overviews and a user's
//! participation.

use chrono::{DateTime, Utc};

use super::{require_admin, require_user, LiveSessions};
use crate::actor::Actor;
use crate::analytics::{
    AttendancePage, AttendanceQuery, AttendanceSort, Overview, OverviewQuery, Participation,
    ParticipationQuery, PopularBy, ReportQuery, SessionReport, SortOrder,
};
use crate::error::{Error, FieldError, Result};
use crate::ids::{SessionId, UserId};

impl LiveSessions {
    /// A session's report (admin); `threshold_percent` defaults to the session's
    /// `attendanceThreshold`, else 75.
    pub async fn report(
        &self,
        caller: Option<&Actor>,
        id: SessionId,
        threshold_percent: Option<u8>,
    ) -> Result<SessionReport> {
        require_admin(caller)?;
        if threshold_percent.is_some_and(|t| t > 100) {
            return Err(Error::invalid(
                "threshold",
                "out_of_range",
                "Use a number from 0 to 100.",
            ));
        }
        let session = self.load(id).await?;
        let rule = self.status_rule(&session);
        self.store
            .session_report(&ReportQuery {
                session_id: id,
                now: rule.now,
                timeout: rule.timeout,
                live_seconds: rule.live_seconds,
                threshold_percent: threshold_percent.unwrap_or(rule.threshold_percent),
                late_after: rule.late_after,
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
                format!("Use a number from 1 to {}.", AttendanceQuery::MAX_LIMIT),
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
                "Use a number from 1 to 1000.",
            )]));
        }
        self.store
            .participation(&ParticipationQuery {
                user_id: user_id.clone(),
                limit,
                now: self.clock.now(),
                timeout: self.settings.presence_timeout,
            })
            .await
    }
}
