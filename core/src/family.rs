//! Labelled families with a cardinality limit: [`Family`], built by [`FamilyBuilder`].
//!
//! # How a lookup runs
//!
//! The series live in `S` shards (a power of two, about one per 64 series of the limit, at
//! most 64), each an immutable hash table behind an [`ArcSwap`] with a count of the tables
//! stored in it. A lookup hashes the label values and reads its shard's count; each thread
//! keeps its own copy of the tables it looked up in (an `Arc` and the count it was loaded
//! at), and while the count is the copy's, the lookup probes the copy: no lock, no
//! `arc-swap` load, no write to any shared cache line. It compares the values exactly and
//! updates the metric. When the count moved, the lookup loads the current table without a
//! lock and makes it the thread's copy. No allocation past a thread's first lookup in the
//! family.
//!
//! Inserts and removals take the family's write lock, copy one shard's table (a copy of
//! `len / S` pointers), change the copy and swap it in. Readers holding the old table keep
//! using it; the series in it are reference-counted, so nothing is freed under them. A
//! thread's copy of an old table lives until that thread's next lookup in the shard (or the
//! family's drop): see `docs/core.md` for what that costs.
//!
//! # Cardinality
//!
//! Past the limit a new label set is refused: the family counts it
//! ([`refused`](Family::refused)) and routes the update to the overflow series (labelled
//! `otel_metric_overflow="true"`) or drops it, as the family was built. A label value the
//! family cannot store (longer than [`MAX_LABEL_VALUE_BYTES`], or holding NUL, which the
//! Prometheus text format has no escape for) is refused the same way. A lookup with the
//! wrong number of values is a bug in the calling code, not a cardinality problem: it is
//! counted apart ([`arity_errors`](Family::arity_errors)), and asserted against in debug
//! builds. The check before
//! the lock is a plain load of the live count, so an update to a refused label set costs
//! about what a hot-series update costs; the check is repeated under the lock, so the live
//! count never passes the limit.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use crossbeam_utils::CachePadded;
use hashbrown::HashTable;
use thread_local::ThreadLocal;

use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::expiry::{Expiry, MAX_EXPIRE_AFTER};
use crate::labels::{Key, LabelValues, Values, MAX_LABEL_VALUE_BYTES, PACKED};
use crate::metric::{Metric, Value};
use crate::primitive::{AtomicU64, AtomicUsize, Ordering};
use crate::time::now_unix_nanos;

/// The default cardinality limit, OpenTelemetry's.
pub const DEFAULT_CARDINALITY_LIMIT: usize = 2000;

/// The largest cardinality limit a family accepts. A family at a million series holds about
/// 100 MB of series, and each insert copies a shard's table of 15,625 pointers: past that,
/// split the family (by a label whose values are few) or drop the label that explodes.
pub const MAX_CARDINALITY_LIMIT: usize = 1_000_000;

/// Series per shard the shard count aims at: small enough that copying a shard's table on
/// insert stays cheap, large enough that a small family is one shard.
const SERIES_PER_SHARD: usize = 64;
const MAX_SHARDS: usize = 64;

/// Series whose values a read takes in one go before handing them to the visitor (see
/// `Family::for_each_value`): enough misses to overlap, few enough that the series just read
/// are still in the L1 cache when the visitor reads their labels.
const READ_CHUNK: usize = 32;

/// What a family does with a label set past its cardinality limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Overflow {
    /// Route its updates to one overflow series, labelled `otel_metric_overflow="true"`,
    /// so that the family's totals stay right. The default, as in OpenTelemetry.
    #[default]
    Series,
    /// Drop its updates. The family's totals then undercount by what
    /// [`refused`](Family::refused) shows. Refused lookups all get one shared handle that
    /// no read reaches; its own value means nothing.
    Drop,
}

/// One series of a family: its label values, when it started, its metric.
pub(crate) struct Series<M> {
    pub(crate) labels: LabelValues,
    /// Start time; the read path yields series in this order, ties broken by label values.
    pub(crate) created: u64,
    pub(crate) metric: M,
}

/// Series are held by `triomphe::Arc`: no weak count, 8 bytes less per series than
/// `std::sync::Arc`, and the family never needs a weak reference.
type Table<M> = HashTable<SeriesArc<M>>;

/// The live series in read order, and the sum of the shards' store counts it was built
/// from.
struct ReadOrder<M> {
    version: u64,
    series: Arc<[SeriesArc<M>]>,
}
pub(crate) type SeriesArc<M> = triomphe::Arc<Series<M>>;

/// One shard: its table, and how many tables were stored in it, which tells a thread's
/// copy of the table (in [`Local`]) apart from the current one.
struct Shard<M> {
    table: ArcSwap<Table<M>>,
    stores: AtomicU64,
}

impl<M> Shard<M> {
    fn new() -> Self {
        Self {
            table: ArcSwap::from_pointee(HashTable::new()),
            stores: AtomicU64::new(0),
        }
    }

    /// Swaps in a changed table; the caller holds the family's write lock. Returns the
    /// table and the store count that goes with it.
    fn store(&self, table: Table<M>) -> (u64, Arc<Table<M>>) {
        let table = Arc::new(table);
        self.table.store(table.clone());
        // Release pairs with the lookups' Acquire: a thread that reads this count loads
        // this table or a newer one.
        let stores = self.stores.fetch_add(1, Ordering::Release) + 1;
        (stores, table)
    }
}

/// A thread's copy of one shard's table, with the store count it was loaded at; `None` (and
/// `u64::MAX`, which no count reaches) before the first.
type TableCopy<M> = (u64, Option<Arc<Table<M>>>);

