//! The roster's filters, indexes and upserts, and the roster view: one aggregation on
//! `live_session_roster_members` that computes every member's and walk-in's status.
//!
//! The rows of a roster view are the session's roster entries (each as `member`) and its
//! participant records (each as `record`, brought by `$unionWith`), grouped by user id (the
//! `$mergeObjects` accumulator keeps each side, `{}` when there is none). A row is the
//! participant document (none for a member who never joined) with the roster entry under
//! `member` (null for a walk-in, a participant without a roster entry), so that the
//! watch-time expressions read it as they read participants. Then, mirroring
//! [`StatusRule::status`](livesessions_core::roster::StatusRule::status):
//!
//! - `statusRank`: 3 (absent) without a participant record, 2 (lobby only) without
//!   `firstPresentAt`, else 0 (present) when `live_seconds > 0` and
//!   `watchSecondsNow * 100 >= live_seconds * threshold`, else 1 (partial);
//! - `late`: present or partial and `firstPresentAt` after the rule's `late_after`;
//! - the sort keys: `nameKey` (the lower-cased name: the roster's, else the participant's;
//!   `$toLower` lowers ASCII letters only), `watchSecondsNow`, `statusRank`, and `joinKey`
//!   (the exact first join, `i64::MAX` for those who never joined: last ascending, first
//!   descending), each followed by `userId` ascending.
//!
//! `$facet` then gives the page, the filtered total and the counts in one answer. SecantusDB
//! 0.7 and MongoDB (4.4 and newer) run every stage used here. Grouping rather than a
//! `$lookup` per row (each member's participant record, each participant's roster entry):
//! on SecantusDB the lookups took 5.4 s for the last page of a 2 000-member roster (32 s for
//! 10 000), the grouping 1.1 s.

use bson::{doc, Bson, Document};
use livesessions_core::roster::{
    AttendanceStatus, RosterMember, RosterQuery, RosterSort, StatusRule,
};
use livesessions_core::{SessionId, SortOrder, UserId};
use mongodb::IndexModel;

use super::expressions::{exact, watch_seconds_at};
use super::indexes::index;
use crate::codec::{date, micros, session_id};
use crate::documents::{PARTICIPANTS, ROSTER_MEMBERS};

/// `{sessionId, userId}`: one roster member, served by the unique index.
pub fn roster_member_filter(session: SessionId, user: &UserId) -> Document {
    doc! { "sessionId": session_id(session), "userId": user.as_str() }
}

/// Every roster member of a session.
pub fn roster_of(session: SessionId) -> Document {
    doc! { "sessionId": session_id(session) }
}

/// The indexes of `live_session_roster_members`: unique {sessionId, userId} (one entry per
/// user and session; also the roster of a session) and {userId} (the sessions a user is on
/// the roster of, for the calendar).
pub fn roster_indexes() -> Vec<IndexModel> {
    vec![
        index(
            doc! { "sessionId": 1, "userId": 1 },
            "session_user_unique",
            true,
        ),
        index(doc! { "userId": 1 }, "user", false),
    ]
}

/// The `update` command that adds `members` to the roster of `session`: one ordered upsert
/// per member, which replaces the name and email of an existing entry and keeps its
/// `registered` and `addedAt` (`$setOnInsert`). The reply's `upserted` lists the new members.
pub fn roster_upsert_command(session: SessionId, members: &[RosterMember]) -> Document {
    let updates: Vec<Document> = members
        .iter()
        .map(|member| {
            doc! {
                "q": roster_member_filter(session, &member.user_id),
                "u": {
                    "$set": {
                        "userName": member.user_name.as_str(),
                        "email": member.email.as_str(),
                    },
                    "$setOnInsert": {
                        "registered": member.registered,
                        "addedAt": date(member.added_at),
                        "micros.addedAt": micros(member.added_at),
                    },
                },
                "upsert": true,
            }
        })
        .collect();
    doc! { "update": ROSTER_MEMBERS, "updates": updates, "ordered": true }
}

