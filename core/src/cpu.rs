//! Which CPU the calling thread runs on ([`current`]), and how many CPUs there are ([`count`]).
//!
//! The one `unsafe` block of the crate is here: Rust's standard library has no way to ask
//! which CPU a thread runs on, and `sched_getcpu` is reachable only through FFI.
// `sched_getcpu` is an FFI call, allowed in this module only; see the SAFETY list below.
#![allow(unsafe_code)]

use std::sync::OnceLock;

/// The CPU the calling thread runs on at this instant, or `None` where the platform cannot
/// say (not Linux, Miri, loom, or a kernel without `getcpu`). The answer may be stale by the
/// time it is used (the scheduler can move the thread at any moment), so callers use it to
/// choose a cell, never to make a count exact.
#[cfg(all(target_os = "linux", not(miri), not(loom)))]
#[inline]
pub(crate) fn current() -> Option<usize> {
    // SAFETY:
    // - `sched_getcpu` takes no arguments and reads or writes no memory owned by Rust code;
    // - it is thread-safe: glibc (2.35 and later) reads the calling thread's own rseq area,
    //   older glibc the vDSO `getcpu`, musl makes the `getcpu` system call;
    // - it reports failure (ENOSYS on kernels without `getcpu`) as -1, which the conversion
    //   below turns into `None`; it never returns a pointer or leaves anything to free.
    let cpu = unsafe { libc::sched_getcpu() };
    usize::try_from(cpu).ok()
}

/// The CPU the calling thread runs on: never known on this platform.
#[cfg(not(all(target_os = "linux", not(miri), not(loom))))]
#[inline]
pub(crate) fn current() -> Option<usize> {
    None
}

/// Whether [`current`] can name a CPU here (checked once).
pub(crate) fn current_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| current().is_some())
}

/// CPU ids above this are folded into the table (by remainder) rather than given a cell:
/// Linux's largest `NR_CPUS` (`CONFIG_MAXSMP`), so that a corrupt sysfs file cannot ask for
/// a table of billions of cells.
pub(crate) const MAX_CPUS: usize = 8192;

/// One more than the highest online CPU id (read once from
/// `/sys/devices/system/cpu/online`), so that a table with this many cells has one for
/// every CPU a thread can run on now. Falls back to `available_parallelism`, then to 1.
///
/// `online` rather than `possible`: cloud machines often declare hundreds of possible CPUs
/// and run on four, and each cell costs 128 bytes and a load on every read. A CPU brought
/// online later shares a cell (by remainder), which costs speed, never a count.
pub(crate) fn count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        std::fs::read_to_string("/sys/devices/system/cpu/online")
            .ok()
            .and_then(|list| parse_list(&list))
            .and_then(|cpus| cpus.into_iter().max())
            .map(|max| max + 1)
            .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
            .unwrap_or(1)
            .clamp(1, MAX_CPUS)
    })
}

/// Parses a kernel CPU list (`0-3,8,10-11`, as in sysfs `cpulist` and `online` files) into
/// the ids it names, ascending and without repeats. `None` when the text is not such a list
/// or names an id at or above [`MAX_CPUS`]; `Some(vec![])` for an empty list (a NUMA node
/// with memory and no CPUs has one).
pub(crate) fn parse_list(list: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        let (first, last): (usize, usize) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
            None => {
                let id = part.trim().parse().ok()?;
                (id, id)
            }
        };
        if first > last || last >= MAX_CPUS {
            return None;
        }
        cpus.extend(first..=last);
    }
    cpus.sort_unstable();
    cpus.dedup();
    Some(cpus)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_cpu_lists() {
        assert_eq!(parse_list("0-3\n"), Some(vec![0, 1, 2, 3]));
        assert_eq!(parse_list("0,2-3,8"), Some(vec![0, 2, 3, 8]));
        assert_eq!(parse_list("5,1-2,2"), Some(vec![1, 2, 5]));
        assert_eq!(parse_list("\n"), Some(vec![]));
        assert_eq!(parse_list(""), Some(vec![]));
        assert_eq!(parse_list("3-1"), None);
        assert_eq!(parse_list("0-x"), None);
        assert_eq!(parse_list("a"), None);
        assert_eq!(parse_list("0-4294967295"), None);
        assert_eq!(parse_list(&format!("{MAX_CPUS}")), None);
    }

    #[test]
    fn the_cpu_count_covers_the_cpu_we_run_on() {
        let count = count();
        assert!((1..=MAX_CPUS).contains(&count));
        if let Some(cpu) = current() {
            assert!(
                cpu < count,
                "running on CPU {cpu}, but only {count} counted"
            );
        }
        assert_eq!(current_available(), current().is_some());
    }

    #[cfg(all(target_os = "linux", not(miri)))]
    #[test]
    fn linux_names_the_cpu() {
        assert!(current().is_some(), "sched_getcpu failed on Linux");
    }
}
