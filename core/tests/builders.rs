//! Property tests: every size given to a builder or a sized constructor, huge ones included,
//! either builds within the documented maximum or is refused with an error. Nothing panics
//! and nothing tries to allocate without bound.

use std::time::Duration;

use prism_core::{
    Counter, Family, Histogram, HistogramError, ManualClock, NumaCounter, NumaTopology,
    PerCpuCounter, ShardedCounter, SloppyCounter, StripedCounter, WindowedHistogram, WindowedRate,
    MAX_CARDINALITY_LIMIT, MAX_HISTOGRAM_SHARDS, MAX_RATE_SLOTS, MAX_SHARDS, MAX_SLOT_DURATION,
    MAX_STRIPES, MAX_WINDOW_SLOTS,
};
use proptest::prelude::*;

/// Sizes near every edge: small, around each documented maximum, and huge.
fn size() -> impl Strategy<Value = usize> {
    let edges = [
        MAX_CARDINALITY_LIMIT,
        MAX_HISTOGRAM_SHARDS,
        MAX_RATE_SLOTS,
        MAX_WINDOW_SLOTS,
        MAX_SHARDS,
        MAX_STRIPES,
        u32::MAX as usize,
        usize::MAX / 2,
        usize::MAX,
    ];
    prop_oneof![
        0usize..8,
        proptest::sample::select(edges.to_vec())
            .prop_flat_map(|m| (m.saturating_sub(1))..=m.saturating_add(1)),
        any::<usize>(),
    ]
}

