//! What every browser test needs: the example server on a free port, chromedriver, a headless
//! Chromium per user, and short ways to find, fill, click, wait and sign in.
//!
//! `CHROMEDRIVER` and `CHROMIUM` override the binaries' paths.
#![allow(dead_code)]

#[path = "../../examples/server/app.rs"]
#[allow(dead_code)]
pub mod app;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// How long a step may take before the test gives up on it (a hang guard, not a measurement).
pub const STEP: Duration = Duration::from_secs(20);

pub struct Chromedriver {
    pub child: Child,
    pub port: u16,
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The example server, running in process.
pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Whether the server turned dev mode (and with it dev sign-in) on.
    pub dev_mode: bool,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Starts the example server on a free loopback port, on SQLite in a file under `work`.
pub async fn start_server(work: &Path, jwt_secret: Option<String>) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("an address");
    let config = app::ServerConfig {
        bind: addr,
        database_url: format!("sqlite:{}?mode=rwc", work.join("livesessions.db").display()),
        jwt_secret,
        firebase_project: None,
        admin_emails: Vec::new(),
        thumbnail_dir: Some(work.join("thumbnails")),
        dev: false,
        no_rate_limits: false,
        time_zone: Default::default(),
        metrics_token: None,
        no_metrics: false,
        webhook_allow_private_targets: false,
        webhook_allow_http: false,
        public_base_url: None,
    };
    let built = app::build(&config).await.expect("the server starts");
    let dev_mode = built.dev_mode;
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            built
                .router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    Server {
        base: format!("http://{addr}"),
        dev_mode,
        task,
    }
}

pub async fn start_chromedriver() -> Chromedriver {
    let path = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let port = crate::common::free_port();
    let child = Command::new(&path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {path}: {e}. Install Debian's chromium and chromium-driver \
                 (`bash .ci/run` does so when they are missing)"
            )
        });
    let driver = Chromedriver { child, port };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("chromedriver did not start listening on port {port}");
}

pub async fn browser(driver: &Chromedriver, profile: &Path, downloads: &Path) -> Client {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": {
                "download.default_directory": downloads,
                "download.prompt_for_download": false,
                "download.directory_upgrade": true,
            },
        }),
    );
    caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
    // chromedriver listens on loopback: plain HTTP, no TLS stack needed.
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a browser session")
}

/// A POST to one of chromedriver's own endpoints under the session (`se/log`,
/// `goog/cdp/execute`), which the W3C protocol lacks.
#[derive(Debug)]
pub struct ChromedriverPost {
    /// The endpoint under `session/<id>/`.
    pub path: &'static str,
    /// The JSON body.
    pub body: serde_json::Value,
}

impl ChromedriverPost {
    /// The browser's console log since the last call.
    pub fn browser_log() -> Self {
        ChromedriverPost {
            path: "se/log",
            body: json!({ "type": "browser" }),
        }
    }

    /// A Chrome DevTools command.
    pub fn cdp(cmd: &str, params: serde_json::Value) -> Self {
        ChromedriverPost {
            path: "goog/cdp/execute",
            body: json!({ "cmd": cmd, "params": params }),
        }
    }
}

