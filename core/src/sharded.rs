//! A counter split over padded cells, one chosen per thread: [`ShardedCounter`].

use std::fmt;
use std::sync::Arc;

use crate::cells::Cells;
use crate::metric::{Kind, Metric, Value};
use crate::sync::thread_index;

/// Cells of a [`ShardedCounter::new`]: 64, enough for every core of most servers, 8 KiB.
pub const DEFAULT_SHARDS: usize = 64;

/// The most cells a [`ShardedCounter`] takes (512 KiB): beyond this, threads share cells.
pub const MAX_SHARDS: usize = 4096;

/// A `u64` counter spread over a power-of-two number of cells, each on its own cache line;
/// a thread always adds to the same cell, chosen by a thread-local index handed out in the
/// order threads first count.
///
/// Use it where many threads bump one counter and a read may cost a few hundred
/// nanoseconds: the first [`shards`](ShardedCounter::shards) threads each get a cell of their
/// own, so their updates never write a shared cache line and scale with cores. A thread
/// past that shares a cell with an earlier one, which costs speed, never a count. The count
/// is always exact: every update is one `fetch_add` on some cell, and [`get`] sums them.
///
/// [`get`]: ShardedCounter::get
///
/// ```
/// use prism_core::{Registry, ShardedCounter};
///
/// let registry = Registry::new();
/// let hits = registry.register("cache_hits", "Cache hits.", ShardedCounter::new())?;
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         let hits = hits.clone();
///         s.spawn(move || (0..1000).for_each(|_| hits.inc()));
///     }
/// });
/// assert_eq!(hits.get(), 4000);
/// # Ok::<(), prism_core::Error>(())
/// ```
///
/// # Size and alignment
///
/// Each cell is a `crossbeam_utils::CachePadded<AtomicU64>`: 128 bytes on x86-64 and
/// aarch64 (the prefetcher there pulls lines in pairs, crossbeam's guess), 64 on most other
/// targets. The default 64 cells take 8 KiB; [`get`] reads all of them.
#[derive(Clone)]
pub struct ShardedCounter {
    cells: Arc<Cells>,
}

impl ShardedCounter {
    /// A counter at 0 with [`DEFAULT_SHARDS`] cells.
    pub fn new() -> Self {
        Self::with_shards(DEFAULT_SHARDS)
    }

    /// A counter at 0 with `shards` cells, rounded up to a power of two and kept between 1
    /// and [`MAX_SHARDS`].
    ///
    /// ```
    /// assert_eq!(prism_core::ShardedCounter::with_shards(6).shards(), 8);
    /// assert_eq!(prism_core::ShardedCounter::with_shards(0).shards(), 1);
    /// ```
    pub fn with_shards(shards: usize) -> Self {
        let shards = shards.clamp(1, MAX_SHARDS).next_power_of_two();
        Self {
            cells: Arc::new(Cells::new(shards)),
        }
    }

    /// How many cells the count is spread over.
    pub fn shards(&self) -> usize {
        self.cells.len()
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n` to this thread's cell.
    #[inline]
    pub fn add(&self, n: u64) {
        self.cells.add(thread_index() & (self.cells.len() - 1), n);
    }

    /// The count: the sum of every cell, wrapping at 2^64. Each update lands in exactly one
    /// cell, so the sum is exact once updates stop, and while they run it is a value the
    /// count passed through or will (never more than what has been added).
    pub fn get(&self) -> u64 {
        self.cells.sum()
    }
}

impl Default for ShardedCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl Metric for ShardedCounter {
    const KIND: Kind = Kind::Counter;
    fn read(&self) -> Value {
        Value::Counter(self.get())
    }
}

impl fmt::Debug for ShardedCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardedCounter")
            .field("value", &self.get())
            .field("shards", &self.shards())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn counts_clones_share_and_reads_as_a_counter() {
        let c = ShardedCounter::new();
        let d = c.clone();
        c.inc();
        d.add(41);
        assert_eq!(c.get(), 42);
        assert_eq!(c.read(), Value::Counter(42));
        assert_eq!(c.shards(), DEFAULT_SHARDS);
        assert_eq!(format!("{c:?}"), "ShardedCounter { value: 42, shards: 64 }");
    }

    #[test]
    fn shard_counts_are_powers_of_two_within_bounds() {
        for (asked, got) in [
            (0, 1),
            (1, 1),
            (3, 4),
            (64, 64),
            (65, 128),
            (usize::MAX, MAX_SHARDS),
        ] {
            assert_eq!(
                ShardedCounter::with_shards(asked).shards(),
                got,
                "asked {asked}"
            );
        }
    }

    #[test]
    fn threads_get_cells_of_their_own() {
        let c = ShardedCounter::with_shards(1024);
        let used: Vec<usize> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let c = &c;
                    s.spawn(move || {
                        c.add(1);
                        thread_index() & (c.shards() - 1)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut distinct = used.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), used.len(), "threads shared cells: {used:?}");
        let nonzero = (0..c.shards())
            .filter(|&i| c.cells.cell(i).load(crate::primitive::Ordering::Relaxed) != 0)
            .count();
        assert_eq!(nonzero, 8);
        assert_eq!(c.get(), 8);
    }

    #[test]
    fn the_sum_wraps_like_a_single_atomic() {
        let c = ShardedCounter::with_shards(2);
        c.add(u64::MAX);
        std::thread::scope(|s| {
            s.spawn(|| c.add(5));
        });
        assert_eq!(c.get(), 4);
    }
}
