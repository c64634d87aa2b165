//! Filters and pipeline updates of `session_participants`: the presence rule, joins,
//! heartbeats, leaves and `credit(c)`, each one pipeline update of one document.

use std::time::Duration;

use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use livesessions_core::attendance::timeout_delta;
use livesessions_core::{Joiner, SessionId, UserId};

use super::expressions::{
    credit_seconds, credited_seconds, exact, finish_stage, is_present, presence_cap, timeout_us,
    watch_seconds_at,
};
use crate::codec::{date, micros, session_id};

/// `{sessionId, userId}`: one participant, served by the unique index.
pub fn participant_filter(session: SessionId, user: &UserId) -> Document {
    doc! { "sessionId": session_id(session), "userId": user.as_str() }
}

/// Every participant of a session.
pub fn participants_of(session: SessionId) -> Document {
    doc! { "sessionId": session_id(session) }
}

/// Participants of a session with an open presence interval.
pub fn present_participants(session: SessionId) -> Document {
    doc! { "sessionId": session_id(session), "presentSince": { "$ne": Bson::Null } }
}

/// One participant whose interval was opened at `since` (to close exactly that interval).
pub fn participant_present_since(
    session: SessionId,
    user: &UserId,
    since: DateTime<Utc>,
) -> Document {
    doc! {
        "sessionId": session_id(session),
        "userId": user.as_str(),
        "micros.presentSince": micros(since),
    }
}

/// Participants watching at `now`: present and seen within T.
pub fn watching_filter(session: SessionId, now: DateTime<Utc>, timeout: Duration) -> Document {
    doc! {
        "sessionId": session_id(session),
        "presentSince": { "$ne": Bson::Null },
        "micros.lastSeen": { "$gte": micros(now - timeout_delta(timeout)) },
    }
}

/// The fields whose dates a touch may change.
const TOUCHED: [&str; 3] = ["lastSeen", "presentSince", "firstPresentAt"];

/// Whether the presence rule can open an interval at `t`: the session is live (`period` is
/// the start of its current live period) and `t` is not before that start.
fn opens_at(t: DateTime<Utc>, period: Option<DateTime<Utc>>) -> bool {
    period.is_some_and(|since| t >= since)
}

/// The presence rule at `t` as one `$set` stage on the exact times. `period` is the start of
/// the session's current live period, `None` when it is not live; a `t` before it (an event
/// sent before a concurrent start or restart) only moves `lastSeen`, as while not live. A `t`
/// older than `lastSeen` or than the last leave changes nothing: a heartbeat delivered after a
/// leave it preceded does not reopen the interval.
pub fn touch_stage(t: DateTime<Utc>, period: Option<DateTime<Utc>>, timeout: Duration) -> Document {
    let opens = opens_at(t, period);
    let t = micros(t);
    let stale = doc! { "$or": [
        { "$lt": [t.clone(), exact("lastSeen")] },
        { "$lt": [t.clone(), { "$ifNull": [exact("leftAt"), i64::MIN] }] },
    ] };
    let last_seen = doc! { "$cond": [stale.clone(), exact("lastSeen"), t.clone()] };
    if !opens {
        return doc! { "$set": { "micros.lastSeen": last_seen } };
    }
    let gap =
        doc! { "$gt": [{ "$subtract": [t.clone(), exact("lastSeen")] }, timeout_us(timeout)] };
    let credit_now = doc! { "$and": [{ "$not": [stale.clone()] }, is_present(), gap.clone()] };
    let present_since =
        doc! { "$cond": [is_present(), { "$cond": [gap, t.clone(), exact("presentSince")] }, t] };
    doc! {
        "$set": {
            "watchSeconds": {
                "$cond": [
                    credit_now,
                    { "$add": [credited_seconds(), credit_seconds(presence_cap(timeout), timeout)] },
                    credited_seconds(),
                ]
            },
            "micros.presentSince": {
                "$cond": [stale.clone(), exact("presentSince"), present_since.clone()]
            },
            // The first interval ever opened (the open one, for a document written before
            // the field) sets it; it never changes afterwards.
            "micros.firstPresentAt": {
                "$cond": [
                    stale,
                    exact("firstPresentAt"),
                    { "$ifNull": [exact("firstPresentAt"), present_since] },
                ]
            },
            "micros.lastSeen": last_seen,
        }
    }
}

