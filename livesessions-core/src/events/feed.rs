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
    /// At most one `participants` event per session is broadcast per this interval (default
    /// 1 s); the latest count follows when the interval has passed.
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
    /// The last id read from the log (`None` until the first read).
    position: Option<EventId>,
    /// When each session's last `participants` event was broadcast.
    counts_sent: HashMap<SessionId, Instant>,
    /// Sessions whose `participants` event was held back, and since when.
    counts_held: HashMap<SessionId, Instant>,
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
                match self.step().await {
                    // A full batch: more may be waiting.
                    Ok(read) if read >= self.settings.batch => continue,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "could not read the event log; retrying");
                        tokio::time::sleep(self.settings.poll_interval).await;
                        continue;
                    }
                }
                let (position, wait) = {
                    let state = self.lock();
                    let wait = state
                        .counts_held
                        .values()
                        .map(|since| {
                            (*since + self.settings.coalesce_participants)
                                .saturating_duration_since(Instant::now())
                        })
                        .min()
                        .unwrap_or(self.settings.poll_interval)
                        .min(self.settings.poll_interval);
                    (state.position.unwrap_or_default(), wait)
                };
                self.log.wait_for_events(position, wait).await;
            }
        };
        tokio::select! {
            _ = tail => {}
            _ = shutdown => {}
        }
    }

    /// One round: reads what followed the last id read (the first round only notes where the
    /// log ends), broadcasts it, and sends the counts held back whose interval has passed.
    /// Returns how many events were read.
    pub async fn step(&self) -> Result<usize> {
        let Some(position) = self.position() else {
            let last = self.log.log_position().await?.last;
            self.lock().position.get_or_insert(last);
            return Ok(0);
        };
        let logged = self.log.read_events(position, self.settings.batch).await?;
        let read = logged.len();
        let events = self.materialize(coalesce(logged)).await?;
        let now = Instant::now();
        let window = self.settings.coalesce_participants;
        let (send, due, position) = {
            let mut state = self.lock();
            if state.position != Some(position) {
                // Another step ran meanwhile and broadcast these already.
                return Ok(0);
            }
            let mut send = Vec::with_capacity(events.len());
            for event in events {
                state.position = event.id.max(state.position);
                if event.kind == EventKind::Participants {
                    let recent = state
                        .counts_sent
                        .get(&event.session_id)
                        .is_some_and(|sent| now.duration_since(*sent) < window);
                    if recent {
                        state.counts_held.entry(event.session_id).or_insert(now);
                        continue;
                    }
                    state.counts_sent.insert(event.session_id, now);
                    state.counts_held.remove(&event.session_id);
                }
                send.push(event);
            }
            let due: Vec<SessionId> = state
                .counts_held
                .keys()
                .copied()
                .filter(|id| {
                    state
                        .counts_sent
                        .get(id)
                        .is_none_or(|sent| now.duration_since(*sent) >= window)
                })
                .collect();
            state
                .counts_sent
                .retain(|_, sent| now.duration_since(*sent) < window);
            (send, due, state.position)
        };
        for event in send {
            self.broadcast.publish(event);
        }
        for session_id in due {
            // The held-back count, as it is now, under the current position: everything up to
            // it has been sent, so a subscriber resuming from it misses nothing.
            let session = self.sessions.get_session(session_id).await?;
            {
                let mut state = self.lock();
                state.counts_held.remove(&session_id);
                state.counts_sent.insert(session_id, Instant::now());
            }
            if session.is_some() {
                self.broadcast.publish(SessionEvent {
                    id: position,
                    kind: EventKind::Participants,
                    session_id,
                    session,
                    at: Utc::now(),
                });
            }
        }
        Ok(read)
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
        join(&service, &session, "d").await;
        feed.step().await.unwrap();
        assert!(drain(&mut rx).is_empty(), "held back inside the interval");
        tokio::time::sleep(Duration::from_millis(250)).await;
        feed.step().await.unwrap();
        let later = drain(&mut rx);
        assert_eq!(later.len(), 1, "the held-back count follows: {later:?}");
        assert_eq!(later[0].session.as_ref().unwrap().participants, 4);
        assert_eq!(
            later[0].id,
            feed.position(),
            "sent under the current position"
        );
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
