//! `memstats` in the shape of Go's `runtime.MemStats`, as `json.Marshal` writes it: every
//! field, in Go's order, with this process's figures where it has them (the
//! [`CountingAllocator`](crate::CountingAllocator) and `/proc/self/status`) and zeros for
//! what only a garbage-collected runtime has.

use std::io::{self, Write};

use crate::alloc::{alloc_stats, AllocStats, SizeClass, SIZE_CLASSES};
use crate::format::{self, Style};
use crate::process::status_field;

/// Which figures `memstats` holds in `/debug/vars`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemStatsFormat {
    /// Every field of Go's `runtime.MemStats`, in Go's order (`Alloc`, `TotalAlloc`,
    /// `Sys`, ... `BySize`), so that readers written for Go programs (netdata's
    /// `go_expvar`, `expvarmon`, Datadog's `go_expvar`) find what they look for. The
    /// allocation figures are real when [`CountingAllocator`](crate::CountingAllocator)
    /// is the global allocator and zero otherwise; see the crate's README for each
    /// field's source.
    #[default]
    Go,
    /// This process's figures from `/proc/self`, under descriptive names:
    /// `cpu_system_seconds`, `cpu_user_seconds`, `max_open_files`, `open_files`,
    /// `resident_bytes`, `resident_peak_bytes`, `start_time_unix_seconds`, `threads`,
    /// `virtual_bytes`, each left out where it cannot be read.
    Process,
}

/// The memory figures `/proc/self/status` gives, in bytes (zero where unreadable).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct ProcMemory {
    /// `VmData`: private writable memory (heap, allocator arenas, thread stacks).
    data: u64,
    /// `RssAnon`: the resident part of anonymous memory.
    rss_anon: u64,
    /// `VmStk`: the main thread's stack.
    stack: u64,
}

impl ProcMemory {
    fn read() -> Self {
        let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
            return Self::default();
        };
        let kb = |field: &str| status_field(&status, field).map_or(0, |v| v.saturating_mul(1024));
        ProcMemory {
            data: kb("VmData:"),
            rss_anon: kb("RssAnon:"),
            stack: kb("VmStk:"),
        }
    }
}

/// The Go-shaped figures, computed from what was read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GoMemStats {
    alloc: AllocStats,
    proc: ProcMemory,
}

impl GoMemStats {
    /// Reads the counting allocator and `/proc/self/status` now.
    pub(crate) fn read() -> Self {
        Self::from_parts(alloc_stats(), ProcMemory::read())
    }

    fn from_parts(alloc: Option<AllocStats>, proc: ProcMemory) -> Self {
        let alloc = alloc.unwrap_or_else(|| {
            let mut by_size = [SizeClass::default(); 61];
            for (class, size) in by_size.iter_mut().zip(SIZE_CLASSES) {
                class.size = size;
            }
            AllocStats {
                allocated_bytes: 0,
                total_allocated_bytes: 0,
                mallocs: 0,
                frees: 0,
                by_size,
            }
        });
        GoMemStats { alloc, proc }
    }