impl fantoccini::wd::WebDriverCompatibleCommand for ChromedriverPost {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// The console errors of a browser since the last call.
pub async fn console_errors(client: &Client) -> Vec<String> {
    let entries = client
        .issue_cmd(ChromedriverPost::browser_log())
        .await
        .expect("the browser log");
    entries
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

pub async fn find(client: &Client, css: &str) -> Element {
    client
        .wait()
        .at_most(STEP)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element {css}: {e}"))
}

/// The property `name` of the element at `css` as text (empty when it has none).
pub async fn property(client: &Client, css: &str, name: &str) -> String {
    find(client, css)
        .await
        .prop(name)
        .await
        .unwrap_or_else(|e| panic!("{css}: property {name} not read: {e}"))
        .unwrap_or_default()
}

/// Waits until `check` holds for the text of the element at `css`.
pub async fn wait_text(
    client: &Client,
    css: &str,
    what: &str,
    check: impl Fn(&str) -> bool,
) -> String {
    let deadline = tokio::time::Instant::now() + STEP;
    let mut last = String::new();
    while tokio::time::Instant::now() < deadline {
        if let Ok(element) = client.find(Locator::Css(css)).await {
            if let Ok(text) = element.text().await {
                if check(&text) {
                    return text;
                }
                last = text;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never showed {what}; last text: {last:?}");
}

pub async fn wait_present(client: &Client, css: &str) {
    find(client, css).await;
}

pub async fn wait_absent(client: &Client, css: &str) {
    let deadline = tokio::time::Instant::now() + STEP;
    while tokio::time::Instant::now() < deadline {
        if client.find(Locator::Css(css)).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} is still there");
}

pub async fn fill(client: &Client, css: &str, text: &str) {
    let element = find(client, css).await;
    element.clear().await.expect("cleared");
    element.send_keys(text).await.expect("typed");
}

pub async fn click(client: &Client, css: &str) {
    find(client, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

pub async fn screenshot(client: &Client, dir: &Path, name: &str) {
    let png = client.screenshot().await.expect("a screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("screenshot written");
}

pub async fn sign_in(client: &Client, base: &str, name: &str, email: &str, admin: bool) {
    client
        .goto(&format!("{base}/live-sessions"))
        .await
        .expect("page loaded");
    // The form appears once the page has learnt that the server signs people in.
    wait_present(client, "#signin-form:not([hidden])").await;
    fill(client, "#signin-name", name).await;
    fill(client, "#signin-email", email).await;
    if admin {
        click(client, "#signin-admin").await;
    }
    click(client, "#signin-submit").await;
    wait_text(client, "#whoami", "the user's name", |t| t.contains(name)).await;
}

pub async fn wait_for_file(path: &Path) -> String {
    let deadline = tokio::time::Instant::now() + STEP;
    while tokio::time::Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(path) {
            if !text.is_empty() {
                return text;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} was never downloaded", path.display());
}

/// Opens the admin's create form and fills its title, instructor, start (a `datetime-local`
/// value, set by script) and video link.
pub async fn fill_session_form(
    client: &Client,
    title: &str,
    instructor: &str,
    start: &str,
    video: &str,
) {
    click(client, "#add-session-toggle").await;
    fill(client, "#f-title", title).await;
    fill(client, "#f-instructor", instructor).await;
    client
        .execute(
            "document.getElementById('f-start').value = arguments[0];",
            vec![json!(start)],
        )
        .await
        .expect("start time set");
    fill(client, "#f-video", video).await;
}

/// The id of the first session card matching `css`, and a selector for that card.
pub async fn new_card(client: &Client, css: &str) -> (String, String) {
    let card = find(client, css).await;
    let id = card
        .attr("data-id")
        .await
        .expect("an attribute")
        .expect("the session id");
    let card_css = format!(".session-card[data-id='{id}']");
    (id, card_css)
}

/// A class ready to run: the example server in a fresh work directory, chromedriver, and a
/// browser each for an admin and a student (both saving downloads to `downloads`).
pub struct Class {
    /// The work directory; dropped last, it takes the server's files with it.
    pub work: tempfile::TempDir,
    /// Where screenshots go (`screenshots/`, git-ignored).
    pub shots: std::path::PathBuf,
    /// Where the browsers save downloads.
    pub downloads: std::path::PathBuf,
    pub server: Server,
    pub driver: Chromedriver,
    pub admin: Client,
    pub student: Client,
}

impl Class {
    /// Starts the server, chromedriver and the two browsers.
    pub async fn start() -> Class {
        let work = tempfile::tempdir().expect("a temporary directory");
        let shots = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("screenshots");
        std::fs::create_dir_all(&shots).expect("screenshots directory");
        let downloads = work.path().join("downloads");
        std::fs::create_dir_all(&downloads).expect("downloads directory");
        let server = start_server(work.path(), None).await;
        let driver = start_chromedriver().await;
        let admin = browser(&driver, &work.path().join("admin-profile"), &downloads).await;
        let student = browser(&driver, &work.path().join("student-profile"), &downloads).await;
        Class {
            work,
            shots,
            downloads,
            server,
            driver,
            admin,
            student,
        }
    }
}

/// Chooses `tests/fixtures/thumbnail.png` in the create form and waits for its preview.
pub async fn choose_thumbnail(client: &Client) {
    let thumbnail =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/thumbnail.png");
    find(client, "#f-thumbnail")
        .await
        .send_keys(&thumbnail.display().to_string())
        .await
        .expect("file chosen");
    wait_present(client, "#f-thumbnail-preview[src^='blob:']").await;
}