/// The stages that make the rows of the roster view of `session` under `rule`, run on
/// `live_session_roster_members` (see the module's documentation).
fn roster_rows(session: SessionId, rule: &StatusRule) -> Vec<Document> {
    let id = session_id(session);
    let joined = doc! { "$ne": [{ "$type": "$joinTime" }, "missing"] };
    let present = doc! { "$ne": ["$firstPresent", Bson::Null] };
    let attended = if rule.live_seconds > 0 {
        Bson::Document(doc! { "$gte": [
            { "$multiply": ["$watchSecondsNow", 100_i64] },
            rule.live_seconds
                .saturating_mul(i64::from(rule.threshold_percent)),
        ] })
    } else {
        Bson::Boolean(false)
    };
    let late = match rule.late_after {
        Some(after) => Bson::Document(doc! { "$and": [
            joined.clone(),
            present.clone(),
            { "$gt": ["$firstPresent", after.timestamp_micros()] },
        ] }),
        None => Bson::Boolean(false),
    };
    vec![
        doc! { "$match": { "sessionId": id.clone() } },
        doc! { "$project": { "_id": 0, "userId": 1, "member": "$$ROOT" } },
        doc! { "$unionWith": { "coll": PARTICIPANTS, "pipeline": [
            { "$match": { "sessionId": id } },
            { "$project": { "_id": 0, "userId": 1, "record": "$$ROOT" } },
        ] } },
        doc! { "$group": {
            "_id": "$userId",
            "member": { "$mergeObjects": "$member" },
            "record": { "$mergeObjects": "$record" },
        } },
        doc! { "$replaceRoot": { "newRoot": { "$mergeObjects": [
            "$record",
            {
                "userId": "$_id",
                "member": { "$cond": [
                    { "$eq": [{ "$type": "$member.userId" }, "missing"] },
                    Bson::Null,
                    "$member",
                ] },
            },
        ] } } },
        doc! { "$set": {
            "watchSecondsNow": watch_seconds_at(rule.now, rule.timeout),
            "firstPresent": exact("firstPresentAt"),
            "joinKey": { "$ifNull": [exact("joinTime"), i64::MAX] },
            "nameKey": { "$toLower": { "$ifNull": ["$member.userName", "$userName"] } },
        } },
        doc! { "$set": {
            "statusRank": { "$cond": [
                joined,
                { "$cond": [present, { "$cond": [attended, 0_i32, 1_i32] }, 2_i32] },
                3_i32,
            ] },
            "late": late,
        } },
    ]
}

/// The `$group` stage that counts the rows by status (`present`, `partial`, `lobbyOnly`,
/// `absent`, `late`) and the roster's members (`members`).
fn counts_group() -> Document {
    let rank = |rank: AttendanceStatus| {
        doc! { "$sum": { "$cond": [{ "$eq": ["$statusRank", rank.rank()] }, 1_i64, 0_i64] } }
    };
    doc! { "$group": {
        "_id": Bson::Null,
        "present": rank(AttendanceStatus::Present),
        "partial": rank(AttendanceStatus::Partial),
        "lobbyOnly": rank(AttendanceStatus::LobbyOnly),
        "absent": rank(AttendanceStatus::Absent),
        "late": { "$sum": { "$cond": ["$late", 1_i64, 0_i64] } },
        "members": { "$sum": { "$cond": [
            { "$eq": [{ "$type": "$member" }, "object"] }, 1_i64, 0_i64,
        ] } },
    } }
}

/// The roster view's sort: the key, then `userId` ascending.
fn roster_sort(sort: RosterSort, order: SortOrder) -> Document {
    let direction = match order {
        SortOrder::Asc => 1,
        SortOrder::Desc => -1,
    };
    let key = match sort {
        RosterSort::Name => "nameKey",
        RosterSort::Status => "statusRank",
        RosterSort::WatchTime => "watchSecondsNow",
        RosterSort::JoinTime => "joinKey",
    };
    doc! { key: direction, "userId": 1 }
}

