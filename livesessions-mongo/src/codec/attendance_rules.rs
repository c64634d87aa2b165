//! The attendance rules of a session document: `restricted`, `registration`,
//! `attendanceThreshold` and `lateAfterMinutes`.

use bson::{doc, Bson, Document};
use livesessions_core::values::{AttendanceThreshold, LateMinutes, Registration};
use livesessions_core::SessionFields;

use super::{DocumentError, Reader};

/// The rules' fields of a session document (part of what an update replaces).
pub(crate) fn attendance_rule_fields(fields: &SessionFields) -> Document {
    doc! {
        "restricted": fields.restricted,
        "registration": fields.registration.as_str(),
        "attendanceThreshold": fields
            .attendance_threshold
            .map_or(Bson::Null, |t| Bson::Int32(i32::from(t.get()))),
        "lateAfterMinutes": fields
            .late_after
            .map_or(Bson::Null, |m| Bson::Int32(i32::from(m.get()))),
    }
}

/// The rules as read from a session document; a document written before them (without the
/// fields) is unrestricted, closed to registration, with the default threshold and no late rule.
pub(crate) struct AttendanceRules {
    pub restricted: bool,
    pub registration: Registration,
    pub attendance_threshold: Option<AttendanceThreshold>,
    pub late_after: Option<LateMinutes>,
}

impl AttendanceRules {
    /// Reads the rules of the session document behind `r`.
    pub(crate) fn read(r: &Reader<'_>) -> Result<Self, DocumentError> {
        Ok(AttendanceRules {
            restricted: r.opt_bool("restricted")?.unwrap_or(false),
            registration: r
                .opt_str("registration")?
                .map(|text| r.valid("registration", Registration::parse(text)))
                .transpose()?
                .unwrap_or_default(),
            attendance_threshold: r
                .opt_int("attendanceThreshold")?
                .map(|t| r.valid("attendanceThreshold", AttendanceThreshold::new(t)))
                .transpose()?,
            late_after: r
                .opt_int("lateAfterMinutes")?
                .map(|m| r.valid("lateAfterMinutes", LateMinutes::new(m)))
                .transpose()?,
        })
    }
}
