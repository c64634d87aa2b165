//! The state shared by every handler.

use std::sync::Arc;

use livesessions_core::calendar::CalendarFeeds;
use livesessions_core::events::EventFeed;
use livesessions_core::webhooks::WebhookAdmin;
use livesessions_core::{EventSource, LiveSessions, SessionEvent};
use tokio::sync::broadcast;

use crate::auth::Authenticator;
use crate::json::Presenter;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiters;
use crate::settings::HttpSettings;

/// Where the event stream's events come from.
#[derive(Debug, Clone)]
pub(crate) enum Events {
    /// An in-process broadcast: events carry no id and cannot be replayed.
    Source(Arc<dyn EventSource>),
    /// The store's event log, tailed by a feed: events carry their log id, and a client that
    /// reconnects gets what it missed.
    Feed(EventFeed),
}

impl Events {
    /// A subscription to every event broadcast from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        match self {
            Events::Source(source) => source.subscribe(),
            Events::Feed(feed) => feed.source().subscribe(),
        }
    }

    /// The feed, when events come from the store's log.
    pub(crate) fn feed(&self) -> Option<&EventFeed> {
        match self {
            Events::Source(_) => None,
            Events::Feed(feed) => Some(feed),
        }
    }
}

/// Cheap to clone: one `Arc`.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    service: LiveSessions,
    auth: Arc<dyn Authenticator>,
    events: Option<Events>,
    settings: HttpSettings,
    presenter: Presenter,
    limiters: RateLimiters,
    openapi: String,
    metrics: Metrics,
    shutdown: Option<tokio::sync::watch::Receiver<bool>>,
    webhooks: Option<WebhookAdmin>,
    calendar: Option<CalendarFeeds>,
}

impl AppState {
    // One argument per part the builder was given; a struct of them would only repeat
    // `LiveSessionsApi`'s fields.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        service: LiveSessions,
        auth: Arc<dyn Authenticator>,
        events: Option<Events>,
        settings: HttpSettings,
        metrics: Metrics,
        shutdown: Option<tokio::sync::watch::Receiver<bool>>,
        webhooks: Option<WebhookAdmin>,
        calendar: Option<CalendarFeeds>,
    ) -> Self {
        let presenter = Presenter {
            prefix: settings.path_prefix.trim_end_matches('/').to_owned(),
        };
        let limiters = RateLimiters::new(&settings.rate_limits, settings.client_ip.clone());
        let openapi = crate::openapi::render(&settings, webhooks.is_some());
        AppState {
            inner: Arc::new(Inner {
                service,
                auth,
                events,
                settings,
                presenter,
                limiters,
                openapi,
                metrics,
                shutdown,
                webhooks,
                calendar,
            }),
        }
    }

    pub(crate) fn service(&self) -> &LiveSessions {
        &self.inner.service
    }

    pub(crate) fn auth(&self) -> &dyn Authenticator {
        self.inner.auth.as_ref()
    }

    pub(crate) fn events(&self) -> Option<&Events> {
        self.inner.events.as_ref()
    }

    pub(crate) fn settings(&self) -> &HttpSettings {
        &self.inner.settings
    }

    pub(crate) fn presenter(&self) -> &Presenter {
        &self.inner.presenter
    }

    pub(crate) fn limiters(&self) -> &RateLimiters {
        &self.inner.limiters
    }

    pub(crate) fn openapi(&self) -> &str {
        &self.inner.openapi
    }

    /// The webhook administration, when the API was given a webhook store.
    pub(crate) fn webhooks(&self) -> Option<&WebhookAdmin> {
        self.inner.webhooks.as_ref()
    }

    /// The calendar feeds, when the API was given a calendar store.
    pub(crate) fn calendar(&self) -> Option<&CalendarFeeds> {
        self.inner.calendar.as_ref()
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Resolves once the host signals a shutdown; never without a signal.
    pub(crate) async fn stopping(&self) {
        if let Some(mut stopping) = self.inner.shutdown.clone() {
            if stopping.wait_for(|stop| *stop).await.is_ok() {
                return;
            }
        }
        std::future::pending::<()>().await;
    }
}
