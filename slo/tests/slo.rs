//! The SLO tracker: burn rates, budget, alerts and their hooks, driven by a manual clock, and
//! its metrics in every format.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prism_core::{Counter, Family, ManualClock, Registry};
use prism_slo::{AlertEvent, BurnRateAlert, Matcher, Slo, Source};
use proptest::prelude::*;

const MIN: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

struct Setup {
    registry: Registry,
    requests: Counter,
    errors: Counter,
    clock: ManualClock,
    slo: Slo,
    events: Arc<Mutex<Vec<AlertEvent>>>,
}

fn setup() -> Setup {
    let registry = Registry::new();
    let requests = registry
        .register("http_requests", "Requests.", Counter::new())
        .unwrap();
    let errors = registry
        .register("http_errors", "Failed requests.", Counter::new())
        .unwrap();
    let clock = ManualClock::new();
    let events = Arc::new(Mutex::new(Vec::new()));
    let (fired, resolved) = (events.clone(), events.clone());
    let slo = Slo::errors_over_total(
        "api",
        Source::counter("http_errors", &errors),
        Source::counter("http_requests", &requests),
    )
    .clock(clock.clone())
    .on_fire(move |e| fired.lock().unwrap().push(e.clone()))
    .on_resolve(move |e| resolved.lock().unwrap().push(e.clone()))
    .register(&registry)
    .unwrap();
    slo.tick();
    Setup {
        registry,
        requests,
        errors,
        clock,
        slo,
        events,
    }
}

impl Setup {
    /// One minute with `n` requests of which `bad` failed, then a tick.
    fn minute(&self, n: u64, bad: u64) {
        self.clock.advance(MIN);
        self.requests.add(n);
        self.errors.add(bad);
        self.slo.tick();
    }
}

#[test]
fn burn_rates_and_budget_follow_the_counts() {
    let s = setup();
    for _ in 0..60 {
        s.minute(1000, 2); // 0.2 %: burn 2
    }
    for w in [5 * MIN, 30 * MIN, HOUR] {
        assert!((s.slo.burn_rate(w) - 2.0).abs() < 1e-9, "{w:?}");
    }
    // 60 000 events, 120 errors, 60 allowed: the budget is overspent by one budget.
    assert!((s.slo.budget_remaining() - -1.0).abs() < 1e-9);
    assert!(s.slo.exhausted());
    assert!(!s.slo.firing("page"), "2x is below every page rule");
}

#[test]
fn the_page_alert_fires_and_resolves_with_hooks_and_metrics() {
    let s = setup();
    for _ in 0..120 {
        s.minute(1000, 0);
    }
    assert!(!s.slo.firing("page"));
    for _ in 0..3 {
        s.minute(1000, 1000); // an outage
    }
    assert!(s.slo.firing("page"));
    let text = prism_prom::render(&s.registry, prism_prom::Format::Prometheus);
    assert!(
        text.contains("slo_alert_firing{slo=\"api\",severity=\"page\"} 1"),
        "{text}"
    );
    let json = prism_json::render_to_string(&s.registry);
    assert!(json.contains("slo_alert_firing"), "{json}");
    for _ in 0..10 {
        s.minute(1000, 0);
    }
    // The 1h & 5m rule no longer holds; the 6h & 30m one does until its 30m window is clean.
    assert!(s.slo.firing("page"));
    for _ in 0..21 {
        s.minute(1000, 0);
    }
    assert!(
        !s.slo.firing("page"),
        "resolves once the 30m window is clean"
    );
    let events = s.events.lock().unwrap();
    let page: Vec<(bool, &str)> = events
        .iter()
        .filter(|e| e.severity == "page")
        .map(|e| (e.firing, e.alert.as_str()))
        .collect();
    assert_eq!(
        page,
        [(true, "SloBurnRatePage"), (false, "SloBurnRatePage")]
    );
    assert!(events[0].value > 14.4, "{:?}", events[0]);
}

#[test]
fn metrics_show_in_every_format() {
    let s = setup();
    for _ in 0..10 {
        s.minute(100, 1);
    }
    let text = prism_prom::render(&s.registry, prism_prom::Format::Prometheus);
    let value = |series: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
            .unwrap_or_else(|| panic!("{series} missing:\n{text}"));
        line[series.len() + 1..].parse().unwrap()
    };
    // 1 % errors where 0.1 % are allowed.
    let near = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(near(value("slo_objective{slo=\"api\"}"), 0.999));
    assert!(near(
        value("slo_burn_rate{slo=\"api\",window=\"5m\"}"),
        10.0
    ));
    assert!(near(
        value("slo_burn_rate{slo=\"api\",window=\"3d\"}"),
        10.0
    ));
    assert!(near(value("slo_error_budget_remaining{slo=\"api\"}"), -9.0));
    assert!(near(value("slo_budget_exhausted{slo=\"api\"}"), 1.0));
    // 10x over every window (those longer than the history read all of it): 6x over 6h
    // and 30m holds, 14.4x over 1h and 5m does not.
    assert!(near(
        value("slo_alert_firing{slo=\"api\",severity=\"page\"}"),
        1.0
    ));
    let json = prism_json::render_to_string(&s.registry);
    assert!(json.contains("slo_burn_rate"), "{json}");
    // JSON, both text formats and OTLP say the same thing.
    let report = prism_conformance::check(&s.registry);
    assert!(report.is_ok(), "{report}");
}

