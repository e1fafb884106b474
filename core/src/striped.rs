//! A counter that turns from one atomic into a growing table of cells (Java's `LongAdder`): [`StripedCounter`].

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;

use crossbeam_utils::CachePadded;

use crate::cells::Cells;
use crate::cpu;
use crate::metric::{Kind, Metric, Value};
use crate::primitive::{AtomicU64, AtomicUsize, Ordering};
use crate::sync::{thread_index, OnceSlot};

/// The most cells a [`StripedCounter`] may grow to (512 KiB of cells).
pub const MAX_STRIPES: usize = 4096;

/// A `u64` counter that costs one compare-and-swap on one atomic until two threads collide
/// on it, then spreads updates over a table of padded cells that doubles, whenever threads
/// keep colliding on cells, up to the CPU count: Java's `LongAdder`, made of atomics only.
///
/// It suits a counter that is *usually* touched by one thread at a time but may become hot:
/// an uncontended counter stays one cache line (128 bytes), and only a contended one pays
/// for cells. [`get`](StripedCounter::get) sums the atomic and the cells in use. Counts are
/// never lost, including while the table grows (see [how it grows](#how-it-grows)), and the
/// total is exact once updates stop.
///
/// ```
/// let retries = prism_core::StripedCounter::new();
/// retries.inc();
/// assert_eq!(retries.stripes(), 0); // one thread: still a single atomic
///
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| (0..10_000).for_each(|_| retries.inc()));
///     }
/// });
/// assert_eq!(retries.get(), 40_001);
/// assert!(retries.stripes() <= retries.max_stripes());
/// ```
///
/// # When it grows
///
/// - A compare-and-swap on the single atomic that fails (another thread changed it between
///   the load and the swap) creates the table, with 2 cells.
/// - A thread whose compare-and-swap on its cell fails moves to another cell (its
///   thread-local probe is rehashed); on its second such collision it doubles the table,
///   until [`max_stripes`](StripedCounter::max_stripes).
///
/// A failed swap is never retried: the update is then made with a `fetch_add` on the same
/// cell, so an update costs at most two atomic operations however hot the counter runs.
///
/// # How it grows
///
/// The cells live in segments that never move: segment 0 holds cells 0 and 1, segment
/// `k >= 1` holds cells `2^k .. 2^(k+1)`. Growing from `n` cells to `2n` publishes segment
/// `log2(n)` (once, through a once-slot) and then raises the cell count from `n` to `2n`
/// with one compare-and-swap (release). An update reads the count (acquire) and indexes
/// below it, so it only ever touches published segments; and since no cell is ever copied,
/// moved or freed while the counter lives, no add can be lost to a growth racing it.
///
/// # Size and alignment
///
/// The atomic and the cell count share one `crossbeam_utils::CachePadded` line (128 bytes
/// on x86-64 and aarch64): both are read by every update, and once the table exists
/// neither is written except on growth. Each cell is a `CachePadded<AtomicU64>`; a table of
/// `n` cells takes `n * 128` bytes, `n` at most the CPU count rounded up to a power of two
/// (8 KiB on 64 CPUs).
#[derive(Clone)]
pub struct StripedCounter {
    inner: Arc<Striped>,
}

struct Striped {
    head: CachePadded<Head>,
    /// Segment `k` of the table, published once; `log2(max_stripes)` of them.
    segments: Box<[OnceSlot<Cells>]>,
    max_stripes: usize,
}

struct Head {
    /// The count before contention, and whatever was added to it until the table existed.
    base: AtomicU64,
    /// Cells in use: 0 until the first contention, then 2, 4, ... up to `max_stripes`.
    stripes: AtomicUsize,
}

/// A thread's cell probe and whether it collided since its last growth or rehash streak.
#[derive(Clone, Copy)]
struct Probe {
    index: usize,
    collided: bool,
}

const UNSET: Probe = Probe {
    index: usize::MAX,
    collided: false,
};

#[cfg(not(loom))]
std::thread_local! {
    static PROBE: Cell<Probe> = const { Cell::new(UNSET) };
}

#[cfg(loom)]
loom::thread_local! {
    static PROBE: Cell<Probe> = Cell::new(UNSET);
}

/// This thread's probe, starting at its thread index so that the first threads get
/// different cells.
#[inline]
fn probe() -> Probe {
    PROBE.with(|p| {
        let probe = p.get();
        if probe.index != UNSET.index {
            return probe;
        }
        let fresh = Probe {
            index: thread_index(),
            collided: false,
        };
        p.set(fresh);
        fresh
    })
}

