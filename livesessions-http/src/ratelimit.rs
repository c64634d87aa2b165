//! Rate limits per client IP (DESIGN §5.3), one token bucket per kind of route.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::problem::ApiError;
use crate::settings::{BucketSettings, ClientIpSource, RateLimitSettings};
use crate::state::AppState;

/// Which bucket a route draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bucket {
    Reads,
    Attendance,
    AdminWrites,
}

type KeyedLimiter = RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>;

/// How many checks pass between two sweeps of forgotten clients.
const SWEEP_EVERY: u64 = 4096;

pub(crate) struct RateLimiters {
    reads: Option<KeyedLimiter>,
    attendance: Option<KeyedLimiter>,
    admin_writes: Option<KeyedLimiter>,
    source: ClientIpSource,
    clock: DefaultClock,
    checks: AtomicU64,
}

impl std::fmt::Debug for RateLimiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiters")
            .field("reads", &self.reads.is_some())
            .field("attendance", &self.attendance.is_some())
            .field("admin_writes", &self.admin_writes.is_some())
            .field("source", &self.source)
            .finish()
    }
}

fn limiter(enabled: bool, bucket: &BucketSettings) -> Option<KeyedLimiter> {
    if !enabled || !bucket.enabled {
        return None;
    }
    // A rate of zero or less (or NaN) is read as the slowest rate allowed: one a day.
    let per_second = if bucket.per_second.is_finite() && bucket.per_second > 0.0 {
        bucket.per_second
    } else {
        1.0 / 86_400.0
    };
    let period = Duration::from_secs_f64((1.0 / per_second).min(86_400.0));
    let quota = Quota::with_period(period.max(Duration::from_nanos(1)))?
        .allow_burst(NonZeroU32::new(bucket.burst.max(1)).unwrap_or(NonZeroU32::MIN));
    Some(RateLimiter::hashmap(quota))
}

impl RateLimiters {
    pub(crate) fn new(settings: &RateLimitSettings, source: ClientIpSource) -> Self {
        RateLimiters {
            reads: limiter(settings.enabled, &settings.reads),
            attendance: limiter(settings.enabled, &settings.attendance),
            admin_writes: limiter(settings.enabled, &settings.admin_writes),
            source,
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        }
    }

    /// `Err(wait)` when `ip` must wait before using `bucket` again.
    pub(crate) fn check(&self, bucket: Bucket, ip: IpAddr) -> Result<(), Duration> {
        let limiter = match bucket {
            Bucket::Reads => &self.reads,
            Bucket::Attendance => &self.attendance,
            Bucket::AdminWrites => &self.admin_writes,
        };
        let Some(limiter) = limiter else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            // Forget clients whose buckets are full again, so the map does not grow forever.
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        limiter
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// The client's address: the trusted header's last entry when configured and usable,
    /// else the TCP peer, else the unspecified address (all such clients share one bucket).
    pub(crate) fn client_ip(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> IpAddr {
        if let ClientIpSource::TrustedHeader(name) = &self.source {
            // Only the rightmost entry was written by the trusted proxy; if it is unusable,
            // entries further left (written by the client) are not trusted instead.
            let from_header = headers
                .get_all(name)
                .iter()
                .next_back()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(parse_ip);
            if let Some(ip) = from_header {
                return ip;
            }
        }
        peer.map(|p| p.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }
}

fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// The middleware: answers `429` with `Retry-After` when the client's bucket is empty.
pub(crate) async fn limit(
    State((state, bucket)): State<(AppState, Bucket)>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let limiters = state.limiters();
    let ip = limiters.client_ip(request.headers(), peer);
    match limiters.check(bucket, ip) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            tracing::debug!(%ip, ?bucket, ?wait, "rate limited");
            ApiError::rate_limited(wait).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderName, HeaderValue};

    fn settings(burst: u32) -> RateLimitSettings {
        let bucket = BucketSettings {
            enabled: true,
            burst,
            per_second: 0.001,
        };
        RateLimitSettings {
            enabled: true,
            reads: bucket.clone(),
            attendance: bucket.clone(),
            admin_writes: bucket,
        }
    }

    #[test]
    fn buckets_are_separate_per_kind_and_per_ip() {
        let limiters = RateLimiters::new(&settings(2), ClientIpSource::Peer);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(limiters.check(Bucket::Reads, a).is_ok());
        assert!(limiters.check(Bucket::Reads, a).is_ok());
        let wait = limiters.check(Bucket::Reads, a).unwrap_err();
        assert!(wait > Duration::ZERO);
        assert!(limiters.check(Bucket::Reads, b).is_ok());
        assert!(limiters.check(Bucket::Attendance, a).is_ok());
        assert!(limiters.check(Bucket::AdminWrites, a).is_ok());
    }

    #[test]
    fn disabled_limits_never_refuse() {
        let mut s = settings(1);
        s.enabled = false;
        let limiters = RateLimiters::new(&s, ClientIpSource::Peer);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..10 {
            assert!(limiters.check(Bucket::Reads, a).is_ok());
        }
    }

    #[test]
    fn the_trusted_header_is_read_from_the_right() {
        let name = HeaderName::from_static("x-forwarded-for");
        let limiters = RateLimiters::new(&settings(1), ClientIpSource::TrustedHeader(name.clone()));
        let mut headers = HeaderMap::new();
        headers.insert(&name, HeaderValue::from_static("198.51.100.7, 192.0.2.9"));
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        assert_eq!(
            limiters.client_ip(&headers, Some(peer)),
            "192.0.2.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(limiters.client_ip(&HeaderMap::new(), Some(peer)), peer.ip());
        let untrusting = RateLimiters::new(&settings(1), ClientIpSource::Peer);
        assert_eq!(untrusting.client_ip(&headers, Some(peer)), peer.ip());
    }
}
