//! [`CountingAllocator`]: a `GlobalAlloc` wrapper that counts what the process allocates,
//! so that `memstats` can show Go's `Alloc`, `TotalAlloc`, `Mallocs`, `Frees` and `BySize`
//! with real figures.
//!
//! This is the one module of the crate with `unsafe`: implementing [`GlobalAlloc`] is an
//! `unsafe impl` whose methods are `unsafe fn`s forwarding to the wrapped allocator. The
//! counting itself is safe code (relaxed atomic adds).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The object sizes of Go's size classes that `runtime.MemStats.BySize` reports (the first
/// 61 of Go's classes; class 0 is unused). An allocation of `n` bytes counts in the first
/// class whose size is at least `n`; larger allocations count only in the totals, as in Go.
pub const SIZE_CLASSES: [u32; 61] = [
    0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320,
    352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792,
    2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728,
    10240, 10880, 12288, 13568, 14336, 16384, 18432,
];

/// The process-wide counters. There is one global allocator per process, so there is one
/// set of counts; an instance used beside it (calling its methods directly) adds to the
/// same figures.
struct Counters {
    /// Bytes allocated and not yet freed. Wrapping arithmetic: a free is always ordered
    /// after its allocation in the modification order of this atomic, so the value read
    /// never underflows while every free is of memory this allocator handed out.
    live: AtomicU64,
    total: AtomicU64,
    mallocs: AtomicU64,
    frees: AtomicU64,
    class_mallocs: [AtomicU64; 61],
    class_frees: [AtomicU64; 61],
}

#[allow(clippy::declare_interior_mutable_const)] // the array initialiser: each copy is fresh
const ZERO: AtomicU64 = AtomicU64::new(0);

static COUNTERS: Counters = Counters {
    live: ZERO,
    total: ZERO,
    mallocs: ZERO,
    frees: ZERO,
    class_mallocs: [ZERO; 61],
    class_frees: [ZERO; 61],
};

/// The `BySize` class of an allocation of `size` bytes, if it is small enough for one.
fn class_of(size: usize) -> Option<usize> {
    if size == 0 || size > SIZE_CLASSES[60] as usize {
        return None;
    }
    Some(SIZE_CLASSES.partition_point(|&c| (c as usize) < size))
}

impl Counters {
    fn allocated(&self, size: usize) {
        let size = size as u64;
        self.live.fetch_add(size, Relaxed);
        self.total.fetch_add(size, Relaxed);
        self.mallocs.fetch_add(1, Relaxed);
        if let Some(c) = class_of(size as usize) {
            self.class_mallocs[c].fetch_add(1, Relaxed);
        }
    }

    fn freed(&self, size: usize) {
        self.live.fetch_sub(size as u64, Relaxed);
        self.frees.fetch_add(1, Relaxed);
        if let Some(c) = class_of(size) {
            self.class_frees[c].fetch_add(1, Relaxed);
        }
    }
}

/// A [`GlobalAlloc`] that forwards every call to `A` ([`System`] unless given another) and
/// counts, in process-wide atomic counters: the bytes allocated and not yet freed, the
/// bytes ever allocated, the allocations and the frees, in total and per Go size class.
/// Go's `memstats` in `/debug/vars` reads them (`Alloc`, `HeapAlloc`, `TotalAlloc`,
/// `Mallocs`, `Frees`, `HeapObjects`, `BySize`); [`alloc_stats`] returns them.
///
/// Install it in the binary, once:
///
/// ```
/// #[global_allocator]
/// static ALLOC: prism_json::CountingAllocator = prism_json::CountingAllocator::new();
///
/// let before = prism_json::alloc_stats().expect("the counting allocator is installed");
/// let buffer = vec![0u8; 1 << 20];
/// let after = prism_json::alloc_stats().unwrap();
/// assert!(after.total_allocated_bytes >= before.total_allocated_bytes + (1 << 20));
/// drop(buffer);
/// ```
///
/// Another allocator is wrapped with [`CountingAllocator::wrap`]:
/// `static ALLOC: CountingAllocator<MyAlloc> = CountingAllocator::wrap(MyAlloc);`.
///
/// A reallocation counts as one free of the old size and one allocation of the new (Go has
/// no reallocation; this keeps `Mallocs - Frees` the number of live blocks); a failed
/// call counts nothing.
///
/// **Cost:** each allocation adds four relaxed atomic adds to one cache line of process-wide
/// counters (plus one for its size class), each free three. Threads that allocate at the
/// same time contend for that line; the counters are not sharded, because reading sharded
/// counters from inside an allocator would need thread-local storage that may itself
/// allocate.
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAllocator<A = System> {
    inner: A,
}

impl CountingAllocator<System> {
    /// Counts the allocations of [`System`].
    pub const fn new() -> Self {
        CountingAllocator { inner: System }
    }
}

impl<A> CountingAllocator<A> {
    /// Counts the allocations of `inner`.
    pub const fn wrap(inner: A) -> Self {
        CountingAllocator { inner }
    }

    /// The wrapped allocator.
    pub fn inner(&self) -> &A {
        &self.inner
    }
}

