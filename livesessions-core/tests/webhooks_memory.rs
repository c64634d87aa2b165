//! The webhook conformance suite against `MemoryWebhooks`.

use std::sync::Arc;

use livesessions_core::testing::webhooks::WebhookFixture;
use livesessions_core::webhooks::MemoryWebhooks;

async fn memory() -> Option<WebhookFixture> {
    Some(WebhookFixture::new(Arc::new(MemoryWebhooks::new())))
}

livesessions_core::webhook_store_tests!(memory);