/// The shard tables one thread looked up in, each with the shard's store count when it was
/// loaded. While the count is unchanged the thread's copy is the current table, and a
/// lookup uses it without touching any shared cache line but the count's (read-only) and
/// the metric's. A copy may outlive its table's replacement until this thread next looks
/// up in that shard (or the family is dropped): it keeps the series it held alive, never
/// reachable from the registry.
struct Local<M> {
    shards: Box<[TableCopy<M>]>,
}
type MakeFn<M> = Box<dyn Fn() -> M + Send + Sync>;

/// A labelled family of metrics of one kind, with fixed label names and a cardinality limit.
///
/// Cloning shares the family. Handles returned by [`get`](Family::get) are owned clones of
/// the series' metric: keep one for the hot path and the update is a single atomic
/// operation. A handle outlives the removal of its series, but its updates then reach no
/// registry: look the series up again after removing it.
///
/// ```
/// use prism_core::{Counter, Family, Registry};
///
/// let registry = Registry::new();
/// let requests = registry.register(
///     "http_requests",
///     "Requests served, by method and status.",
///     Family::<Counter>::new(["method", "code"]),
/// )?;
///
/// requests.get(&["GET", "200"]).inc();            // look up and update
/// let post_ok = requests.get(&["POST", "200"]);   // or keep the handle
/// post_ok.add(2);
/// requests.with(&["GET", "200"], |c| c.inc());    // or update without cloning the handle
///
/// assert_eq!(requests.get(&["GET", "200"]).get(), 2);
/// assert_eq!(requests.len(), 2);
/// assert!(requests.remove(&["POST", "200"]));
/// assert_eq!(requests.len(), 1);
/// # Ok::<(), prism_core::Error>(())
/// ```
pub struct Family<M: Metric> {
    inner: Arc<Inner<M>>,
}

struct Inner<M: Metric> {
    label_names: Box<[String]>,
    limit: usize,
    overflow_policy: Overflow,
    /// Random per family, so that label values chosen by an attacker cannot be made to
    /// collide in every process.
    seed: u64,
    shards: Box<[Shard<M>]>,
    /// Each thread's copy of the shard tables it looked up in (see [`Local`]).
    /// Padded: `thread_local` keeps several threads' entries side by side, and every
    /// lookup writes its entry's borrow flag.
    local: ThreadLocal<CachePadded<RefCell<Local<M>>>>,
    /// Live series, the overflow series excluded. Written under `write` only.
    len: AtomicUsize,
    /// Label sets refused: past the limit, or with a value the family cannot store.
    refused: AtomicU64,
    /// Lookups given the wrong number of label values.
    arity_errors: AtomicU64,
    /// Whether the series' values count towards `prism_updates` (see
    /// [`telemetry::counts_updates`]).
    counts_updates: bool,
    /// What the series removed from the family had counted, when `counts_updates`: added
    /// (Release) after the series left its table, so that a read which sees the addition
    /// reads a table without the series (see [`Family::for_each_value`]).
    retired: AtomicU64,
    /// Serialises inserts and removals.
    write: Mutex<()>,
    /// The series in read order, as of a sum of the shards' store counts: rebuilt by a read
    /// after a change (the sum moved), shared
    /// by reads until the next one. Readers hold its lock only to swap or clone the `Arc`.
    order: Mutex<ReadOrder<M>>,
    overflow: OnceLock<SeriesArc<M>>,
    /// Where dropped updates go under [`Overflow::Drop`]: never read.
    sink: M,
    /// Removal of idle series, when built with `expire_after`.
    expiry: Option<Expiry<M>>,
    make: MakeFn<M>,
}

impl<M: Metric + Default> Family<M> {
    /// A family with these label names, the default limit (2000) and an overflow series.
    ///
    /// Label names are checked when the family is registered.
    pub fn new<I>(label_names: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Self::builder(label_names).into_family(M::default)
    }
}

