//! A counter whose cells each have a single writing thread: [`PerThreadCounter`] and its
//! [`PerThreadWriter`].

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crossbeam_utils::CachePadded;

use crate::metric::{Kind, Metric, Value};
use crate::primitive::{AtomicU64, Ordering};
use crate::sync::{lock, Mutex};

type Slot = Arc<CachePadded<AtomicU64>>;

/// A `u64` counter read exactly, whose hot path has no read-modify-write at all: each
/// thread takes a [`PerThreadWriter`], a cell that only it writes, and an increment is a
/// load and a store of that cell (no `lock` prefix, no contention, no lost update, since no
/// other thread writes it).
///
/// [`get`](PerThreadCounter::get) sums every cell. A writer's cell is never emptied or
/// moved: when the writer is dropped its cell keeps its count and goes back to a free list,
/// and the next writer continues from that count, so nothing is carried between cells and
/// no read can count a value twice or miss it. The hand-over is ordered by the counter's
/// lock, so the next writer's first load sees the last store of the one before.
///
/// ```
/// let parsed = prism_core::PerThreadCounter::new();
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| {
///             let writer = parsed.writer();
///             for _ in 0..10_000 {
///                 writer.inc(); // a load and a store
///             }
///         });
///     }
/// });
/// assert_eq!(parsed.get(), 40_000);
/// assert!(parsed.cells() <= 4, "cells are reused once their writers are gone");
/// ```
///
/// # Exactness
///
/// Each cell's value only grows (modulo 2^64), so a read is at most the true count, and a
/// reader that reads twice sees the second read at least as large as the first; once the
/// writers stop (or are dropped), a read is exact. Taking and dropping a writer takes the
/// counter's lock, as does a read; an increment never does.
///
/// # Size and alignment
///
/// One `crossbeam_utils::CachePadded<AtomicU64>` (128 bytes on x86-64 and aarch64) per
/// writer alive at the same time, kept for reuse: memory is bounded by the most writers ever
/// alive at once, not by how many threads came and went. Plus one padded cell for
/// [`add`](PerThreadCounter::add) without a writer.
#[derive(Clone, Default)]
pub struct PerThreadCounter {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// For updates made without a writer: a `fetch_add`.
    shared: CachePadded<AtomicU64>,
    slots: Mutex<Slots>,
}

#[derive(Default)]
struct Slots {
    all: Vec<Slot>,
    /// Indices into `all` of cells whose writer is gone.
    free: Vec<usize>,
}

impl PerThreadCounter {
    /// A counter at 0 with no cells yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A cell for this thread to write: a free one if some writer was dropped (its count
    /// carries on), a new one otherwise. Takes the counter's lock; keep the writer for the
    /// thread's life (in a `thread_local!`, say) rather than taking one per update.
    pub fn writer(&self) -> PerThreadWriter {
        let (index, cell) = {
            let mut slots = lock(&self.inner.slots);
            match slots.free.pop() {
                Some(index) => (index, Arc::clone(&slots.all[index])),
                None => {
                    let cell: Slot = Arc::new(CachePadded::new(AtomicU64::new(0)));
                    slots.all.push(Arc::clone(&cell));
                    (slots.all.len() - 1, cell)
                }
            }
        };
        PerThreadWriter {
            cell,
            index,
            counter: Arc::clone(&self.inner),
            not_sync: PhantomData,
        }
    }

    /// Adds one without a writer (a `fetch_add` on a shared cell).
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n` without a writer (a `fetch_add` on a shared cell), for the odd update off
    /// the hot path.
    #[inline]
    pub fn add(&self, n: u64) {
        self.inner.shared.fetch_add(n, Ordering::Relaxed);
    }

    /// The count: every cell plus the shared one, wrapping at 2^64.
    pub fn get(&self) -> u64 {
        let slots = lock(&self.inner.slots);
        slots
            .all
            .iter()
            .fold(self.inner.shared.load(Ordering::Relaxed), |sum, cell| {
                sum.wrapping_add(cell.load(Ordering::Relaxed))
            })
    }

    /// How many cells exist: the most writers that were alive at once.
    pub fn cells(&self) -> usize {
        lock(&self.inner.slots).all.len()
    }
}

impl Metric for PerThreadCounter {
    const KIND: Kind = Kind::Counter;
    fn read(&self) -> Value {
        Value::Counter(self.get())
    }
}

impl fmt::Debug for PerThreadCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PerThreadCounter")
            .field("value", &self.get())
            .field("cells", &self.cells())
            .finish()
    }
}

/// The one writer of a [`PerThreadCounter`] cell, made by [`PerThreadCounter::writer`].
///
/// It can be moved to another thread (`Send`: the move itself orders the writes) but not
/// shared (`!Sync`), since two threads storing to one cell would lose updates. Dropping it
/// hands the cell, with its count, to the next writer.
pub struct PerThreadWriter {
    cell: Slot,
    index: usize,
    counter: Arc<Inner>,
    /// `Cell` is `Send` and not `Sync`: exactly the writer's contract.
    not_sync: PhantomData<Cell<()>>,
}

impl PerThreadWriter {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n`: a relaxed load and a relaxed store of this writer's own cell.
    #[inline]
    pub fn add(&self, n: u64) {
        let current = self.cell.load(Ordering::Relaxed);
        self.cell.store(current.wrapping_add(n), Ordering::Relaxed);
    }

    /// What this writer's cell holds: its own adds plus those of earlier writers of the
    /// same cell.
    pub fn cell_value(&self) -> u64 {
        self.cell.load(Ordering::Relaxed)
    }
}

impl Drop for PerThreadWriter {
    fn drop(&mut self) {
        lock(&self.counter.slots).free.push(self.index);
    }
}

impl fmt::Debug for PerThreadWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PerThreadWriter")
            .field("cell", &self.index)
            .field("cell_value", &self.cell_value())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn writers_and_direct_adds_sum_and_read_as_a_counter() {
        let c = PerThreadCounter::new();
        let w = c.writer();
        w.inc();
        w.add(40);
        c.inc();
        assert_eq!(c.get(), 42);
        assert_eq!(c.read(), Value::Counter(42));
        assert_eq!(
            format!("{w:?}"),
            "PerThreadWriter { cell: 0, cell_value: 41 }"
        );
        assert_eq!(format!("{c:?}"), "PerThreadCounter { value: 42, cells: 1 }");
    }

    #[test]
    fn a_dropped_writers_cell_is_reused_with_its_count() {
        let c = PerThreadCounter::new();
        let a = c.writer();
        let b = c.writer();
        a.add(3);
        b.add(4);
        drop(a);
        assert_eq!(c.get(), 7, "a dropped writer's count stays");
        let a2 = c.writer();
        assert_eq!(
            a2.cell_value(),
            3,
            "the next writer continues the free cell"
        );
        a2.inc();
        assert_eq!((c.get(), c.cells()), (8, 2));
    }

    #[test]
    fn threads_that_come_and_go_are_counted_exactly_in_bounded_cells() {
        let c = PerThreadCounter::new();
        for _round in 0..20 {
            std::thread::scope(|s| {
                for _ in 0..3 {
                    s.spawn(|| {
                        let w = c.writer();
                        for _ in 0..1000 {
                            w.inc();
                        }
                    });
                }
            });
        }
        assert_eq!(c.get(), 60_000);
        assert!(
            c.cells() <= 3,
            "{} cells for 3 writers at a time",
            c.cells()
        );
    }

    #[test]
    fn a_writer_moved_to_another_thread_keeps_counting() {
        let c = PerThreadCounter::new();
        let w = c.writer();
        w.inc();
        let w = std::thread::spawn(move || {
            w.inc();
            w
        })
        .join()
        .unwrap();
        w.inc();
        assert_eq!(c.get(), 3);
    }

    #[test]
    fn a_panicking_writer_keeps_its_count_and_frees_its_cell() {
        let c = PerThreadCounter::new();
        let c2 = c.clone();
        let worker = std::thread::spawn(move || {
            let w = c2.writer();
            w.add(9);
            panic!("worker fails");
        });
        assert!(worker.join().is_err());
        assert_eq!((c.get(), c.cells()), (9, 1));
        assert_eq!(c.writer().cell_value(), 9);
    }
}
