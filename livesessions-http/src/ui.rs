//! The web page (feature `ui`): `GET /live-sessions` and its two assets, embedded in the binary.
//!
//! The page calls the API on the same origin, so it is served by [`LiveSessionsApi::router`]
//! next to it. It loads nothing from elsewhere and runs under the strict Content Security
//! Policy sent with it.
//!
//! [`LiveSessionsApi::router`]: crate::LiveSessionsApi::router

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The page's HTML.
pub const INDEX_HTML: &str = include_str!("../ui/index.html");
/// The page's stylesheet.
pub const APP_CSS: &str = include_str!("../ui/app.css");
/// The page's script.
pub const APP_JS: &str = include_str!("../ui/app.js");

/// The Content Security Policy sent with the page: its own scripts and styles only, images
/// from anywhere over https, frames from the two embeddable video providers.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' https: data: blob:; \
frame-src https://www.youtube.com https://player.vimeo.com; style-src 'self'; script-src 'self'; \
connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'";

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // The assets change with the binary; revalidating keeps a new deployment visible at once.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

async fn index() -> Response {
    let mut response = asset(INDEX_HTML, "text/html; charset=utf-8");
    let headers = response.headers_mut();
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    response
}

async fn css() -> Response {
    asset(APP_CSS, "text/css; charset=utf-8")
}

async fn js() -> Response {
    asset(APP_JS, "text/javascript; charset=utf-8")
}

/// The page's routes.
pub(crate) fn router() -> Router {
    Router::new()
        .route("/live-sessions", get(index))
        .route("/live-sessions/", get(index))
        .route("/live-sessions/app.css", get(css))
        .route("/live-sessions/app.js", get(js))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        for text in [INDEX_HTML, APP_CSS, APP_JS] {
            for forbidden in [
                "<script src=\"http",
                "cdn.",
                "fonts.googleapis",
                "@import url(http",
            ] {
                assert!(!text.contains(forbidden), "{forbidden}");
            }
        }
        assert!(INDEX_HTML.contains("/live-sessions/app.js"));
        assert!(INDEX_HTML.contains("/live-sessions/app.css"));
        assert!(
            !INDEX_HTML.contains("<script>"),
            "no inline scripts under the CSP"
        );
    }
}
