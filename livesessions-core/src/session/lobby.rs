//! The lobby: a session joined before its start records the participant, but its video is
//! released only once it has gone live.

use crate::actor::Actor;

use super::{LiveSession, SessionStatus};

impl LiveSession {
    /// Whether the video may be shown to participants: once the session has gone live (live,
    /// or ended afterwards). While scheduled, joiners wait in the lobby without it.
    pub fn video_released(&self) -> bool {
        self.status != SessionStatus::Scheduled
    }

    /// Whether `caller` may see the video now: admins always, other signed-in users once it
    /// is [released](LiveSession::video_released), anonymous callers never.
    pub fn video_visible_to(&self, caller: Option<&Actor>) -> bool {
        caller.is_some_and(|actor| actor.admin || self.video_released())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::ids::UserId;

    #[test]
    fn the_video_is_released_when_the_session_goes_live() {
        let now = Utc::now();
        let mut s = LiveSession::new(super::super::test_fields(), now);
        let student = Actor::user(UserId::parse_field("student", "userId").unwrap());
        let admin = Actor::admin(UserId::parse_field("admin", "userId").unwrap());
        assert!(!s.video_visible_to(Some(&student)), "not in the lobby");
        assert!(s.video_visible_to(Some(&admin)));
        assert!(!s.video_visible_to(None));
        s.start(now).unwrap();
        assert!(s.video_visible_to(Some(&student)));
        s.end(now).unwrap();
        assert!(
            s.video_visible_to(Some(&student)),
            "a recording after the end"
        );
        assert!(!s.video_visible_to(None));
    }
}
