//! Reading a roster: [`RosterQuery`] and its answer, [`RosterPage`].

use chrono::{DateTime, Utc};

use super::member::RosterMember;
use super::status::{AttendanceStatus, StatusCounts, StatusRule};
use crate::analytics::SortOrder;
use crate::attendance::Participant;
use crate::error::{Error, Result};
use crate::ids::{SessionId, UserId};
use crate::values::{Email, UserName};

/// How a roster is sorted; ties are broken by user id ascending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RosterSort {
    /// By user name (case-insensitive: stores compare lower-cased names), then user id.
    #[default]
    Name,
    /// By [`AttendanceStatus::rank`] (present first when ascending).
    Status,
    /// By watch seconds as of now (those who never joined count 0).
    WatchTime,
    /// By first join (those who never joined last when ascending, first when descending).
    JoinTime,
}

impl std::str::FromStr for RosterSort {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "name" | "userName" => Ok(RosterSort::Name),
            "status" => Ok(RosterSort::Status),
            "watchTime" | "watch_time" => Ok(RosterSort::WatchTime),
            "joinTime" | "join_time" => Ok(RosterSort::JoinTime),
            _ => Err(Error::invalid(
                "sort",
                "unknown_sort",
                "Use one of name, status, watchTime, joinTime.",
            )),
        }
    }
}

/// What a caller asks of a roster view: the [`RosterQuery`] without what the service fills
/// in (the session and its status rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RosterView {
    /// Only rows with this status (`None`: all).
    pub status: Option<AttendanceStatus>,
    /// Sort key.
    pub sort: RosterSort,
    /// Direction.
    pub order: SortOrder,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return (1–[`RosterQuery::MAX_LIMIT`]).
    pub limit: u32,
}

impl Default for RosterView {
    fn default() -> Self {
        RosterView {
            status: None,
            sort: RosterSort::default(),
            order: SortOrder::default(),
            offset: 0,
            limit: RosterQuery::DEFAULT_LIMIT,
        }
    }
}

/// A page of a session's roster with statuses: its members and its walk-ins (participants
/// not on the roster), each with their [`AttendanceStatus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RosterQuery {
    /// The session.
    pub session_id: SessionId,
    /// The status rule.
    pub rule: StatusRule,
    /// Only rows with this status (`None`: all).
    pub status: Option<AttendanceStatus>,
    /// Sort key.
    pub sort: RosterSort,
    /// Direction.
    pub order: SortOrder,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return (1–[`RosterQuery::MAX_LIMIT`]).
    pub limit: u32,
}

impl RosterQuery {
    /// Largest page.
    pub const MAX_LIMIT: u32 = 10_000;
    /// Default page.
    pub const DEFAULT_LIMIT: u32 = 100;
}

/// One person of a roster view: a member, a walk-in, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterRow {
    /// The user.
    pub user_id: UserId,
    /// Name: the roster's for members, the latest join's for walk-ins.
    pub user_name: UserName,
    /// Email, chosen like the name.
    pub email: Email,
    /// The roster entry; `None` for a walk-in.
    pub member: Option<RosterMember>,
    /// The participant record; `None` for a member who never joined.
    pub participant: Option<Participant>,
    /// Watch seconds as of the rule's `now` (0 without a participant record).
    pub watch_seconds_now: i64,
    /// The status.
    pub status: AttendanceStatus,
    /// Whether the first presence was late.
    pub late: bool,
}

impl RosterRow {
    /// The row of a member and/or participant under `rule` (at least one of them is given;
    /// the in-memory store and tests build rows with it).
    pub fn new(
        member: Option<RosterMember>,
        participant: Option<Participant>,
        rule: &StatusRule,
    ) -> Option<Self> {
        let (user_id, user_name, email) = match (&member, &participant) {
            (Some(m), _) => (m.user_id.clone(), m.user_name.clone(), m.email.clone()),
            (None, Some(p)) => (p.user_id.clone(), p.user_name.clone(), p.email.clone()),
            (None, None) => return None,
        };
        let (status, late) = rule.status(participant.as_ref());
        let watch_seconds_now = participant
            .as_ref()
            .map_or(0, |p| p.watch_seconds_at(rule.now, rule.timeout));
        Some(RosterRow {
            user_id,
            user_name,
            email,
            member,
            participant,
            watch_seconds_now,
            status,
            late,
        })
    }

    /// The first join, if any.
    pub fn first_joined_at(&self) -> Option<DateTime<Utc>> {
        self.participant.as_ref().map(|p| p.first_joined_at)
    }
}

/// A page of a roster view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterPage {
    /// The rows.
    pub rows: Vec<RosterRow>,
    /// Rows matching the query's status filter (all pages).
    pub total: u64,
    /// Members on the roster (with or without a participant record).
    pub members: u64,
    /// Counts per status over the whole roster view, whatever the filter.
    pub counts: StatusCounts,
}

impl RosterPage {
    /// The page `query` asks for out of every row of a roster view (the in-memory store's
    /// way, and the reference the conformance cases compare stores with).
    pub fn from_rows(mut rows: Vec<RosterRow>, query: &RosterQuery) -> Self {
        let mut counts = StatusCounts::default();
        for row in &rows {
            counts.add(row.status, row.late);
        }
        let members = rows.iter().filter(|r| r.member.is_some()).count() as u64;
        rows.retain(|r| query.status.is_none_or(|s| r.status == s));
        let total = rows.len() as u64;
        rows.sort_by(|a, b| {
            let primary = match query.sort {
                RosterSort::Name => a
                    .user_name
                    .as_str()
                    .to_lowercase()
                    .cmp(&b.user_name.as_str().to_lowercase()),
                RosterSort::Status => a.status.rank().cmp(&b.status.rank()),
                RosterSort::WatchTime => a.watch_seconds_now.cmp(&b.watch_seconds_now),
                // Never joined sorts after every join time (NULLS LAST ascending).
                RosterSort::JoinTime => match (a.first_joined_at(), b.first_joined_at()) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                },
            };
            let primary = match query.order {
                SortOrder::Asc => primary,
                SortOrder::Desc => primary.reverse(),
            };
            primary.then_with(|| a.user_id.cmp(&b.user_id))
        });
        let rows = rows
            .into_iter()
            .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
            .take(query.limit as usize)
            .collect();
        RosterPage {
            rows,
            total,
            members,
            counts,
        }
    }
}
