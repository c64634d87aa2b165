//! Property tests of the scheduler: random schedules, admin actions, clock jumps (downtime)
//! and ticks of up to three service instances at once on one store, against a model. After
//! every step each session's status, start, end and live time are the model's, and each tick
//! started and ended exactly the sessions the model says, each by one instance only: no
//! session starts twice, none ends before it started, missed starts are made late while the
//! end time has not come, a missed window leaves the session scheduled, and a session past its
//! end time is ended as of its end time. Sessions with `end_when_empty` minutes, which a
//! student joins now and then, end as of the moment nobody had watched them for those minutes
//! (or at the end time, if that came first).

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone as _, Utc};
use livesessions_core::{
    Actor, Clock as _, JoinInput, LiveSessions, ManualClock, MemoryStore, NewSession, SessionId,
    SessionStatus, SessionStore as _, Store, UserId,
};
use proptest::prelude::*;

const INSTANCES: usize = 3;

/// A session's schedule in seconds after time zero.
#[derive(Debug, Clone)]
struct Plan {
    start: i64,
    length: Option<i64>,
    auto_start: bool,
    auto_end: bool,
    /// Minutes nobody watching after which the live session ends.
    empty: Option<i64>,
}

fn plan() -> impl Strategy<Value = Plan> {
    (
        0..600i64,
        prop::option::of(1..900i64),
        any::<bool>(),
        any::<bool>(),
        prop::option::of(1..15i64),
    )
        .prop_map(|(start, length, auto_start, auto_end, empty)| Plan {
            start,
            length,
            auto_start,
            auto_end: auto_end && length.is_some(),
            empty,
        })
}

#[derive(Debug, Clone)]
enum Op {
    /// The clock moves on a little.
    Advance(i64),
    /// No scheduler runs for a long time.
    Downtime(i64),
    /// This many instances tick at once.
    Tick(usize),
    AdminStart(usize),
    AdminEnd(usize),
    Cancel(usize),
    /// A student joins (again): seen now.
    Watch(usize),
}

fn op(sessions: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1..120i64).prop_map(Op::Advance),
        1 => (900..20_000i64).prop_map(Op::Downtime),
        8 => (1..=INSTANCES).prop_map(Op::Tick),
        1 => (0..sessions).prop_map(Op::AdminStart),
        1 => (0..sessions).prop_map(Op::AdminEnd),
        1 => (0..sessions).prop_map(Op::Cancel),
        3 => (0..sessions).prop_map(Op::Watch),
    ]
}

/// What a session should be.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Model {
    status: SessionStatus,
    started_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
}

/// The presence timeout the services use.
const T: TimeDelta = TimeDelta::seconds(90);

struct World {
    base: DateTime<Utc>,
    clock: ManualClock,
    store: Arc<MemoryStore>,
    instances: Vec<LiveSessions>,
    admin: Actor,
    plans: Vec<Plan>,
    ids: Vec<SessionId>,
    models: Vec<Model>,
    /// When the student was last seen in each session.
    seen: Vec<Option<DateTime<Utc>>>,
    student: Actor,
}

impl World {
    async fn new(plans: Vec<Plan>) -> World {
        let base = Utc
            .with_ymd_and_hms(2031, 3, 1, 9, 0, 0)
            .single()
            .expect("a time");
        let clock = ManualClock::new(base);
        let store = Arc::new(MemoryStore::new());
        let instances: Vec<LiveSessions> = (0..INSTANCES)
            .map(|_| {
                LiveSessions::builder(store.clone() as Arc<dyn Store>)
                    .clock(Arc::new(clock.clone()))
                    .build()
            })
            .collect();
        let admin = Actor::admin(UserId::parse("admin").expect("id"));
        let mut ids = Vec::new();
        for (i, plan) in plans.iter().enumerate() {
            let at = |secs: i64| (base + TimeDelta::seconds(secs)).to_rfc3339();
            let mut new = NewSession::new(
                format!("Session {i}"),
                "Ferris",
                "https://youtu.be/abc",
                at(plan.start),
            );
            new.fields.end_time = plan.length.map(|length| at(plan.start + length));
            new.fields.auto_start = Some(plan.auto_start);
            new.fields.auto_end = Some(plan.auto_end);
            new.fields.end_when_empty_minutes = plan.empty.map(|m| m.to_string());
            let session = instances[0]
                .create(Some(&admin), new, None)
                .await
                .expect("a valid session");
            ids.push(session.id);
        }
        let plans_len = plans.len();
        let models = plans
            .iter()
            .map(|_| Model {
                status: SessionStatus::Scheduled,
                started_at: None,
                ended_at: None,
            })
            .collect();
        World {
            base,
            clock,
            store,
            instances,
            admin,
            plans,
            ids,
            models,
            seen: vec![None; plans_len],
            student: Actor::user(UserId::parse("student").expect("id"))
                .with_name("Student")
                .with_email("student@example.com"),
        }
    }

