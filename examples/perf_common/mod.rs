//! Shared by the performance examples (`perf_join`, `perf_scale`, `loadgen`, `perf_sse`,
//! `perf_webhooks`, `seed`): the PostgreSQL URL option, a minimal HTTP/1.1 keep-alive client,
//! latency percentiles, test tokens, the address of a running server and an in-process server
//! with the rate limits off.
#![allow(dead_code)] // each example uses a different part

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use livesessions::{BroadcastEvents, LiveSessions};
use livesessions_http::{
    HttpSettings, JwtAuthenticator, JwtConfig, LiveSessionsApi, RateLimitSettings,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The HS256 secret of the in-process servers and the tokens the examples sign.
pub const SECRET: &str = "perf-secret-perf-secret-perf-secret-0123456789";

/// The PostgreSQL URL the examples use unless told otherwise.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The PostgreSQL database an example runs on (`--url`), for `#[command(flatten)]`.
#[derive(Debug, clap::Args)]
pub struct Postgres {
    /// PostgreSQL URL.
    #[arg(long, env = "LIVESESSIONS_TEST_POSTGRES_URL", default_value = DEFAULT_POSTGRES_URL)]
    pub url: String,
}

/// The socket address of a running server given as `http://host:port` (or `host:port`).
pub async fn resolve(url: &str) -> Result<SocketAddr, Box<dyn std::error::Error>> {
    let with_scheme = if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    };
    let parsed = url::Url::parse(&with_scheme)?;
    if parsed.scheme() != "http" {
        return Err(format!("{url}: only http:// servers can be measured").into());
    }
    let host = parsed.host_str().unwrap_or("127.0.0.1").to_owned();
    let port = parsed.port_or_known_default().unwrap_or(80);
    let found = tokio::net::lookup_host((host.as_str(), port)).await?.next();
    found.ok_or_else(|| format!("{url} does not resolve").into())
}

/// The resident set of process `pid` in KiB: `field` (`VmRSS:` now, `VmHWM:` its peak) of
/// `/proc/<pid>/status`; 0 when it cannot be read.
pub fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix(field)
                    .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            })
        })
        .unwrap_or(0)
}

/// An HS256 token for `sub` (admin when `admin`) signed with [`SECRET`], valid for 12 hours.
pub fn token(sub: &str, admin: bool) -> String {
    token_signed_with(SECRET, sub, admin)
}

/// An HS256 token for `sub` (admin when `admin`) signed with `secret`, valid for 12 hours.
pub fn token_signed_with(secret: &str, sub: &str, admin: bool) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let claims = serde_json::json!({
        "sub": sub,
        "name": format!("Student {sub}"),
        "email": format!("{sub}@example.com"),
        "admin": admin,
        "iat": now,
        "exp": now + 12 * 3600,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("an HS256 token")
}

/// Serves `service` on 127.0.0.1 (a free port) with HS256 auth on [`SECRET`], events from
/// `events` and no rate limits. Returns the address.
pub async fn serve(service: LiveSessions, events: Arc<BroadcastEvents>) -> SocketAddr {
    serve_signed_with(service, events, SECRET).await.0
}

/// [`serve`] with tokens signed with `secret`. Returns the address and the server's task.
pub async fn serve_signed_with(
    service: LiveSessions,
    events: Arc<BroadcastEvents>,
    secret: &str,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let auth = JwtAuthenticator::hs256(secret, JwtConfig::default()).expect("an authenticator");
    let settings = HttpSettings {
        rate_limits: RateLimitSettings::disabled(),
        ..HttpSettings::default()
    };
    let router = LiveSessionsApi::new(service)
        .auth(Arc::new(auth))
        .events(events)
        .settings(settings)
        .router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("a local address");
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("the server runs");
    });
    (addr, server)
}

/// One keep-alive HTTP/1.1 connection. Only what the examples need: `Content-Length` bodies.
pub struct Conn {
    host: String,
    reader: BufReader<TcpStream>,
}

/// A response: status and body.
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

impl Conn {
    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            host: addr.to_string(),
            reader: BufReader::new(stream),
        })
    }

    /// Sends one request and reads the whole response.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> std::io::Result<Response> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host);
        if let Some(token) = token {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        match body {
            Some(body) => head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )),
            None => head.push_str("\r\n"),
        }
        self.reader.get_mut().write_all(head.as_bytes()).await?;
        let mut line = String::new();
        self.reader.read_line(&mut line).await?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let mut length = 0usize;
        loop {
            line.clear();
            if self.reader.read_line(&mut line).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((name, value)) = trimmed.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).await?;
        Ok(Response { status, body })
    }
}

/// Latency percentiles of a sample.
pub struct Percentiles {
    /// Sample size.
    pub n: usize,
    /// Median.
    pub p50: Duration,
    /// 95th percentile.
    pub p95: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Largest.
    pub max: Duration,
}

impl Percentiles {
    /// Percentiles of `sample` (sorted in place).
    pub fn of(sample: &mut [Duration]) -> Percentiles {
        sample.sort_unstable();
        let at = |q: f64| {
            if sample.is_empty() {
                Duration::ZERO
            } else {
                let i = ((sample.len() as f64 * q).ceil() as usize).clamp(1, sample.len()) - 1;
                sample[i]
            }
        };
        Percentiles {
            n: sample.len(),
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: sample.last().copied().unwrap_or_default(),
        }
    }
}

impl std::fmt::Display for Percentiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        write!(
            f,
            "n={} p50={:.2}ms p95={:.2}ms p99={:.2}ms max={:.2}ms",
            self.n,
            ms(self.p50),
            ms(self.p95),
            ms(self.p99),
            ms(self.max)
        )
    }
}