impl<M: Metric> Family<M> {
    /// Starts a family with these label names; set the limit, the overflow policy and how
    /// each series' metric is made, then build.
    ///
    /// ```
    /// use prism_core::{Capped, Family, Overflow};
    /// let budgets = Family::builder(["tenant"])
    ///     .cardinality_limit(100)
    ///     .overflow(Overflow::Drop)
    ///     .build_with(|| Capped::new(1000))?;
    /// assert!(budgets.get(&["acme"]).try_inc());
    /// # Ok::<(), prism_core::Error>(())
    /// ```
    pub fn builder<I>(label_names: I) -> FamilyBuilder<M>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        FamilyBuilder {
            label_names: label_names.into_iter().map(Into::into).collect(),
            limit: DEFAULT_CARDINALITY_LIMIT,
            overflow: Overflow::default(),
            expire_after: None,
            clock: None,
            metric: PhantomData,
        }
    }

    /// The handle of the series with these label values, created if it does not exist.
    ///
    /// Past the cardinality limit, or with a value the family cannot store (longer than
    /// [`MAX_LABEL_VALUE_BYTES`], or holding NUL), the label set is counted as refused and
    /// the handle is the overflow series' (or, under [`Overflow::Drop`], one whose updates
    /// are dropped). It never fails.
    ///
    /// # Panics
    ///
    /// In debug builds, when given the wrong number of label values, a bug in the calling
    /// code. A release build counts the call in [`arity_errors`](Self::arity_errors)
    /// (`prism_label_arity_errors` in self-telemetry) and hands out the refused label sets'
    /// handle; a debug build does the same, then panics. [`try_get`](Self::try_get) returns
    /// an error instead.
    #[inline]
    pub fn get<S: AsRef<str>>(&self, values: &[S]) -> M {
        self.with(values, M::clone)
    }

    /// Like [`get`](Self::get), but a wrong number of label values is an error (not counted
    /// in [`arity_errors`](Self::arity_errors), not a panic). Past the limit it still
    /// returns the overflow (or dropping) handle.
    pub fn try_get<S: AsRef<str>>(&self, values: &[S]) -> Result<M, Error> {
        self.check_count(values)?;
        Ok(self.get(values))
    }

    /// Runs `f` on the metric of the series with these label values, creating the series
    /// if needed, without cloning the handle. The cheapest way to look up and update.
    ///
    /// Refused lookups run `f` on the overflow (or dropping) metric, as [`get`](Self::get).
    ///
    /// # Panics
    ///
    /// In debug builds, when given the wrong number of label values, after running `f` as
    /// a release build does: see [`get`](Self::get).
    #[inline]
    pub fn with<S: AsRef<str>, R>(&self, values: &[S], f: impl FnOnce(&M) -> R) -> R {
        let inner = &*self.inner;
        if values.len() != inner.label_names.len() {
            return self.wrong_arity(values.len(), f);
        }
        let mut buf = [0; PACKED];
        let key = Key::new(inner.seed, values, &mut buf);
        let hash = key.hash();
        let index = inner.shard_index(hash);
        let shard = &inner.shards[index];
        // Acquire pairs with the store's Release: the table loaded below (if the copy is
        // stale) is at least as new as this count says.
        let stores = shard.stores.load(Ordering::Acquire);
        let local = inner.local.get_or(|| inner.new_local());
        // A lookup from inside `f` (of this family, on this thread) shares this borrow; one
        // that must replace the copy cannot while `f` runs, and goes the shared way without
        // replacing it, as a stale copy's lookup does when the copy is borrowed.
        if let Ok(local) = local.try_borrow() {
            if let (copied, Some(table)) = &local.shards[index] {
                if *copied == stores {
                    if let Some(series) = table.find(hash, |s| key.matches(&s.labels)) {
                        return f(&series.metric);
                    }
                    drop(local);
                    return self.miss(&key, f);
                }
            }
        }
        self.lookup_shared(index, stores, &key, f)
    }

    /// Removes the series with these label values; says whether it existed (never, with the
    /// wrong number of values). Handles to it keep working but no longer reach the
    /// registry. What the series counted stays in `prism_updates`.
    pub fn remove<S: AsRef<str>>(&self, values: &[S]) -> bool {
        let inner = &*self.inner;
        if values.len() != inner.label_names.len() {
            return false;
        }
        let mut buf = [0; PACKED];
        let key = Key::new(inner.seed, values, &mut buf);
        let hash = key.hash();
        let _write = inner.lock();
        let shard = &inner.shards[inner.shard_index(hash)];
        let current = shard.table.load_full();
        if current.find(hash, |s| key.matches(&s.labels)).is_none() {
            return false;
        }
        let mut table = (*current).clone();
        let removed = match table.find_entry(hash, |s| key.matches(&s.labels)) {
            Ok(entry) => Some(entry.remove().0),
            Err(_) => None,
        };
        let (stores, table) = shard.store(table);
        inner.remember(inner.shard_index(hash), stores, &table);
        inner.len.fetch_sub(1, Ordering::Relaxed);
        inner.retire(removed.iter());
        true
    }

    /// Removes every series, the overflow series' count excepted (it is not a label set
    /// anyone can name, and its total keeps the family's sum right). What the series
    /// counted stays in `prism_updates`.
    pub fn clear(&self) {
        let inner = &*self.inner;
        let _write = inner.lock();
        let mut removed = Vec::new();
        for (index, shard) in inner.shards.iter().enumerate() {
            let old = shard.table.load_full();
            let (stores, table) = shard.store(HashTable::new());
            inner.remember(index, stores, &table);
            removed.push(old);
        }
        inner.len.store(0, Ordering::Relaxed);
        inner.retire(removed.iter().flat_map(|table| table.iter()));
    }

    /// Removes the series idle for the family's [`expire_after`](FamilyBuilder::expire_after)
    /// (see [`expiry`](crate::expiry) for how idleness is seen) and returns how many it
    /// removed; 0 for a family built without expiry. Every read of a registry runs it on
    /// the families it holds before reading them; call it yourself for a family read
    /// otherwise. What the removed series counted stays in `prism_updates`, as with
    /// [`remove`](Self::remove); a label set looked up again starts a new series, from zero,
    /// with a new start time.
    ///
    /// A handle kept from [`get`](Self::get) outlives its series' expiry as it outlives a
    /// removal: its updates then reach no registry. In a family with expiry, look the series
    /// up on each update ([`with`](Self::with), or `get` without keeping the handle).
    pub fn expire_idle(&self) -> usize {
        let inner = &*self.inner;
        match &inner.expiry {
            Some(expiry) => inner.remove_idle(expiry.sweep(&inner.read_order())),
            None => 0,
        }
    }

    /// How long a series may stay unchanged before it is removed, if the family was built
    /// with [`expire_after`](FamilyBuilder::expire_after).
    pub fn expire_after(&self) -> Option<Duration> {
        self.inner.expiry.as_ref().map(|e| e.after)
    }

    /// The number of live series, the overflow series excluded.
    pub fn len(&self) -> usize {
        self.inner.len.load(Ordering::Relaxed)
    }

    /// Whether the family holds no series.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Label sets refused so far: lookups of a new label set past the limit, and lookups
    /// with a value the family cannot store (longer than [`MAX_LABEL_VALUE_BYTES`], or
    /// holding NUL). Each refused lookup counts once. Lookups with the wrong number of
    /// values are not in it: see [`arity_errors`](Self::arity_errors).
    pub fn refused(&self) -> u64 {
        self.inner.refused.load(Ordering::Relaxed)
    }

    /// Calls of [`get`](Self::get) or [`with`](Self::with) given the wrong number of label
    /// values (a debug build panics on each, after counting it). Their updates went where
    /// refused label sets' go. [`try_get`](Self::try_get) and [`remove`](Self::remove)
    /// report a wrong count to their caller instead, and are not counted.
    pub fn arity_errors(&self) -> u64 {
        self.inner.arity_errors.load(Ordering::Relaxed)
    }

    /// The cardinality limit.
    pub fn cardinality_limit(&self) -> usize {
        self.inner.limit
    }

    /// What happens past the limit.
    pub fn overflow_policy(&self) -> Overflow {
        self.inner.overflow_policy
    }

    /// The label names, in the order values are given.
    pub fn label_names(&self) -> &[String] {
        &self.inner.label_names
    }

    fn check_count<S>(&self, values: &[S]) -> Result<(), Error> {
        let expected = self.inner.label_names.len();
        if values.len() == expected {
            Ok(())
        } else {
            Err(Error::LabelCount {
                expected,
                got: values.len(),
            })
        }
    }

    /// A lookup in the shard's current table, which it copies for this thread's next
    /// lookups when it can.
    #[inline(never)]
    fn lookup_shared<S: AsRef<str>, R>(
        &self,
        index: usize,
        stores: u64,
        key: &Key<'_, S>,
        f: impl FnOnce(&M) -> R,
    ) -> R {
        let inner = &*self.inner;
        let table = inner.shards[index].table.load_full();
        inner.remember(index, stores, &table);
        match table.find(key.hash(), |s| key.matches(&s.labels)) {
            Some(series) => f(&series.metric),
            None => self.miss(key, f),
        }
    }

    #[cold]
    #[inline(never)]
    fn miss<S: AsRef<str>, R>(&self, key: &Key<'_, S>, f: impl FnOnce(&M) -> R) -> R {
        let inner = &*self.inner;
        let (hash, values) = (key.hash(), key.values());
        // Checked on a miss only: a series that exists passed this check when it was made.
        let unstorable = values.iter().any(|v| {
            let v = v.as_ref();
            v.len() > MAX_LABEL_VALUE_BYTES || v.contains('\0')
        });
        if unstorable || inner.len.load(Ordering::Relaxed) >= inner.limit {
            return self.refuse(f);
        }
        let series = {
            let write = inner.lock();
            let index = inner.shard_index(hash);
            let shard = &inner.shards[index];
            let current = shard.table.load_full();
            if let Some(series) = current.find(hash, |s| key.matches(&s.labels)) {
                series.clone()
            } else if inner.len.load(Ordering::Relaxed) >= inner.limit {
                drop(write);
                return self.refuse(f);
            } else {
                let series = SeriesArc::new(Series {
                    labels: LabelValues::new(values),
                    created: now_unix_nanos(),
                    metric: (inner.make)(),
                });
                let mut table = (*current).clone();
                table.insert_unique(hash, series.clone(), |s| s.labels.hash(inner.seed));
                let (stores, table) = shard.store(table);
                // This thread's copy becomes the new table rather than staying an old one
                // (garbage until its next lookup in the shard).
                inner.remember(index, stores, &table);
                inner.len.fetch_add(1, Ordering::Relaxed);
                series
            }
        };
        f(&series.metric)
    }

    #[cold]
    fn refuse<R>(&self, f: impl FnOnce(&M) -> R) -> R {
        self.inner.refused.fetch_add(1, Ordering::Relaxed);
        self.route_refused(f)
    }

    /// A lookup with `given` values for a family of another number of label names: counted,
    /// routed as a refused label set is (so a release build keeps the family's totals), and
    /// in a debug build a panic after all that, so that a test which catches it sees the
    /// state a release build leaves.
    #[cold]
    #[inline(never)]
    fn wrong_arity<R>(&self, given: usize, f: impl FnOnce(&M) -> R) -> R {
        let inner = &*self.inner;
        inner.arity_errors.fetch_add(1, Ordering::Relaxed);
        let result = self.route_refused(f);
        debug_assert_eq!(
            given,
            inner.label_names.len(),
            "{given} label values given to the family with label names {:?}: pass one value \
             per label name, in their order (counted in prism_label_arity_errors; \
             `try_get` returns an error instead)",
            inner.label_names
        );
        result
    }

    /// Runs `f` on the overflow series' metric, or the sink's under [`Overflow::Drop`].
    fn route_refused<R>(&self, f: impl FnOnce(&M) -> R) -> R {
        let inner = &*self.inner;
        match inner.overflow_policy {
            Overflow::Series => f(&inner.overflow_series().metric),
            Overflow::Drop => f(&inner.sink),
        }
    }

    /// Calls `f` on every series: live ones in order of start time (ties by label values),
    /// then the overflow series.
    /// Holds no lock while `f` runs; writers keep writing.
    #[cfg(test)]
    pub(crate) fn for_each_series(&self, mut f: impl FnMut(SeriesRef<'_, M>)) {
        let inner = &*self.inner;
        let order = inner.read_order();
        for series in order.iter() {
            f(SeriesRef {
                values: Some(series.labels.iter()),
                series,
            });
        }
        if let Some(series) = inner.overflow.get() {
            f(SeriesRef {
                values: None,
                series,
            });
        }
    }

    /// Like [`for_each_series`](Self::for_each_series), with each series' value read once.
    /// The values of [`READ_CHUNK`] series are read in one tight loop before `f` sees the
    /// first of them: the metrics live in allocations of their own, a read of a large family
    /// misses the cache on most of them, and misses taken back to back overlap, where misses
    /// taken one per call of a visitor that formats text in between wait one after the other.
    ///
    /// Returns what the family counts towards `prism_updates` as of this read (0 for a
    /// family whose metric does not count): the removed series' sum, loaded before the list
    /// of series, plus the values read. Loaded in that order, a removal racing the read is
    /// never counted twice: if the load sees the series' retirement (Acquire, paired with
    /// the Release in [`Inner::retire`]), it also sees the table store that came before it,
    /// and the list read next no longer holds the series. It may be counted in neither,
    /// which the registry's reported total absorbs.
    pub(crate) fn for_each_value(&self, mut f: impl FnMut(SeriesRef<'_, M>, Value)) -> u64 {
        let inner = &*self.inner;
        let mut updates = inner.retired.load(Ordering::Acquire);
        let order = inner.read_order();
        let mut values: Vec<Value> = Vec::with_capacity(READ_CHUNK.min(order.len()));
        for chunk in order.chunks(READ_CHUNK) {
            values.extend(chunk.iter().map(|series| series.metric.read()));
            for (series, value) in chunk.iter().zip(values.drain(..)) {
                updates = updates.wrapping_add(inner.updates_in(&value));
                f(
                    SeriesRef {
                        values: Some(series.labels.iter()),
                        series,
                    },
                    value,
                );
            }
        }
        if let Some(series) = inner.overflow.get() {
            let value = series.metric.read();
            updates = updates.wrapping_add(inner.updates_in(&value));
            f(
                SeriesRef {
                    values: None,
                    series,
                },
                value,
            );
        }
        updates
    }

    /// Reads every series' value now, to be handed out later by [`ReadAhead::for_each`]:
    /// for a family whose `prism_updates` share is needed before its turn in name order.
    /// Same order of loads, and same return, as [`for_each_value`](Self::for_each_value).
    pub(crate) fn read_ahead_values(&self) -> ReadAhead<M> {
        let inner = &*self.inner;
        let mut updates = inner.retired.load(Ordering::Acquire);
        let order = inner.read_order();
        let values: Vec<Value> = order.iter().map(|series| series.metric.read()).collect();
        let overflow = inner
            .overflow
            .get()
            .map(|series| (series.clone(), series.metric.read()));
        for value in values.iter().chain(overflow.iter().map(|(_, v)| v)) {
            updates = updates.wrapping_add(inner.updates_in(value));
        }
        ReadAhead {
            order,
            values,
            overflow,
            updates,
        }
    }

    /// Whether the family's series count towards `prism_updates`.
    pub(crate) fn counts_updates(&self) -> bool {
        self.inner.counts_updates
    }

    /// Live series plus the overflow series if it exists: what the family exposes.
    pub(crate) fn exposed_series(&self) -> usize {
        self.len() + usize::from(self.inner.overflow.get().is_some())
    }
}

/// A random 64-bit seed from std's per-process random hasher keys, varied per call.
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    RandomState::new().hash_one(CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// The values of a family read ahead of their turn: see [`Family::read_ahead`].
pub(crate) struct ReadAhead<M> {
    order: Arc<[SeriesArc<M>]>,
    values: Vec<Value>,
    overflow: Option<(SeriesArc<M>, Value)>,
    updates: u64,
}

impl<M> ReadAhead<M> {
    /// What the family counts towards `prism_updates`, as of the read.
    pub(crate) fn updates(&self) -> u64 {
        self.updates
    }

    /// Hands each series and the value read for it to `f`, in read order.
    pub(crate) fn for_each(self, mut f: impl FnMut(SeriesRef<'_, M>, Value)) {
        for (series, value) in self.order.iter().zip(self.values) {
            f(
                SeriesRef {
                    values: Some(series.labels.iter()),
                    series,
                },
                value,
            );
        }
        if let Some((series, value)) = &self.overflow {
            f(
                SeriesRef {
                    values: None,
                    series,
                },
                value.clone(),
            );
        }
    }
}

/// One series as the read path sees it; `values` is `None` for the overflow series.
pub(crate) struct SeriesRef<'a, M> {
    pub(crate) values: Option<Values<'a>>,
    pub(crate) series: &'a Series<M>,
}

impl<M: Metric> Inner<M> {
    /// Removes the series an expiry sweep found idle, each only if it still holds the value
    /// the sweep saw (an update since keeps it) and is still in its table (not removed, nor
    /// replaced by a new series of its label set, since); returns how many it removed. Each
    /// changed shard is copied and stored once; what the removed series counted is retired
    /// as [`Family::remove`] retires it, so an update that lands on a series between the
    /// check and the removal still counts in `prism_updates`.
    fn remove_idle(&self, mut idle: Vec<crate::expiry::Idle<M>>) -> usize {
        // Checked before the lock: a closure-backed metric's read runs user code, which may
        // look up in this family.
        idle.retain(|i| crate::expiry::unchanged(&i.series.metric.read(), &i.value));
        if idle.is_empty() {
            return 0;
        }
        let _write = self.lock();
        let hash = |s: &SeriesArc<M>| s.labels.hash(self.seed);
        idle.sort_unstable_by_key(|i| self.shard_index(hash(&i.series)));
        let mut removed = Vec::new();
        for group in idle
            .chunk_by(|a, b| self.shard_index(hash(&a.series)) == self.shard_index(hash(&b.series)))
        {
            let index = self.shard_index(hash(&group[0].series));
            let shard = &self.shards[index];
            let mut table = (*shard.table.load_full()).clone();
            let before = removed.len();
            for i in group {
                let found =
                    table.find_entry(hash(&i.series), |s| triomphe::Arc::ptr_eq(s, &i.series));
                if let Ok(entry) = found {
                    removed.push(entry.remove().0);
                }
            }
            if removed.len() > before {
                let (stores, table) = shard.store(table);
                self.remember(index, stores, &table);
            }
        }
        self.len.fetch_sub(removed.len(), Ordering::Relaxed);
        self.retire(removed.iter());
        removed.len()
    }

    /// What `value`, read from one of this family's series, adds to `prism_updates`.
    #[inline]
    fn updates_in(&self, value: &Value) -> u64 {
        match value {
            Value::Counter(v) if self.counts_updates => *v,
            _ => 0,
        }
    }

    /// Adds what `removed` series counted to the retired sum; the caller holds the write
    /// lock and has stored the tables without them. Release: see `retired`.
    fn retire<'a>(&self, removed: impl Iterator<Item = &'a SeriesArc<M>>) {
        if !self.counts_updates {
            return;
        }
        let sum = removed.fold(0u64, |sum, series| {
            sum.wrapping_add(self.updates_in(&series.metric.read()))
        });
        self.retired.fetch_add(sum, Ordering::Release);
    }

    #[inline]
    fn shard_index(&self, hash: u64) -> usize {
        // Bits 32.. pick the shard: hashbrown takes its bucket index from the low bits and
        // its tag from the top seven, so the shard choice does not thin either.
        (hash >> 32) as usize & (self.shards.len() - 1)
    }

    /// Makes `table`, as of store count `stores`, this thread's copy of shard `index`,
    /// unless the copy is borrowed (a lookup running a closure up the stack).
    fn remember(&self, index: usize, stores: u64, table: &Arc<Table<M>>) {
        let local = self.local.get_or(|| self.new_local());
        if let Ok(mut local) = local.try_borrow_mut() {
            local.shards[index] = (stores, Some(table.clone()));
        }
    }

    /// A thread's first copy: nothing copied yet (no store count reaches `u64::MAX`).
    #[cold]
    fn new_local(&self) -> CachePadded<RefCell<Local<M>>> {
        CachePadded::new(RefCell::new(Local {
            shards: self.shards.iter().map(|_| (u64::MAX, None)).collect(),
        }))
    }

    /// The live series in order of start time (ties by label values), rebuilt only if the
    /// tables changed since the last read: steady-state reads skip the collect and the sort.
    fn read_order(&self) -> Arc<[SeriesArc<M>]> {
        // Each count only grows, and each is bumped (Release) after its table's store: a read
        // whose sum equals the cached one saw every count unchanged, and the tables it loads
        // are at least as new as the counts it summed.
        let version = self.shards.iter().fold(0u64, |sum, s| {
            sum.wrapping_add(s.stores.load(Ordering::Acquire))
        });
        let mut order = self.order.lock().unwrap_or_else(|p| p.into_inner());
        if order.version != version {
            let tables: Vec<Arc<Table<M>>> =
                self.shards.iter().map(|s| s.table.load_full()).collect();
            let mut all: Vec<SeriesArc<M>> =
                Vec::with_capacity(tables.iter().map(|t| t.len()).sum());
            all.extend(tables.iter().flat_map(|t| t.iter()).cloned());
            all.sort_unstable_by(|a, b| {
                a.created
                    .cmp(&b.created)
                    .then_with(|| a.labels.cmp(&b.labels))
            });
            *order = ReadOrder {
                version,
                series: all.into(),
            };
        }
        order.series.clone()
    }

    /// The write lock; a panic in another writer leaves the tables consistent (each change
    /// is one swap), so a poisoned lock is recovered.
    fn lock(&self) -> MutexGuard<'_, ()> {
        self.write
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn overflow_series(&self) -> &Series<M> {
        self.overflow.get_or_init(|| {
            SeriesArc::new(Series {
                labels: LabelValues::new::<&str>(&[]),
                created: now_unix_nanos(),
                metric: (self.make)(),
            })
        })
    }
}

impl<M: Metric> Clone for Family<M> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<M: Metric> fmt::Debug for Family<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Family")
            .field("label_names", &self.inner.label_names)
            .field("len", &self.len())
            .field("cardinality_limit", &self.inner.limit)
            .field("overflow", &self.inner.overflow_policy)
            .field("refused", &self.refused())
            .field("arity_errors", &self.arity_errors())
            .field("expire_after", &self.expire_after())
            .finish()
    }
}

