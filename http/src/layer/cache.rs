//! [`HandleCache`]: each thread's handles to the series it records into, found by a hash
//! of a few integers instead of a family lookup by five label strings.
//!
//! A family lookup hashes every label value and probes the family's table; the layer would
//! do five per request. The label values of a request are `'static` strings, or a route
//! whose text is shared for the life of the router (axum's `MatchedPath`, an `Arc<str>`),
//! so their addresses name them: the cache is keyed by those addresses and the status
//! code. An entry holds a clone of the route's owner, so that its text can be neither
//! freed nor replaced by other text at the same address while the entry lives. Route
//! strings made anew for each request (an owned `Cow` from a route function) are not
//! cached.
//!
//! The handles are clones held by the cache, so the series stay counted in their family
//! (its cardinality limit applies when a handle is first taken). Each thread keeps at most
//! [`MAX_ENTRIES`]; past that, requests take the family lookup.

use std::cell::RefCell;
use std::hash::Hasher;

use hashbrown::HashTable;
use prism_core::{Histogram, UpDownCounter};
use thread_local::ThreadLocal;

use super::metrics::HttpMetrics;
use super::route::Route;

/// Series handles each thread caches at most.
pub(crate) const MAX_ENTRIES: usize = 512;

/// The label values of one request. Every one but the route is a `'static` string, so its
/// address names it; the route's address names it while the cache holds its owner
/// ([`Route`]), which keeps the allocation from being freed and reused.
pub(crate) struct Key<'a> {
    pub(crate) method: &'static str,
    pub(crate) scheme: &'static str,
    pub(crate) route: &'a str,
    /// What keeps `route`'s text alive: `None` when it is not stable (made for this
    /// request), and then the request is not cached.
    pub(crate) owner: Option<&'a Route>,
    pub(crate) status: u16,
    pub(crate) error: &'static str,
}

impl Key<'_> {
    fn hash(&self) -> u64 {
        let mut h = FoldHasher::default();
        h.write_usize(self.method.as_ptr() as usize);
        h.write_usize(self.scheme.as_ptr() as usize);
        h.write_usize(self.route.as_ptr() as usize);
        h.write_usize(self.route.len());
        h.write_u64(u64::from(self.status));
        h.write_usize(self.error.as_ptr() as usize);
        h.write_usize(self.error.len());
        h.finish()
    }
}

/// The three histograms a finished request records into.
pub(crate) struct Handles {
    pub(crate) duration: Histogram,
    pub(crate) request_size: Histogram,
    pub(crate) response_size: Histogram,
}

struct Entry {
    hash: u64,
    method: usize,
    scheme: usize,
    route: (usize, usize),
    status: u16,
    error: (usize, usize),
    /// Keeps the route's text where `route` points, so that no other text can be there.
    _owner: Route,
    handles: Handles,
}

fn address(s: &str) -> (usize, usize) {
    (s.as_ptr() as usize, s.len())
}

impl Entry {
    fn matches(&self, key: &Key<'_>) -> bool {
        self.method == key.method.as_ptr() as usize
            && self.scheme == key.scheme.as_ptr() as usize
            && self.route == address(key.route)
            && self.status == key.status
            && self.error == address(key.error)
    }
}

#[derive(Default)]
struct Local {
    table: HashTable<Entry>,
    /// Active-request handles by `(method, scheme)` address, a handful.
    active: Vec<(usize, usize, UpDownCounter)>,
}

/// Per-thread series handles of one layer.
#[derive(Default)]
pub(crate) struct HandleCache {
    local: ThreadLocal<RefCell<Local>>,
}

impl std::fmt::Debug for HandleCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandleCache").finish_non_exhaustive()
    }
}

impl HandleCache {
    /// Runs `f` on the histograms of `key`, from this thread's cache, filling it from
    /// `metrics` on a miss.
    pub(crate) fn with_handles<R>(
        &self,
        metrics: &HttpMetrics,
        key: &Key<'_>,
        f: impl FnOnce(&Handles) -> R,
    ) -> R {
        let Some(owner) = key.owner else {
            return f(&lookup(metrics, key));
        };
        let hash = key.hash();
        let local = self.local.get_or_default();
        // A request recorded while this thread's cache is borrowed cannot happen (nothing
        // below calls back into the layer), but a failed borrow must never panic: take the
        // family lookups instead.
        let Ok(mut local) = local.try_borrow_mut() else {
            return f(&lookup(metrics, key));
        };
        if let Some(entry) = local.table.find(hash, |e| e.hash == hash && e.matches(key)) {
            return f(&entry.handles);
        }
        let handles = lookup(metrics, key);
        if local.table.len() >= MAX_ENTRIES {
            return f(&handles);
        }
        let entry = Entry {
            hash,
            method: key.method.as_ptr() as usize,
            scheme: key.scheme.as_ptr() as usize,
            route: address(key.route),
            status: key.status,
            error: address(key.error),
            _owner: owner.clone(),
            handles,
        };
        let entry = local.table.insert_unique(hash, entry, |e| e.hash);
        f(&entry.get().handles)
    }

