//! [`EventFeed`]: one instance's tail of the store's event log.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;

use super::log::{EventId, EventLog, LoggedEvent};
use super::{BroadcastEvents, EventKind, EventSink as _, SessionEvent};
use crate::error::Result;
use crate::ids::SessionId;
use crate::ports::SessionStore;
use crate::session::LiveSession;

/// Settings of an [`EventFeed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFeedSettings {
    /// The longest the feed waits before reading the log again when the store does not wake
    /// it (default 1 s). Also the pause after a failed read.
    pub poll_interval: Duration,
    /// How many events one read asks for (default 500).
    pub batch: usize,
    /// `participants` events are broadcast at most once per this interval (default 1 s), each
    /// session's coalesced to its latest count; a change of another kind sends the counts
    /// waiting before it.
    pub coalesce_participants: Duration,
    /// Events older than this are pruned from the log (default 24 h). A client that reconnects
    /// with an older id gets [`Replay::Reset`].
    pub retention: Duration,
    /// How often the feed prunes (default every 10 minutes).
    pub prune_every: Duration,
    /// The most events one [`EventFeed::replay`] returns; a client further behind gets
    /// [`Replay::Reset`] (default 10 000).
    pub max_replay: usize,
    /// How many events a subscriber may fall behind before it is dropped (default
    /// [`BroadcastEvents::DEFAULT_CAPACITY`]).
    pub capacity: usize,
}

impl Default for EventFeedSettings {
    fn default() -> Self {
        EventFeedSettings {
            poll_interval: Duration::from_secs(1),
            batch: 500,
            coalesce_participants: Duration::from_secs(1),
            retention: Duration::from_secs(24 * 60 * 60),
            prune_every: Duration::from_secs(10 * 60),
            max_replay: 10_000,
            capacity: BroadcastEvents::DEFAULT_CAPACITY,
        }
    }
}

/// What a client that reconnects with the last id it saw gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    /// The events it missed, in id order (`participants` events coalesced to the last one of
    /// each session), possibly none.
    Events(Vec<SessionEvent>),
    /// It cannot be told what it missed (the id is older than the retention, unknown to this
    /// log, or too far behind): it should reload everything.
    Reset,
}

/// Tails a store's [`EventLog`] and broadcasts each event, with the session it is about, to
/// this instance's subscribers ([`EventFeed::source`]).
///
/// Run one per process with [`EventFeed::run`] as a task; every instance of a deployment runs
/// its own, and each sees every event of the shared store. Events carry their log id, so a
/// subscriber that reconnects (to this instance or another) resumes with
/// [`EventFeed::replay`]. The feed also prunes the log past its retention.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::sync::Arc;
/// use livesessions_core::events::{EventFeed, EventFeedSettings, EventSource as _};
/// use livesessions_core::{Actor, LiveSessions, MemoryStore, NewSession, UserId};
///
/// let store = Arc::new(MemoryStore::new());
/// let feed = EventFeed::new(store.clone(), store.clone(), EventFeedSettings::default());
/// let mut events = feed.source().subscribe();
/// feed.step().await?; // `feed.run(shutdown)` in a spawned task does this in a loop
///
/// let service = LiveSessions::builder(store).build();
/// let admin = Actor::admin(UserId::parse("admin-1")?);
/// let new = NewSession::new("Rust 101", "Ferris", "https://vimeo.com/76979871", "2030-01-01T10:00:00Z");
/// let session = service.create(Some(&admin), new, None).await?;
///
/// feed.step().await?;
/// let event = events.recv().await.unwrap();
/// assert_eq!(event.kind.as_str(), "created");
/// assert_eq!(event.session_id, session.id);
/// assert!(event.id.is_some());
/// # Ok::<(), livesessions_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct EventFeed {
    log: Arc<dyn EventLog>,
    sessions: Arc<dyn SessionStore>,
    broadcast: BroadcastEvents,
    settings: EventFeedSettings,
    state: Arc<Mutex<FeedState>>,
}

#[derive(Debug, Default)]
struct FeedState {
    /// The last id read from the log and broadcast (`None` until the first read).
    position: Option<EventId>,
    /// When `participants` events were last broadcast.
    counts_sent: Option<Instant>,
}

/// What one round did.
enum Round {
    /// Broadcast this many events read from the log (0: nothing new).
    Sent(usize),
    /// New events are all `participants` events inside the coalescing interval: nothing was
    /// broadcast and the position stayed, so the next round reads them again, coalesced with
    /// whatever follows.
    Held(Duration),
}