/// A page of the roster view, run on `live_session_roster_members`: one document
/// `{rows: [row…], total: [{n}], counts: [{present, partial, lobbyOnly, absent, late,
/// members}]}` (the two last empty when there are no rows). A row is the participant document
/// (if any) with `member` (the roster entry, if any), `watchSecondsNow`, `statusRank` and
/// `late`.
pub fn roster_view_pipeline(query: &RosterQuery) -> Vec<Document> {
    let filter = query
        .status
        .map(|status| doc! { "$match": { "statusRank": status.rank() } });
    let mut rows: Vec<Document> = filter.iter().cloned().collect();
    rows.push(doc! { "$sort": roster_sort(query.sort, query.order) });
    if query.offset > 0 {
        rows.push(doc! { "$skip": i64::try_from(query.offset).unwrap_or(i64::MAX) });
    }
    rows.push(doc! { "$limit": i64::from(query.limit.max(1)) });
    let mut total: Vec<Document> = filter.into_iter().collect();
    total.push(doc! { "$group": { "_id": Bson::Null, "n": { "$sum": 1_i64 } } });
    let mut pipeline = roster_rows(query.session_id, &query.rule);
    pipeline.push(doc! { "$facet": {
        "rows": rows,
        "total": total,
        "counts": [counts_group()],
    } });
    pipeline
}

