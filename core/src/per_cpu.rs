//! A counter with one padded cell per CPU, chosen by the CPU the thread runs on: [`PerCpuCounter`].

use std::fmt;
use std::sync::Arc;

use crate::cells::Cells;
use crate::cpu;
use crate::metric::{Kind, Metric, Value};
use crate::sync::thread_index;

/// A `u64` counter with one cell per CPU, each on its own cache line; an update goes to the
/// cell of the CPU the thread runs on at that instant (`sched_getcpu`).
///
/// Where a [`ShardedCounter`](crate::ShardedCounter) spreads *threads*, this spreads *CPUs*:
/// a thousand threads on eight cores write eight cells, and two threads that take turns on
/// one core write the same cell, whose line stays in that core's cache. It is the layout of
/// the Linux kernel's per-CPU counters, without their preemption control: the thread may be
/// moved to another CPU between asking where it runs and adding, so every add is a
/// `fetch_add`, and the count is exact whatever thread migrates where. A migration costs
/// one shared cache line for that one update.
///
/// Where the CPU cannot be asked (not Linux, or under Miri), the cell is chosen by a
/// thread-local index instead, as the sharded counter does;
/// [`cpu_index_available`](PerCpuCounter::cpu_index_available) says which is in use.
///
/// ```
/// let served = prism_core::PerCpuCounter::new();
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| (0..1000).for_each(|_| served.inc()));
///     }
/// });
/// assert_eq!(served.get(), 4000);
/// assert!(served.cpus() >= 1);
/// ```
///
/// # Size and alignment
///
/// One `crossbeam_utils::CachePadded<AtomicU64>` (128 bytes on x86-64 and aarch64) per CPU
/// id up to the highest online one (`/sys/devices/system/cpu/online`; at most 8192): 8 KiB
/// on a 64-CPU machine. A CPU brought online after the counter was made shares a cell by
/// remainder. [`get`](PerCpuCounter::get) reads every cell.
#[derive(Clone)]
pub struct PerCpuCounter {
    cells: Arc<Cells>,
}

impl PerCpuCounter {
    /// A counter at 0 with a cell for every online CPU.
    pub fn new() -> Self {
        Self::with_cpus(cpu::count())
    }

    /// A counter at 0 with `cpus` cells, kept between 1 and 8192 (the most CPU ids prism
    /// reads): for tests and for programs pinned to the first few CPUs.
    pub fn with_cpus(cpus: usize) -> Self {
        Self {
            cells: Arc::new(Cells::new(cpus.min(cpu::MAX_CPUS))),
        }
    }

    /// How many cells, one per CPU.
    pub fn cpus(&self) -> usize {
        self.cells.len()
    }

    /// Whether updates are placed by the CPU they run on (`true` on Linux) or, where the
    /// platform cannot say, by a thread-local index.
    pub fn cpu_index_available() -> bool {
        cpu::current_available()
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n` to the cell of the CPU this thread runs on.
    #[inline]
    pub fn add(&self, n: u64) {
        let at = cpu::current().unwrap_or_else(thread_index);
        self.add_at(at, n);
    }

    /// Adds `n` to the cell of CPU `cpu` (folded into the table by remainder).
    #[inline]
    fn add_at(&self, cpu: usize, n: u64) {
        let len = self.cells.len();
        let i = if cpu < len { cpu } else { cpu % len };
        self.cells.add(i, n);
    }

    /// The count: the sum of every CPU's cell, wrapping at 2^64; exact once updates stop.
    pub fn get(&self) -> u64 {
        self.cells.sum()
    }
}

impl Default for PerCpuCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl Metric for PerCpuCounter {
    const KIND: Kind = Kind::Counter;
    fn read(&self) -> Value {
        Value::Counter(self.get())
    }
}

impl fmt::Debug for PerCpuCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PerCpuCounter")
            .field("value", &self.get())
            .field("cpus", &self.cpus())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::primitive::Ordering;

    fn cell(c: &PerCpuCounter, i: usize) -> u64 {
        c.cells.cell(i).load(Ordering::Relaxed)
    }

    #[test]
    fn counts_clones_share_and_reads_as_a_counter() {
        let c = PerCpuCounter::new();
        let d = c.clone();
        c.inc();
        d.add(41);
        assert_eq!(c.get(), 42);
        assert_eq!(c.read(), Value::Counter(42));
        assert_eq!(c.cpus(), cpu::count());
        assert!(format!("{c:?}").starts_with("PerCpuCounter { value: 42, cpus: "));
    }

    #[test]
    fn an_update_lands_in_the_cell_of_its_cpu() {
        let c = PerCpuCounter::with_cpus(4);
        c.add_at(2, 5);
        c.add_at(6, 7); // a CPU beyond the table folds onto 6 % 4
        assert_eq!(
            (cell(&c, 0), cell(&c, 1), cell(&c, 2), cell(&c, 3)),
            (0, 0, 12, 0)
        );
        assert_eq!(c.get(), 12);
    }

    #[test]
    fn the_running_cpu_gets_the_update() {
        let c = PerCpuCounter::new();
        // The thread can migrate between asking and adding; retry until it stays put.
        let mut stayed = 0;
        for _ in 0..1000 {
            let Some(before) = cpu::current() else { return };
            let was = cell(&c, before);
            c.inc();
            if cpu::current() == Some(before) {
                stayed += 1;
                if cell(&c, before) == was + 1 {
                    return;
                }
            }
        }
        panic!("no increment landed in its CPU's cell ({stayed} of 1000 stayed on one CPU)");
    }

    #[test]
    fn with_cpus_is_bounded() {
        assert_eq!(PerCpuCounter::with_cpus(0).cpus(), 1);
        assert_eq!(PerCpuCounter::with_cpus(usize::MAX).cpus(), cpu::MAX_CPUS);
    }
}
