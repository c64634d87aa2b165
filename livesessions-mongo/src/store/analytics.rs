//! [`AnalyticsStore`]: each figure is one aggregation pipeline, read back here.

use std::time::Duration;

use async_trait::async_trait;
use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use livesessions_core::analytics::DEFAULT_ATTENDANCE_THRESHOLD_PERCENT;
use livesessions_core::analytics::{
    AttendancePage, AttendanceQuery, AttendanceRow, Overview, OverviewQuery, Participation,
    ParticipationQuery, ParticipationRow, PopularSession, ReportQuery, SessionReport,
};
use livesessions_core::roster::StatusRule;
use livesessions_core::{
    AnalyticsStore, Error, Result, SeriesAttendance, SeriesSummary, SeriesSummaryQuery, SessionId,
    UserId,
};

use super::roster::status_counts;
use super::{all_documents, MongoStore};
use crate::codec::{participant_from_document, AttendanceRules, DocumentError, Reader};
use crate::documents::{PARTICIPANTS, ROSTER_MEMBERS, SESSIONS};
use crate::error::map_error;
use crate::queries;

impl MongoStore {
    pub(super) async fn require_session(&self, id: SessionId) -> Result<()> {
        let found = self
            .sessions
            .find_one(queries::session_filter(id))
            .projection(doc! { "_id": 1 })
            .await
            .map_err(map_error)?;
        match found {
            Some(_) => Ok(()),
            None => Err(Error::session_not_found(id)),
        }
    }
}

/// The first document of the facet `name` of the `$facet` result `results` (the facet's
/// totals); none when the aggregation or the facet is empty.
pub(super) fn facet_first<'a>(results: &'a [Document], name: &str) -> Option<&'a Document> {
    match results.first()?.get_array(name).ok()?.first()? {
        Bson::Document(first) => Some(first),
        _ => None,
    }
}

/// The documents of the facet `name` of the `$facet` result `results` (none when it is
/// missing).
pub(super) fn facet_rows<'a>(
    results: &'a [Document],
    name: &str,
) -> impl Iterator<Item = &'a Document> {
    results
        .first()
        .and_then(|facets| facets.get_array(name).ok())
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter_map(Bson::as_document)
}

/// The figures of an aggregation's totals document: zero when the aggregation matched
/// nothing and so returned none.
struct Totals<'a>(Option<Reader<'a>>);

impl<'a> Totals<'a> {
    /// The totals in `document` (if any), a result over `collection`.
    fn of(document: Option<&'a Document>, collection: &'static str) -> Self {
        Totals(document.map(|document| Reader::new(document, collection)))
    }

    /// The count `field`.
    fn count(&self, field: &str) -> std::result::Result<u64, DocumentError> {
        self.0.as_ref().map_or(Ok(0), |r| r.count(field))
    }

    /// The integer `field`.
    fn int(&self, field: &str) -> std::result::Result<i64, DocumentError> {
        self.0.as_ref().map_or(Ok(0), |r| r.int(field))
    }

    /// The integer `field`, zero when it is null or missing.
    fn int_or_zero(&self, field: &str) -> std::result::Result<i64, DocumentError> {
        let value = self.0.as_ref().map(|r| r.opt_int(field)).transpose()?;
        Ok(value.flatten().unwrap_or(0))
    }
}

/// A row of a user's participation: the participant document with its session looked up;
/// the status as of `query.now` under the session's own rule.
fn participation_row(
    row: &Document,
    query: &ParticipationQuery,
) -> std::result::Result<ParticipationRow, DocumentError> {
    let participant = participant_from_document(row)?;
    let session = row.get_document("session").map_err(|_| DocumentError {
        collection: PARTICIPANTS,
        field: "session".into(),
        problem: "is missing from the participation lookup".into(),
    })?;
    let s = Reader::new(session, SESSIONS);
    let (attendance, late) = session_rule(&s, query.now, query.timeout)?.status(Some(&participant));
    Ok(ParticipationRow {
        session_id: participant.session_id,
        title: s.title("title")?,
        status: s.session_status()?,
        start_time: s.date("startTime")?,
        first_joined_at: participant.first_joined_at,
        last_joined_at: participant.last_joined_at,
        watch_seconds: participant.watch_seconds,
        join_count: participant.join_count,
        attendance,
        late,
    })
}

/// The status rule of the session document behind `s` (as the participation's lookup projects
/// it: [`queries::participation_pipeline`]) at `now`, as
/// [`StatusRule::for_session`] makes it: its live time as of `now`, its threshold (75 without
/// one), its late rule (`startedAt + lateAfterMinutes`).
fn session_rule(
    s: &Reader<'_>,
    now: DateTime<Utc>,
    timeout: Duration,
) -> std::result::Result<StatusRule, DocumentError> {
    // `LiveSession::live_duration_at`: the closed periods plus the open one up to `now`.
    let current = s
        .opt_date("liveSince")?
        .map_or(0, |since| (now - since).num_seconds().max(0));
    let rules = AttendanceRules::read(s)?;
    Ok(StatusRule {
        now,
        timeout,
        live_seconds: s.opt_int("liveSeconds")?.unwrap_or(0) + current,
        threshold_percent: rules
            .attendance_threshold
            .map_or(DEFAULT_ATTENDANCE_THRESHOLD_PERCENT, |t| t.get()),
        late_after: s
            .opt_date("startedAt")?
            .zip(rules.late_after)
            .map(|(started, late)| started + late.delta()),
    })
}

