//! A table of cache-padded counting cells, the building block of every sharded counter.

use crossbeam_utils::CachePadded;

use crate::primitive::{AtomicU64, Ordering};

/// `len` counting cells, each alone on its cache line (128 bytes on x86-64 and aarch64,
/// `crossbeam_utils::CachePadded`'s guess), so that threads adding to different cells never
/// write the same line.
pub(crate) struct Cells {
    cells: Box<[CachePadded<AtomicU64>]>,
}

impl Cells {
    /// `len` cells at 0; at least one.
    pub(crate) fn new(len: usize) -> Self {
        Self {
            cells: (0..len.max(1))
                .map(|_| CachePadded::new(AtomicU64::new(0)))
                .collect(),
        }
    }

    /// How many cells.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.cells.len()
    }

    /// Cell `i`. Callers reduce their index below [`len`](Cells::len) first.
    #[inline]
    pub(crate) fn cell(&self, i: usize) -> &AtomicU64 {
        &self.cells[i]
    }

    /// Adds `n` to cell `i`: one relaxed `fetch_add`, the counts' only write.
    #[inline]
    pub(crate) fn add(&self, i: usize, n: u64) {
        self.cells[i].fetch_add(n, Ordering::Relaxed);
    }

    /// The sum of every cell, wrapping at 2^64 as each cell does, so that the total is
    /// exact modulo 2^64 however the counts spread.
    pub(crate) fn sum(&self) -> u64 {
        self.cells.iter().fold(0u64, |sum, cell| {
            sum.wrapping_add(cell.load(Ordering::Relaxed))
        })
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn cells_are_padded_apart_and_sum_wraps() {
        let cells = Cells::new(4);
        assert_eq!(cells.len(), 4);
        let a = cells.cell(0) as *const AtomicU64 as usize;
        let b = cells.cell(1) as *const AtomicU64 as usize;
        assert!(b - a >= 64, "cells {a:#x} and {b:#x} share a cache line");
        cells.add(0, u64::MAX);
        cells.add(3, 2);
        assert_eq!(cells.sum(), 1);
        assert_eq!(Cells::new(0).len(), 1);
    }
}
