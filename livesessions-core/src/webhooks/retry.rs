//! The retry schedule: exponential backoff with full jitter, capped, within a window of
//! [`RETRY_WINDOW`] from the first attempt; and what an attempt's outcome means.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;

/// How long a delivery is retried, counted from its first attempt: 3 days.
pub const RETRY_WINDOW: Duration = Duration::from_secs(3 * 24 * 3600);
/// The backoff ceiling after the first failed attempt: 5 s.
pub const BASE_DELAY: Duration = Duration::from_secs(5);
/// The largest backoff ceiling: 6 h.
pub const MAX_DELAY: Duration = Duration::from_secs(6 * 3600);
/// The shortest pause between two attempts (full jitter draws from here to the ceiling).
pub const MIN_DELAY: Duration = Duration::from_secs(1);
/// How long one attempt may take before it counts as timed out: 15 s.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);

/// The backoff ceiling after `attempts` failed attempts (at least 1):
/// `min(MAX_DELAY, BASE_DELAY × 2^(attempts − 1))`.
pub fn backoff_ceiling(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(32);
    BASE_DELAY
        .checked_mul(1u32 << doublings.min(31))
        .unwrap_or(MAX_DELAY)
        .min(MAX_DELAY)
}

/// When to try again after `attempts` failed attempts (counting the one that just failed),
/// the first of which was at `first_attempt_at`; `None` when the delivery has failed for good.
///
/// The pause is drawn uniformly from [`MIN_DELAY`] to [`backoff_ceiling`]`(attempts)` (full
/// jitter). Retries stay inside the window: the result is never after
/// `first_attempt_at + RETRY_WINDOW` (a pause that would end later is cut to end there, so the
/// last attempt happens at the window's end), and once `now` has reached the window's end the
/// answer is `None`. The result is always after `now` and at most the ceiling after it.
pub fn next_attempt<R: Rng + ?Sized>(
    attempts: u32,
    first_attempt_at: DateTime<Utc>,
    now: DateTime<Utc>,
    rng: &mut R,
) -> Option<DateTime<Utc>> {
    let deadline = first_attempt_at + window();
    if now >= deadline {
        return None;
    }
    let ceiling = backoff_ceiling(attempts.max(1));
    let millis = rng.random_range(MIN_DELAY.as_millis() as i64..=ceiling.as_millis() as i64);
    Some((now + TimeDelta::milliseconds(millis)).min(deadline))
}

fn window() -> TimeDelta {
    TimeDelta::from_std(RETRY_WINDOW).expect("three days fit")
}

/// What an attempt's result means for the delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptVerdict {
    /// A 2xx answer: delivered.
    Delivered,
    /// 410 Gone: the receiver asks to stop; the endpoint is disabled.
    Gone,
    /// Any other answer, a timeout or a connection error: try again later.
    Retry,
}

impl AttemptVerdict {
    /// The verdict of an HTTP answer with status `status`.
    pub fn of_status(status: u16) -> Self {
        match status {
            200..=299 => AttemptVerdict::Delivered,
            410 => AttemptVerdict::Gone,
            _ => AttemptVerdict::Retry,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    fn t0() -> DateTime<Utc> {
        "2030-01-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn ceilings_double_from_five_seconds_up_to_six_hours() {
        assert_eq!(backoff_ceiling(1), Duration::from_secs(5));
        assert_eq!(backoff_ceiling(2), Duration::from_secs(10));
        assert_eq!(backoff_ceiling(5), Duration::from_secs(80));
        assert_eq!(backoff_ceiling(13), Duration::from_secs(20_480));
        assert_eq!(backoff_ceiling(14), Duration::from_secs(6 * 3600));
        assert_eq!(backoff_ceiling(0), Duration::from_secs(5));
        assert_eq!(backoff_ceiling(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn statuses_classify() {
        for status in [200, 201, 204, 299] {
            assert_eq!(AttemptVerdict::of_status(status), AttemptVerdict::Delivered);
        }
        assert_eq!(AttemptVerdict::of_status(410), AttemptVerdict::Gone);
        for status in [100, 301, 400, 404, 429, 500, 503] {
            assert_eq!(AttemptVerdict::of_status(status), AttemptVerdict::Retry);
        }
    }

    #[test]
    fn a_failing_endpoint_is_retried_for_three_days_then_given_up() {
        let mut rng = StdRng::seed_from_u64(7);
        let first = t0();
        let mut now = first;
        let mut attempts = 1;
        while let Some(next) = next_attempt(attempts, first, now, &mut rng) {
            assert!(next > now);
            now = next;
            attempts += 1;
        }
        assert_eq!(
            now,
            first + window(),
            "the last attempt is at the window's end"
        );
        assert!((12..200).contains(&attempts), "{attempts} attempts");
    }

    proptest! {
        #[test]
        fn next_attempts_stay_within_their_bounds(
            attempts in 0u32..100,
            elapsed_ms in 0i64..(4 * 24 * 3600 * 1000),
            seed in any::<u64>(),
        ) {
            let mut rng = StdRng::seed_from_u64(seed);
            let first = t0();
            let now = first + TimeDelta::milliseconds(elapsed_ms);
            let deadline = first + window();
            match next_attempt(attempts, first, now, &mut rng) {
                None => prop_assert!(now >= deadline),
                Some(next) => {
                    prop_assert!(now < deadline);
                    prop_assert!(next > now);
                    prop_assert!(next <= deadline);
                    let ceiling = TimeDelta::from_std(backoff_ceiling(attempts.max(1))).unwrap();
                    prop_assert!(next - now <= ceiling);
                    let floor = TimeDelta::from_std(MIN_DELAY).unwrap();
                    prop_assert!(next - now >= floor || next == deadline);
                }
            }
        }

        #[test]
        fn the_jitter_is_full(attempts in 4u32..20, seed in any::<u64>()) {
            // Over many draws the pauses spread over the whole range, not near its ceiling.
            let mut rng = StdRng::seed_from_u64(seed);
            let ceiling = TimeDelta::from_std(backoff_ceiling(attempts)).unwrap();
            let pauses: Vec<TimeDelta> = (0..200)
                .map(|_| next_attempt(attempts, t0(), t0(), &mut rng).unwrap() - t0())
                .collect();
            prop_assert!(pauses.iter().any(|p| *p < ceiling / 4));
            prop_assert!(pauses.iter().any(|p| *p > ceiling * 3 / 4));
        }
    }
}
