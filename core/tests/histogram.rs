//! Histograms: the HDR index against the hdrhistogram crate's own indexing, quantiles
//! against exact sorted arrays, shard merges against one plain histogram, export buckets,
//! summaries, families and the labels the formats reserve.
#![cfg(not(loom))]

use std::collections::BTreeMap;

use prism_core::{
    Counter, Error, Family, HdrLayout, Histogram, HistogramConfig, Metric, Registry, Summary, Value,
};
use proptest::prelude::*;

/// Every bin of `layout` against the crate: the crate's bins, walked in index order, each
/// reported by its highest value; both ends and a value inside map to the same index here.
fn assert_layout_matches_crate(low: u64, high: u64, sigfig: u8) {
    let layout = HdrLayout::new(low, high, sigfig).unwrap();
    let hdr = hdrhistogram::Histogram::<u64>::new_with_bounds(low, high, sigfig).unwrap();
    assert_eq!(layout.len(), hdr.distinct_values(), "{low} {high} {sigfig}");
    let mut bins = 0;
    for (i, bin) in hdr.iter_all().enumerate() {
        let top = bin.value_iterated_to();
        let bottom = hdr.lowest_equivalent(top);
        assert_eq!(layout.lowest_equivalent(i), bottom, "bin {i} of {layout:?}");
        assert_eq!(layout.highest_equivalent(i), top, "bin {i} of {layout:?}");
        if bottom <= high {
            assert_eq!(layout.index(bottom), i, "bottom of bin {i} of {layout:?}");
            let middle = bottom + (top.min(high) - bottom) / 2;
            assert_eq!(layout.index(middle), i, "middle of bin {i} of {layout:?}");
        }
        if top <= high {
            assert_eq!(layout.index(top), i, "top of bin {i} of {layout:?}");
        }
        bins += 1;
    }
    assert_eq!(bins, layout.len());
    // Past the last bin: the last bin, as saturating_record does.
    assert_eq!(layout.index(u64::MAX), layout.len() - 1);
    assert!(layout.index(high) < layout.len());
}

#[test]
fn hdr_index_equals_the_crates_over_every_bin() {
    for (low, high, sigfig) in [
        (1, 60_000_000_000, 3), // the default latency layout
        (1, 2, 0),
        (1, 1_000, 5),
        (1, u64::MAX, 0),
        (1, u64::MAX, 2),
        (3, u64::MAX, 1),
        (1_000, 1 << 40, 4),
        (7, 100_000, 1),
        (1 << 20, u64::MAX, 3),
        ((1 << 40) - 1, u64::MAX, 2),
        (u64::MAX / 4, u64::MAX, 0),
    ] {
        assert_layout_matches_crate(low, high, sigfig);
    }
}

#[test]
fn default_layout_is_27_runs_of_1024_bins() {
    let config = HistogramConfig::default();
    let layout = config.layout();
    assert_eq!(
        (layout.low(), layout.high(), layout.sigfig()),
        (1, 60_000_000_000, 3)
    );
    assert_eq!(layout.len(), 27 * 1024);
    assert_eq!(layout.run_len(), 1024);
}

