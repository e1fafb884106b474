//! The per-thread key cache: keys used again and again (a macro's static key, a held `Key`)
//! land in the same series as a first use does, in any label order, from any thread, past
//! the cache's size and the cardinality limit; a key used with the wrong kind is refused
//! every time, cached or not.

use std::collections::BTreeMap;

use metrics::{Key, Label, Recorder};
use prism_core::{Registry, Value};
use prism_metrics::{PrismRecorder, Refusal};
use proptest::prelude::*;

static METADATA: metrics::Metadata<'static> =
    metrics::Metadata::new(module_path!(), metrics::Level::INFO, None);

/// Key `i` of a pool: name `n{i % 3}`, labels `a` and `b` with values from `i`, in the
/// order `flip` says.
fn key(i: u8, flip: bool) -> Key {
    let a = Label::new("a", format!("{}", i % 4));
    let b = Label::new("b", format!("{}", i / 4));
    let labels = if flip { vec![b, a] } else { vec![a, b] };
    Key::from_parts(format!("n{}", i % 3), labels)
}

fn counter(registry: &Registry, name: &str, a: &str, b: &str) -> u64 {
    let snapshot = registry.snapshot();
    match snapshot.family(name).and_then(|f| f.series(&[a, b])) {
        Some(s) => match s.value {
            Value::Counter(v) => v,
            ref other => panic!("{name}{{{a},{b}}} is {other:?}"),
        },
        None => 0,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Counters over a pool of 24 keys, each call with a random label order, and gauges on
    /// the same keys: the totals equal a plain sum, and every call of the kind its name was
    /// not first used as is counted as refused.
    #[test]
    fn repeated_keys_count_exactly_in_any_order(
        calls in prop::collection::vec((0u8..24, any::<bool>(), 1u64..5, 0u8..8), 1..300)
    ) {
        let registry = Registry::new();
        let recorder = PrismRecorder::new(&registry).unwrap();
        // A name's family is of the kind it was first used as; calls of the other kind on
        // it are refused.
        let mut first: BTreeMap<String, bool> = BTreeMap::new();
        for &(i, _, _, kind) in &calls {
            first.entry(format!("n{}", i % 3)).or_insert(kind == 0);
        }
        let mut expected: BTreeMap<(String, String, String), u64> = BTreeMap::new();
        let mut want = 0u64;
        for &(i, flip, n, kind) in &calls {
            let k = key(i, flip);
            let name = format!("n{}", i % 3);
            let gauge = kind == 0;
            if gauge {
                recorder.register_gauge(&k, &METADATA).set(1.0);
            } else {
                recorder.register_counter(&k, &METADATA).increment(n);
            }
            if gauge != first[&name] {
                want += 1;
            } else if !gauge {
                *expected.entry((name, format!("{}", i % 4), format!("{}", i / 4))).or_default() += n;
            }
        }
        for ((name, a, b), total) in &expected {
            prop_assert_eq!(counter(&registry, name, a, b), *total, "{}{{a={},b={}}}", name, a, b);
        }
        let refused = recorder.refused(Refusal::Kind);
        prop_assert_eq!(refused, want);
    }
}

/// More distinct keys than a thread's cache holds, each used many times from four threads,
/// past the family's cardinality limit: every increment is counted, in its series or in
/// the overflow series.
#[test]
fn many_keys_from_many_threads_count_exactly() {
    const KEYS: u64 = 3000;
    const ROUNDS: u64 = 4;
    let registry = Registry::new();
    let recorder = PrismRecorder::builder(&registry)
        .cardinality_limit(2500)
        .build()
        .unwrap();
    let keys: Vec<Key> = (0..KEYS)
        .map(|i| Key::from_parts("hits", vec![Label::new("id", i.to_string())]))
        .collect();
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let (recorder, keys) = (&recorder, &keys);
            s.spawn(move || {
                for _ in 0..ROUNDS {
                    for (i, k) in keys.iter().enumerate() {
                        recorder
                            .register_counter(k, &METADATA)
                            .increment(t + i as u64 % 3);
                    }
                }
            });
        }
    });
    let snapshot = registry.snapshot();
    let family = snapshot.family("hits").unwrap();
    let total: u64 = family
        .series
        .iter()
        .map(|s| match s.value {
            Value::Counter(v) => v,
            ref other => panic!("{other:?}"),
        })
        .sum();
    let per_round: u64 = (0..4u64)
        .map(|t| (0..KEYS).map(|i| t + i % 3).sum::<u64>())
        .sum();
    assert_eq!(total, per_round * ROUNDS);
    assert_eq!(
        family.series.len(),
        2501,
        "2500 series and the overflow one"
    );
    assert_eq!(
        family.series(&["7"]).unwrap().value,
        Value::Counter(ROUNDS * (0..4).map(|t| t + 7 % 3).sum::<u64>())
    );
}
