//! The cardinality bomb: a million random label sets into a family limited to 1000, with a
//! counting allocator proving that memory stops growing at the limit. Also the bytes one
//! live series costs.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashSet;
use std::fmt::Write;
use std::sync::atomic::{AtomicIsize, Ordering};

use prism_core::{Counter, Family, Registry, Value};

/// Counts live heap bytes of the whole test binary.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static ALLOCATIONS: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// Set on the thread whose allocations `ALLOCATIONS` counts, so that another thread of
    /// the test harness allocating at the same moment cannot fail the count. `const` and
    /// without a destructor: safe to touch from inside the allocator.
    static COUNT_HERE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn count_allocation() {
    if COUNT_HERE.with(|c| c.get()) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `Counting` upholds `GlobalAlloc`'s contract exactly as `System` does; the counter is a
// side effect with no bearing on the memory returned.
#[allow(unsafe_code)] // a counting allocator is the only way to measure heap growth
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        count_allocation();
        // SAFETY: same layout the caller gave us, passed straight through.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `System.alloc` with this layout (via `alloc` above).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: forwarded unchanged; `ptr` and `layout` are the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// One test, not several: the allocator counts the whole process, so nothing else may run
/// beside the measurements.
#[test]
fn cardinality_bomb_and_bytes_per_series() {
    lookups_of_existing_series_do_not_allocate();
    bomb();
    bytes_per_series();
}

fn allocations() -> isize {
    ALLOCATIONS.load(Ordering::Relaxed)
}

fn lookups_of_existing_series_do_not_allocate() {
    let family = Family::<Counter>::builder(["method", "code"])
        .cardinality_limit(4)
        .build()
        .unwrap();
    let owned: Vec<[String; 2]> = (0..8)
        .map(|i| [format!("M{i}"), format!("{}", 200 + i)])
        .collect();
    for v in &owned {
        family.get(v).inc(); // four created, four refused (the overflow series is made here)
    }
    COUNT_HERE.with(|c| c.set(true));
    let before = allocations();
    for round in 0..10_000 {
        let v = &owned[round % owned.len()];
        family.get(v).inc();
        family.with(v, Counter::inc);
        let _ = family.try_get(v).map(|c| c.inc());
        family.with(&["M1", "201"], Counter::inc);
    }
    assert_eq!(
        allocations() - before,
        0,
        "lookups of live and refused label sets allocated"
    );
    assert_eq!(family.len(), 4);
}

fn bomb() {
    const LIMIT: usize = 1000;
    const UPDATES: u64 = 1_000_000;
    let registry = Registry::new();
    let family = registry
        .register(
            "bomb",
            "A family under attack.",
            Family::<Counter>::builder(["user", "session", "path"])
                .cardinality_limit(LIMIT)
                .build()
                .unwrap(),
        )
        .unwrap();

    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let (mut a, mut b, mut c) = (
        String::with_capacity(32),
        String::with_capacity(32),
        String::with_capacity(32),
    );
    let mut live_sets: HashSet<(u64, u64, u64)> = HashSet::with_capacity(2 * LIMIT);
    let mut refused = 0u64;
    let mut after_limit = None;
    for i in 0..UPDATES {
        // Mostly fresh label sets, with repeats among the first ones so that hot series exist.
        let (x, y, z) = if i % 4 == 0 {
            (i % 50, 1, 2)
        } else {
            (rng.next(), rng.next() % 97, rng.next() % 13)
        };
        a.clear();
        b.clear();
        c.clear();
        write!(a, "u{x:x}").unwrap();
        write!(b, "s{y}").unwrap();
        write!(c, "/p/{z}").unwrap();
        if live_sets.contains(&(x, y, z)) || live_sets.len() < LIMIT {
            live_sets.insert((x, y, z));
        } else {
            refused += 1;
        }
        family.with(&[a.as_str(), b.as_str(), c.as_str()], Counter::inc);
        if i == 100_000 {
            after_limit = Some(live());
        }
    }
    let at_end = live();
    let growth = at_end - after_limit.unwrap();
    assert!(
        growth <= 1024,
        "memory grew by {growth} bytes over 900,000 refused updates past the limit"
    );

    assert_eq!(family.len(), LIMIT);
    assert_eq!(family.refused(), refused);
    let snapshot = registry.snapshot();
    let series = &snapshot.family("bomb").unwrap().series;
    assert_eq!(
        series.len(),
        LIMIT + 1,
        "the limit plus one overflow series"
    );
    let sum: u64 = series
        .iter()
        .map(|s| {
            if let Value::Counter(v) = s.value {
                v
            } else {
                0
            }
        })
        .sum();
    assert_eq!(sum, UPDATES);
    let telemetry = snapshot
        .family("prism_refused_label_sets")
        .unwrap()
        .series(&["bomb"])
        .unwrap();
    assert_eq!(telemetry.value, Value::Counter(refused));
    println!("bomb: {refused} refused, memory growth past the limit {growth} bytes");
}

/// Live heap bytes per series of a family with three short labels, tables included.
fn bytes_per_series() {
    // The default limit, and a family five times larger.
    for n in [prism_core::DEFAULT_CARDINALITY_LIMIT, 10_000] {
        bytes_per_series_at(n);
    }
}

/// prometheus-client's idiomatic label set for the same three labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct DerivedLabels {
    method: DerivedMethod,
    code: u16,
    path: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelValue)]