impl EventFeed {
    /// A feed over `log`, reading sessions from `sessions` (usually both the same store).
    pub fn new(
        log: Arc<dyn EventLog>,
        sessions: Arc<dyn SessionStore>,
        settings: EventFeedSettings,
    ) -> Self {
        EventFeed {
            log,
            sessions,
            broadcast: BroadcastEvents::new(settings.capacity),
            settings,
            state: Arc::default(),
        }
    }

    /// Where this instance's subscribers subscribe.
    pub fn source(&self) -> BroadcastEvents {
        self.broadcast.clone()
    }

    /// The settings in force.
    pub fn settings(&self) -> &EventFeedSettings {
        &self.settings
    }

    /// The last id read from the log (`None` before the first read).
    pub fn position(&self) -> Option<EventId> {
        self.lock().position
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FeedState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tails the log until `shutdown` completes: waits for new events (woken by the store or
    /// after [`EventFeedSettings::poll_interval`]), broadcasts them, and prunes the log every
    /// [`EventFeedSettings::prune_every`]. Read failures (the database is down) are logged and
    /// retried; nothing is skipped.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        let tail = async {
            let mut next_prune = Instant::now();
            loop {
                if Instant::now() >= next_prune {
                    let before = Utc::now()
                        - chrono::TimeDelta::from_std(self.settings.retention)
                            .unwrap_or(chrono::TimeDelta::MAX);
                    match self.log.prune_events(before).await {
                        Ok(pruned) if pruned > 0 => tracing::debug!(pruned, "event log pruned"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "could not prune the event log"),
                    }
                    next_prune = Instant::now() + self.settings.prune_every;
                }
                match self.round().await {
                    // A full read: more may be waiting.
                    Ok(Round::Sent(read)) if read >= self.settings.batch => continue,
                    Ok(Round::Sent(_)) => {
                        let position = self.position().unwrap_or_default();
                        self.log
                            .wait_for_events(position, self.settings.poll_interval)
                            .await;
                    }
                    Ok(Round::Held(wait)) => tokio::time::sleep(wait).await,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not read the event log; retrying");
                        tokio::time::sleep(self.settings.poll_interval).await;
                    }
                }
            }
        };
        tokio::select! {
            _ = tail => {}
            _ = shutdown => {}
        }
    }

    /// One round: reads what followed the last id broadcast (the first round only notes where
    /// the log ends) and broadcasts it, `participants` events coalesced to the last of each
    /// session. When everything new is `participants` events and counts were broadcast less than
    /// [`EventFeedSettings::coalesce_participants`] ago, nothing is broadcast and the position
    /// stays: a later round sends them with what followed. Ids therefore only grow, and every
    /// event up to the last id a subscriber saw has reached it. Returns how many events were
    /// broadcast.
    pub async fn step(&self) -> Result<usize> {
        Ok(match self.round().await? {
            Round::Sent(read) => read,
            Round::Held(_) => 0,
        })
    }

    async fn round(&self) -> Result<Round> {
        let Some(position) = self.position() else {
            let last = self.log.log_position().await?.last;
            self.lock().position.get_or_insert(last);
            return Ok(Round::Sent(0));
        };
        let window = self.settings.coalesce_participants;
        let counts_wait = self.lock().counts_sent.map_or(Duration::ZERO, |sent| {
            (sent + window).saturating_duration_since(Instant::now())
        });
        // Read on while pages are full (a stampede's counts coalesce into one round), up to a
        // bound.
        let mut logged = Vec::new();
        let mut from = position;
        loop {
            let page = self.log.read_events(from, self.settings.batch).await?;
            let full = page.len() >= self.settings.batch;
            if let Some(last) = page.last() {
                from = last.id;
            }
            logged.extend(page);
            if !full || logged.len() >= self.settings.batch * 20 {
                break;
            }
        }
        let Some(last) = logged.last().map(|event| event.id) else {
            return Ok(Round::Sent(0));
        };
        let only_counts = logged
            .iter()
            .all(|event| event.kind == EventKind::Participants);
        if only_counts && !counts_wait.is_zero() {
            return Ok(Round::Held(counts_wait));
        }
        let read = logged.len();
        let events = self.materialize(coalesce(logged)).await?;
        {
            let mut state = self.lock();
            if state.position != Some(position) {
                // Another round ran meanwhile and broadcast these already.
                return Ok(Round::Sent(0));
            }
            state.position = Some(last);
            if events.iter().any(|e| e.kind == EventKind::Participants) {
                state.counts_sent = Some(Instant::now());
            }
        }
        for event in events {
            self.broadcast.publish(event);
        }
        Ok(Round::Sent(read))
    }

    /// What a client that last saw `after` missed: the events that followed it, up to the end
    /// of the log, or [`Replay::Reset`] when `after` was pruned, is not an id this log has
    /// reached, or is more than [`EventFeedSettings::max_replay`] events behind.
    pub async fn replay(&self, after: EventId) -> Result<Replay> {
        let bounds = self.log.log_position().await?;
        if after < bounds.pruned_through || after > bounds.last {
            return Ok(Replay::Reset);
        }
        let mut logged = Vec::new();
        let mut from = after;
        loop {
            let batch = self.log.read_events(from, self.settings.batch).await?;
            let full = batch.len() >= self.settings.batch;
            from = batch.last().map_or(from, |event| event.id);
            logged.extend(batch);
            if logged.len() > self.settings.max_replay {
                return Ok(Replay::Reset);
            }
            if !full {
                break;
            }
        }
        Ok(Replay::Events(self.materialize(coalesce(logged)).await?))
    }

    /// The events with the sessions they are about, as stored now.
    async fn materialize(&self, logged: Vec<LoggedEvent>) -> Result<Vec<SessionEvent>> {
        let mut sessions: HashMap<SessionId, Option<LiveSession>> = HashMap::new();
        let mut events = Vec::with_capacity(logged.len());
        for event in logged {
            let session = match sessions.get(&event.session_id) {
                Some(session) => session.clone(),
                None => {
                    let session = self.sessions.get_session(event.session_id).await?;
                    sessions.insert(event.session_id, session.clone());
                    session
                }
            };
            if session.is_none() && event.kind == EventKind::Participants {
                // The session is gone; its `deleted` event follows.
                continue;
            }
            events.push(SessionEvent {
                id: Some(event.id),
                kind: event.kind,
                session_id: event.session_id,
                session: session.filter(|_| event.kind != EventKind::Deleted),
                at: event.at,
            });
        }
        Ok(events)
    }
}

