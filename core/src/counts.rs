//! HDR bin counts in atomics: [`Counts`], one shard of a histogram or one slot of a window.
//!
//! The bins are laid out exactly as [`HdrLayout`] (and so the `hdrhistogram` crate) lays
//! them out, in runs of [`HdrLayout::run_len`] bins allocated on first use: a histogram
//! whose values stay within one decade allocates about four runs, not the whole range.
//! Each run keeps a bitmap of the blocks of bins it has touched, so that a read skips what
//! nobody recorded into.

use std::sync::OnceLock;

use crate::hdr::HdrLayout;
use crate::primitive::{AtomicU64, Ordering};

/// Bins of one run that one bit of its bitmap stands for: the run split in at most 64.
fn block_shift(layout: &HdrLayout) -> u32 {
    (layout.run_len().trailing_zeros()).saturating_sub(6)
}

/// An empty cell outside loom; under loom, one filled now. loom cannot see the
/// synchronisation inside `std`'s `OnceLock`, and would report the loom atomics made by one
/// model thread's initialisation as raced by the next reader; the lazy allocation itself is
/// `std`'s, not ours to model.
pub(crate) fn eager<T>(make: impl FnOnce() -> T) -> OnceLock<T> {
    let cell = OnceLock::new();
    if cfg!(loom) {
        let _ = cell.set(make());
    }
    cell
}

struct Run {
    bins: Box<[AtomicU64]>,
    /// Bit `k` set: some bin of block `k` may be non-zero.
    blocks: AtomicU64,
}

impl Run {
    fn new(len: usize) -> Self {
        Self {
            bins: (0..len).map(|_| AtomicU64::new(0)).collect(),
            blocks: AtomicU64::new(0),
        }
    }
}

/// The counts of one shard: lazily allocated runs of bins, and the exact sum, minimum and
/// maximum of what was recorded. The count is derived from the bins when read.
pub(crate) struct Counts {
    runs: Box<[OnceLock<Run>]>,
    sum: AtomicU64,
    /// The smallest value recorded; `u64::MAX` before the first.
    min: AtomicU64,
    /// The largest value recorded; 0 before the first.
    max: AtomicU64,
}

/// The exact minimum and maximum of several [`Counts`], gathered as they are merged.
///
/// The bins and the extremes are separate atomics, so a read racing a record (or a window
/// slot's clear) may see one without the other. [`min`](Self::min) and [`max`](Self::max)
/// therefore use an extreme only if it lies in the bin the merged bins say holds the
/// minimum (maximum); otherwise they fall back to that bin's edge, which is within the
/// layout's precision. In steady state (no record between the bins' and the extremes'
/// reads) they are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Extremes {
    pub(crate) min: u64,
    pub(crate) max: u64,
}

impl Default for Extremes {
    fn default() -> Self {
        Self {
            min: u64::MAX,
            max: 0,
        }
    }
}

impl Extremes {
    /// Takes in one shard's extremes.
    pub(crate) fn add(&mut self, counts: &Counts) {
        self.min = self.min.min(counts.min.load(Ordering::Relaxed));
        self.max = self.max.max(counts.max.load(Ordering::Relaxed));
    }

    /// The smallest value recorded, given the merged bins (not empty).
    pub(crate) fn min(&self, layout: &HdrLayout, hdr: &hdrhistogram::Histogram<u64>) -> u64 {
        let edge = hdr.min();
        if layout.index(self.min) == layout.index(edge) {
            self.min
        } else {
            edge
        }
    }

    /// The largest value recorded, given the merged bins (not empty).
    pub(crate) fn max(&self, layout: &HdrLayout, hdr: &hdrhistogram::Histogram<u64>) -> u64 {
        let edge = hdr.max();
        if layout.index(self.max) == layout.index(edge) {
            self.max
        } else {
            edge
        }
    }
}

impl Counts {
    pub(crate) fn new(layout: &HdrLayout) -> Self {
        Self {
            runs: (0..layout.len() / layout.run_len())
                .map(|_| eager(|| Run::new(layout.run_len())))
                .collect(),
            sum: AtomicU64::new(0),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
        }
    }

    #[inline]
    fn run(&self, layout: &HdrLayout, index: usize) -> (&Run, usize) {
        let shift = layout.run_len().trailing_zeros();
        let run = &self.runs[index >> shift];
        let run = match run.get() {
            Some(run) => run,
            None => Self::allocate(run, layout),
        };
        (run, index & (layout.run_len() - 1))
    }

