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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeDelta;

    use super::*;
    use crate::memory::MemoryStore;
    use crate::testing::harness::Harness;

    #[tokio::test]
    async fn each_broken_rule_is_reported() {
        let h = Harness::new(Arc::new(MemoryStore::new()));
        let session = h.create_live("rules").await;
        let ahmed = h.user("ahmed");
        h.join(&ahmed, session.id).await;
        h.set(30);
        let session = h.session(session.id).await;
        let p = h.participant(&ahmed, session.id).await;
        let now = h.at(30);
        assert_eq!(check_watch_time(&session, &p, now, h.timeout()), Ok(()));
        let broken = |change: fn(&mut LiveSession, &mut Participant, DateTime<Utc>)| {
            let (mut session, mut p) = (session.clone(), p.clone());
            change(&mut session, &mut p, now);
            check_watch_time(&session, &p, now, h.timeout())
        };
        for (rule, result) in [
            ("negative credit", broken(|_, p, _| p.watch_seconds = -1)),
            (
                "credit beyond the live time",
                broken(|_, p, _| p.watch_seconds = 31),
            ),
            (
                "open before the live period",
                broken(|s, p, _| p.present_since = s.live_since.map(|t| t - TimeDelta::seconds(1))),
            ),
            (
                "open while ended",
                broken(|s, _, now| {
                    s.end(now).expect("end a live session");
                }),
            ),
            (
                "open before the last leave",
                broken(|_, p, now| p.left_at = Some(now - TimeDelta::seconds(1))),
            ),
        ] {
            assert!(result.is_err(), "{rule} is not reported");
        }
    }
}
