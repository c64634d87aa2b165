//! The web page (feature `ui`): `GET /live-sessions`, its stylesheet and its script modules,
//! embedded in the binary.
//!
//! The page calls the API on the same origin, so it is served by [`LiveSessionsApi::router`]
//! next to it. It loads nothing from elsewhere and runs under the strict Content Security
//! Policy sent with it. The script is native ES modules with no build step: the HTML loads
//! `/live-sessions/js/main.js`, which imports the others from the same directory.
//!
//! [`LiveSessionsApi::router`]: crate::LiveSessionsApi::router

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The page's HTML.
pub const INDEX_HTML: &str = include_str!("../ui/index.html");
/// The page's stylesheet.
pub const APP_CSS: &str = include_str!("../ui/app.css");

/// `(file name, source)` for each file of `ui/js/`, embedded from that directory.
macro_rules! modules {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../ui/js/", $name)))),*]
    };
}

/// The page's script modules as `(file name, source)`, served at `/live-sessions/js/<file name>`.
/// `main.js` is the entry point.
pub const MODULES: &[(&str, &str)] = modules![
    "alerts.js",
    "analytics.js",
    "api.js",
    "auth.js",
    "calendar.js",
    "card-actions.js",
    "cards.js",
    "dialogs.js",
    "dom.js",
    "errors.js",
    "format.js",
    "join.js",
    "list.js",
    "live.js",
    "main.js",
    "roster.js",
    "router.js",
    "series.js",
    "session-form.js",
    "session.js",
    "signin.js",
    "state.js",
    "watch.js",
    "webhooks.js",
];

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

/// A script module by file name; other names answer like any unknown path.
async fn module(Path(name): Path<String>) -> Response {
    match MODULES.iter().find(|(file, _)| *file == name) {
        Some((_, source)) => asset(source, "text/javascript; charset=utf-8"),
        None => crate::routes::unknown_path().await.into_response(),
    }
}

/// The page's routes.
pub(crate) fn router() -> Router {
    Router::new()
        .route("/live-sessions", get(index))
        .route("/live-sessions/", get(index))
        .route("/live-sessions/app.css", get(css))
        .route("/live-sessions/js/{module}", get(module))
}

#[cfg(test)]
mod tests {
    use super::*;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    /// The `./name.js` modules that `source` imports.
    fn imports(source: &str) -> Vec<&str> {
        source
            .lines()
            .filter(|line| line.starts_with("import "))
            .map(|line| {
                let from = line
                    .split(" from '")
                    .nth(1)
                    .unwrap_or_else(|| panic!("an import with from '…': {line}"));
                from.strip_suffix("';")
                    .unwrap_or_else(|| panic!("one import a line: {line}"))
            })
            .collect()
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        let texts = [INDEX_HTML, APP_CSS]
            .into_iter()
            .chain(MODULES.iter().map(|(_, source)| *source));
        for text in texts {
            for forbidden in [
                "<script src=\"http",
                "cdn.",
                "fonts.googleapis",
                "@import url(http",
                "import(",
                "from 'http",
                "from \"http",
                "from '//",
                "from \"//",
            ] {
                assert!(!text.contains(forbidden), "{forbidden}");
            }
        }
        assert!(INDEX_HTML.contains("<script type=\"module\" src=\"/live-sessions/js/main.js\">"));
        assert!(INDEX_HTML.contains("/live-sessions/app.css"));
        assert!(
            !INDEX_HTML.contains("<script>"),
            "no inline scripts under the CSP"
        );
        assert_eq!(INDEX_HTML.matches("<script").count(), 1, "one entry script");
        // Every module imports only modules of this table, by a relative path.
        for (name, source) in MODULES {
            for import in imports(source) {
                let file = import
                    .strip_prefix("./")
                    .unwrap_or_else(|| panic!("{name} imports {import} by a relative path"));
                assert!(
                    MODULES.iter().any(|(other, _)| *other == file),
                    "{name} imports {import}, which is not served"
                );
            }
        }
    }

    #[test]
    fn every_module_is_served_and_preloaded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/js");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .expect("ui/js")
            .map(|entry| entry.expect("an entry").file_name().into_string().unwrap())
            .collect();
        on_disk.sort();
        let served: Vec<&str> = MODULES.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            on_disk, served,
            "MODULES lists every file of ui/js, in order"
        );
        for name in served.iter().filter(|name| **name != "main.js") {
            let link = format!("<link rel=\"modulepreload\" href=\"/live-sessions/js/{name}\">");
            assert!(INDEX_HTML.contains(&link), "index.html preloads {name}");
        }
        assert_eq!(
            INDEX_HTML.matches("rel=\"modulepreload\"").count(),
            served.len() - 1,
            "index.html preloads only served modules"
        );
    }

    async fn get_path(path: &str) -> Response {
        let store = std::sync::Arc::new(livesessions_core::MemoryStore::new());
        crate::LiveSessionsApi::new(livesessions_core::LiveSessions::builder(store).build())
            .router()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn modules_are_served_as_javascript_and_unknown_names_are_not_found() {
        for (name, source) in MODULES {
            let response = get_path(&format!("/live-sessions/js/{name}")).await;
            assert_eq!(response.status(), StatusCode::OK, "{name}");
            let headers = response.headers();
            assert_eq!(headers[CONTENT_TYPE], "text/javascript; charset=utf-8");
            assert_eq!(headers[X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert_eq!(headers[CACHE_CONTROL], "no-cache");
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            assert_eq!(body, source.as_bytes(), "{name}");
        }
        for unknown in [
            "/live-sessions/js/nope.js",
            "/live-sessions/js/..%2Fapp.css",
            "/live-sessions/js/",
            "/live-sessions/app.js",
        ] {
            let response = get_path(unknown).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{unknown}");
        }
    }
}