/// Builds a [`Family`]: made by [`Family::builder`].
pub struct FamilyBuilder<M> {
    label_names: Vec<String>,
    limit: usize,
    overflow: Overflow,
    expire_after: Option<Duration>,
    clock: Option<Arc<dyn Clock>>,
    metric: PhantomData<fn() -> M>,
}

impl<M> fmt::Debug for FamilyBuilder<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FamilyBuilder")
            .field("label_names", &self.label_names)
            .field("limit", &self.limit)
            .field("overflow", &self.overflow)
            .field("expire_after", &self.expire_after)
            .finish()
    }
}

impl<M: Metric> FamilyBuilder<M> {
    /// The most live series the family holds (default 2000). `build` refuses 0 and anything
    /// above [`MAX_CARDINALITY_LIMIT`].
    pub fn cardinality_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// What happens to label sets past the limit (default [`Overflow::Series`]).
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// Removes each series whose value has not changed for `after`, as seen by the reads
    /// of the registry (see [`Family::expire_idle`]); what it counted stays in
    /// `prism_updates`. `build` refuses zero and anything above [`MAX_EXPIRE_AFTER`]. The
    /// overflow series never expires.
    ///
    /// ```
    /// use std::time::Duration;
    /// use prism_core::{Counter, Family, ManualClock};
    /// let clock = ManualClock::new();
    /// let peers = Family::<Counter>::builder(["peer"])
    ///     .expire_after(Duration::from_secs(300))
    ///     .clock(clock.clone())
    ///     .build()?;
    /// peers.with(&["10.0.0.1"], Counter::inc);
    /// peers.expire_idle(); // sees the series (a registry read does this)
    /// clock.advance(Duration::from_secs(300));
    /// assert_eq!(peers.expire_idle(), 1); // unchanged for 300 s: removed
    /// assert!(peers.is_empty());
    /// # Ok::<(), prism_core::Error>(())
    /// ```
    pub fn expire_after(mut self, after: Duration) -> Self {
        self.expire_after = Some(after);
        self
    }