/// Keeps only the last `participants` event of each session (events read from a log show the
/// session as it is when read, so the earlier ones would repeat the same count).
fn coalesce(events: Vec<LoggedEvent>) -> Vec<LoggedEvent> {
    let mut last_count: HashMap<SessionId, EventId> = HashMap::new();
    for event in &events {
        if event.kind == EventKind::Participants {
            last_count.insert(event.session_id, event.id);
        }
    }
    events
        .into_iter()
        .filter(|event| {
            event.kind != EventKind::Participants
                || last_count.get(&event.session_id) == Some(&event.id)
        })
        .collect()
}

#[cfg(all(test, feature = "memory"))]
mod tests {
    use super::*;
    use crate::events::EventSource as _;
    use crate::{Actor, JoinInput, LiveSessions, MemoryStore, NewSession, UserId};
    use tokio::sync::broadcast::error::TryRecvError;

    fn admin() -> Actor {
        Actor::admin(UserId::parse("admin").unwrap())
    }

    fn setup(settings: EventFeedSettings) -> (Arc<MemoryStore>, LiveSessions, EventFeed) {
        let store = Arc::new(MemoryStore::new());
        let feed = EventFeed::new(store.clone(), store.clone(), settings);
        let service = LiveSessions::builder(store.clone()).build();
        (store, service, feed)
    }

    async fn create_live(service: &LiveSessions) -> LiveSession {
        let mut new = NewSession::new(
            "Class",
            "Teacher",
            "https://vimeo.com/76979871",
            "2030-01-01T10:00:00Z",
        );
        new.is_live = true;
        service.create(Some(&admin()), new, None).await.unwrap()
    }

    async fn join(service: &LiveSessions, session: &LiveSession, user: &str) {
        let actor = Actor::user(UserId::parse(user).unwrap());
        service
            .join(
                Some(&actor),
                JoinInput {
                    session_id: session.id.to_string(),
                    user_id: None,
                    user_name: Some(user.into()),
                    email: Some(format!("{user}@example.com")),
                },
            )
            .await
            .unwrap();
    }

