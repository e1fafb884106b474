//! When to try an export again: [`RetryPolicy`], and the `Retry-After` header.

use std::time::{Duration, SystemTime};

/// Backoff between attempts of one export. Every export is also bounded as a whole by
/// the export timeout (`OTEL_METRIC_EXPORT_TIMEOUT`, default 30 s): a wait that would end
/// past it ends the export instead, and the next export carries the data.
///
/// Waits grow from `initial_backoff`, doubling up to `max_backoff`, each drawn at random
/// from its upper half so that many processes do not retry in step. A `Retry-After` from
/// the collector replaces the computed wait.
///
/// ```
/// use std::time::Duration;
/// let quick = prism_otel::RetryPolicy::default()
///     .initial_backoff(Duration::from_millis(50))
///     .max_backoff(Duration::from_secs(1));
/// assert_eq!(quick.max_attempts_value(), 5);
/// assert_eq!(prism_otel::RetryPolicy::none().max_attempts_value(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    initial: Duration,
    max: Duration,
    max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 1 s doubling to 30 s, at most 5 attempts: what the OpenTelemetry SDKs use.
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(30),
            max_attempts: 5,
        }
    }
}

impl RetryPolicy {
    /// One attempt per export, no retry.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The first wait (default 1 s).
    pub fn initial_backoff(mut self, wait: Duration) -> Self {
        self.initial = wait;
        self
    }

    /// The longest wait (default 30 s).
    pub fn max_backoff(mut self, wait: Duration) -> Self {
        self.max = wait;
        self
    }

    /// Attempts per export, the first included (default 5; at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Attempts per export, the first included.
    pub fn max_attempts_value(&self) -> u32 {
        self.max_attempts
    }

    /// The wait before attempt `attempt + 1` (the first retry is `attempt == 1`), drawn
    /// from `[w/2, w]` with `w = min(initial * 2^(attempt-1), max)`.
    pub(crate) fn backoff(&self, attempt: u32, random: u64) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        let wait = self
            .initial
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.max)
            .min(self.max);
        let half = wait / 2;
        let span = (wait - half).as_nanos() as u64;
        half + Duration::from_nanos(if span == 0 { 0 } else { random % (span + 1) })
    }
}

#[cfg_attr(not(feature = "http"), allow(dead_code))] // gRPC has no Retry-After
/// A `Retry-After` value: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A small xorshift for jitter: it needs spread, not quality, and no dependency.
#[derive(Debug)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new() -> Self {
        let seed = crate::encode::now_unix_nanos() ^ 0x9E37_79B9_7F4A_7C15;
        Self(seed | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_bounds_and_caps() {
        let p = RetryPolicy::default()
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(700));
        let mut j = Jitter::new();
        for _ in 0..1000 {
            let r = j.next();
            let w1 = p.backoff(1, r);
            assert!(w1 >= Duration::from_millis(50) && w1 <= Duration::from_millis(100));
            let w3 = p.backoff(3, r);
            assert!(w3 >= Duration::from_millis(200) && w3 <= Duration::from_millis(400));
            let w9 = p.backoff(9, r);
            assert!(w9 >= Duration::from_millis(350) && w9 <= Duration::from_millis(700));
            assert!(p.backoff(u32::MAX, r) <= Duration::from_millis(700));
        }
        assert_eq!(
            RetryPolicy::default().max_attempts(0).max_attempts_value(),
            1
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