// The `allow` is this crate's one exception to `deny(unsafe_code)`: a `GlobalAlloc` can
// only be implemented with `unsafe impl`, and its methods are `unsafe fn`s that call the
// wrapped allocator's.
#[allow(unsafe_code)]
// SAFETY:
// - every method returns exactly what the wrapped allocator `A` returned for the same
//   arguments, so `A`'s guarantees (a block of the layout's size and alignment, or null)
//   are the ones this impl gives;
// - the counting runs only atomic adds: it never allocates, unwinds or touches the block,
//   so it cannot re-enter the allocator or break its contract.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAllocator<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY:
        // - the caller upholds `GlobalAlloc::alloc`'s contract for `layout` (a non-zero
        //   size); it is passed on unchanged.
        let block = unsafe { self.inner.alloc(layout) };
        if !block.is_null() {
            COUNTERS.allocated(layout.size());
        }
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY:
        // - as for `alloc`: the caller's `layout` is passed on unchanged.
        let block = unsafe { self.inner.alloc_zeroed(layout) };
        if !block.is_null() {
            COUNTERS.allocated(layout.size());
        }
        block
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY:
        // - the caller guarantees `ptr` came from this allocator with `layout`; every block
        //   this allocator hands out came from `A` with the same layout, so the pair is
        //   valid for `A`.
        unsafe { self.inner.dealloc(ptr, layout) };
        COUNTERS.freed(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY:
        // - the caller guarantees `ptr` and `layout` as for `dealloc` (so they are valid
        //   for `A`, as there), and that `new_size` is non-zero and does not overflow
        //   when rounded up to `layout.align()`; all are passed on unchanged.
        let block = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !block.is_null() {
            COUNTERS.freed(layout.size());
            COUNTERS.allocated(new_size);
        }
        block
    }
}

/// One of Go's size classes, as `runtime.MemStats.BySize` reports it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SizeClass {
    /// The largest allocation, in bytes, that counts in this class.
    pub size: u32,
    /// Allocations counted in this class.
    pub mallocs: u64,
    /// Frees counted in this class.
    pub frees: u64,
}

/// What [`CountingAllocator`] has counted, process-wide.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AllocStats {
    /// Bytes allocated and not yet freed (Go's `Alloc` and `HeapAlloc`).
    pub allocated_bytes: u64,
    /// Bytes ever allocated (Go's `TotalAlloc`).
    pub total_allocated_bytes: u64,
    /// Allocations, reallocations included (Go's `Mallocs`).
    pub mallocs: u64,
    /// Frees, reallocations included (Go's `Frees`).
    pub frees: u64,
    /// Per size class, as [`SIZE_CLASSES`] (Go's `BySize`).
    pub by_size: [SizeClass; 61],
}

/// What the [`CountingAllocator`] has counted so far, or `None` when it has counted
/// nothing (it is not installed). The figures are read one after another while other
/// threads allocate, so they are each right but not one instant's: `mallocs - frees` may
/// be off by the allocations in flight.
pub fn alloc_stats() -> Option<AllocStats> {
    let c = &COUNTERS;
    // Frees first: a free read before its allocation would make `mallocs - frees` negative.
    let frees = c.frees.load(Relaxed);
    let mallocs = c.mallocs.load(Relaxed);
    if mallocs == 0 {
        return None;
    }
    let mut by_size = [SizeClass::default(); 61];
    for (i, class) in by_size.iter_mut().enumerate() {
        class.size = SIZE_CLASSES[i];
        class.frees = c.class_frees[i].load(Relaxed);
        class.mallocs = c.class_mallocs[i].load(Relaxed);
    }
    Some(AllocStats {
        allocated_bytes: c.live.load(Relaxed),
        total_allocated_bytes: c.total.load(Relaxed),
        mallocs,
        frees,
        by_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_are_gos() {
        assert_eq!(class_of(0), None);
        assert_eq!(class_of(1), Some(1));
        assert_eq!(class_of(8), Some(1));
        assert_eq!(class_of(9), Some(2));
        assert_eq!(class_of(18432), Some(60));
        assert_eq!(class_of(18433), None);
        for (i, w) in SIZE_CLASSES.windows(2).enumerate() {
            assert!(w[0] < w[1]);
            assert_eq!(class_of(w[1] as usize), Some(i + 1));
            assert_eq!(class_of(w[0] as usize + 1), Some(i + 1));
        }
    }

    /// The unit-test binary does not install the allocator, so this test is the only
    /// source of counts here; it calls an instance directly.
    #[test]
    #[allow(unsafe_code)]
    fn counts_what_passes_through() {
        let a = CountingAllocator::new();
        let layout = Layout::from_size_align(100, 8).unwrap();
        // SAFETY:
        // - `layout` has a non-zero size; each block is freed once, with the layout (or
        //   the size) it was last given, by the same allocator.
        let (p, q) = unsafe {
            let p = a.alloc(layout);
            let q = a.alloc_zeroed(Layout::from_size_align(20_000, 16).unwrap());
            assert!(!p.is_null() && !q.is_null());
            (a.realloc(p, layout, 300), q)
        };
        let s = alloc_stats().unwrap();
        assert_eq!(s.mallocs, 3);
        assert_eq!(s.frees, 1);
        assert_eq!(s.allocated_bytes, 20_300);
        assert_eq!(s.total_allocated_bytes, 20_400);
        assert_eq!(s.by_size[class_of(100).unwrap()].mallocs, 1);
        assert_eq!(s.by_size[class_of(100).unwrap()].frees, 1);
        assert_eq!(s.by_size[class_of(300).unwrap()].mallocs, 1);
        assert_eq!(s.by_size[class_of(300).unwrap()].size, 320);
        // SAFETY: as above.
        unsafe {
            a.dealloc(p, Layout::from_size_align(300, 8).unwrap());
            a.dealloc(q, Layout::from_size_align(20_000, 16).unwrap());
        }
        let s = alloc_stats().unwrap();
        assert_eq!((s.mallocs, s.frees, s.allocated_bytes), (3, 3, 0));
        let classes: u64 = s.by_size.iter().map(|c| c.mallocs).sum();
        assert_eq!(classes, 2, "20,000 bytes is past the last class");
    }
}