#[test]
fn a_family_selection_counts_only_its_series() {
    let registry = Registry::new();
    let responses = registry
        .register(
            "http_responses",
            "Responses.",
            Family::<Counter>::new(["code"]),
        )
        .unwrap();
    let clock = ManualClock::new();
    let slo = Slo::errors_over_total(
        "api",
        Source::family("http_responses", &responses, [Matcher::prefix("code", "5")]).unwrap(),
        Source::family("http_responses", &responses, []).unwrap(),
    )
    .clock(clock.clone())
    .register(&registry)
    .unwrap();
    slo.tick();
    clock.advance(MIN);
    responses.get(&["200"]).add(990);
    responses.get(&["503"]).add(6);
    responses.get(&["500"]).add(4);
    responses.get(&["404"]).add(0);
    slo.tick();
    assert!((slo.error_ratio(5 * MIN) - 0.01).abs() < 1e-12);
}

#[test]
fn good_over_total_counts_the_difference() {
    let registry = Registry::new();
    let good = Counter::new();
    let total = Counter::new();
    let clock = ManualClock::new();
    let slo = Slo::good_over_total(
        "api",
        Source::counter("good", &good),
        Source::counter("all", &total),
    )
    .objective(0.99)
    .clock(clock.clone())
    .register(&registry)
    .unwrap();
    slo.tick();
    clock.advance(MIN);
    total.add(200);
    good.add(198);
    slo.tick();
    assert!((slo.burn_rate(5 * MIN) - 1.0).abs() < 1e-9);
    assert!((slo.budget_remaining() - 0.0).abs() < 1e-9);
}

#[test]
fn settings_are_checked() {
    let r = Registry::new();
    let c = Counter::new();
    let make = || Slo::errors_over_total("api", Source::counter("e", &c), Source::counter("t", &c));
    assert!(make().objective(1.0).register(&r).is_err());
    assert!(make().objective(f64::NAN).register(&r).is_err());
    assert!(make().period(Duration::ZERO).register(&r).is_err());
    assert!(make().windows([Duration::ZERO]).register(&r).is_err());
    let custom = BurnRateAlert::new("sms", 10.0, HOUR, 5 * MIN).unwrap();
    let slo = make().alerts([custom]).register(&r).unwrap();
    assert_eq!(slo.severities(), ["sms"]);
}

#[test]
fn scaled_down_divides_every_window() {
    let r = Registry::new();
    let c = Counter::new();
    let slo = Slo::errors_over_total("api", Source::counter("e", &c), Source::counter("t", &c))
        .scaled_down(60)
        .register(&r)
        .unwrap();
    assert_eq!(slo.period(), Duration::from_secs(12 * 3600));
    assert_eq!(slo.windows()[0], Duration::from_secs(5));
    assert_eq!(slo.alerts()[0].long(), MIN);
}

#[test]
fn thirty_days_of_history_fit_in_128_kib() {
    let s = setup();
    assert!(
        s.slo.history_bytes() <= 128 * 1024,
        "{}",
        s.slo.history_bytes()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the traffic, resets included: the budget is never above 1 nor below what
    /// the counts allow, burn rates are never negative, and the budget equals what the
    /// counts over the period say.
    #[test]
    fn budget_and_burn_stay_within_what_the_counts_allow(
        steps in prop::collection::vec((0u64..2000, 0u64..2000, any::<bool>(), 1u64..600), 1..60),
        objective in 0.5f64..0.9999,
    ) {
        let registry = Registry::new();
        let errors = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let total = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (e, t) = (errors.clone(), total.clone());
        let clock = ManualClock::new();
        let slo = Slo::errors_over_total(
            "p",
            Source::func("errors", move || e.load(std::sync::atomic::Ordering::Relaxed)),
            Source::func("total", move || t.load(std::sync::atomic::Ordering::Relaxed)),
        )
        .objective(objective)
        .clock(clock.clone())
        .register(&registry)
        .unwrap();
        slo.tick();
        let (mut bad_sum, mut all_sum) = (0u64, 0u64);
        for (all, bad, reset, secs) in steps {
            let bad = bad.min(all);
            use std::sync::atomic::Ordering::Relaxed;
            // What a reader can know: a value below the last one restarted from zero.
            let counted = |before: u64, now: u64| if now < before { now } else { now - before };
            let (e0, t0) = (errors.load(Relaxed), total.load(Relaxed));
            if reset {
                // A restart: both counters start again from zero.
                errors.store(bad, Relaxed);
                total.store(all, Relaxed);
            } else {
                errors.fetch_add(bad, Relaxed);
                total.fetch_add(all, Relaxed);
            }
            bad_sum += counted(e0, errors.load(Relaxed));
            all_sum += counted(t0, total.load(Relaxed));
            clock.advance(Duration::from_secs(secs));
            slo.tick();
            let left = slo.budget_remaining();
            let allowed = 1.0 - objective;
            prop_assert!(left <= 1.0);
            prop_assert!(left >= 1.0 - 1.0 / allowed - 1e-9, "{left}");
            for w in slo.windows() {
                let b = slo.burn_rate(*w);
                prop_assert!(b >= 0.0 && b.is_finite(), "{b}");
            }
        }
        // Every step is within the 30-day period: the budget is the counts' exactly.
        let expected = if all_sum == 0 { 1.0 } else { 1.0 - (bad_sum as f64 / all_sum as f64).min(1.0) / (1.0 - objective) };
        prop_assert!((slo.budget_remaining() - expected).abs() < 1e-9, "{} vs {expected}", slo.budget_remaining());
    }
}