fn layouts() -> impl Strategy<Value = (u64, u64, u8)> {
    (0u32..48, 0u8..=5).prop_flat_map(|(low_bits, sigfig)| {
        let low = 1u64 << low_bits;
        (low..low * 2, Just(sigfig))
            .prop_flat_map(|(low, sigfig)| (Just(low), (low * 2)..=u64::MAX, Just(sigfig)))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random layouts and values: the bin found here spans exactly the crate's equivalent
    /// range of the value.
    #[test]
    fn hdr_index_spans_the_crates_equivalent_range(
        (low, high, sigfig) in layouts(),
        values in prop::collection::vec(any::<u64>(), 64),
    ) {
        let Ok(layout) = HdrLayout::new(low, high, sigfig) else {
            prop_assert!(hdrhistogram::Histogram::<u64>::new_with_bounds(low, high, sigfig).is_err());
            return Ok(());
        };
        let hdr = hdrhistogram::Histogram::<u64>::new_with_bounds(low, high, sigfig).unwrap();
        for (k, v) in values.into_iter().enumerate() {
            // Half spread over the whole range, half over the low bins where buckets are narrow.
            let range = if k % 2 == 0 { high } else { (low << 14).min(high) };
            let v = v % range.saturating_add(1).max(1);
            let i = layout.index(v);
            prop_assert!(i < layout.len());
            prop_assert_eq!(layout.lowest_equivalent(i), hdr.lowest_equivalent(v));
            if v != u64::MAX {
                // (the crate's highest_equivalent(u64::MAX) is u64::MAX, its bin's end MAX - 1)
                prop_assert_eq!(layout.highest_equivalent(i), hdr.highest_equivalent(v));
            }
        }
    }
}

/// Exact quantile of a sorted array, hdrhistogram's definition: the `ceil(q * n)`-th
/// smallest value (at least the first).
fn exact_quantile(sorted: &[u64], q: f64) -> u64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
    sorted[rank - 1]
}

fn log_uniform() -> impl Strategy<Value = u64> {
    (0u32..36, any::<u64>()).prop_map(|(bits, r)| (1u64 << bits) + r % (1u64 << bits))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn quantiles_match_a_sorted_array_within_the_precision(
        values in prop::collection::vec(log_uniform(), 1..2000),
        sigfig in 1u8..=4,
    ) {
        let h = Histogram::builder().significant_digits(sigfig).shards(1).build().unwrap();
        for &v in &values {
            h.record(v);
        }
        let mut sorted = values.clone();
        sorted.sort_unstable();
        let read = h.snapshot();
        let layout = *h.config().layout();
        prop_assert_eq!(read.count(), values.len() as u64);
        prop_assert_eq!(read.sum(), values.iter().sum::<u64>());
        for q in [0.01, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0] {
            let exact = exact_quantile(&sorted, q);
            let got = read.quantile(q);
            // The highest value of the bin holding the exact quantile...
            prop_assert_eq!(got, layout.highest_equivalent(layout.index(exact)), "q={}", q);
            // ...which is within the configured precision of it.
            prop_assert!(got >= exact);
            prop_assert!((got - exact) as f64 <= exact as f64 * 10f64.powi(-i32::from(sigfig)),
                "q={} exact={} got={}", q, exact, got);
        }
        // Min and max are exact, also past the highest trackable value (counted in the
        // last bin); the quantile at 1.0 is the top bin's edge.
        let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
        prop_assert_eq!(read.min(), min);
        prop_assert_eq!(read.max(), max);
        let value = read.value();
        // Recorded in nanoseconds, exported in seconds.
        prop_assert_eq!(value.min(), Some(min as f64 / 1e9));
        prop_assert_eq!(value.max(), Some(max as f64 / 1e9));
    }

    /// Many threads into one sharded histogram read the same as one plain hdrhistogram fed
    /// every value: bin for bin, and the same sum.
    #[test]
    fn merged_shards_equal_one_histogram(
        per_thread in prop::collection::vec(prop::collection::vec(log_uniform(), 0..300), 1..7),
        shards in 1usize..4,
    ) {
        let h = Histogram::builder().shards(shards).build().unwrap();
        let barrier = std::sync::Barrier::new(per_thread.len());
        std::thread::scope(|s| {
            for values in &per_thread {
                let (h, barrier) = (&h, &barrier);
                // All alive at once: distinct slots, so both exclusive and shared shards fill.
                s.spawn(move || {
                    barrier.wait();
                    for &v in values {
                        h.record(v);
                    }
                });
            }
        });
        let mut plain = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
        for &v in per_thread.iter().flatten() {
            plain.saturating_record(v);
        }
        let read = h.snapshot();
        let bins = |hdr: &hdrhistogram::Histogram<u64>| -> Vec<(u64, u64)> {
            hdr.iter_recorded().map(|b| (b.value_iterated_to(), b.count_at_value())).collect()
        };
        prop_assert_eq!(bins(read.hdr()), bins(&plain));
        prop_assert_eq!(read.sum(), per_thread.iter().flatten().sum::<u64>());
        for q in [0.5, 0.9, 0.99, 0.999] {
            prop_assert_eq!(read.quantile(q), plain.value_at_quantile(q));
        }
    }

    /// Export buckets count each value at most the bound of the first bucket whose bound's
    /// bin is at or past the value's bin; values below 2048 sit in unit-wide bins, so there
    /// the buckets are exact.
    #[test]
    fn export_buckets_count_values_by_bin(
        values in prop::collection::vec(log_uniform(), 0..500),
        small in prop::collection::vec(0u64..2048, 0..200),
    ) {
        let bounds = [1.0, 10.0, 100.0, 1000.0, 2000.0, 1e6, 1e9];
        let h = Histogram::builder().unit_scale(1.0).buckets(bounds).shards(1).build().unwrap();
        let layout = *h.config().layout();
        for &v in values.iter().chain(&small) {
            h.record(v);
        }
        let Value::Histogram(read) = h.read() else { panic!("a histogram reads as Value::Histogram") };
        prop_assert_eq!(read.bounds(), &bounds[..]);
        prop_assert_eq!(read.bucket_counts().len(), bounds.len() + 1);
        let all: Vec<u64> = values.iter().chain(&small).copied().collect();
        let cumulative: Vec<(f64, u64)> = read.cumulative().collect();
        for (k, &b) in bounds.iter().enumerate() {
            let bin = layout.index(b as u64);
            let expected = all.iter().filter(|&&v| layout.index(v) <= bin).count() as u64;
            prop_assert_eq!(cumulative[k], (b, expected));
            if b < 2048.0 {
                let exact = all.iter().filter(|&&v| (v as f64) <= b).count() as u64;
                prop_assert_eq!(expected, exact);
            }
        }
        prop_assert_eq!(cumulative[bounds.len()], (f64::INFINITY, all.len() as u64));
        prop_assert_eq!(read.bucket_counts().iter().sum::<u64>(), read.count());
        prop_assert_eq!(read.sum(), all.iter().sum::<u64>() as f64);
    }
}

#[test]
fn latency_histogram_reads_in_seconds() {
    let h = Histogram::new();
    for ms in [1u64, 2, 3, 4, 100] {
        h.record_duration(std::time::Duration::from_millis(ms));
    }
    let Value::Histogram(v) = h.read() else {
        panic!()
    };
    assert_eq!(v.count(), 5);
    assert!((v.sum() - 0.110).abs() < 1e-12);
    // Within 0.1 %: min reads as the lowest value of its bin, the rest as the highest.
    let near = |got: Option<f64>, want: f64| {
        let got = got.unwrap();
        assert!((got - want).abs() <= want * 1e-3, "{got} vs {want}");
    };
    near(v.min(), 0.001);
    near(v.max(), 0.1);
    near(v.p50(), 0.003);
    near(v.p90(), 0.1);
    near(v.p99(), 0.1);
    near(v.p999(), 0.1);
    assert_eq!(v.mean(), Some(v.sum() / 5.0));
    // 1 ms lands in le=0.001 (values within precision of a bound count as at most it).
    let cumulative: BTreeMap<String, u64> =
        v.cumulative().map(|(le, c)| (le.to_string(), c)).collect();
    assert_eq!(cumulative["0.0005"], 0);
    assert_eq!(cumulative["0.001"], 1);
    assert_eq!(cumulative["0.005"], 4);
    assert_eq!(cumulative["0.1"], 5);
    assert_eq!(cumulative["inf"], 5);
}

#[test]
fn an_empty_histogram_has_no_quantiles() {
    let h = Histogram::new();
    let Value::Histogram(v) = h.read() else {
        panic!()
    };
    assert_eq!((v.count(), v.sum()), (0, 0.0));
    assert_eq!(
        (v.min(), v.max(), v.mean(), v.p50(), v.p999()),
        (None, None, None, None, None)
    );
    assert!(v.bucket_counts().iter().all(|&c| c == 0));
    assert_eq!(
        h.read(),
        h.read(),
        "empty reads compare equal (no NaN inside)"
    );
    assert_eq!(
        (h.count(), h.min(), h.max(), h.quantile(0.99), h.mean()),
        (0, 0, 0, 0, 0.0)
    );
}

#[test]
fn values_above_the_range_count_at_the_top_and_keep_their_sum() {
    let h = Histogram::builder()
        .unit_scale(1.0)
        .highest(1000)
        .buckets([10.0])
        .build()
        .unwrap();
    h.record(5_000);
    let read = h.snapshot();
    assert_eq!(read.count(), 1);
    assert_eq!(read.sum(), 5_000);
    let layout = h.config().layout();
    // Counted in the last bin, whose edge the top quantile reports; max is the value.
    assert_eq!(
        read.quantile(1.0),
        layout.highest_equivalent(layout.len() - 1)
    );
    assert_eq!(read.max(), 5_000);
    assert_eq!(read.min(), 5_000);
}

/// Min and max are exact where the bins round: a value in the middle of a wide bin.
#[test]
fn min_and_max_are_the_values_recorded_not_their_bin_edges() {
    let h = Histogram::builder()
        .unit_scale(1.0)
        .significant_digits(1)
        .shards(2)
        .build()
        .unwrap();
    let layout = *h.config().layout();
    let (low, high) = (123_457u64, 9_876_543u64);
    assert_ne!(layout.lowest_equivalent(layout.index(low)), low);
    assert_ne!(layout.highest_equivalent(layout.index(high)), high);
    std::thread::scope(|s| {
        s.spawn(|| h.record(high));
        s.spawn(|| h.record(low));
        s.spawn(|| h.record(500_000));
    });
    let read = h.snapshot();
    assert_eq!((read.min(), read.max()), (low, high));
    let value = read.value();
    assert_eq!(
        (value.min(), value.max()),
        (Some(low as f64), Some(high as f64))
    );
    assert_eq!(Histogram::new().snapshot().max(), 0, "empty");
}

#[test]
fn timer_records_on_drop_and_not_when_discarded() {
    let h = Histogram::new();
    {
        let _t = h.start_timer();
    }
    let took = h.start_timer().stop();
    h.start_timer().discard();
    assert_eq!(h.count(), 2);
    assert!(h.max() >= u64::try_from(took.as_nanos()).unwrap().min(1) - 1);
}

#[test]
fn summary_reads_quantiles_without_buckets() {
    let s = Summary::new();
    for v in 1..=1000u64 {
        s.record(v * 1000);
    }
    let Value::Summary(v) = s.read() else {
        panic!("a summary reads as Value::Summary")
    };
    assert_eq!(Summary::KIND, prism_core::Kind::Summary);
    assert!(v.bounds().is_empty());
    assert_eq!(v.bucket_counts(), &[1000]);
    assert_eq!(v.count(), 1000);
    let p99 = v.p99().unwrap();
    assert!((p99 - 990e-6).abs() <= 990e-6 * 1e-3, "{p99}");
    assert_eq!(v.quantile(0.99), Some(p99));
    assert_eq!(v.quantile(0.42), None);
}

#[test]
fn invalid_configurations_are_refused_with_what_to_do() {
    use prism_core::HistogramError;
    let cases = [
        Histogram::builder().lowest(0).build().unwrap_err(),
        Histogram::builder()
            .significant_digits(6)
            .build()
            .unwrap_err(),
        Histogram::builder()
            .buckets([1.0, 1.0])
            .build()
            .unwrap_err(),
        Histogram::builder()
            .buckets([f64::NAN])
            .build()
            .unwrap_err(),
        Histogram::builder().buckets([-1.0]).build().unwrap_err(),
        Histogram::builder().unit_scale(0.0).build().unwrap_err(),
        Histogram::builder().shards(0).build().unwrap_err(),
    ];
    assert!(matches!(cases[0], HistogramError::Layout(_)));
    assert!(matches!(cases[2], HistogramError::Bounds { bound } if bound == 1.0));
    for e in &cases {
        assert!(!e.to_string().is_empty());
    }
    assert!(cases[6].to_string().contains("1 to"));
}

#[test]
fn memory_is_stated_and_bounded() {
    let config = Histogram::builder().shards(16).config().unwrap();
    let h = config.build();
    let empty = h.allocated_bytes();
    // 2 * 16 cache-padded (128-byte) shard cells, nothing allocated behind them.
    assert!(
        empty < 2 * 16 * 128 + 512,
        "an empty histogram holds {empty} bytes"
    );
    // One thread, values within one decade: a handful of 8 KiB runs in one shard.
    for v in (100_000..1_000_000).step_by(997) {
        h.record(v);
    }
    let one_decade = h.allocated_bytes();
    assert!(
        one_decade > empty + 4 * 8192 && one_decade <= empty + 5 * (8192 + 1024),
        "{one_decade}"
    );
    // Every bin of every shard: the stated bound, 2 * 16 * 216 KiB plus tables.
    let max = config.max_bytes();
    assert!(
        (2 * 16 * 27 * 8192..2 * 16 * 27 * 8192 + 64 * 1024).contains(&max),
        "{max}"
    );
    let barrier = std::sync::Barrier::new(20);
    std::thread::scope(|s| {
        for _ in 0..20 {
            let (h, barrier) = (&h, &barrier);
            s.spawn(move || {
                barrier.wait();
                for bits in 0..36 {
                    h.record(1 << bits);
                }
            });
        }
    });
    assert!(h.allocated_bytes() <= max);
}

#[test]
fn families_of_histograms_keep_the_cardinality_limit() {
    let registry = Registry::new();
    let config = Histogram::builder().shards(1).config().unwrap();
    let family = registry
        .register(
            "rpc_duration_seconds",
            "RPC latency.",
            Family::builder(["method"])
                .cardinality_limit(2)
                .build_with(move || config.build())
                .unwrap(),
        )
        .unwrap();
    family.get(&["a"]).record(1_000);
    family.get(&["b"]).record(2_000);
    family.get(&["c"]).record(3_000); // past the limit: the overflow series
    family.get(&["d"]).record(4_000);
    assert_eq!(family.len(), 2);
    assert_eq!(family.refused(), 2);
    let read = registry.snapshot();
    let f = read.family("rpc_duration_seconds").unwrap();
    let counts: Vec<u64> = f
        .series
        .iter()
        .map(|s| match &s.value {
            Value::Histogram(h) => h.count(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(counts, [1, 1, 2]);
    // A default family builds default histograms.
    let plain = Family::<Histogram>::new(["route"]);
    plain.get(&["/"]).record(5);
    assert_eq!(plain.get(&["/"]).count(), 1);
}

#[test]
fn le_is_refused_on_histograms_and_quantile_on_summaries() {
    let registry = Registry::new();
    let err = registry
        .register("a_seconds", "A.", Family::<Histogram>::new(["le"]))
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidLabelName { label, .. } if label == "le"),
        "{err}"
    );
    let err = registry
        .register(
            "b_seconds",
            "B.",
            Family::<Summary>::new(["route", "quantile"]),
        )
        .unwrap_err();
    assert!(matches!(&err, Error::InvalidLabelName { label, .. } if label == "quantile"));
    let err = registry
        .register(
            "c_seconds",
            "C.",
            Family::<prism_core::WindowedHistogram>::new(["quantile"]),
        )
        .unwrap_err();
    assert!(matches!(&err, Error::InvalidLabelName { .. }));
    // Each is fine where the format does not add it.
    registry
        .register("d_seconds", "D.", Family::<Histogram>::new(["quantile"]))
        .unwrap();
    registry
        .register("e_seconds", "E.", Family::<Summary>::new(["le"]))
        .unwrap();
    registry
        .register("f", "F.", Family::<Counter>::new(["le", "quantile"]))
        .unwrap();
}

#[test]
fn a_histogram_takes_the_names_the_formats_print() {
    let registry = Registry::new();
    registry
        .register("latency_seconds", "L.", Histogram::new())
        .unwrap();
    for clash in [
        "latency_seconds_bucket",
        "latency_seconds_count",
        "latency_seconds_sum",
    ] {
        assert!(matches!(
            registry.register(clash, "X.", Counter::new()),
            Err(Error::Clash { .. })
        ));
    }
}