    /// The clock expiry measures idleness by (default: [`SystemClock`]); tests move a
    /// [`ManualClock`](crate::ManualClock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Builds a family whose series start from `M::default()`.
    pub fn build(self) -> Result<Family<M>, Error>
    where
        M: Default,
    {
        self.build_with(M::default)
    }

    /// Builds a family whose series start from `make()`, for metrics without a default
    /// (a [`Capped`](crate::Capped) needs its cap).
    pub fn build_with(
        self,
        make: impl Fn() -> M + Send + Sync + 'static,
    ) -> Result<Family<M>, Error> {
        if !(1..=MAX_CARDINALITY_LIMIT).contains(&self.limit) {
            return Err(Error::InvalidCardinalityLimit {
                family: String::new(),
                limit: self.limit,
            });
        }
        if let Some(after) = self.expire_after {
            if after.is_zero() || after > MAX_EXPIRE_AFTER {
                return Err(Error::InvalidExpiry {
                    family: String::new(),
                    after,
                });
            }
        }
        Ok(self.into_family(make))
    }

    /// Builds with a limit already known to be in `1..=MAX_CARDINALITY_LIMIT` and an expiry,
    /// if any, in `(0, MAX_EXPIRE_AFTER]`.
    fn into_family(self, make: impl Fn() -> M + Send + Sync + 'static) -> Family<M> {
        let shards = self
            .limit
            .div_ceil(SERIES_PER_SHARD)
            .next_power_of_two()
            .min(MAX_SHARDS);
        Family {
            inner: Arc::new(Inner {
                label_names: self.label_names.into_boxed_slice(),
                limit: self.limit,
                overflow_policy: self.overflow,
                seed: random_seed(),
                shards: (0..shards).map(|_| Shard::new()).collect(),
                local: ThreadLocal::new(),
                len: AtomicUsize::new(0),
                refused: AtomicU64::new(0),
                arity_errors: AtomicU64::new(0),
                counts_updates: crate::telemetry::counts_updates::<M>(),
                retired: AtomicU64::new(0),
                write: Mutex::new(()),
                order: Mutex::new(ReadOrder {
                    version: u64::MAX,
                    series: Arc::new([]),
                }),
                overflow: OnceLock::new(),
                sink: make(),
                expiry: self.expire_after.map(|after| {
                    let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock::new()));
                    Expiry::new(after, clock)
                }),
                make: Box::new(make),
            }),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::{Counter, Gauge};

