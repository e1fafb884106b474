//! Watches on prism's own telemetry: they fire and resolve with hooks, and show as metrics.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prism_core::{Counter, Family, ManualClock, Overflow, Registry};
use prism_slo::{AlertEvent, Watch};

const MIN: Duration = Duration::from_secs(60);

fn recorder() -> (
    Arc<Mutex<Vec<AlertEvent>>>,
    impl Fn(&AlertEvent) + Send + Sync + Clone,
) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    (events, move |e: &AlertEvent| {
        sink.lock().unwrap().push(e.clone())
    })
}

#[test]
fn series_growth_fires_while_a_family_grows_fast_and_resolves_after() {
    let registry = Registry::new();
    let users = registry
        .register("logins", "Logins.", Family::<Counter>::new(["user"]))
        .unwrap();
    let clock = ManualClock::new();
    let (events, hook) = recorder();
    let watch = Watch::series_growth("cardinality", &registry, 10 * MIN, 100.0)
        .clock(clock.clone())
        .on_fire(hook.clone())
        .on_resolve(hook)
        .register()
        .unwrap();
    let mut next = 0;
    let mut minute = |new: usize| {
        for _ in 0..new {
            users.get(&[next.to_string()]).inc();
            next += 1;
        }
        clock.advance(MIN);
        watch.tick();
    };
    for _ in 0..15 {
        minute(5); // 50 per 10 minutes: fine
    }
    assert!(!watch.firing());
    for _ in 0..10 {
        minute(30); // 300 per 10 minutes
    }
    assert!(watch.firing());
    let text = prism_prom::render(&registry, prism_prom::Format::Prometheus);
    assert!(
        text.contains("slo_watch_firing{watch=\"cardinality\"} 1"),
        "{text}"
    );
    for _ in 0..11 {
        minute(0);
    }
    assert!(!watch.firing());
    let events = events.lock().unwrap();
    let seen: Vec<(bool, &str)> = events
        .iter()
        .map(|e| (e.firing, e.alert.as_str()))
        .collect();
    assert_eq!(
        seen,
        [(true, "PrismSeriesGrowth"), (false, "PrismSeriesGrowth")]
    );
    assert!(events[0].value > 100.0);
}

#[test]
fn refused_label_sets_rising_fires() {
    let registry = Registry::new();
    let family: Family<Counter> = Family::builder(["user"])
        .cardinality_limit(3)
        .overflow(Overflow::Series)
        .build()
        .unwrap();
    let family = registry.register("logins", "Logins.", family).unwrap();
    let clock = ManualClock::new();
    let watch = Watch::refused_rising("refusals", &registry, 5 * MIN)
        .clock(clock.clone())
        .register()
        .unwrap();
    for i in 0..3 {
        family.get(&[i.to_string()]).inc();
    }
    for _ in 0..6 {
        clock.advance(MIN);
        watch.tick();
    }
    assert!(!watch.firing(), "at the limit, nothing refused");
    family.get(&["one too many"]).inc();
    clock.advance(MIN);
    watch.tick();
    assert!(watch.firing());
    for _ in 0..5 {
        clock.advance(MIN);
        watch.tick();
    }
    assert!(!watch.firing(), "no refusal in the last 5 minutes");
}

#[test]
fn registry_size_compares_the_series_in_all() {
    let registry = Registry::new();
    let family = registry
        .register("jobs", "Jobs.", Family::<Counter>::new(["id"]))
        .unwrap();
    let watch = Watch::registry_size("size", &registry, 50.0)
        .register()
        .unwrap();
    watch.tick();
    assert!(!watch.firing());
    for i in 0..60 {
        family.get(&[i.to_string()]).inc();
    }
    watch.tick();
    assert!(watch.firing());
}

#[test]
fn a_zero_window_or_bad_name_is_refused() {
    let registry = Registry::new();
    assert!(Watch::refused_rising("r", &registry, Duration::ZERO)
        .register()
        .is_err());
    assert!(Watch::registry_size("a b", &registry, 1.0)
        .register()
        .is_err());
}
