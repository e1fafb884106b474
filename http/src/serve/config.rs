//! [`Config`]: how long a client may take and how many connections it may hold.

use std::time::Duration;

use super::Error;

/// The limits a server started by [`serve()`](crate::serve()) enforces on its clients.
///
/// The defaults suit a metrics or push endpoint, whose clients are a few scrapers or
/// exporters sending small requests:
///
/// | setting | default | bounds |
/// |---|---|---|
/// | [`header_read_timeout`](Self::header_read_timeout) | 5 s | a request head, from its first byte (from the accept for a connection's first request) |
/// | [`idle_timeout`](Self::idle_timeout) | 30 s | a kept-alive connection waiting for its next request |
/// | [`max_connections`](Self::max_connections) | 256 | connections open at once |
///
/// - 5 s for a head: a scrape's head is a few hundred bytes, one segment; 5 s leaves room
///   for two TCP retransmissions (1 s, then 2 s) and still frees the slot of a client that
///   sends half a head within seconds.
/// - 30 s idle: longer than Prometheus' default 15 s scrape interval, so a scraper keeps
///   its connection from one scrape to the next; short enough that a client which stops
///   scraping gives its slot back within half a minute. A client whose interval is longer
///   opens a new connection per request, which costs one handshake.
/// - 256 connections: two orders of magnitude above the handful of scrapers an endpoint
///   has, and a quarter of the usual 1024 file-descriptor soft limit (`ulimit -n`), so
///   that a full server still leaves the process descriptors for its own files and
///   outbound connections. Each open connection costs a descriptor, a task and its read
///   buffer (8 KiB to start). Keep this below the process's descriptor limit.
///
/// ```
/// use std::time::Duration;
///
/// let config = prism_http::Config::new()
///     .header_read_timeout(Duration::from_secs(2))
///     .idle_timeout(Duration::from_secs(90))
///     .max_connections(64);
/// # let _ = config;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    header_read_timeout: Duration,
    idle_timeout: Duration,
    max_connections: usize,
}

impl Config {
    /// [`header_read_timeout`](Self::header_read_timeout)'s default: 5 s.
    pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
    /// [`idle_timeout`](Self::idle_timeout)'s default: 30 s.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
    /// [`max_connections`](Self::max_connections)'s default: 256.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
    /// The largest [`max_connections`](Self::max_connections) accepted.
    pub const MAX_CONNECTIONS_LIMIT: usize = tokio::sync::Semaphore::MAX_PERMITS;

    /// The defaults (see the table above).
    pub const fn new() -> Self {
        Self {
            header_read_timeout: Self::DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }

    /// How long a client has to send a whole request head (request line and headers).
    ///
    /// The clock starts at the accept for a connection's first request, and at the first
    /// byte of each later request on a kept-alive connection. A connection over time is
    /// closed without a response, as Go's `net/http` does. Must not be zero.
    pub const fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// How long a kept-alive connection may wait, after a response, for the first byte of
    /// its next request before the server closes it. Must not be zero.
    pub const fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How many connections may be open at once, at least 1.
    ///
    /// A connection beyond the cap is not accepted until one closes: it waits in the
    /// listener's backlog (the kernel completes its handshake and holds it, up to the
    /// backlog's length, then refuses more), and is served in its turn. Waiting is chosen
    /// over accepting and closing at once because a burst of honest clients then gets late
    /// answers instead of resets, and the process spends no descriptor on a connection it
    /// would only close.
    pub const fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    pub(crate) fn header_read(&self) -> Duration {
        self.header_read_timeout
    }

    pub(crate) fn idle(&self) -> Duration {
        self.idle_timeout
    }

    pub(crate) fn connections(&self) -> usize {
        self.max_connections
    }

    /// Checks every setting, so that serving never starts with one it cannot honour.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.header_read_timeout.is_zero() {
            return Err(Error::config(
                "header_read_timeout",
                "is zero, which would close every connection at once; give it a few \
                 seconds (default 5 s)"
                    .to_owned(),
            ));
        }
        if self.idle_timeout.is_zero() {
            return Err(Error::config(
                "idle_timeout",
                "is zero, which would close every connection after its first response; \
                 give it some seconds (default 30 s)"
                    .to_owned(),
            ));
        }
        if self.max_connections == 0 {
            return Err(Error::config(
                "max_connections",
                "is 0, which would accept no connection; give it at least 1 (default 256)"
                    .to_owned(),
            ));
        }
        if self.max_connections > Self::MAX_CONNECTIONS_LIMIT {
            return Err(Error::config(
                "max_connections",
                format!(
                    "is {}, above the {} a server can count; keep it below the process's \
                     file-descriptor limit",
                    self.max_connections,
                    Self::MAX_CONNECTIONS_LIMIT
                ),
            ));
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_out_of_range_settings_are_named() {
        assert!(Config::default().validate().is_ok());
        assert_eq!(Config::default(), Config::new());
        for (config, setting) in [
            (
                Config::new().header_read_timeout(Duration::ZERO),
                "header_read_timeout",
            ),
            (Config::new().idle_timeout(Duration::ZERO), "idle_timeout"),
            (Config::new().max_connections(0), "max_connections"),
            (
                Config::new().max_connections(Config::MAX_CONNECTIONS_LIMIT + 1),
                "max_connections",
            ),
        ] {
            let err = config.validate().unwrap_err();
            assert_eq!(err.setting(), Some(setting));
            assert!(err.to_string().contains(setting), "{err}");
        }
        assert!(Config::new()
            .max_connections(Config::MAX_CONNECTIONS_LIMIT)
            .validate()
            .is_ok());
    }
}
