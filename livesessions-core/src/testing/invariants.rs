//! The watch-time rules every participant satisfies at any moment, whatever order events
//! arrived in: for suites and property tests that drive a store through random interleavings
//! and check the outcome after each step.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::attendance::Participant;
use crate::session::LiveSession;

/// Checks participant `p` of `session` as of `now`, with presence timeout `timeout`:
///
/// - credited seconds are not negative and at most the time the session has been live in all
///   its live periods;
/// - watch seconds as of `now` are at least the credited ones and at most that live time;
/// - an open interval exists only while the session is live, and starts neither before the
///   current live period began, nor before `startedAt`, nor before the participant's last leave
///   (a late event must not reopen what a leave closed).
///
/// `Err` describes the first rule broken.
pub fn check_watch_time(
    session: &LiveSession,
    p: &Participant,
    now: DateTime<Utc>,
    timeout: Duration,
) -> Result<(), String> {
    let live_seconds = session.live_duration_at(now);
    if p.watch_seconds < 0 || p.watch_seconds > live_seconds {
        return Err(format!(
            "{} credited seconds, the session was live {live_seconds} s",
            p.watch_seconds
        ));
    }
    let now_seconds = p.watch_seconds_at(now, timeout);
    if now_seconds < p.watch_seconds || now_seconds > live_seconds {
        return Err(format!(
            "{now_seconds} s watched as of now with {} credited, the session was live \
             {live_seconds} s",
            p.watch_seconds
        ));
    }
    let Some(since) = p.present_since else {
        return Ok(());
    };
    match session.live_since {
        Some(period) if session.is_live() => {
            if since < period {
                return Err(format!(
                    "the open interval starts at {since}, before the current live period began \
                     at {period}"
                ));
            }
            match session.started_at {
                Some(started) if since >= started => {}
                started => {
                    return Err(format!(
                        "the open interval starts at {since}, before startedAt {started:?}"
                    ))
                }
            }
        }
        _ => {
            return Err(format!(
                "present (since {since}) in a session that is {} (endedAt {:?})",
                session.status, session.ended_at
            ))
        }
    }
    match p.left_at {
        Some(left) if since < left => Err(format!(
            "the open interval starts at {since}, before the leave at {left}: a late event \
             reopened it"
        )),
        _ => Ok(()),
    }
}
