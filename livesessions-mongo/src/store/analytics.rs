//! [`AnalyticsStore`]: each figure is one aggregation pipeline, read back here.

use async_trait::async_trait;
use bson::{doc, Bson, Document};
use livesessions_core::analytics::{
    AttendancePage, AttendanceQuery, AttendanceRow, Overview, OverviewQuery, Participation,
    ParticipationQuery, ParticipationRow, PopularSession, ReportQuery, SessionReport,
};
use livesessions_core::{AnalyticsStore, Error, Result, SessionId};

use super::{all_documents, MongoStore};
use crate::codec::{participant_from_document, DocumentError, Reader};
use crate::documents::{PARTICIPANTS, SESSIONS};
use crate::error::map_error;
use crate::queries;

impl MongoStore {
    async fn require_session(&self, id: SessionId) -> Result<()> {
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

/// The first document of the facet `name` of a `$facet` result (the facet's totals).
fn facet_first<'a>(facets: &'a Document, name: &str) -> Option<&'a Document> {
    match facets.get_array(name).ok()?.first()? {
        Bson::Document(first) => Some(first),
        _ => None,
    }
}

/// The documents of the facet `name` of a `$facet` result (none when it is missing).
fn facet_rows<'a>(facets: &'a Document, name: &str) -> impl Iterator<Item = &'a Document> {
    facets
        .get_array(name)
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter_map(Bson::as_document)
}

#[async_trait]
impl AnalyticsStore for MongoStore {
    async fn session_report(&self, query: &ReportQuery) -> Result<SessionReport> {
        self.require_session(query.session_id).await?;
        let results =
            all_documents(self.participants.aggregate(queries::report_pipeline(query))).await?;
        let mut report = SessionReport {
            session_id: query.session_id,
            participants: 0,
            watching: 0,
            total_watch_seconds: 0,
            max_watch_seconds: 0,
            live_seconds: query.live_seconds,
            threshold_percent: query.threshold_percent,
            attended: 0,
        };
        if let Some(totals) = results.first() {
            let r = Reader::new(totals, PARTICIPANTS);
            report.participants = r.count("participants")?;
            report.watching = r.count("watching")?;
            report.total_watch_seconds = r.int("totalWatchSeconds")?;
            report.max_watch_seconds = r.opt_int("maxWatchSeconds")?.unwrap_or(0);
            report.attended = r.count("attended")?;
        }
        Ok(report)
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
        let mut overview = Overview {
            sessions: 0,
            participants: 0,
            total_watch_seconds: 0,
            popular: Vec::new(),
        };
        let Some(facets) = results.first() else {
            return Ok(overview);
        };
        if let Some(totals) = facet_first(facets, "totals") {
            let r = Reader::new(totals, SESSIONS);
            overview.sessions = r.count("sessions")?;
            overview.participants = r.count("participants")?;
            overview.total_watch_seconds = r.int("watchSeconds")?;
        }
        for row in facet_rows(facets, "popular") {
            let r = Reader::new(row, SESSIONS);
            overview.popular.push(PopularSession {
                session_id: SessionId::from_uuid(r.uuid("_id")?),
                title: r.title("title")?,
                status: r.session_status()?,
                start_time: r.date("startTime")?,
                participants: r.count("participants")?,
                total_watch_seconds: r.int("watchSeconds")?,
            });
        }
        Ok(overview)
    }

    async fn participation(&self, query: &ParticipationQuery) -> Result<Participation> {
        let results = all_documents(
            self.participants
                .aggregate(queries::participation_pipeline(query)),
        )
        .await?;
        let mut participation = Participation {
            user_id: query.user_id.clone(),
            sessions_joined: 0,
            total_watch_seconds: 0,
            sessions: Vec::new(),
        };
        let Some(facets) = results.first() else {
            return Ok(participation);
        };
        if let Some(totals) = facet_first(facets, "totals") {
            let r = Reader::new(totals, PARTICIPANTS);
            participation.sessions_joined = r.count("sessions")?;
            participation.total_watch_seconds = r.int("watchSeconds")?;
        }
        for row in facet_rows(facets, "rows") {
            let participant = participant_from_document(row)?;
            let session = row.get_document("session").map_err(|_| DocumentError {
                collection: PARTICIPANTS,
                field: "session".into(),
                problem: "is missing from the participation lookup".into(),
            })?;
            let s = Reader::new(session, SESSIONS);
            participation.sessions.push(ParticipationRow {
                session_id: participant.session_id,
                title: s.title("title")?,
                status: s.session_status()?,
                start_time: s.date("startTime")?,
                first_joined_at: participant.first_joined_at,
                last_joined_at: participant.last_joined_at,
                watch_seconds: participant.watch_seconds,
                join_count: participant.join_count,
            });
        }
        Ok(participation)
    }
}