/// The counts of the roster view of `session` under `rule` (the session report's
/// `statuses` and `rosterMembers`), run on `live_session_roster_members`: one document
/// `{present, partial, lobbyOnly, absent, late, members}`, none when there are no rows.
pub fn roster_counts_pipeline(session: SessionId, rule: &StatusRule) -> Vec<Document> {
    let mut pipeline = roster_rows(session, rule);
    pipeline.push(counts_group());
    pipeline
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use chrono::{TimeZone as _, Utc};
    use livesessions_core::values::{Email, UserName};

    use super::*;
    use crate::codec::roster_member_document;

    fn rule(live_seconds: i64, late: bool) -> StatusRule {
        let now = Utc.timestamp_opt(1_700_003_600, 0).unwrap();
        StatusRule {
            now,
            timeout: Duration::from_secs(90),
            live_seconds,
            threshold_percent: 50,
            late_after: late.then(|| Utc.timestamp_opt(1_700_000_300, 0).unwrap()),
        }
    }

    fn query(status: Option<AttendanceStatus>, offset: u64, limit: u32) -> RosterQuery {
        RosterQuery {
            session_id: SessionId::new(),
            rule: rule(3600, true),
            status,
            sort: RosterSort::JoinTime,
            order: SortOrder::Desc,
            offset,
            limit,
        }
    }

    fn stage<'a>(pipeline: &'a [Document], name: &str) -> &'a Document {
        pipeline
            .iter()
            .find_map(|s| s.get_document(name).ok())
            .unwrap_or_else(|| panic!("no {name} stage in {pipeline:?}"))
    }

    fn stages(list: &Bson) -> Vec<Document> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_document().unwrap().clone())
            .collect()
    }

    /// An upsert of a new member writes exactly the fields of a roster member document: the
    /// filter's, `$set`'s and `$setOnInsert`'s; an existing member's update (`$set`) leaves
    /// `registered` and `addedAt` alone.
    #[test]
    fn an_upsert_writes_every_field_of_a_roster_member_document() {
        let id = SessionId::new();
        let member = RosterMember {
            user_id: UserId::parse("u1").unwrap(),
            user_name: UserName::parse("Ada").unwrap(),
            email: Email::parse("ada@example.com").unwrap(),
            registered: false,
            added_at: Utc.timestamp_opt(1_700_000_000, 5_000).unwrap(),
        };
        let command = roster_upsert_command(id, std::slice::from_ref(&member));
        assert_eq!(command.get_str("update").unwrap(), ROSTER_MEMBERS);
        assert!(command.get_bool("ordered").unwrap());
        let updates = command.get_array("updates").unwrap();
        assert_eq!(updates.len(), 1);
        let update = updates[0].as_document().unwrap();
        assert!(update.get_bool("upsert").unwrap());
        let u = update.get_document("u").unwrap();
        let set: BTreeSet<&str> = u
            .get_document("$set")
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(set, BTreeSet::from(["userName", "email"]));
        let mut written: BTreeSet<String> =
            update.get_document("q").unwrap().keys().cloned().collect();
        written.extend(set.iter().map(|k| k.to_string()));
        for key in u.get_document("$setOnInsert").unwrap().keys() {
            written.insert(key.split('.').next().unwrap().to_owned());
        }
        let document = roster_member_document(id, &member);
        let fields: BTreeSet<String> = document.keys().cloned().collect();
        assert_eq!(written, fields);
    }

    /// The view is the session's roster entries and participant records, grouped by user.
    #[test]
    fn the_view_unites_members_and_participants_of_the_session() {
        let q = query(None, 0, 10);
        let pipeline = roster_view_pipeline(&q);
        let id = session_id(q.session_id);
        assert_eq!(pipeline[0], doc! { "$match": { "sessionId": id.clone() } });
        let union = stage(&pipeline, "$unionWith");
        assert_eq!(union.get_str("coll").unwrap(), PARTICIPANTS);
        let records = stages(union.get("pipeline").unwrap());
        assert_eq!(records[0], doc! { "$match": { "sessionId": id } });
        let group = stage(&pipeline, "$group");
        assert_eq!(group.get_str("_id").unwrap(), "$userId");
        for side in ["member", "record"] {
            assert_eq!(
                group.get_document(side).unwrap(),
                &doc! { "$mergeObjects": format!("${side}") }
            );
        }
    }

    /// The filter applies to the page and its total, never to the counts; the sort is the key
    /// then the user id; no `$skip` on the first page; the limit is at least 1.
    #[test]
    fn the_facets_filter_sort_and_page() {
        let pipeline = roster_view_pipeline(&query(Some(AttendanceStatus::LobbyOnly), 0, 0));
        let facet = pipeline.last().unwrap().get_document("$facet").unwrap();
        let rows = stages(facet.get("rows").unwrap());
        let filter = doc! { "$match": { "statusRank": 2 } };
        assert_eq!(rows[0], filter);
        assert_eq!(rows[1], doc! { "$sort": { "joinKey": -1, "userId": 1 } });
        assert_eq!(rows[2], doc! { "$limit": 1_i64 });
        assert_eq!(rows.len(), 3);
        let total = stages(facet.get("total").unwrap());
        assert_eq!(total[0], filter);
        let counts = stages(facet.get("counts").unwrap());
        assert_eq!(counts, vec![counts_group()]);

        let pipeline = roster_view_pipeline(&query(None, 7, 20));
        let facet = pipeline.last().unwrap().get_document("$facet").unwrap();
        let rows = stages(facet.get("rows").unwrap());
        assert_eq!(rows[1], doc! { "$skip": 7_i64 });
        assert_eq!(rows[2], doc! { "$limit": 20_i64 });
        assert_eq!(stages(facet.get("total").unwrap()).len(), 1);
        for (sort, key) in [
            (RosterSort::Name, "nameKey"),
            (RosterSort::Status, "statusRank"),
            (RosterSort::WatchTime, "watchSecondsNow"),
            (RosterSort::JoinTime, "joinKey"),
        ] {
            assert_eq!(
                roster_sort(sort, SortOrder::Asc),
                doc! { key: 1, "userId": 1 }
            );
        }
    }

    fn status_stage(rule: &StatusRule) -> Document {
        let pipeline = roster_counts_pipeline(SessionId::new(), rule);
        assert_eq!(pipeline.last().unwrap(), &counts_group());
        pipeline[pipeline.len() - 2]
            .get_document("$set")
            .unwrap()
            .clone()
    }

    /// The threshold is `live_seconds * threshold_percent` (nobody is present without live
    /// time), and nobody is late without a late rule; with one, the cut-off is in micros.
    #[test]
    fn the_status_follows_the_rule() {
        let set = status_stage(&rule(3600, true));
        let rank = set.get_document("statusRank").unwrap();
        let text = format!("{rank:?}");
        assert!(text.contains("180000"), "3600 s × 50 %: {text}");
        let late = format!("{:?}", set.get("late").unwrap());
        assert!(late.contains("1700000300000000"), "{late}");

        let set = status_stage(&rule(0, false));
        assert_eq!(set.get("late"), Some(&Bson::Boolean(false)));
        let rank = format!("{:?}", set.get_document("statusRank").unwrap());
        assert!(
            !rank.contains("$multiply"),
            "no live time, nobody present: {rank}"
        );
    }
}