    /// Writes `{"Alloc":...,"BySize":[...]}` as `json.Marshal(&runtime.MemStats{...})`.
    pub(crate) fn write_json<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        let a = &self.alloc;
        let heap_inuse = a.allocated_bytes;
        // Go: HeapSys = HeapInuse + HeapIdle, HeapReleased <= HeapIdle, Sys = sum of *Sys.
        let heap_sys = self.proc.data.max(heap_inuse);
        let heap_idle = heap_sys - heap_inuse;
        let heap_released = self
            .proc
            .data
            .saturating_sub(self.proc.rss_anon)
            .min(heap_idle);
        let stack = self.proc.stack;
        let sys = heap_sys.saturating_add(stack);
        let fields: [(&str, u64); 24] = [
            ("Alloc", a.allocated_bytes),
            ("TotalAlloc", a.total_allocated_bytes),
            ("Sys", sys),
            ("Lookups", 0),
            ("Mallocs", a.mallocs),
            ("Frees", a.frees),
            ("HeapAlloc", a.allocated_bytes),
            ("HeapSys", heap_sys),
            ("HeapIdle", heap_idle),
            ("HeapInuse", heap_inuse),
            ("HeapReleased", heap_released),
            ("HeapObjects", a.mallocs.saturating_sub(a.frees)),
            ("StackInuse", stack),
            ("StackSys", stack),
            ("MSpanInuse", 0),
            ("MSpanSys", 0),
            ("MCacheInuse", 0),
            ("MCacheSys", 0),
            ("BuckHashSys", 0),
            ("GCSys", 0),
            ("OtherSys", 0),
            ("NextGC", 0),
            ("LastGC", 0),
            ("PauseTotalNs", 0),
        ];
        w.write_all(b"{")?;
        for (i, (key, value)) in fields.iter().enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            write!(w, "\"{key}\":")?;
            format::write_u64(w, *value)?;
        }
        // No collector: no pauses, in Go's fixed-size circular buffers of 256.
        for key in ["PauseNs", "PauseEnd"] {
            write!(w, ",\"{key}\":[")?;
            for i in 0..256 {
                w.write_all(if i == 0 { b"0" } else { b",0" })?;
            }
            w.write_all(b"]")?;
        }
        w.write_all(b",\"NumGC\":0,\"NumForcedGC\":0,\"GCCPUFraction\":")?;
        format::write_f64(w, 0.0, Style::Marshal)?;
        // EnableGC: Go always says true; here no garbage collector exists, and `false` is
        // what tells a reader that the zeros above mean "none" rather than "not yet".
        w.write_all(b",\"EnableGC\":false,\"DebugGC\":false,\"BySize\":[")?;
        for (i, class) in a.by_size.iter().enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            write!(
                w,
                "{{\"Size\":{},\"Mallocs\":{},\"Frees\":{}}}",
                class.size, class.mallocs, class.frees
            )?;
        }
        w.write_all(b"]}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn doc(stats: &GoMemStats) -> Value {
        let mut out = Vec::new();
        stats.write_json(&mut out).unwrap();
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn figures_follow_gos_identities() {
        let mut by_size = [SizeClass::default(); 61];
        for (class, size) in by_size.iter_mut().zip(SIZE_CLASSES) {
            class.size = size;
        }
        by_size[3].mallocs = 7;
        by_size[3].frees = 2;
        let alloc = AllocStats {
            allocated_bytes: 4000,
            total_allocated_bytes: 9000,
            mallocs: 10,
            frees: 4,
            by_size,
        };
        let proc = ProcMemory {
            data: 100_000,
            rss_anon: 70_000,
            stack: 132 * 1024,
        };
        let v = doc(&GoMemStats::from_parts(Some(alloc), proc));
        let u = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k}: {}", v[k]));
        assert_eq!(
            (u("Alloc"), u("HeapAlloc"), u("HeapInuse")),
            (4000, 4000, 4000)
        );
        assert_eq!((u("TotalAlloc"), u("Mallocs"), u("Frees")), (9000, 10, 4));
        assert_eq!(u("HeapObjects"), 6);
        assert_eq!(u("HeapSys"), 100_000);
        assert_eq!(u("HeapIdle") + u("HeapInuse"), u("HeapSys"));
        assert_eq!(u("HeapReleased"), 30_000);
        assert_eq!(u("StackInuse"), 132 * 1024);
        let xsys = [
            "HeapSys",
            "StackSys",
            "MSpanSys",
            "MCacheSys",
            "BuckHashSys",
            "GCSys",
            "OtherSys",
        ];
        assert_eq!(u("Sys"), xsys.iter().map(|k| u(k)).sum::<u64>());
        assert_eq!(v["PauseNs"].as_array().unwrap().len(), 256);
        assert_eq!(v["PauseEnd"].as_array().unwrap().len(), 256);
        assert_eq!(v["GCCPUFraction"], 0);
        assert_eq!(v["EnableGC"], false);
        let by_size = v["BySize"].as_array().unwrap();
        assert_eq!(by_size.len(), 61);
        assert_eq!(by_size[3]["Size"], 24);
        assert_eq!(
            (by_size[3]["Mallocs"].as_u64(), by_size[3]["Frees"].as_u64()),
            (Some(7), Some(2))
        );
        assert_eq!(by_size[60]["Size"], 18432);
    }

    #[test]
    fn a_heap_larger_than_the_data_segment_keeps_the_identities() {
        // A large calloc'd block counts in full but may not be resident or even in VmData.
        let mut alloc = GoMemStats::from_parts(None, ProcMemory::default()).alloc;
        alloc.allocated_bytes = 1 << 30;
        alloc.mallocs = 1;
        let proc = ProcMemory {
            data: 1 << 20,
            rss_anon: 1 << 19,
            stack: 0,
        };
        let v = doc(&GoMemStats::from_parts(Some(alloc), proc));
        assert_eq!(v["HeapSys"], 1u64 << 30);
        assert_eq!(v["HeapIdle"], 0);
        assert_eq!(v["HeapReleased"], 0);
        assert_eq!(v["Sys"], 1u64 << 30);
    }

    #[test]
    fn without_the_counting_allocator_the_allocation_figures_are_zero() {
        let v = doc(&GoMemStats::from_parts(None, ProcMemory::read()));
        assert_eq!(v["Mallocs"], 0);
        assert_eq!(v["HeapObjects"], 0);
        #[cfg(target_os = "linux")]
        assert!(v["HeapSys"].as_u64().unwrap() > 0, "{v}");
        assert_eq!(v["BySize"][1]["Size"], 8);
    }
}
