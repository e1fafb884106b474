//! [`RequestStats`]: counters a handler bumps during one request, recorded when it ends.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Per-request statistics: one atomic counter for each name declared on the layer
/// ([`MetricsLayerBuilder::stats`](super::MetricsLayerBuilder::stats)).
///
/// The layer puts a fresh `RequestStats` in each request's extensions; handlers take it
/// (axum: `Extension<RequestStats>`) and count what they do. When the request ends, the
/// layer records each value into the histogram `http_server_request_stat_<name>` and
/// writes them into the request's `tracing` event. Clones share the counters, so a
/// handler can hand one to the tasks it spawns.
///
/// ```
/// # use prism_http::RequestStats;
/// async fn handler(axum::Extension(stats): axum::Extension<RequestStats>) -> &'static str {
///     stats.add("db_calls", 2);
///     "ok"
/// }
/// ```
///
/// Cost: a name lookup is a scan of the declared names (they are few by design), then one
/// relaxed atomic add.
#[derive(Clone)]
pub struct RequestStats {
    names: Arc<[Box<str>]>,
    values: Arc<[AtomicU64]>,
}

impl RequestStats {
    pub(crate) fn new(names: &Arc<[Box<str>]>) -> Self {
        Self {
            names: Arc::clone(names),
            values: names.iter().map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Adds `n` to the statistic `name`. Returns `false`, and counts nothing, when the layer
    /// did not declare `name`: declare it with
    /// [`MetricsLayerBuilder::stats`](super::MetricsLayerBuilder::stats).
    pub fn add(&self, name: &str, n: u64) -> bool {
        match self.index(name) {
            Some(i) => {
                self.values[i].fetch_add(n, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// The value of `name` so far, `None` when it was not declared.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.index(name)
            .map(|i| self.values[i].load(Ordering::Relaxed))
    }

    /// Every declared name with its value so far, in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.names
            .iter()
            .zip(self.values.iter())
            .map(|(name, value)| (&**name, value.load(Ordering::Relaxed)))
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| &**n == name)
    }
}

/// `name=value` pairs separated by spaces: the `stats` field of the request event.
impl fmt::Display for RequestStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, value)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{name}={value}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for RequestStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_declared_names_and_refuses_others() {
        let names: Arc<[Box<str>]> = vec!["db_calls".into(), "cache_hits".into()].into();
        let stats = RequestStats::new(&names);
        let clone = stats.clone();
        assert!(stats.add("db_calls", 2));
        assert!(clone.add("db_calls", 1));
        assert!(!stats.add("nope", 1));
        assert_eq!(stats.get("db_calls"), Some(3));
        assert_eq!(stats.get("cache_hits"), Some(0));
        assert_eq!(stats.get("nope"), None);
        assert_eq!(stats.to_string(), "db_calls=3 cache_hits=0");
    }
}
