//! `CountingAllocator` installed as this test binary's global allocator: `memstats` in
//! `/debug/vars` shows what the process allocates and frees.
//!
//! One test function: the counters are process-wide, and a second test allocating on
//! another thread would move them under this one's feet.

use prism_json::{alloc_stats, CountingAllocator, Vars};
use serde_json::Value;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::new();

fn memstats(vars: &Vars) -> Value {
    let doc: Value = serde_json::from_str(&vars.render_to_string()).unwrap();
    doc["memstats"].clone()
}

fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not a number: {v}"))
}

#[test]
fn memstats_shows_what_the_counting_allocator_counted() {
    let registry = prism_core::Registry::builder()
        .self_telemetry(false)
        .build();
    let vars = Vars::builder(&registry).cmdline(false).build();

    let before = memstats(&vars);
    assert!(u(&before, "Mallocs") > 0, "{before}");
    assert!(u(&before, "Alloc") > 0, "{before}");
    assert_eq!(u(&before, "Alloc"), u(&before, "HeapAlloc"));

    const BIG: usize = 8 << 20;
    let block = vec![1u8; BIG];
    let small: Vec<Box<[u8; 24]>> = (0..1000).map(|_| Box::new([0u8; 24])).collect();
    let during = memstats(&vars);
    assert!(
        u(&during, "Alloc") >= u(&before, "Alloc") + BIG as u64,
        "before {before}\nduring {during}"
    );
    assert!(u(&during, "TotalAlloc") >= u(&before, "TotalAlloc") + BIG as u64);
    assert!(u(&during, "Mallocs") >= u(&before, "Mallocs") + 1001);
    assert!(u(&during, "HeapObjects") >= 1001);
    let class_24 = |v: &Value| {
        let class = &v["BySize"][3];
        assert_eq!(class["Size"], 24);
        (u(class, "Mallocs"), u(class, "Frees"))
    };
    assert!(class_24(&during).0 >= class_24(&before).0 + 1000);

    drop(small);
    drop(block);
    let after = memstats(&vars);
    assert!(u(&after, "Frees") >= u(&during, "Frees") + 1001);
    assert!(class_24(&after).1 >= class_24(&during).1 + 1000);
    // Less the 8 MiB block, give or take what the test holds meanwhile (the documents read).
    assert!(
        u(&after, "Alloc") + BIG as u64 / 2 <= u(&during, "Alloc"),
        "during {during}\nafter {after}"
    );
    // Go's identities hold on the live figures.
    assert_eq!(
        u(&after, "HeapSys"),
        u(&after, "HeapIdle") + u(&after, "HeapInuse")
    );
    assert!(u(&after, "HeapReleased") <= u(&after, "HeapIdle"));
    let stats = alloc_stats().expect("installed");
    assert!(stats.mallocs >= u(&after, "Mallocs"));
}
