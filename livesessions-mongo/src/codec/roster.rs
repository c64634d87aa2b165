//! The document of a roster member.

#[cfg(test)]
use bson::doc;
use bson::Document;
use livesessions_core::roster::RosterMember;
use livesessions_core::values::{Email, UserName};
#[cfg(test)]
use livesessions_core::SessionId;
use livesessions_core::UserId;

#[cfg(test)]
use super::{date, micros, session_id, MICROS};
use super::{DocumentError, Reader};
use crate::documents::ROSTER_MEMBERS;

/// The complete document of a roster member of `session` (without `_id`, which MongoDB
/// assigns). The store writes members with upserts; this is what they must amount to.
#[cfg(test)]
pub(crate) fn roster_member_document(session: SessionId, member: &RosterMember) -> Document {
    doc! {
        "sessionId": session_id(session),
        "userId": member.user_id.as_str(),
        "userName": member.user_name.as_str(),
        "email": member.email.as_str(),
        "registered": member.registered,
        "addedAt": date(member.added_at),
        MICROS: { "addedAt": micros(member.added_at) },
    }
}

/// Reads a roster member document.
pub(crate) fn roster_member_from_document(
    document: &Document,
) -> Result<RosterMember, DocumentError> {
    let r = Reader::new(document, ROSTER_MEMBERS);
    Ok(RosterMember {
        user_id: UserId::parse_field(r.str("userId")?, "userId").map_err(|e| r.invalid(e))?,
        user_name: r.valid("userName", UserName::parse(r.str("userName")?))?,
        email: r.valid("email", Email::parse(r.str("email")?))?,
        registered: r.opt_bool("registered")?.unwrap_or(false),
        added_at: r.date("addedAt")?,
    })
}