    fn drain(rx: &mut tokio::sync::broadcast::Receiver<SessionEvent>) -> Vec<SessionEvent> {
        let mut out = Vec::new();
        loop {
            match rx.try_recv() {
                Ok(event) => out.push(event),
                Err(TryRecvError::Empty) => return out,
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[tokio::test]
    async fn the_first_step_starts_at_the_end_of_the_log() {
        let (_, service, feed) = setup(EventFeedSettings::default());
        create_live(&service).await;
        let mut rx = feed.source().subscribe();
        assert_eq!(feed.step().await.unwrap(), 0);
        assert!(drain(&mut rx).is_empty(), "history is not broadcast");
        let session = create_live(&service).await;
        assert_eq!(feed.step().await.unwrap(), 2);
        let events = drain(&mut rx);
        let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["created", "live"]);
        assert!(events.iter().all(|e| e.session_id == session.id));
        assert!(events[0].id < events[1].id);
    }

    #[tokio::test]
    async fn counts_are_coalesced_and_the_latest_follows() {
        let (_, service, feed) = setup(EventFeedSettings {
            coalesce_participants: Duration::from_millis(200),
            ..Default::default()
        });
        let session = create_live(&service).await;
        feed.step().await.unwrap();
        let mut rx = feed.source().subscribe();
        for user in ["a", "b", "c"] {
            join(&service, &session, user).await;
        }
        feed.step().await.unwrap();
        let first = drain(&mut rx);
        assert_eq!(first.len(), 1, "three joins in one read are one event");
        assert_eq!(first[0].session.as_ref().unwrap().participants, 3);
        let position = feed.position();
        join(&service, &session, "d").await;
        feed.step().await.unwrap();
        assert!(drain(&mut rx).is_empty(), "held back inside the interval");
        assert_eq!(feed.position(), position, "a held count keeps the position");
        tokio::time::sleep(Duration::from_millis(250)).await;
        feed.step().await.unwrap();
        let later = drain(&mut rx);
        assert_eq!(later.len(), 1, "the held-back count follows: {later:?}");
        assert_eq!(later[0].session.as_ref().unwrap().participants, 4);
        assert_eq!(later[0].id, feed.position(), "sent under its own id");
        assert!(later[0].id > first[0].id);
    }

    #[tokio::test]
    async fn a_change_sends_the_held_counts_before_it() {
        let (_, service, feed) = setup(EventFeedSettings {
            coalesce_participants: Duration::from_secs(3600),
            ..Default::default()
        });
        let session = create_live(&service).await;
        feed.step().await.unwrap();
        let mut rx = feed.source().subscribe();
        join(&service, &session, "a").await;
        feed.step().await.unwrap();
        assert_eq!(drain(&mut rx).len(), 1);
        join(&service, &session, "b").await;
        feed.step().await.unwrap();
        assert!(drain(&mut rx).is_empty(), "held");
        service.end(Some(&admin()), session.id).await.unwrap();
        feed.step().await.unwrap();
        let events = drain(&mut rx);
        let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["participants", "ended"],
            "in id order, nothing skipped"
        );
        assert_eq!(events[0].session.as_ref().unwrap().participants, 2);
        assert!(events[0].id < events[1].id);
    }

    #[tokio::test]
    async fn replay_returns_what_followed_or_reset() {
        let (store, service, feed) = setup(EventFeedSettings::default());
        let first = create_live(&service).await;
        let after = store.log_position().await.unwrap().last;
        join(&service, &first, "a").await;
        join(&service, &first, "b").await;
        service.end(Some(&admin()), first.id).await.unwrap();
        let Replay::Events(events) = feed.replay(after).await.unwrap() else {
            panic!("expected events");
        };
        let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["participants", "ended"]);
        assert!(events.iter().all(|e| e.id > Some(after)));
        let last = store.log_position().await.unwrap().last;
        assert_eq!(feed.replay(last).await.unwrap(), Replay::Events(Vec::new()));
        assert_eq!(
            feed.replay(EventId::new(last.get() + 1).unwrap())
                .await
                .unwrap(),
            Replay::Reset,
            "an id this log never reached"
        );
        store
            .prune_events(Utc::now() + chrono::TimeDelta::minutes(1))
            .await
            .unwrap();
        assert_eq!(feed.replay(after).await.unwrap(), Replay::Reset, "pruned");
        assert_eq!(
            feed.replay(last).await.unwrap(),
            Replay::Events(Vec::new()),
            "nothing after the pruned floor was missed"
        );
    }

    #[tokio::test]
    async fn run_broadcasts_until_shutdown() {
        let (_, service, feed) = setup(EventFeedSettings::default());
        let mut rx = feed.source().subscribe();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn({
            let feed = feed.clone();
            async move {
                feed.run(async {
                    let _ = stopped.await;
                })
                .await
            }
        });
        while feed.position().is_none() {
            tokio::task::yield_now().await;
        }
        let session = create_live(&service).await;
        let event = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("the created event within the timeout")
            .unwrap();
        assert_eq!(
            (event.kind, event.session_id),
            (EventKind::Created, session.id)
        );
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("run ends on shutdown")
            .unwrap();
    }
}