    fn values_of<M: Metric>(family: &Family<M>) -> Vec<(Option<Vec<String>>, crate::Value)> {
        let mut out = Vec::new();
        family.for_each_series(|s| {
            out.push((
                s.values.map(|v| v.map(str::to_owned).collect()),
                s.series.metric.read(),
            ))
        });
        out
    }

    #[test]
    fn lookups_find_the_same_series() {
        let f = Family::<Counter>::new(["a", "b"]);
        f.get(&["x", "y"]).inc();
        f.get(&[String::from("x"), String::from("y")]).inc();
        f.with(&["x", "y"], Counter::inc);
        f.get(&["x", ""]).inc();
        assert_eq!(f.len(), 2);
        assert_eq!(f.get(&["x", "y"]).get(), 3);
        assert_eq!(f.refused(), 0);
    }

    /// A lookup, removal or insert from inside `with`'s closure finds this thread's copy
    /// of the tables borrowed and goes the shared way: no panic, no lost update.
    #[test]
    fn lookups_inside_a_lookup_go_the_shared_way() {
        let f = Family::<Counter>::new(["k"]);
        f.get(&["a"]).inc();
        f.with(&["a"], |a| {
            a.inc();
            f.with(&["a"], Counter::inc);
            f.get(&["b"]).inc(); // an insert while the copy is borrowed
            f.with(&["b"], Counter::inc);
            assert!(f.remove(&["b"]));
            f.get(&["b"]).inc();
        });
        assert_eq!(f.get(&["a"]).get(), 3);
        assert_eq!(f.get(&["b"]).get(), 1, "a new series after the removal");
        assert_eq!(f.len(), 2);
    }