    /// What a tick at `now` must do: the sessions it starts and those it ends.
    fn model_tick(&mut self, now: DateTime<Utc>) -> (Vec<SessionId>, Vec<SessionId>) {
        let (mut started, mut ended) = (Vec::new(), Vec::new());
        for (i, plan) in self.plans.iter().enumerate() {
            let start = self.base + TimeDelta::seconds(plan.start);
            let end = plan.length.map(|l| start + TimeDelta::seconds(l));
            let model = &mut self.models[i];
            match model.status {
                SessionStatus::Scheduled
                    if plan.auto_start && start <= now && end.is_none_or(|e| now < e) =>
                {
                    model.status = SessionStatus::Live;
                    model.started_at = Some(now);
                    started.push(self.ids[i]);
                }
                SessionStatus::Live => {
                    let since = model.started_at.expect("a live session started");
                    let at_end_time = end
                        .filter(|e| plan.auto_end && *e <= now)
                        .map(|e| e.max(since).min(now));
                    let nobody_watching = plan.empty.and_then(|minutes| {
                        let empty_since = self.seen[i].map_or(since, |seen| (seen + T).max(since));
                        let at = empty_since + TimeDelta::minutes(minutes);
                        (at <= now).then_some(at)
                    });
                    let at = match (at_end_time, nobody_watching) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    if let Some(at) = at {
                        model.status = SessionStatus::Ended;
                        model.ended_at = Some(at);
                        ended.push(self.ids[i]);
                    }
                }
                _ => {}
            }
        }
        (started, ended)
    }

    async fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let now = self.clock.now();
        match *op {
            Op::Advance(secs) | Op::Downtime(secs) => self.clock.advance_secs(secs),
            Op::Tick(count) => {
                let mut tasks = Vec::new();
                for service in self.instances.iter().take(count) {
                    let service = service.clone();
                    tasks.push(tokio::spawn(async move { service.tick(now).await }));
                }
                let (mut started, mut ended) = (Vec::new(), Vec::new());
                for task in tasks {
                    let tick = task.await.expect("no panic").expect("tick");
                    prop_assert_eq!(tick.failed, 0);
                    started.extend(tick.started);
                    ended.extend(tick.ended);
                }
                let (mut want_started, mut want_ended) = self.model_tick(now);
                for list in [&mut started, &mut ended, &mut want_started, &mut want_ended] {
                    list.sort();
                }
                prop_assert_eq!(started, want_started, "started once each, by one instance");
                prop_assert_eq!(ended, want_ended, "ended once each, by one instance");
            }
            Op::AdminStart(i) => {
                if self.models[i].status == SessionStatus::Scheduled {
                    self.instances[1]
                        .start(Some(&self.admin), self.ids[i])
                        .await
                        .expect("start");
                    self.models[i].status = SessionStatus::Live;
                    self.models[i].started_at = Some(now);
                }
            }
            Op::AdminEnd(i) => {
                if self.models[i].status == SessionStatus::Live {
                    self.instances[2]
                        .end(Some(&self.admin), self.ids[i])
                        .await
                        .expect("end");
                    self.models[i].status = SessionStatus::Ended;
                    self.models[i].ended_at = Some(now);
                }
            }
            Op::Watch(i) => {
                if matches!(
                    self.models[i].status,
                    SessionStatus::Scheduled | SessionStatus::Live
                ) {
                    self.instances[i % INSTANCES]
                        .join(
                            Some(&self.student),
                            JoinInput {
                                session_id: self.ids[i].to_string(),
                                ..Default::default()
                            },
                        )
                        .await
                        .expect("join");
                    self.seen[i] = Some(now);
                }
            }
            Op::Cancel(i) => {
                if self.models[i].status == SessionStatus::Scheduled {
                    self.instances[0]
                        .cancel(Some(&self.admin), self.ids[i])
                        .await
                        .expect("cancel");
                    self.models[i].status = SessionStatus::Cancelled;
                }
            }
        }
        self.check().await
    }

    async fn check(&self) -> Result<(), TestCaseError> {
        for (i, id) in self.ids.iter().enumerate() {
            let stored = self
                .store
                .get_session(*id)
                .await
                .expect("get")
                .expect("stored");
            let model = &self.models[i];
            let found = Model {
                status: stored.status,
                started_at: stored.started_at,
                ended_at: stored.ended_at,
            };
            prop_assert_eq!(&found, model, "session {} ({:?})", i, self.plans[i]);
            if let (Some(started), Some(ended)) = (stored.started_at, stored.ended_at) {
                prop_assert!(started <= ended, "never ended before it started");
                prop_assert_eq!(
                    stored.live_seconds,
                    (ended - started).num_seconds(),
                    "live time counted to the end"
                );
            }
            prop_assert!(stored.started_at.is_some() || stored.ended_at.is_none());
        }
        Ok(())
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(INSTANCES)
        .enable_time()
        .build()
        .expect("a runtime")
}

proptest! {
    #[test]
    fn the_scheduler_acts_once_per_session_and_catches_up(
        (plans, ops) in prop::collection::vec(plan(), 1..8).prop_flat_map(|plans| {
            let n = plans.len();
            (Just(plans), prop::collection::vec(op(n), 1..60))
        }),
    ) {
        runtime().block_on(async {
            let mut world = World::new(plans).await;
            for op in &ops {
                world.apply(op).await?;
            }
            // Whatever happened, a final catch-up after a long downtime leaves nothing due.
            world.apply(&Op::Downtime(100_000)).await?;
            world.apply(&Op::Tick(INSTANCES)).await?;
            let due = world.store.due_sessions(world.clock.now(), 100).await.expect("due");
            prop_assert!(due.is_empty(), "nothing is due after a catch-up: {:?}", due);
            let empty = world
                .store
                .empty_sessions(world.clock.now(), T.to_std().expect("T"), 100)
                .await
                .expect("empty");
            prop_assert!(empty.is_empty(), "nothing is left empty after a catch-up: {:?}", empty);
            Ok::<(), TestCaseError>(())
        })?;
    }
}
