//! Families built with `expire_after`: series left unchanged for that long, as seen by the
//! registry's reads under a `ManualClock`, are removed; active ones stay; `prism_updates`
//! and the family's total never go down; a label set seen again starts a new series.

use std::time::Duration;

use prism_core::{
    Counter, Error, Family, Gauge, ManualClock, Overflow, Registry, Snapshot, Value,
    MAX_EXPIRE_AFTER,
};

const AFTER: Duration = Duration::from_secs(60);

fn family(clock: &ManualClock) -> Family<Counter> {
    Family::<Counter>::builder(["peer"])
        .expire_after(AFTER)
        .clock(clock.clone())
        .build()
        .unwrap()
}

fn counter(read: &Snapshot, family: &str, labels: &[&str]) -> Option<u64> {
    match read.family(family)?.series(labels)?.value {
        Value::Counter(v) => Some(v),
        ref other => panic!("{family} {labels:?} reads {other:?}"),
    }
}

fn updates(read: &Snapshot) -> u64 {
    counter(read, "prism_updates", &[]).unwrap()
}

#[test]
fn idle_series_expire_active_ones_stay_and_no_total_goes_down() {
    let clock = ManualClock::new();
    let registry = Registry::new();
    let peers = registry
        .register("peers", "Requests by peer.", family(&clock))
        .unwrap();
    peers.with(&["idle"], |c| c.add(5));
    peers.with(&["busy"], |c| c.add(1));
    let mut last_updates = 0;
    let mut check = |read: &Snapshot| {
        assert!(updates(read) >= last_updates, "prism_updates went down");
        last_updates = updates(read);
    };
    // Reads every 20 s; `busy` moves between each, `idle` never does.
    for step in 0..3 {
        let read = registry.snapshot();
        check(&read);
        assert_eq!(counter(&read, "peers", &["idle"]), Some(5), "step {step}");
        clock.advance(Duration::from_secs(20));
        peers.with(&["busy"], Counter::inc);
    }
    // 60 s after the first read saw `idle` at 5: it goes, `busy` stays.
    let read = registry.snapshot();
    check(&read);
    assert_eq!(counter(&read, "peers", &["idle"]), None);
    assert_eq!(counter(&read, "peers", &["busy"]), Some(4));
    assert_eq!(peers.len(), 1);
    assert_eq!(
        read.family("prism_series")
            .unwrap()
            .series(&["peers"])
            .unwrap()
            .value,
        Value::Gauge(1),
        "the telemetry counts the series the read shows"
    );
    assert_eq!(updates(&read), 5 + 4, "the expired series' 5 is kept");

    // `idle` comes back: a new series, from zero.
    let created_before = registry
        .snapshot()
        .family("peers")
        .unwrap()
        .series(&["busy"])
        .unwrap()
        .created_unix_nanos;
    peers.with(&["idle"], Counter::inc);
    let read = registry.snapshot();
    check(&read);
    let again = read.family("peers").unwrap().series(&["idle"]).unwrap();
    assert_eq!(again.value, Value::Counter(1));
    assert!(again.created_unix_nanos >= created_before);
    assert_eq!(updates(&read), 5 + 4 + 1);
}

#[test]
fn a_series_moving_within_every_timeout_never_expires() {
    let clock = ManualClock::new();
    let f = family(&clock);
    for _ in 0..10 {
        f.with(&["a"], Counter::inc);
        assert_eq!(f.expire_idle(), 0);
        clock.advance(AFTER - Duration::from_secs(1));
    }
    assert_eq!(f.len(), 1);
    assert_eq!(f.get(&["a"]).get(), 10);
}

#[test]
fn an_update_that_leaves_the_value_in_place_is_not_activity() {
    let clock = ManualClock::new();
    let f = Family::<Gauge>::builder(["k"])
        .expire_after(AFTER)
        .clock(clock.clone())
        .build()
        .unwrap();
    f.with(&["a"], |g| g.set(7));
    f.expire_idle();
    clock.advance(AFTER / 2);
    f.with(&["a"], |g| g.set(7));
    f.expire_idle();
    clock.advance(AFTER / 2);
    assert_eq!(f.expire_idle(), 1);
    assert!(f.is_empty());
}

#[test]
fn idleness_counts_from_the_first_read_that_saw_the_value() {
    let clock = ManualClock::new();
    let f = family(&clock);
    f.with(&["a"], Counter::inc);
    clock.advance(AFTER * 10); // unchanged, but no read saw it yet
    assert_eq!(f.expire_idle(), 0);
    clock.advance(AFTER - Duration::from_nanos(1));
    assert_eq!(f.expire_idle(), 0);
    clock.advance(Duration::from_nanos(1));
    assert_eq!(f.expire_idle(), 1);
}