    /// A thread whose copy of a table holds a series that another thread then removes
    /// looks the label set up again and gets a new series, never the removed one.
    #[test]
    fn a_thread_never_updates_through_a_stale_copy() {
        let f = Family::<Counter>::new(["k"]);
        for round in 0..if cfg!(miri) { 5 } else { 50u64 } {
            let old = f.get(&["x"]);
            let before = old.get();
            f.with(&["x"], Counter::inc); // this thread's copy now holds `old`
            assert_eq!(old.get(), before + 1);
            let other = f.clone();
            std::thread::spawn(move || {
                assert!(other.remove(&["x"]));
                other.get(&[format!("y{round}")]).inc(); // a change elsewhere, perhaps
            })
            .join()
            .unwrap();
            f.with(&["x"], Counter::inc);
            assert_eq!(
                old.get(),
                before + 1,
                "round {round}: the removed series moved"
            );
            assert_eq!(f.get(&["x"]).get(), 1, "round {round}: a new series");
        }
    }

    #[test]
    fn series_are_read_in_creation_order_and_overflow_last() {
        let f = Family::<Counter>::builder(["k"])
            .cardinality_limit(2)
            .build()
            .unwrap();
        for k in ["zz", "aa", "mm", "aa"] {
            f.get(&[k]).inc();
        }
        let read = values_of(&f);
        assert_eq!(
            read,
            vec![
                (Some(vec!["zz".to_owned()]), crate::Value::Counter(1)),
                (Some(vec!["aa".to_owned()]), crate::Value::Counter(2)),
                (None, crate::Value::Counter(1)),
            ]
        );
        assert_eq!(f.refused(), 1);
        assert_eq!(f.exposed_series(), 3);
    }

    #[test]
    fn drop_policy_discards_and_counts() {
        let f = Family::<Counter>::builder(["k"])
            .cardinality_limit(1)
            .overflow(Overflow::Drop)
            .build()
            .unwrap();
        f.get(&["a"]).inc();
        f.get(&["b"]).add(10);
        f.get(&["c"]).add(10);
        assert_eq!(
            values_of(&f),
            vec![(Some(vec!["a".to_owned()]), crate::Value::Counter(1))]
        );
        assert_eq!(f.refused(), 2);
    }