/// A heartbeat: the presence rule at `t` ([`touch_stage`]).
pub fn heartbeat_pipeline(
    t: DateTime<Utc>,
    period: Option<DateTime<Utc>>,
    timeout: Duration,
) -> Vec<Document> {
    let mut pipeline = vec![touch_stage(t, period, timeout)];
    if opens_at(t, period) {
        pipeline.push(finish_stage(&TOUCHED));
    } else {
        pipeline.push(finish_stage(&["lastSeen"]));
    }
    pipeline
}

/// A join at `t`, as an upsert on [`participant_filter`].
///
/// The first stage creates the record on a first join (`joinTime`, `createdAt`, `lastSeen` =
/// t, `joinCount` 1) or bumps `joinCount` and `lastJoinTime` on a rejoin, refreshing name and
/// email; the second applies the presence rule at t; the last sets the dates. A returned
/// `joinCount` of 1 means the upsert inserted: the count only ever grows, by one per join, so
/// exactly one of several concurrent first joins sees 1. A record the original application
/// wrote (with `joinTime` but no `joinCount`) counts as one earlier join.
pub fn join_pipeline(
    session: SessionId,
    joiner: &Joiner,
    t: DateTime<Utc>,
    period: Option<DateTime<Utc>>,
    timeout: Duration,
) -> Vec<Document> {
    let at = date(t);
    let at_us = micros(t);
    let is_new = doc! { "$eq": [{ "$type": "$joinTime" }, "missing"] };
    vec![
        doc! {
            "$set": {
                "sessionId": session_id(session),
                "userId": joiner.user_id.as_str(),
                "userName": joiner.user_name.as_str(),
                "email": joiner.email.as_str(),
                "joinTime": { "$ifNull": ["$joinTime", at.clone()] },
                "createdAt": { "$ifNull": ["$createdAt", { "$ifNull": ["$joinTime", at] }] },
                "micros.joinTime": { "$cond": [is_new.clone(), at_us.clone(), "$micros.joinTime"] },
                "micros.createdAt": { "$cond": [is_new.clone(), at_us.clone(), "$micros.createdAt"] },
                "micros.lastJoinTime": { "$max": [
                    { "$ifNull": [exact("lastJoinTime"), exact("joinTime")] },
                    at_us.clone(),
                ] },
                "micros.lastSeen": { "$ifNull": [exact("lastSeen"), at_us] },
                "micros.leftAt": exact("leftAt"),
                "micros.presentSince": exact("presentSince"),
                "micros.firstPresentAt": exact("firstPresentAt"),
                "watchSeconds": credited_seconds(),
                "joinCount": {
                    "$add": [
                        { "$ifNull": ["$joinCount", { "$cond": [is_new, 0_i64, 1_i64] }] },
                        1_i64,
                    ]
                },
            }
        },
        touch_stage(t, period, timeout),
        finish_stage(&[
            "lastJoinTime",
            "lastSeen",
            "leftAt",
            "presentSince",
            "firstPresentAt",
        ]),
    ]
}

/// `credit(c)`: closes the open interval, crediting it up to `min(c, lastSeen + T)`.
/// Ending a session sends it with `update_many` on [`present_participants`].
pub fn credit_pipeline(c: DateTime<Utc>, timeout: Duration) -> Vec<Document> {
    vec![
        doc! {
            "$set": {
                "watchSeconds": watch_seconds_at(c, timeout),
                "micros.presentSince": Bson::Null,
            }
        },
        finish_stage(&["presentSince"]),
    ]
}

/// Closes an interval that a join or heartbeat opened at `opened` after the session ended at
/// `ended_at` had credited everyone: [`credit_pipeline`] at `ended_at`, and, when the interval
/// was the participant's first presence and opened at or after the end, `firstPresentAt` is
/// cleared again (the participant was never present while live).
pub fn settle_pipeline(
    opened: DateTime<Utc>,
    ended_at: DateTime<Utc>,
    timeout: Duration,
) -> Vec<Document> {
    let mut pipeline = credit_pipeline(ended_at, timeout);
    if opened >= ended_at {
        pipeline.insert(
            0,
            doc! { "$set": { "micros.firstPresentAt": {
                "$cond": [
                    { "$eq": [exact("firstPresentAt"), micros(opened)] },
                    Bson::Null,
                    exact("firstPresentAt"),
                ]
            } } },
        );
        pipeline.push(finish_stage(&["firstPresentAt"]));
    }
    pipeline
}

