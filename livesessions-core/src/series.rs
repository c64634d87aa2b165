//! Series: sessions created together from one repeat rule ([`Recurrence`]), each an ordinary
//! session that carries a [`SeriesLink`]; how a change reaches them ([`SeriesScope`]); and the
//! attendance summary of a series ([`SeriesSummary`]).

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

use crate::analytics::DEFAULT_ATTENDANCE_THRESHOLD_PERCENT;
use crate::error::{FieldError, Result};
use crate::ids::{SeriesId, UserId};
use crate::session::LiveSession;
use crate::values::{Recurrence, TimeZone};

/// What makes a session an occurrence of a series: the series' id and the rule it was
/// created from (kept on every occurrence, so that any one of them describes the series).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesLink {
    /// The series.
    pub id: SeriesId,
    /// The repeat rule the series was created from.
    pub recurrence: Recurrence,
}

/// Which sessions a change of an occurrence reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SeriesScope {
    /// This session only: an ordinary update.
    #[default]
    This,
    /// This occurrence and every later occurrence of its series that is still scheduled
    /// (live, ended and cancelled ones are skipped).
    Following,
}

impl SeriesScope {
    /// Reads `this` or `following`, reporting errors against `scope`.
    pub fn parse(text: &str) -> std::result::Result<Self, FieldError> {
        match text.trim() {
            "" | "this" => Ok(SeriesScope::This),
            "following" => Ok(SeriesScope::Following),
            _ => Err(FieldError::new(
                "scope",
                "invalid_scope",
                "Use this or following.",
            )),
        }
    }
}

/// The most students one page of a series summary holds.
pub const MAX_SUMMARY_PAGE: u32 = 500;

/// What a series' attendance summary is computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesSummaryQuery {
    /// The series.
    pub series_id: SeriesId,
    /// Attendance threshold in percent of an occurrence's live time (0–100).
    pub threshold_percent: u8,
    /// At most this many students (1 ..= [`MAX_SUMMARY_PAGE`]).
    pub limit: u32,
    /// Only students whose user id sorts after this one (the next page).
    pub after: Option<UserId>,
}

impl SeriesSummaryQuery {
    /// The first page of the summary of `series_id`, with the default threshold (75 %) and 100
    /// students.
    pub fn new(series_id: SeriesId) -> Self {
        SeriesSummaryQuery {
            series_id,
            threshold_percent: DEFAULT_ATTENDANCE_THRESHOLD_PERCENT,
            limit: 100,
            after: None,
        }
    }
}

/// One student of a series: attended `attended` of `ended` occurrences.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeriesAttendance {
    /// The student.
    pub user_id: UserId,
    /// Their name, as of their latest join of any occurrence.
    pub user_name: String,
    /// Their email, as of the same join.
    pub email: String,
    /// Ended occurrences of which they watched at least the threshold of the live time (the
    /// session report's rule, [`attended`](crate::memory::attended)).
    pub attended: u64,
    /// Ended occurrences of the series (M in "attended N of M"), the same for every student.
    pub ended: u64,
    /// Credited watch seconds over every occurrence they joined (an interval still open in a
    /// live occurrence counts once it closes).
    pub watch_seconds: i64,
}

/// The attendance summary of a series: each student who joined any occurrence, by user id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeriesSummary {
    /// The series.
    pub series_id: SeriesId,
    /// Occurrences of the series.
    pub occurrences: u64,
    /// Occurrences that have ended (M).
    pub ended: u64,
    /// The threshold used, in percent.
    pub threshold_percent: u8,
    /// The students of this page, by user id.
    pub students: Vec<SeriesAttendance>,
    /// The user id to continue after, when more students may follow.
    pub next: Option<UserId>,
}

/// The occurrences of a new series: `first` (a validated session, not stored) copied to each
/// start of its rule in its zone (`default_zone` when it names none), with the same duration,
/// all carrying `link`. The first occurrence keeps `first`'s id when it starts at `first`'s
/// start time.
pub fn expand(
    first: &LiveSession,
    recurrence: &Recurrence,
    default_zone: TimeZone,
) -> std::result::Result<Vec<LiveSession>, FieldError> {
    let zone = first.fields.timezone.unwrap_or(default_zone);
    let starts = recurrence.occurrences(first.fields.start_time, zone)?;
    let link = SeriesLink {
        id: SeriesId::new(),
        recurrence: recurrence.clone(),
    };
    let duration = first
        .fields
        .end_time
        .map(|end| end - first.fields.start_time);
    Ok(starts
        .into_iter()
        .enumerate()
        .map(|(i, start)| {
            let mut occurrence = first.clone();
            if i > 0 || start != first.fields.start_time {
                occurrence.id = crate::ids::SessionId::new();
            }
            occurrence.fields.start_time = start;
            occurrence.fields.end_time = duration.map(|d| start + d);
            occurrence.series = Some(link.clone());
            occurrence
        })
        .collect())
}

/// `time` in `zone`, as a wall-clock time.
pub(crate) fn local(time: DateTime<Utc>, zone: TimeZone) -> NaiveDateTime {
    time.with_timezone(&zone.tz()).naive_local()
}

/// How a "this and following" change moves the times of a later occurrence: by the local-time
/// shift of the edited occurrence's start, keeping the edited occurrence's new duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shift {
    /// Local-time offset of the start.
    pub start: TimeDelta,
    /// The new duration, or `None` for no end time.
    pub duration: Option<TimeDelta>,
}

impl Shift {
    /// The shift that took `before` to `after` (the edited occurrence), in `zone`.
    pub(crate) fn between(before: &LiveSession, after: &LiveSession, zone: TimeZone) -> Shift {
        Shift {
            start: local(after.fields.start_time, zone) - local(before.fields.start_time, zone),
            duration: after
                .fields
                .end_time
                .map(|end| end - after.fields.start_time),
        }
    }
}

/// Checks a threshold in percent, reporting errors against `threshold`.
pub fn check_threshold(percent: i64) -> Result<u8> {
    u8::try_from(percent)
        .ok()
        .filter(|p| *p <= 100)
        .ok_or_else(|| {
            FieldError::new(
                "threshold",
                "out_of_range",
                "Use a percentage from 0 to 100.",
            )
            .into()
        })
}