    #[cold]
    #[inline(never)]
    fn allocate<'a>(run: &'a OnceLock<Run>, layout: &HdrLayout) -> &'a Run {
        run.get_or_init(|| Run::new(layout.run_len()))
    }

    /// Records `n` at `value` with read-modify-writes: for counts that several threads write.
    #[inline]
    pub(crate) fn record_shared(&self, layout: &HdrLayout, value: u64, n: u64) {
        let (run, bin) = self.run(layout, layout.index(value));
        run.bins[bin].fetch_add(n, Ordering::Relaxed);
        let bit = 1u64 << (bin >> block_shift(layout));
        if run.blocks.load(Ordering::Relaxed) & bit == 0 {
            run.blocks.fetch_or(bit, Ordering::Relaxed);
        }
        self.sum.fetch_add(value.wrapping_mul(n), Ordering::Relaxed);
        // A new extreme is rare: the read-modify-write runs only then.
        if value < self.min.load(Ordering::Relaxed) {
            self.min.fetch_min(value, Ordering::Relaxed);
        }
        if value > self.max.load(Ordering::Relaxed) {
            self.max.fetch_max(value, Ordering::Relaxed);
        }
    }

    /// Records `n` at `value` with plain loads and stores.
    ///
    /// Only for counts that one thread alone writes (a shard owned by the calling thread's
    /// slot, see `thread_slot`): readers may see the bins and the sum one record apart, never
    /// a torn or lost update, because nobody else stores to these atomics.
    #[inline]
    pub(crate) fn record_exclusive(&self, layout: &HdrLayout, value: u64, n: u64) {
        let (run, bin) = self.run(layout, layout.index(value));
        let cell = &run.bins[bin];
        cell.store(
            cell.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
        let bit = 1u64 << (bin >> block_shift(layout));
        let blocks = run.blocks.load(Ordering::Relaxed);
        if blocks & bit == 0 {
            run.blocks.store(blocks | bit, Ordering::Relaxed);
        }
        self.sum.store(
            self.sum
                .load(Ordering::Relaxed)
                .wrapping_add(value.wrapping_mul(n)),
            Ordering::Relaxed,
        );
        if value < self.min.load(Ordering::Relaxed) {
            self.min.store(value, Ordering::Relaxed);
        }
        if value > self.max.load(Ordering::Relaxed) {
            self.max.store(value, Ordering::Relaxed);
        }
    }

    /// Adds every non-zero bin into `into` (a histogram of the same layout) and returns the
    /// sum. Visits only allocated runs and, in them, only touched blocks.
    pub(crate) fn merge_into(
        &self,
        layout: &HdrLayout,
        into: &mut hdrhistogram::Histogram<u64>,
    ) -> u64 {
        let shift = block_shift(layout);
        let block_len = 1usize << shift;
        let run_len = layout.run_len();
        for (r, run) in self.runs.iter().enumerate() {
            let Some(run) = run.get() else { continue };
            let mut blocks = run.blocks.load(Ordering::Relaxed);
            while blocks != 0 {
                let block = blocks.trailing_zeros() as usize;
                blocks &= blocks - 1;
                let start = block << shift;
                for (j, cell) in run.bins[start..start + block_len].iter().enumerate() {
                    let count = cell.load(Ordering::Relaxed);
                    if count != 0 {
                        let value = layout.lowest_equivalent(r * run_len + start + j);
                        // The value is a bin's own lowest value, inside the layout's range,
                        // so the crate cannot refuse it.
                        into.saturating_record_n(value, count);
                    }
                }
            }
        }
        self.sum.load(Ordering::Relaxed)
    }

    /// Zeroes every bin and the sum, keeping the runs allocated. Every bin of an allocated
    /// run is zeroed, not only the touched blocks: a writer racing the clear may have set a
    /// bin whose block bit the clear had already erased.
    pub(crate) fn clear(&self) {
        for run in self.runs.iter().filter_map(OnceLock::get) {
            run.blocks.store(0, Ordering::Relaxed);
            for cell in run.bins.iter() {
                cell.store(0, Ordering::Relaxed);
            }
        }
        self.sum.store(0, Ordering::Relaxed);
        self.min.store(u64::MAX, Ordering::Relaxed);
        self.max.store(0, Ordering::Relaxed);
    }

    /// Bytes held: the runs allocated so far and the table of runs.
    pub(crate) fn allocated_bytes(&self, layout: &HdrLayout) -> usize {
        let runs = self.runs.iter().filter(|r| r.get().is_some()).count();
        std::mem::size_of::<Self>()
            + self.runs.len() * std::mem::size_of::<OnceLock<Run>>()
            + runs * layout.run_len() * std::mem::size_of::<AtomicU64>()
    }

    /// Bytes these counts hold at most, every run allocated.
    pub(crate) fn max_bytes(layout: &HdrLayout) -> usize {
        std::mem::size_of::<Self>()
            + (layout.len() / layout.run_len()) * std::mem::size_of::<OnceLock<Run>>()
            + layout.len() * std::mem::size_of::<AtomicU64>()
    }
}
