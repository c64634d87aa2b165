//! The moment an attendance operation happens and the presence timeout it is judged by.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// When an attendance operation happens (the service's clock) and the presence timeout T that
/// decides who is still watching: a participant not seen for longer than T has stopped.
/// Attendance ports take it instead of a loose time and timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presence {
    /// When.
    pub at: DateTime<Utc>,
    /// The presence timeout T.
    pub timeout: Duration,
}

impl Presence {
    /// The presence at `at` with timeout `timeout`.
    pub fn new(at: DateTime<Utc>, timeout: Duration) -> Self {
        Presence { at, timeout }
    }

    /// The earliest `last_seen` of a participant who still counts as watching at `at`.
    pub fn watching_since(&self) -> DateTime<Utc> {
        self.at - crate::attendance::timeout_delta(self.timeout)
    }
}