#[test]
fn a_kept_handle_detaches_on_expiry_and_the_label_set_restarts() {
    let clock = ManualClock::new();
    let registry = Registry::new();
    let f = registry.register("jobs", "Jobs.", family(&clock)).unwrap();
    let kept = f.get(&["a"]);
    kept.add(3);
    registry.snapshot();
    clock.advance(AFTER);
    assert!(registry
        .snapshot()
        .family("jobs")
        .unwrap()
        .series
        .is_empty());
    kept.add(100); // reaches no registry, as after `remove`
    let read = registry.snapshot();
    assert!(read.family("jobs").unwrap().series.is_empty());
    assert_eq!(updates(&read), 3);
    f.with(&["a"], Counter::inc);
    assert_eq!(counter(&registry.snapshot(), "jobs", &["a"]), Some(1));
}

#[test]
fn the_overflow_series_never_expires() {
    let clock = ManualClock::new();
    let registry = Registry::new();
    let f = registry
        .register(
            "jobs",
            "Jobs.",
            Family::<Counter>::builder(["k"])
                .cardinality_limit(1)
                .overflow(Overflow::Series)
                .expire_after(AFTER)
                .clock(clock.clone())
                .build()
                .unwrap(),
        )
        .unwrap();
    f.with(&["a"], Counter::inc);
    f.with(&["b"], |c| c.add(2)); // refused: the overflow series
    registry.snapshot();
    clock.advance(AFTER);
    let read = registry.snapshot();
    assert_eq!(f.len(), 0);
    let jobs = read.family("jobs").unwrap();
    assert_eq!(jobs.series.len(), 1);
    assert_eq!(jobs.overflow().unwrap().value, Value::Counter(2));
    assert_eq!(updates(&read), 3);
}

#[test]
fn families_without_expiry_keep_their_series() {
    let f = Family::<Counter>::new(["k"]);
    f.with(&["a"], Counter::inc);
    assert_eq!(f.expire_after(), None);
    assert_eq!(f.expire_idle(), 0);
    assert_eq!(f.len(), 1);
}

#[test]
fn expiry_out_of_bounds_is_refused_with_what_to_do() {
    for (after, hint) in [
        (Duration::ZERO, "longer than the interval between reads"),
        (
            MAX_EXPIRE_AFTER + Duration::from_nanos(1),
            "remove such series by hand",
        ),
        (Duration::MAX, "remove such series by hand"),
    ] {
        let err = Family::<Counter>::builder(["k"])
            .expire_after(after)
            .build()
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidExpiry { after: a, .. } if a == after),
            "{err:?}"
        );
        assert!(err.to_string().contains(hint), "{err}");
    }
    let f = Family::<Counter>::builder(["k"])
        .expire_after(MAX_EXPIRE_AFTER)
        .build()
        .unwrap();
    assert_eq!(f.expire_after(), Some(MAX_EXPIRE_AFTER));
}

/// Many series over every shard: one sweep removes exactly the idle ones, and
/// `prism_updates` keeps every add.
#[test]
fn one_sweep_removes_exactly_the_idle_series_across_shards() {
    let clock = ManualClock::new();
    let registry = Registry::new();
    let f = registry
        .register(
            "conns",
            "Connections.",
            Family::<Counter>::builder(["peer"])
                .cardinality_limit(5000)
                .expire_after(AFTER)
                .clock(clock.clone())
                .build()
                .unwrap(),
        )
        .unwrap();
    let peers: Vec<String> = (0..600).map(|i| format!("p{i}")).collect();
    for p in &peers {
        f.with(&[p], Counter::inc);
    }
    for _ in 0..4 {
        registry.snapshot();
        clock.advance(AFTER / 3);
        for p in peers.iter().step_by(3) {
            f.with(&[p], Counter::inc);
        }
    }
    let read = registry.snapshot();
    let left: Vec<&str> = read
        .family("conns")
        .unwrap()
        .series
        .iter()
        .map(|s| s.label_values[0].as_str())
        .collect();
    let mut want: Vec<&str> = peers.iter().step_by(3).map(String::as_str).collect();
    let mut got = left.clone();
    want.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, want);
    assert_eq!(f.len(), 200);
    assert_eq!(updates(&read), 600 + 4 * 200);
}

/// A closure-backed metric's read runs user code: the sweep reads it holding no lock of the
/// family, so a closure that looks up in its own family neither deadlocks nor panics.
#[test]
fn a_closure_read_by_the_sweep_may_look_up_in_its_own_family() {
    use std::sync::{Arc, OnceLock};

    use prism_core::GaugeFn;

    let clock = ManualClock::new();
    let cell: Arc<OnceLock<Family<GaugeFn>>> = Arc::new(OnceLock::new());
    let inside = cell.clone();
    let f = Family::<GaugeFn>::builder(["k"])
        .expire_after(AFTER)
        .clock(clock.clone())
        .build_with(move || {
            let family = inside.clone();
            GaugeFn::new(move || {
                if let Some(f) = family.get() {
                    // A new label set each read: an insert, under the family's write lock.
                    f.with(&[format!("side{}", f.len())], |_| ());
                }
                7_i64
            })
        })
        .unwrap();
    cell.set(f.clone()).ok().unwrap();
    f.with(&["a"], |_| ());
    f.expire_idle();
    clock.advance(AFTER);
    assert!(f.expire_idle() >= 1, "unchanged closures expire");
}