enum DerivedMethod {
    Get,
    Post,
    Put,
}

struct Nothing;
impl prism_core::Visitor for Nothing {
    fn sample(&mut self, _: &prism_core::Descriptor, _: &prism_core::Sample<'_>) {}
}

fn bytes_per_series_at(n: usize) {
    let values: Vec<[String; 3]> = (0..n)
        .map(|i| {
            [
                ["GET", "POST", "PUT"][i % 3].to_owned(),
                format!("{}", 200 + i % 5),
                format!("/v{i}"),
            ]
        })
        .collect();
    let registry = Registry::builder().self_telemetry(false).build();
    let before = live();
    let family = Family::<Counter>::builder(["method", "code", "path"])
        .cardinality_limit(n)
        .build()
        .unwrap();
    let family = registry.register("sized", "h", family).unwrap();
    for v in &values {
        family.get(v).inc();
    }
    let written = (live() - before) as f64 / n as f64;
    // A read keeps the family's read order (one pointer per series) until the next change:
    // part of what a scraped family costs, so it is in the budget.
    registry.visit(&mut Nothing);
    let per_series = (live() - before) as f64 / n as f64;
    println!(
        "bytes per live series (3 short labels, {n} series): {written:.1}, {per_series:.1} once read"
    );
    assert!(
        per_series <= 100.0,
        "{per_series:.1} bytes per series, budget 100"
    );
    drop(family);

    // The peers, holding the same series, measured the same way: the budget is half of
    // prometheus-client's. Printed, not asserted: their layout is theirs to change.
    // prometheus-client twice: with `Vec<(String, String)>` label sets (dynamic labels), and
    // with the derived struct its documentation recommends.
    let before = live();
    let pclient = prometheus_client::metrics::family::Family::<
        Vec<(String, String)>,
        prometheus_client::metrics::counter::Counter,
    >::default();
    for v in &values {
        let key: Vec<(String, String)> = ["method", "code", "path"]
            .iter()
            .zip(v)
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        pclient.get_or_create(&key).inc();
    }
    let pclient_bytes = (live() - before) as f64 / n as f64;
    drop(pclient);
    let before = live();
    let derived = prometheus_client::metrics::family::Family::<
        DerivedLabels,
        prometheus_client::metrics::counter::Counter,
    >::default();
    for (i, v) in values.iter().enumerate() {
        let key = DerivedLabels {
            method: [DerivedMethod::Get, DerivedMethod::Post, DerivedMethod::Put][i % 3].clone(),
            code: 200 + (i % 5) as u16,
            path: v[2].clone(),
        };
        derived.get_or_create(&key).inc();
    }
    let derived_bytes = (live() - before) as f64 / n as f64;
    drop(derived);
    let before = live();
    let prom = prometheus::IntCounterVec::new(
        prometheus::Opts::new("sized", "h"),
        &["method", "code", "path"],
    )
    .unwrap();
    for v in &values {
        prom.with_label_values(&[&v[0], &v[1], &v[2]]).inc();
    }
    let prom_bytes = (live() - before) as f64 / n as f64;
    drop(prom);
    println!(
        "  peers, same {n} series: prometheus-client {pclient_bytes:.1} bytes with Vec label sets \
         (prism {:.2}x of it), {derived_bytes:.1} bytes with a derived label struct (prism {:.2}x \
         of it), prometheus {prom_bytes:.1} bytes (prism {:.2}x of it)",
        per_series / pclient_bytes,
        per_series / derived_bytes,
        per_series / prom_bytes,
    );
}
