//! Documents as the original application wrote them: its examples of a `LiveSession` and a
//! `SessionParticipant`, field for field. Shared by the crate's unit tests (which read them)
//! and `mongo_specific.rs` (which stores them and serves them).

use bson::{doc, oid::ObjectId, Bson, Document};

/// The original application's session, under the id `id` (it used ObjectIds).
pub fn legacy_session(id: Bson) -> Document {
    doc! {
        "_id": id,
        "title": "JavaScript Basics",
        "description": "Learn fundamentals",
        "instructor": "John Doe",
        "videoUrl": "https://youtube.com/...",
        "thumbnail": "https://...",
        "startTime": "2025-01-15T10:00:00Z",
        "isLive": true,
        "participants": 25,
        "createdAt": "2025-01-14T09:00:00Z",
    }
}

/// The original application's participant `user` of the session `session` (it used strings
/// there), who joined at `joined` (an RFC 3339 string there) and watched 45 minutes.
pub fn legacy_participant(session: Bson, user: &str, joined: Bson) -> Document {
    doc! {
        "_id": ObjectId::new(),
        "sessionId": session,
        "userId": user,
        "userName": "Ahmed Ali",
        "email": "ahmed@example.com",
        "joinTime": joined.clone(),
        "watchDuration": 45,
        "createdAt": joined,
    }
}
