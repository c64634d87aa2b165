//! The state shared by every handler.

use std::sync::Arc;

use livesessions_core::webhooks::{TargetPolicy, WebhookStore};
use livesessions_core::{EventSource, LiveSessions};

use crate::auth::Authenticator;
use crate::json::Presenter;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiters;
use crate::settings::HttpSettings;

/// Cheap to clone: one `Arc`.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    service: LiveSessions,
    auth: Arc<dyn Authenticator>,
    events: Option<Arc<dyn EventSource>>,
    settings: HttpSettings,
    presenter: Presenter,
    limiters: RateLimiters,
    openapi: String,
    metrics: Metrics,
    shutdown: Option<tokio::sync::watch::Receiver<bool>>,
    webhooks: Option<Webhooks>,
}

/// What the webhook admin routes manage: the store and the policy new endpoints are checked
/// with.
#[derive(Debug, Clone)]
pub(crate) struct Webhooks {
    pub(crate) store: Arc<dyn WebhookStore>,
    pub(crate) policy: TargetPolicy,
}

impl AppState {
    pub(crate) fn new(
        service: LiveSessions,
        auth: Arc<dyn Authenticator>,
        events: Option<Arc<dyn EventSource>>,
        settings: HttpSettings,
        metrics: Metrics,
        shutdown: Option<tokio::sync::watch::Receiver<bool>>,
        webhooks: Option<Webhooks>,
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
            }),
        }
    }

    pub(crate) fn service(&self) -> &LiveSessions {
        &self.inner.service
    }

    pub(crate) fn auth(&self) -> &dyn Authenticator {
        self.inner.auth.as_ref()
    }

    pub(crate) fn events(&self) -> Option<&Arc<dyn EventSource>> {
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

    /// The webhook store and policy, when the API was given them.
    pub(crate) fn webhooks(&self) -> Option<&Webhooks> {
        self.inner.webhooks.as_ref()
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