    /// Runs `f` on the active-requests counter of `(method, scheme)`.
    pub(crate) fn with_active<R>(
        &self,
        metrics: &HttpMetrics,
        method: &'static str,
        scheme: &'static str,
        f: impl FnOnce(&UpDownCounter) -> R,
    ) -> R {
        let local = self.local.get_or_default();
        let Ok(mut local) = local.try_borrow_mut() else {
            return metrics.active.with(&[method, scheme], f);
        };
        let (m, s) = (method.as_ptr() as usize, scheme.as_ptr() as usize);
        if let Some((_, _, counter)) = local.active.iter().find(|(em, es, _)| *em == m && *es == s)
        {
            return f(counter);
        }
        let counter = metrics.active.get(&[method, scheme]);
        let result = f(&counter);
        // Method and scheme labels are a fixed set of statics: this stays small.
        if local.active.len() < 64 {
            local.active.push((m, s, counter));
        }
        result
    }
}

/// The handles of `key` from the families: a lookup by label values each.
pub(crate) fn lookup(metrics: &HttpMetrics, key: &Key<'_>) -> Handles {
    let code = http::StatusCode::from_u16(key.status).ok();
    let status = code.as_ref().map_or("", http::StatusCode::as_str);
    let labels = [key.method, key.route, status, key.error, key.scheme];
    Handles {
        duration: metrics.duration.get(&labels),
        request_size: metrics.request_size.get(&labels),
        response_size: metrics.response_size.get(&labels),
    }
}

/// A multiply-fold hasher for a few machine words (the key is addresses and small
/// integers, chosen by the process, not by a client, so no keyed hash is needed).
#[derive(Default)]
struct FoldHasher(u64);

impl Hasher for FoldHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        let folded = u128::from(self.0 ^ n) * 0x9E37_79B9_7F4A_7C15;
        self.0 = (folded as u64) ^ ((folded >> 64) as u64);
    }
    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prism_core::Registry;

    fn metrics(registry: &Registry) -> HttpMetrics {
        HttpMetrics::register(registry, 100, &[]).unwrap()
    }

    fn key<'a>(route: &'a Route, status: u16, error: &'static str) -> Key<'a> {
        Key {
            method: "GET",
            scheme: "http",
            route: route.as_str(""),
            owner: Some(route),
            status,
            error,
        }
    }

    fn named(s: &str) -> Route {
        Route::Named(std::borrow::Cow::Owned(s.to_owned()))
    }

    #[test]
    fn one_key_is_one_entry_and_one_series() {
        let registry = Registry::new();
        let metrics = metrics(&registry);
        let cache = HandleCache::default();
        let route = Route::Named(std::borrow::Cow::Borrowed("/a"));
        for _ in 0..1000 {
            cache.with_handles(&metrics, &key(&route, 200, ""), |h| h.duration.record(1));
        }
        let local = cache.local.get().unwrap().borrow();
        assert_eq!(local.table.len(), 1);
        assert_eq!(metrics.duration.len(), 1);
        assert_eq!(
            metrics
                .duration
                .get(&["GET", "/a", "200", "", "http"])
                .count(),
            1000
        );
    }

    /// Same text at another address is another entry of the same series; an entry keeps
    /// its route's text alive, so no other text can come to its address.
    #[test]
    fn entries_are_by_address_and_series_by_text() {
        let registry = Registry::new();
        let metrics = metrics(&registry);
        let cache = HandleCache::default();
        let (one, again, two) = (named("/one"), named("/one"), named("/two"));
        for route in [&one, &again, &two] {
            cache.with_handles(&metrics, &key(route, 200, ""), |h| h.duration.record(1));
        }
        assert_eq!(cache.local.get().unwrap().borrow().table.len(), 3);
        assert_eq!(
            metrics
                .duration
                .get(&["GET", "/one", "200", "", "http"])
                .count(),
            2
        );
        assert_eq!(
            metrics
                .duration
                .get(&["GET", "/two", "200", "", "http"])
                .count(),
            1
        );
    }

    /// Past `MAX_ENTRIES` keys, requests still land in their series, through the family.
    #[test]
    fn past_the_entry_limit_requests_take_the_family_lookup() {
        let registry = Registry::new();
        let metrics = HttpMetrics::register(&registry, 2 * MAX_ENTRIES, &[]).unwrap();
        let cache = HandleCache::default();
        let routes: Vec<Route> = (0..MAX_ENTRIES + 10)
            .map(|i| named(&format!("/r{i}")))
            .collect();
        for _ in 0..2 {
            for route in &routes {
                cache.with_handles(&metrics, &key(route, 200, ""), |h| h.duration.record(1));
            }
        }
        assert_eq!(cache.local.get().unwrap().borrow().table.len(), MAX_ENTRIES);
        for route in &routes {
            let labels = ["GET", route.as_str(""), "200", "", "http"];
            assert_eq!(metrics.duration.get(&labels).count(), 2);
        }
    }
}
