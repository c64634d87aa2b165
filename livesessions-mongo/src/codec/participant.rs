//! The document of a participant.

#[cfg(test)]
use bson::doc;
use bson::Document;
use livesessions_core::values::{Email, UserName};
use livesessions_core::{Participant, SessionId, UserId};

#[cfg(test)]
use super::{date, long, micros, opt_date, opt_micros, session_id, MICROS};
use super::{DocumentError, Reader};
use crate::documents::PARTICIPANTS;

/// The complete document of a participant (without `_id`, which MongoDB assigns). The store
/// writes participants with pipeline updates; this is what they must amount to.
#[cfg(test)]
pub(crate) fn participant_document(participant: &Participant) -> Document {
    doc! {
        "sessionId": session_id(participant.session_id),
        "userId": participant.user_id.as_str(),
        "userName": participant.user_name.as_str(),
        "email": participant.email.as_str(),
        "joinTime": date(participant.first_joined_at),
        "lastJoinTime": date(participant.last_joined_at),
        "lastSeen": date(participant.last_seen),
        "leftAt": opt_date(participant.left_at),
        "presentSince": opt_date(participant.present_since),
        "firstPresentAt": opt_date(participant.first_present_at),
        "watchSeconds": participant.watch_seconds,
        "watchDuration": participant.watch_minutes(),
        "joinCount": long(participant.join_count),
        "createdAt": date(participant.created_at),
        MICROS: {
            "joinTime": micros(participant.first_joined_at),
            "lastJoinTime": micros(participant.last_joined_at),
            "lastSeen": micros(participant.last_seen),
            "leftAt": opt_micros(participant.left_at),
            "presentSince": opt_micros(participant.present_since),
            "firstPresentAt": opt_micros(participant.first_present_at),
            "createdAt": micros(participant.created_at),
        },
    }
}

/// Reads a participant document.
pub(crate) fn participant_from_document(document: &Document) -> Result<Participant, DocumentError> {
    let r = Reader::new(document, PARTICIPANTS);
    let first_joined_at = r.date("joinTime")?;
    let last_joined_at = r.opt_date("lastJoinTime")?.unwrap_or(first_joined_at);
    let watch_seconds = match r.opt_int("watchSeconds")? {
        Some(seconds) => seconds,
        None => r.opt_int("watchDuration")?.unwrap_or(0).saturating_mul(60),
    };
    Ok(Participant {
        session_id: SessionId::from_uuid(r.uuid("sessionId")?),
        user_id: UserId::parse_field(r.str("userId")?, "userId").map_err(|e| r.invalid(e))?,
        user_name: r.valid("userName", UserName::parse(r.str("userName")?))?,
        email: r.valid("email", Email::parse(r.str("email")?))?,
        first_joined_at,
        last_joined_at,
        last_seen: r.opt_date("lastSeen")?.unwrap_or(last_joined_at),
        left_at: r.opt_date("leftAt")?,
        present_since: r.opt_date("presentSince")?,
        // Absent from documents written before it: never present as far as is known.
        first_present_at: r.opt_date("firstPresentAt")?,
        watch_seconds,
        join_count: r.opt_count("joinCount")?.unwrap_or(1),
        created_at: r.opt_date("createdAt")?.unwrap_or(first_joined_at),
    })
}