    /// A wrong number of values is counted apart from cardinality refusals, routed where
    /// refused label sets go, and panics in a debug build only after all that.
    #[test]
    fn wrong_arity_is_counted_apart_routed_and_asserted_in_debug() {
        let f = Family::<Gauge>::new(["a", "b"]);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            f.with(&["only-one"], Gauge::inc);
        }));
        assert_eq!(caught.is_err(), cfg!(debug_assertions));
        if let Err(payload) = caught {
            let message = payload
                .downcast_ref::<String>()
                .expect("a formatted message");
            assert!(
                message.contains("1 label values") && message.contains(r#"["a", "b"]"#),
                "{message}"
            );
        }
        assert_eq!(f.arity_errors(), 1);
        assert_eq!(f.refused(), 0, "not a cardinality refusal");
        assert_eq!(f.len(), 0);
        assert_eq!(
            values_of(&f),
            vec![(None, crate::Value::Gauge(1))],
            "the update reached the overflow series in every build"
        );
        assert_eq!(
            f.try_get(&["x"]).unwrap_err(),
            Error::LabelCount {
                expected: 2,
                got: 1
            }
        );
        assert!(!f.remove(&["x"]));
        assert_eq!(f.arity_errors(), 1, "try_get and remove report instead");
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "3 label values given to the family with label names [\"k\"]")]
    fn wrong_arity_panics_in_debug_builds() {
        Family::<Counter>::new(["k"]).get(&["a", "b", "c"]).inc();
    }

    #[test]
    fn label_values_holding_nul_are_refused_like_over_long_ones() {
        let f = Family::<Counter>::new(["k"]);
        f.get(&["nul\0byte"]).add(3);
        f.get(&["\0"]).inc();
        assert_eq!((f.len(), f.refused()), (0, 2));
        assert_eq!(
            values_of(&f),
            vec![(None, crate::Value::Counter(4))],
            "routed to the overflow series, not lost"
        );
        f.get(&["nul byte"]).inc();
        assert_eq!((f.len(), f.refused()), (1, 2));
    }

    #[test]
    fn removal_frees_a_slot_under_the_limit_and_restarts_the_series() {
        let f = Family::<Counter>::builder(["k"])
            .cardinality_limit(1)
            .build()
            .unwrap();
        let old = f.get(&["a"]);
        old.add(5);
        assert!(f.remove(&["a"]));
        assert!(!f.remove(&["a"]));
        f.get(&["b"]).inc();
        assert_eq!(f.refused(), 0);
        old.inc(); // detached: reaches no series
        assert_eq!(
            values_of(&f),
            vec![(Some(vec!["b".to_owned()]), crate::Value::Counter(1))]
        );
        f.clear();
        assert!(f.is_empty());
        assert_eq!(f.get(&["a"]).get(), 0, "a re-created series starts again");
    }

    /// A series that a sweep found idle is removed only if it is still the series of its
    /// label set and still at the value the sweep saw.
    #[test]
    fn expiry_removes_only_the_series_it_saw_at_the_value_it_saw() {
        use crate::expiry::Idle;
        let f = Family::<Counter>::builder(["k"])
            .expire_after(std::time::Duration::from_secs(1))
            .clock(crate::ManualClock::new())
            .build()
            .unwrap();
        f.with(&["a"], Counter::inc);
        let seen = f.inner.read_order()[0].clone();
        let idle = |value| {
            vec![Idle {
                series: seen.clone(),
                value: crate::Value::Counter(value),
            }]
        };
        f.with(&["a"], Counter::inc); // an update after the sweep's read
        assert_eq!(f.inner.remove_idle(idle(1)), 0);
        assert_eq!(f.len(), 1);
        assert!(f.remove(&["a"]));
        f.with(&["a"], |c| c.add(2)); // a new series of the same label set, at the same value
        assert_eq!(f.inner.remove_idle(idle(2)), 0);
        assert_eq!(f.get(&["a"]).get(), 2);
        let current = f.inner.read_order()[0].clone();
        let removed = f.inner.remove_idle(vec![Idle {
            series: current,
            value: crate::Value::Counter(2),
        }]);
        assert_eq!((removed, f.len()), (1, 0));
    }

    #[test]
    fn label_values_past_the_size_limit_are_refused_not_stored() {
        let f = Family::<Counter>::new(["k"]);
        let huge = "x".repeat(MAX_LABEL_VALUE_BYTES + 1);
        f.get(&[huge.as_str()]).inc();
        assert_eq!((f.len(), f.refused()), (0, 1));
        let big = "x".repeat(MAX_LABEL_VALUE_BYTES);
        f.get(&[big.as_str()]).inc();
        assert_eq!((f.len(), f.refused()), (1, 1));
    }

    #[test]
    fn zero_limit_is_refused() {
        let err = Family::<Counter>::builder(["k"])
            .cardinality_limit(0)
            .build()
            .unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidCardinalityLimit { limit: 0, .. }
        ));
        assert!(err.to_string().contains("at least 1"));
    }

    #[test]
    fn limits_past_the_maximum_are_refused() {
        for limit in [MAX_CARDINALITY_LIMIT + 1, usize::MAX] {
            let err = Family::<Counter>::builder(["k"])
                .cardinality_limit(limit)
                .build()
                .unwrap_err();
            assert!(matches!(err, Error::InvalidCardinalityLimit { limit: l, .. } if l == limit));
            assert!(err.to_string().contains("1000000"), "{err}");
        }
        let f = Family::<Counter>::builder(["k"])
            .cardinality_limit(MAX_CARDINALITY_LIMIT)
            .build()
            .unwrap();
        assert_eq!(f.cardinality_limit(), MAX_CARDINALITY_LIMIT);
    }

    #[test]
    fn a_family_without_labels_has_one_series() {
        let f = Family::<Counter>::new(Vec::<String>::new());
        f.get::<&str>(&[]).inc();
        f.get::<&str>(&[]).inc();
        assert_eq!(f.len(), 1);
        assert_eq!(
            values_of(&f),
            vec![(Some(vec![]), crate::Value::Counter(2))]
        );
    }
}
