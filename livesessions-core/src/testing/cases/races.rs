//! Watch time under races: random interleavings of start, end, join, heartbeat and leave.
//!
//! Many tasks act on one session at once, in rounds. Within a round the manual clock stands
//! still at `now`; between rounds it moves on (sometimes by more than T). Start and end go
//! through the service and are stamped `now`, as by the server that handles them. Joins,
//! heartbeats and leaves go to the store directly, stamped a little (or a lot) before `now`, as
//! a second server whose clock or queue lags behind would send them: a heartbeat may then be
//! older than a leave, a start or an end it arrives after.
//!
//! The schedule of each round comes from a seeded generator, so the same operations are tried
//! again with the same seed (the order in which the runtime runs them still varies). Set
//! `LIVESESSIONS_RACE_SEED` to run only that seed; a failure names its seed and round.
//!
//! After every round, with nothing in flight, the store must hold:
//! - credited seconds of every participant (and watch seconds as of now) are at most the time
//!   the session has been live in all its live periods;
//! - while live, no open interval starts before the current live period began, nor before the
//!   participant's last leave; while not live, nobody is present (nothing stays open after
//!   `endedAt`);
//! - credited seconds never decrease;
//! - the session's participant count equals its participant records.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::attendance::Joiner;
use crate::error::{Conflict, Error};
use crate::ids::{SessionId, UserId};
use crate::ports::{JoinRequest, Store};
use crate::service::LiveSessions;
use crate::testing::harness::{scaled, Harness, T};
use crate::testing::invariants::check_watch_time;
use crate::values::{Email, UserName};
use crate::{Actor, Presence};

/// Seeds run by default; each drives its own session. A scaled-down run (a slow test server)
/// runs the first of them only, with every round and operation.
const SEEDS: [u64; 4] = [
    0x5eed_0001,
    0x0dd_ba11_c0ff_ee00,
    0x1234_5678_9abc_def0,
    0xfeed_face_cafe_beef,
];
/// Rounds per seed.
const ROUNDS: usize = 30;
/// Operations spawned at once in a round.
const OPS_PER_ROUND: usize = 24;
/// Users taking part.
const USERS: usize = 6;

/// SplitMix64: small, fast and deterministic, enough to pick operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Start,
    End,
    Join { user: usize, lag_ms: i64 },
    Heartbeat { user: usize, lag_ms: i64 },
    Leave { user: usize, lag_ms: i64 },
}

/// How far behind `now` a lagging server stamps an event: mostly not at all or a little,
/// sometimes by more than a heartbeat period.
fn lag_ms(rng: &mut Rng) -> i64 {
    match rng.below(10) {
        0..=2 => 0,
        3..=7 => rng.below(5_000) as i64,
        _ => rng.below(150_000) as i64,
    }
}

fn pick(rng: &mut Rng) -> Op {
    let user = rng.below(USERS as u64) as usize;
    match rng.below(100) {
        0..=5 => Op::Start,
        6..=11 => Op::End,
        12..=36 => Op::Join {
            user,
            lag_ms: lag_ms(rng),
        },
        37..=79 => Op::Heartbeat {
            user,
            lag_ms: lag_ms(rng),
        },
        _ => Op::Leave {
            user,
            lag_ms: lag_ms(rng),
        },
    }
}

/// Everything a spawned operation needs.
#[derive(Clone)]
struct World {
    store: Arc<dyn Store>,
    service: LiveSessions,
    admin: Actor,
    session: SessionId,
    users: Arc<Vec<Joiner>>,
    timeout: Duration,
}

impl World {
    /// Runs one operation at `now`; refusals that the interleaving makes legitimate (a join
    /// after the end, a heartbeat before the join, a start or end losing a version race) are
    /// fine, anything else fails the case.
    async fn run(self, op: Op, now: DateTime<Utc>) -> Result<(), String> {
        // The presence of an event stamped `lag` milliseconds before `now`.
        let stamped = |lag: i64| Presence::new(now - TimeDelta::milliseconds(lag), self.timeout);
        let result = match op {
            Op::Start => self
                .service
                .start(Some(&self.admin), self.session)
                .await
                .map(drop),
            Op::End => self
                .service
                .end(Some(&self.admin), self.session)
                .await
                .map(drop),
            Op::Join { user, lag_ms } => self
                .store
                .join(&JoinRequest {
                    session_id: self.session,
                    joiner: self.users[user].clone(),
                    presence: stamped(lag_ms),
                    admin: false,
                })
                .await
                .map(drop),
            Op::Heartbeat { user, lag_ms } => self
                .store
                .heartbeat(self.session, &self.users[user].user_id, stamped(lag_ms))
                .await
                .map(drop),
            Op::Leave { user, lag_ms } => self
                .store
                .leave(self.session, &self.users[user].user_id, stamped(lag_ms))
                .await
                .map(drop),
        };
        match result {
            Ok(()) => Ok(()),
            // End while scheduled, join after the end, or a start/end that lost to another
            // change of the session three times in a row.
            Err(Error::Conflict(Conflict::InvalidTransition { .. }))
            | Err(Error::Conflict(Conflict::VersionMismatch { .. })) => Ok(()),
            // A heartbeat or leave of a user whose join has not happened yet.
            Err(Error::NotFound { entity, .. })
                if entity == "participant"
                    && matches!(op, Op::Heartbeat { .. } | Op::Leave { .. }) =>
            {
                Ok(())
            }
            Err(e) => Err(format!("{op:?} failed: {e}")),
        }
    }
}