/// Durations near every edge: zero, nanoseconds, around the longest slot, and huge.
fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (0u64..3).prop_map(Duration::from_nanos),
        (0u64..=2)
            .prop_map(|d| MAX_SLOT_DURATION + Duration::from_nanos(d) - Duration::from_nanos(1)),
        any::<u64>().prop_map(Duration::from_nanos),
        (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        Just(Duration::MAX),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn windowed_rates_build_or_refuse(slots in size(), slot in duration()) {
        let built = WindowedRate::builder()
            .slots(slots)
            .slot_duration(slot)
            .clock(ManualClock::new())
            .build();
        let valid = (1..=MAX_RATE_SLOTS).contains(&slots) && !slot.is_zero() && slot <= MAX_SLOT_DURATION;
        match built {
            Ok(rate) => {
                prop_assert!(valid, "{} slots of {:?} built", slots, slot);
                rate.inc();
                let _ = (rate.count(), rate.rate(), rate.current());
                prop_assert_eq!(rate.window(), slot * slots as u32);
            }
            Err(e) => {
                prop_assert!(!valid, "{} slots of {:?} refused: {}", slots, slot, e);
                let window_error = matches!(
                    e,
                    HistogramError::Window
                        | HistogramError::WindowSlots { .. }
                        | HistogramError::SlotDuration { .. }
                );
                prop_assert!(window_error, "{:?}", e);
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }

    #[test]
    fn windowed_histograms_build_or_refuse(slots in size(), slot in duration()) {
        // A clock that stands still: a slot of a nanosecond must not rotate under the test.
        let built = WindowedHistogram::builder()
            .slots(slots)
            .slot_duration(slot)
            .clock(ManualClock::new())
            .build();
        let valid =
            (1..=MAX_WINDOW_SLOTS).contains(&slots) && !slot.is_zero() && slot <= MAX_SLOT_DURATION;
        match built {
            Ok(window) => {
                prop_assert!(valid, "{} slots of {:?} built", slots, slot);
                window.record(1000);
                prop_assert_eq!(window.snapshot().count(), 1);
                prop_assert_eq!(window.window(), slot * slots as u32);
            }
            Err(e) => prop_assert!(!valid, "{} slots of {:?} refused: {}", slots, slot, e),
        }
    }

    #[test]
    fn families_build_or_refuse(limit in size()) {
        let built = Family::<Counter>::builder(["k"]).cardinality_limit(limit).build();
        match built {
            Ok(f) => {
                prop_assert!((1..=MAX_CARDINALITY_LIMIT).contains(&limit));
                f.get(&["a"]).inc();
                prop_assert_eq!(f.len(), 1);
            }
            Err(e) => {
                prop_assert!(limit == 0 || limit > MAX_CARDINALITY_LIMIT);
                let message = e.to_string();
                prop_assert!(message.contains(&limit.to_string()) || limit == 0, "{}", message);
            }
        }
    }

    #[test]
    fn histograms_build_or_refuse(
        low in prop_oneof![0u64..4, any::<u64>()],
        high in prop_oneof![0u64..64, any::<u64>(), Just(u64::MAX)],
        digits in prop_oneof![0u8..7, any::<u8>()],
        shards in size(),
    ) {
        let built = Histogram::builder()
            .lowest(low)
            .highest(high)
            .significant_digits(digits)
            .shards(shards)
            .config();
        if let Ok(config) = built {
            prop_assert!((1..=MAX_HISTOGRAM_SHARDS).contains(&shards));
            prop_assert!(digits <= 5 && low >= 1 && high >= low.saturating_mul(2));
            // Building allocates 2 * shards slots of lazily allocated runs: cheap to try.
            let h = config.build();
            h.record(low);
            prop_assert_eq!(h.count(), 1);
        }
    }

    /// The sized constructors of the scalable counters clamp to their documented bounds
    /// rather than fail: whatever the size, the counter is usable and within bounds.
    #[test]
    fn scalable_counters_clamp_any_size(n in size(), batch in any::<u64>()) {
        let sharded = ShardedCounter::with_shards(n);
        prop_assert!((1..=MAX_SHARDS).contains(&sharded.shards()));
        sharded.inc();
        prop_assert_eq!(sharded.get(), 1);

        let striped = StripedCounter::with_max_stripes(n);
        prop_assert!((2..=MAX_STRIPES).contains(&striped.max_stripes()));
        striped.inc();
        prop_assert_eq!(striped.get(), 1);

        let per_cpu = PerCpuCounter::with_cpus(n);
        prop_assert!((1..=8192).contains(&per_cpu.cpus()));
        per_cpu.inc();
        prop_assert_eq!(per_cpu.get(), 1);

        let topology = NumaTopology::single_node(n);
        prop_assert!(topology.cpus_of(0).is_some_and(|c| (1..=8192).contains(&c.len())));
        let numa = NumaCounter::with_cells_per_node(topology, n);
        numa.inc();
        prop_assert_eq!(numa.get(), 1);

        let sloppy = SloppyCounter::new();
        let local = sloppy.local(batch);
        local.inc();
        drop(local);
        prop_assert_eq!(sloppy.get(), 1);
    }
}

/// The case that used to overflow computing the ring's length (`slots + 1`), in debug and
/// release alike.
#[test]
fn a_rate_of_usize_max_slots_is_an_error_not_a_panic() {
    let err = WindowedRate::builder()
        .slots(usize::MAX)
        .build()
        .unwrap_err();
    assert!(matches!(
        err,
        HistogramError::WindowSlots {
            slots: usize::MAX,
            max: MAX_RATE_SLOTS,
            ..
        }
    ));
    assert!(err.to_string().contains("86400"), "{err}");
    let err = WindowedHistogram::builder()
        .slots(usize::MAX)
        .build()
        .unwrap_err();
    assert!(matches!(
        err,
        HistogramError::WindowSlots {
            max: MAX_WINDOW_SLOTS,
            ..
        }
    ));
    let err = WindowedRate::builder()
        .slots(2)
        .slot_duration(Duration::MAX)
        .build()
        .unwrap_err();
    assert!(matches!(
        err,
        HistogramError::SlotDuration {
            slot: Duration::MAX,
            ..
        }
    ));
    assert!(err.to_string().contains("more slots"), "{err}");
}