#[async_trait]
impl AnalyticsStore for MongoStore {
    async fn session_report(&self, query: &ReportQuery) -> Result<SessionReport> {
        self.require_session(query.session_id).await?;
        let results =
            all_documents(self.participants.aggregate(queries::report_pipeline(query))).await?;
        let totals = Totals::of(results.first(), PARTICIPANTS);
        let counts = all_documents(
            self.database
                .collection::<Document>(ROSTER_MEMBERS)
                .aggregate(queries::roster_counts_pipeline(
                    query.session_id,
                    &query.status_rule(),
                )),
        )
        .await?;
        let (statuses, roster_members) = status_counts(counts.first())?;
        Ok(SessionReport {
            session_id: query.session_id,
            participants: totals.count("participants")?,
            watching: totals.count("watching")?,
            total_watch_seconds: totals.int("totalWatchSeconds")?,
            max_watch_seconds: totals.int_or_zero("maxWatchSeconds")?,
            live_seconds: query.live_seconds,
            threshold_percent: query.threshold_percent,
            attended: totals.count("attended")?,
            roster_members,
            statuses,
        })
    }

    async fn attendance(&self, query: &AttendanceQuery) -> Result<AttendancePage> {
        self.require_session(query.session_id).await?;
        let total = self
            .participants
            .count_documents(queries::participants_of(query.session_id))
            .await
            .map_err(map_error)?;
        let documents = all_documents(
            self.participants
                .aggregate(queries::attendance_pipeline(query)),
        )
        .await?;
        let rows = documents
            .iter()
            .map(|document| {
                Ok(AttendanceRow {
                    participant: participant_from_document(document)?,
                    watch_seconds_now: Reader::new(document, PARTICIPANTS)
                        .int("watchSecondsNow")?,
                })
            })
            .collect::<std::result::Result<Vec<_>, DocumentError>>()?;
        Ok(AttendancePage { rows, total })
    }

    async fn overview(&self, query: &OverviewQuery) -> Result<Overview> {
        let results =
            all_documents(self.sessions.aggregate(queries::overview_pipeline(query))).await?;
        let totals = Totals::of(facet_first(&results, "totals"), SESSIONS);
        Ok(Overview {
            sessions: totals.count("sessions")?,
            participants: totals.count("participants")?,
            total_watch_seconds: totals.int("watchSeconds")?,
            popular: facet_rows(&results, "popular")
                .map(|row| {
                    let r = Reader::new(row, SESSIONS);
                    Ok(PopularSession {
                        session_id: SessionId::from_uuid(r.uuid("_id")?),
                        title: r.title("title")?,
                        status: r.session_status()?,
                        start_time: r.date("startTime")?,
                        participants: r.count("participants")?,
                        total_watch_seconds: r.int("watchSeconds")?,
                    })
                })
                .collect::<std::result::Result<_, DocumentError>>()?,
        })
    }

    async fn participation(&self, query: &ParticipationQuery) -> Result<Participation> {
        let results = all_documents(
            self.participants
                .aggregate(queries::participation_pipeline(query)),
        )
        .await?;
        let totals = Totals::of(facet_first(&results, "totals"), PARTICIPANTS);
        Ok(Participation {
            user_id: query.user_id.clone(),
            sessions_joined: totals.count("sessions")?,
            total_watch_seconds: totals.int("watchSeconds")?,
            sessions: facet_rows(&results, "rows")
                .map(|row| participation_row(row, query))
                .collect::<std::result::Result<_, DocumentError>>()?,
        })
    }

    async fn series_summary(&self, query: &SeriesSummaryQuery) -> Result<SeriesSummary> {
        let occurrences = self
            .sessions
            .count_documents(queries::series_filter(query.series_id))
            .await
            .map_err(map_error)?;
        if occurrences == 0 {
            return Err(Error::NotFound {
                entity: "series",
                id: query.series_id.to_string(),
            });
        }
        let ended = self
            .sessions
            .count_documents(queries::ended_in_series_filter(query.series_id))
            .await
            .map_err(map_error)?;
        let rows = all_documents(
            self.sessions
                .aggregate(queries::series_students_pipeline(query)),
        )
        .await?;
        let limit = query.limit as usize;
        let students = rows
            .iter()
            .take(limit)
            .map(|document| {
                let r = Reader::new(document, SESSIONS);
                Ok(SeriesAttendance {
                    user_id: UserId::parse_field(r.str("_id")?, "userId")
                        .map_err(|e| r.invalid(e))?,
                    user_name: r.str("userName")?.to_owned(),
                    email: r.str("email")?.to_owned(),
                    attended: r.count("attended")?,
                    ended,
                    watch_seconds: r.opt_int("watchSeconds")?.unwrap_or(0),
                })
            })
            .collect::<std::result::Result<Vec<_>, DocumentError>>()?;
        let next = if rows.len() > limit {
            students.last().map(|s| s.user_id.clone())
        } else {
            None
        };
        Ok(SeriesSummary {
            series_id: query.series_id,
            occurrences,
            ended,
            threshold_percent: query.threshold_percent,
            students,
            next,
        })
    }
}