/// The next probe after a collision: splitmix64's finaliser over the old one plus the golden
/// gamma, so that every bit of the new index depends on every bit of the old.
fn rehash(index: usize) -> usize {
    let mut z = (index as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as usize
}

/// Segment and offset of cell `i`: cells 0 and 1 in segment 0, cells `2^k .. 2^(k+1)` in
/// segment `k`.
#[inline]
fn locate(i: usize) -> (usize, usize) {
    let segment = (usize::BITS - 1 - (i | 1).leading_zeros()) as usize;
    let offset = if segment == 0 { i } else { i ^ (1 << segment) };
    (segment, offset)
}

impl StripedCounter {
    /// A counter at 0 that may grow to one cell per CPU (rounded up to a power of two).
    pub fn new() -> Self {
        Self::with_max_stripes(cpu::count())
    }

    /// A counter at 0 that grows to at most `max_stripes` cells, rounded up to a power of
    /// two and kept between 2 and [`MAX_STRIPES`].
    ///
    /// ```
    /// assert_eq!(prism_core::StripedCounter::with_max_stripes(6).max_stripes(), 8);
    /// assert_eq!(prism_core::StripedCounter::with_max_stripes(0).max_stripes(), 2);
    /// ```
    pub fn with_max_stripes(max_stripes: usize) -> Self {
        let max_stripes = max_stripes.clamp(2, MAX_STRIPES).next_power_of_two();
        let segments = max_stripes.trailing_zeros() as usize;
        Self {
            inner: Arc::new(Striped {
                head: CachePadded::new(Head {
                    base: AtomicU64::new(0),
                    stripes: AtomicUsize::new(0),
                }),
                segments: (0..segments).map(|_| OnceSlot::new()).collect(),
                max_stripes,
            }),
        }
    }

    /// How many cells are in use: 0 until the first contention, then a power of two.
    pub fn stripes(&self) -> usize {
        self.inner.head.stripes.load(Ordering::Acquire)
    }

    /// The most cells the table may grow to.
    pub fn max_stripes(&self) -> usize {
        self.inner.max_stripes
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n`: a compare-and-swap on the single atomic until contention, then on this
    /// thread's cell.
    #[inline]
    pub fn add(&self, n: u64) {
        let head = &*self.inner.head;
        let stripes = head.stripes.load(Ordering::Acquire);
        if stripes == 0 {
            let base = head.base.load(Ordering::Relaxed);
            if head
                .base
                .compare_exchange(
                    base,
                    base.wrapping_add(n),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
            {
                return;
            }
            self.add_contended(n);
        } else {
            self.add_to_cell(stripes, n);
        }
    }

    /// The first contention seen by this update: make the table (unless a racer did) and
    /// count in a cell.
    #[cold]
    #[inline(never)]
    fn add_contended(&self, n: u64) {
        let stripes = self.inner.grow(0);
        self.add_to_cell(stripes, n);
    }

    #[inline]
    fn add_to_cell(&self, stripes: usize, n: u64) {
        let probe = probe();
        let Some(cell) = self.inner.cell(probe.index & (stripes - 1)) else {
            // Unreachable: `stripes` is published after its segments. Should it ever be
            // reached, the count still lands.
            self.inner.head.base.fetch_add(n, Ordering::Relaxed);
            return;
        };
        let current = cell.load(Ordering::Relaxed);
        if cell
            .compare_exchange(
                current,
                current.wrapping_add(n),
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_err()
        {
            cell.fetch_add(n, Ordering::Relaxed);
            self.collided(probe, stripes);
        }
    }

    /// Another thread wrote this thread's cell between its load and its swap: move to
    /// another cell, and on the second collision double the table.
    #[cold]
    #[inline(never)]
    fn collided(&self, probe: Probe, stripes: usize) {
        let grow = probe.collided && stripes < self.inner.max_stripes;
        if grow {
            self.inner.grow(stripes);
        }
        PROBE.with(|p| {
            p.set(Probe {
                index: rehash(probe.index),
                collided: !grow && !probe.collided,
            })
        });
    }

    /// The count: the single atomic plus every published cell, wrapping at 2^64. Exact once
    /// updates stop; while they run, a value the count passed through or will.
    pub fn get(&self) -> u64 {
        let inner = &*self.inner;
        let base = inner.head.base.load(Ordering::Relaxed);
        inner
            .segments
            .iter()
            .filter_map(OnceSlot::get)
            .fold(base, |sum, cells| sum.wrapping_add(cells.sum()))
    }
}

impl Striped {
    /// Cell `i`, when its segment is published.
    #[inline]
    fn cell(&self, i: usize) -> Option<&AtomicU64> {
        let (segment, offset) = locate(i);
        self.segments
            .get(segment)?
            .get()
            .map(|cells| cells.cell(offset))
    }

    /// Grows the table from `seen` cells to twice that (2 from none), unless it is at its
    /// maximum or a racer already grew it; returns the cell count after.
    #[cold]
    fn grow(&self, seen: usize) -> usize {
        if seen >= self.max_stripes {
            return seen;
        }
        let (segment, next) = if seen == 0 {
            (0, 2)
        } else {
            (seen.trailing_zeros() as usize, seen * 2)
        };
        // Segment 0 has 2 cells; segment k >= 1 has 2^k, as many as there were before it.
        let len = seen.max(2);
        self.segments[segment].get_or_init(|| Cells::new(len));
        match self
            .head
            .stripes
            .compare_exchange(seen, next, Ordering::Release, Ordering::Acquire)
        {
            Ok(_) => next,
            Err(now) => now,
        }
    }
}

impl Default for StripedCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl Metric for StripedCounter {
    const KIND: Kind = Kind::Counter;
    fn read(&self) -> Value {
        Value::Counter(self.get())
    }
}

impl fmt::Debug for StripedCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripedCounter")
            .field("value", &self.get())
            .field("stripes", &self.stripes())
            .field("max_stripes", &self.max_stripes())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn one_thread_stays_a_single_atomic() {
        let c = StripedCounter::with_max_stripes(8);
        let d = c.clone();
        for _ in 0..1000 {
            c.inc();
        }
        d.add(41);
        assert_eq!(c.get(), 1041);
        assert_eq!(c.stripes(), 0);
        assert_eq!(c.read(), Value::Counter(1041));
        assert_eq!(
            format!("{c:?}"),
            "StripedCounter { value: 1041, stripes: 0, max_stripes: 8 }"
        );
    }

    #[test]
    fn cells_are_located_in_segments_that_double() {
        let located: Vec<_> = (0..8).map(locate).collect();
        assert_eq!(
            located,
            [
                (0, 0),
                (0, 1),
                (1, 0),
                (1, 1),
                (2, 0),
                (2, 1),
                (2, 2),
                (2, 3)
            ]
        );
        assert_eq!(locate(1 << 11), (11, 0));
        assert_eq!(locate((1 << 12) - 1), (11, (1 << 11) - 1));
    }

    #[test]
    fn growth_doubles_to_the_maximum_and_keeps_every_count() {
        let c = StripedCounter::with_max_stripes(8);
        c.add(5); // in the single atomic
        let inner = &*c.inner;
        let mut seen = 0;
        for expected in [2, 4, 8, 8] {
            seen = inner.grow(seen);
            assert_eq!(seen, expected);
            assert_eq!(c.stripes(), expected);
            for i in 0..seen {
                inner.cell(i).unwrap().fetch_add(1, Ordering::Relaxed);
            }
        }
        // A racer that saw an old count grows nothing and learns the new one.
        assert_eq!(inner.grow(2), 8);
        assert!(inner.cell(8).is_none());
        assert_eq!(c.get(), 5 + 2 + 4 + 8 + 8);
        c.add(3); // now through a cell
        assert_eq!(c.get(), 30);
        let published = inner.segments.iter().filter(|s| s.get().is_some()).count();
        assert_eq!(published, 3, "2 + 2 + 4 cells");
    }

    #[test]
    fn max_stripes_is_a_bounded_power_of_two() {
        for (asked, got) in [
            (0, 2),
            (1, 2),
            (2, 2),
            (3, 4),
            (64, 64),
            (usize::MAX, MAX_STRIPES),
        ] {
            assert_eq!(StripedCounter::with_max_stripes(asked).max_stripes(), got);
        }
        assert!(StripedCounter::new().max_stripes() >= cpu::count());
    }

    #[test]
    fn rehash_moves_every_probe_and_spreads_them() {
        let mut seen = std::collections::HashSet::new();
        for index in 0..1024 {
            let next = rehash(index);
            assert_ne!(next, index);
            seen.insert(next & 63);
        }
        assert_eq!(
            seen.len(),
            64,
            "1024 rehashed probes reach every one of 64 cells"
        );
    }

    #[test]
    fn a_second_collision_doubles_the_table() {
        let c = StripedCounter::with_max_stripes(4);
        let stripes = c.inner.grow(0);
        let probe = Probe {
            index: 7,
            collided: false,
        };
        c.collided(probe, stripes);
        assert_eq!(c.stripes(), 2, "the first collision only rehashes");
        let after = PROBE.with(Cell::get);
        assert!(after.collided);
        assert_eq!(after.index, rehash(7));
        c.collided(after, stripes);
        assert_eq!(c.stripes(), 4, "the second doubles");
        let after = PROBE.with(Cell::get);
        assert!(!after.collided);
        c.collided(after, 4);
        c.collided(PROBE.with(Cell::get), 4);
        assert_eq!(c.stripes(), 4, "never past the maximum");
    }

    #[test]
    fn the_count_survives_growth_mid_stream() {
        let c = StripedCounter::with_max_stripes(64);
        let threads = 4;
        let per_thread: u64 = if cfg!(miri) { 200 } else { 200_000 };
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for i in 0..per_thread {
                        c.add(1 + (i & 1));
                    }
                });
            }
            // Grow by hand too, racing the updates, so growth mid-stream happens however
            // the scheduler runs the threads.
            s.spawn(|| {
                let mut seen = 0;
                while seen < 64 {
                    seen = c.inner.grow(seen);
                    std::thread::yield_now();
                }
            });
        });
        assert_eq!(c.stripes(), 64);
        assert_eq!(c.get(), threads * per_thread / 2 * 3);
    }
}