/// Start, end, join, heartbeat and leave from many tasks at once, with lagging event stamps,
/// keep every participant's watch time inside the session's live periods: credited seconds
/// never exceed the live time, no interval opens before the current live period or the
/// participant's last leave, none stays open after the end, and the count equals the records.
pub async fn random_races_keep_watch_time_inside_live_periods(store: Arc<dyn Store>) {
    let seeds: Vec<u64> = match std::env::var("LIVESESSIONS_RACE_SEED") {
        Ok(seed) => vec![parse_seed(&seed)],
        Err(_) => SEEDS[..scaled(SEEDS.len(), 1)].to_vec(),
    };
    let h = Harness::new(store);
    for seed in seeds {
        race(&h, seed).await;
    }
}

fn parse_seed(text: &str) -> u64 {
    let text = text.trim();
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    }
    .unwrap_or_else(|_| panic!("LIVESESSIONS_RACE_SEED is not a number: {text:?}"))
}

async fn race(h: &Harness, seed: u64) {
    let mut rng = Rng(seed);
    let session = h.create(&format!("races {seed:#x}"), 0).await;
    let users: Vec<Joiner> = (0..USERS)
        .map(|i| {
            let name = format!("racer{seed:x}-{i}");
            Joiner {
                user_id: h.user_id(&name),
                user_name: UserName::parse(&name).expect("a valid name"),
                email: Email::parse(&format!("{name}@example.com")).expect("a valid email"),
            }
        })
        .collect();
    let world = World {
        store: Arc::clone(&h.store),
        service: h.service.clone(),
        admin: h.admin.clone(),
        session: session.id,
        users: Arc::new(users),
        timeout: h.timeout(),
    };
    let mut credited: HashMap<UserId, i64> = HashMap::new();
    let mut now = h.at(0);
    for round in 0..ROUNDS {
        h.clock.set(now);
        let ops: Vec<Op> = (0..OPS_PER_ROUND).map(|_| pick(&mut rng)).collect();
        let handles: Vec<_> = ops
            .iter()
            .map(|&op| tokio::spawn(world.clone().run(op, now)))
            .collect();
        for handle in handles {
            if let Err(message) = handle.await.expect("a racing task panicked") {
                panic!("seed {seed:#x}, round {round}: {message}");
            }
        }
        check(h, &world, seed, round, now, &mut credited).await;
        // Mostly a heartbeat period or less; now and then a silence longer than T.
        let step = if rng.below(6) == 0 {
            T * 1000 + rng.below(120_000) as i64
        } else {
            1 + rng.below(30_000) as i64
        };
        now += TimeDelta::milliseconds(step);
    }
    // Ending closes every interval, whatever happened before.
    h.clock.set(now);
    if h.session(session.id).await.is_live() {
        h.end(session.id).await;
    }
    check(h, &world, seed, ROUNDS, now, &mut credited).await;
}

async fn check(
    h: &Harness,
    world: &World,
    seed: u64,
    round: usize,
    now: DateTime<Utc>,
    credited: &mut HashMap<UserId, i64>,
) {
    let at = format!("seed {seed:#x}, round {round}");
    let session = h.session(world.session).await;
    let live_seconds = session.live_duration_at(now);
    let page = h
        .try_attendance(world.session, 1000)
        .await
        .unwrap_or_else(|e| panic!("{at}: attendance failed: {e}"));
    assert_eq!(
        page.total,
        page.rows.len() as u64,
        "{at}: the attendance total equals its rows"
    );
    assert_eq!(
        session.participants, page.total,
        "{at}: the participant count equals the participant records"
    );
    for row in &page.rows {
        let p = &row.participant;
        let who = h.untag(p.user_id.as_str());
        if let Err(broken) = check_watch_time(&session, p, now, world.timeout) {
            panic!("{at}: {who}: {broken} ({p:?})");
        }
        assert!(
            row.watch_seconds_now <= live_seconds,
            "{at}: {who} has watched {} s as of now, the session was live {live_seconds} s \
             ({p:?})",
            row.watch_seconds_now
        );
        let before = credited.insert(p.user_id.clone(), p.watch_seconds);
        assert!(
            before.is_none_or(|b| b <= p.watch_seconds),
            "{at}: {who}'s credited seconds went down from {before:?} to {}",
            p.watch_seconds
        );
    }
}
