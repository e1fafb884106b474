//! Wall-clock start times of series, in nanoseconds since the Unix epoch.

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch, read from the system clock.
///
/// A clock set before 1970 reads as 0 rather than failing: a start time is
/// metadata, and a metric must never be lost because of the clock.
pub(crate) fn now_unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