/// `leave(t)`: `credit(t)` and `leftAt = max(leftAt, t)` (a late leave does not move the last
/// leave back).
pub fn leave_pipeline(t: DateTime<Utc>, timeout: Duration) -> Vec<Document> {
    vec![
        doc! {
            "$set": {
                "watchSeconds": watch_seconds_at(t, timeout),
                "micros.presentSince": Bson::Null,
                "micros.leftAt": { "$max": [exact("leftAt"), micros(t)] },
            }
        },
        finish_stage(&["presentSince", "leftAt"]),
    ]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::TimeZone as _;
    use livesessions_core::values::{Email, UserName};
    use livesessions_core::Participant;

    use super::*;
    use crate::codec::participant_document;

    /// A first join creates the record from the upsert's filter and the pipeline alone, so the
    /// pipeline must write every field of a participant document, and its first stage every
    /// exact time.
    #[test]
    fn a_join_writes_every_field_of_a_participant_document() {
        let t = Utc.timestamp_opt(1_700_000_010, 0).unwrap();
        let joiner = Joiner {
            user_id: UserId::parse("user456").unwrap(),
            user_name: UserName::parse("Ahmed Ali").unwrap(),
            email: Email::parse("ahmed@example.com").unwrap(),
        };
        let id = SessionId::new();
        let pipeline = join_pipeline(id, &joiner, t, Some(t), Duration::from_secs(90));
        let set_keys = || {
            pipeline
                .iter()
                .flat_map(|stage| stage.get_document("$set").unwrap().keys())
        };
        let written: BTreeSet<&str> = set_keys()
            .map(|key| key.split('.').next().unwrap_or_default())
            .collect();
        // The first stage alone sets every exact time.
        let exact_written: BTreeSet<&str> = pipeline[0]
            .get_document("$set")
            .unwrap()
            .keys()
            .filter_map(|key| key.strip_prefix("micros."))
            .collect();

        let document = participant_document(&Participant::first_join(id, joiner.clone(), t));
        let fields: BTreeSet<&str> = document.keys().map(String::as_str).collect();
        let exact_fields: BTreeSet<&str> = document
            .get_document("micros")
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(written, fields);
        assert_eq!(exact_written, exact_fields);
    }

    /// Only a touch that can open an interval sets `firstPresentAt` (keeping one already
    /// set: `$ifNull`); settling an interval opened after the end clears it only then.
    #[test]
    fn the_first_presence_is_set_by_opening_touches_only() {
        let t = Utc.timestamp_opt(1_700_000_010, 0).unwrap();
        let timeout = Duration::from_secs(90);
        let opening = heartbeat_pipeline(t, Some(t), timeout);
        let set = opening[0].get_document("$set").unwrap();
        let first = set.get_document("micros.firstPresentAt").unwrap();
        assert!(format!("{first:?}").contains("$ifNull"), "{first:?}");
        assert!(opening[1]
            .get_document("$set")
            .unwrap()
            .contains_key("firstPresentAt"));
        for (t, period) in [(t, None), (t, Some(t + chrono::TimeDelta::seconds(1)))] {
            let idle = heartbeat_pipeline(t, period, timeout);
            assert!(!idle[0]
                .get_document("$set")
                .unwrap()
                .contains_key("micros.firstPresentAt"));
        }
        let ended = t - chrono::TimeDelta::seconds(1);
        let after_end = settle_pipeline(t, ended, timeout);
        assert!(after_end[0]
            .get_document("$set")
            .unwrap()
            .contains_key("micros.firstPresentAt"));
        assert_eq!(after_end.len(), credit_pipeline(ended, timeout).len() + 2);
        let before_end = t + chrono::TimeDelta::seconds(5);
        assert_eq!(
            settle_pipeline(t, before_end, timeout),
            credit_pipeline(before_end, timeout)
        );
    }
}
