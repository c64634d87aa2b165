//! Rate limits and the cap on concurrent event streams.
//!
//! Both are keyed by [`ClientKey`]: the signed-in user when the request carries a valid token,
//! the client's IP address otherwise (anonymous requests, and requests whose token does not
//! verify, so forged tokens cannot open fresh buckets). Each kind of route draws from its own
//! token bucket.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use livesessions_core::UserId;

use crate::settings::{BucketSettings, ClientIpSource, RateLimitSettings, StreamLimitSettings};

/// Which bucket a route draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bucket {
    Reads,
    Attendance,
    AdminWrites,
}

/// Whose limits a request counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ClientKey {
    /// A caller with a token that verified.
    User(UserId),
    /// An anonymous caller (or one whose token did not verify), by address.
    Ip(IpAddr),
}

impl std::fmt::Display for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientKey::User(user) => write!(f, "user {user}"),
            ClientKey::Ip(ip) => write!(f, "address {ip}"),
        }
    }
}

type KeyedLimiter = RateLimiter<ClientKey, DefaultKeyedStateStore<ClientKey>, DefaultClock>;

/// How many checks pass between two sweeps of forgotten clients.
const SWEEP_EVERY: u64 = 4096;

/// The `Retry-After` of a refused event stream: when a stream closes is unknown, so this is a
/// polling pace rather than a promise.
pub(crate) const STREAM_RETRY_AFTER: Duration = Duration::from_secs(30);

pub(crate) struct RateLimiters {
    reads: Option<KeyedLimiter>,
    attendance: Option<KeyedLimiter>,
    admin_writes: Option<KeyedLimiter>,
    streams: Option<Arc<StreamSlots>>,
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
            .field("streams", &self.streams)
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
        let streams = (settings.enabled && settings.event_streams.enabled)
            .then(|| Arc::new(StreamSlots::new(&settings.event_streams)));
        RateLimiters {
            reads: limiter(settings.enabled, &settings.reads),
            attendance: limiter(settings.enabled, &settings.attendance),
            admin_writes: limiter(settings.enabled, &settings.admin_writes),
            streams,
            source,
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        }
    }

    /// `Err(wait)` when `key` must wait before using `bucket` again.
    pub(crate) fn check(&self, bucket: Bucket, key: &ClientKey) -> Result<(), Duration> {
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
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Takes one of `key`'s event-stream slots for as long as the returned guard lives;
    /// `None` when `key` has all its streams open already.
    pub(crate) fn open_stream(&self, key: ClientKey) -> Option<StreamSlot> {
        match &self.streams {
            Some(streams) => streams.acquire(key),
            None => Some(StreamSlot(None)),
        }
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

/// Open event streams per key.
#[derive(Debug)]
pub(crate) struct StreamSlots {
    per_user: u32,
    per_ip: u32,
    open: Mutex<HashMap<ClientKey, u32>>,
}

impl StreamSlots {
    fn new(settings: &StreamLimitSettings) -> Self {
        StreamSlots {
            per_user: settings.per_user.max(1),
            per_ip: settings.per_ip.max(1),
            open: Mutex::new(HashMap::new()),
        }
    }

    fn acquire(self: &Arc<Self>, key: ClientKey) -> Option<StreamSlot> {
        let cap = match key {
            ClientKey::User(_) => self.per_user,
            ClientKey::Ip(_) => self.per_ip,
        };
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(key.clone()).or_insert(0);
        if *count >= cap {
            return None;
        }
        *count += 1;
        Some(StreamSlot(Some((self.clone(), key))))
    }

    fn release(&self, key: &ClientKey) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(key);
            }
        }
    }

    #[cfg(test)]
    fn open_for(&self, key: &ClientKey) -> u32 {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(key).copied().unwrap_or(0)
    }
}

/// One open event stream; gives its slot back when dropped (when the stream ends).
#[derive(Debug)]
pub(crate) struct StreamSlot(Option<(Arc<StreamSlots>, ClientKey)>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if let Some((slots, key)) = self.0.take() {
            slots.release(&key);
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
            event_streams: StreamLimitSettings {
                enabled: true,
                per_user: 2,
                per_ip: 3,
            },
        }
    }

    fn ip(text: &str) -> ClientKey {
        ClientKey::Ip(text.parse().unwrap())
    }

    fn user(id: &str) -> ClientKey {
        ClientKey::User(UserId::parse(id).unwrap())
    }

    #[test]
    fn buckets_are_separate_per_kind_and_per_key() {
        let limiters = RateLimiters::new(&settings(2), ClientIpSource::Peer);
        let a = ip("192.0.2.1");
        let b = ip("192.0.2.2");
        assert!(limiters.check(Bucket::Reads, &a).is_ok());
        assert!(limiters.check(Bucket::Reads, &a).is_ok());
        let wait = limiters.check(Bucket::Reads, &a).unwrap_err();
        assert!(wait > Duration::ZERO);
        assert!(limiters.check(Bucket::Reads, &b).is_ok());
        assert!(limiters.check(Bucket::Attendance, &a).is_ok());
        assert!(limiters.check(Bucket::AdminWrites, &a).is_ok());
        // A user is not an address, and two users are two buckets.
        for who in [user("u1"), user("u2")] {
            assert!(limiters.check(Bucket::Reads, &who).is_ok());
            assert!(limiters.check(Bucket::Reads, &who).is_ok());
            assert!(limiters.check(Bucket::Reads, &who).is_err());
        }
    }

    #[test]
    fn disabled_limits_never_refuse() {
        let mut s = settings(1);
        s.enabled = false;
        let limiters = RateLimiters::new(&s, ClientIpSource::Peer);
        let a = ip("192.0.2.1");
        for _ in 0..10 {
            assert!(limiters.check(Bucket::Reads, &a).is_ok());
        }
        let streams: Vec<_> = (0..10).map(|_| limiters.open_stream(a.clone())).collect();
        assert!(streams.iter().all(Option::is_some));
    }

    #[test]
    fn stream_slots_are_capped_per_key_and_given_back_on_drop() {
        let limiters = RateLimiters::new(&settings(1), ClientIpSource::Peer);
        let slots = limiters.streams.clone().unwrap();
        let (u1, u2, a) = (user("u1"), user("u2"), ip("192.0.2.1"));
        let first = limiters.open_stream(u1.clone()).unwrap();
        let _second = limiters.open_stream(u1.clone()).unwrap();
        assert!(limiters.open_stream(u1.clone()).is_none());
        assert!(limiters.open_stream(u2.clone()).is_some());
        let anonymous: Vec<_> = (0..3).map(|_| limiters.open_stream(a.clone())).collect();
        assert!(anonymous.iter().all(Option::is_some));
        assert!(limiters.open_stream(a.clone()).is_none());
        drop(first);
        assert_eq!(slots.open_for(&u1), 1);
        assert!(limiters.open_stream(u1.clone()).is_some());
        drop(anonymous);
        assert_eq!(slots.open_for(&a), 0);
        assert!(
            slots.open.lock().unwrap().get(&a).is_none(),
            "empty keys are forgotten"
        );
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
