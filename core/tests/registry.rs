//! Registration rules, clashes, get-or-register and the read path's order and contents.

use prism_core::{
    Capped, Counter, CounterFn, Error, Family, FloatCounter, FloatGauge, Gauge, GaugeFn, Kind, Max,
    Metadata, Min, Registry, Value,
};

fn quiet() -> Registry {
    Registry::builder().self_telemetry(false).build()
}

#[test]
fn bad_names_are_errors_that_say_what_to_do() {
    let r = quiet();
    for (name, needle) in [
        ("", "empty"),
        ("1abc", "start with"),
        ("a-b", "may only hold"),
        ("__x", "reserved"),
        ("héllo", "may only hold"),
        ("requests_total", "without `_total`"),
    ] {
        let err = r.register(name, "h", Counter::new()).unwrap_err();
        assert!(
            matches!(err, Error::InvalidName { .. }),
            "{name:?}: {err:?}"
        );
        assert!(err.to_string().contains(needle), "{name:?}: {err}");
    }
    assert!(r.descriptors().is_empty(), "nothing half-registered");
}

#[test]
fn bad_label_names_are_refused_at_registration() {
    let r = quiet();
    for labels in [
        vec!["ok", "ok"],
        vec!["__x"],
        vec!["a b"],
        vec!["otel_metric_overflow"],
        vec![""],
    ] {
        let err = r
            .register("f", "h", Family::<Counter>::new(labels.clone()))
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidLabelName { .. }),
            "{labels:?}: {err:?}"
        );
    }
    assert!(r
        .register("f", "h", Family::<Counter>::new(["le", "code"]))
        .is_ok());
}

#[test]
fn help_and_unit_rules() {
    let r = quiet();
    let err = r.register("a", "nul\0here", Gauge::new()).unwrap_err();
    assert!(matches!(err, Error::InvalidHelp { .. }));
    let err = r
        .register(
            "b",
            &"x".repeat(prism_core::MAX_HELP_BYTES + 1),
            Gauge::new(),
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidHelp { .. }));
    assert!(r
        .register("c", "quotes \" and \\ and\nnewlines are fine", Gauge::new())
        .is_ok());

    let err = r
        .register_with(
            Metadata::new("latency", "h").unit("seconds"),
            FloatGauge::new(),
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidUnit { .. }));
    assert!(err.to_string().contains("_<unit>"));
    let err = r
        .register_with(
            Metadata::new("seconds", "h").unit("seconds"),
            FloatGauge::new(),
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidUnit { .. }),
        "the unit cannot be the whole name"
    );
    let err = r
        .register_with(Metadata::new("x_m/s", "h").unit("m/s"), FloatGauge::new())
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidName { .. } | Error::InvalidUnit { .. }
    ));
    let ok = r.register_with(
        Metadata::new("latency_seconds", "h").unit("seconds"),
        FloatGauge::new(),
    );
    assert!(ok.is_ok());
    assert_eq!(
        r.descriptors()
            .iter()
            .find(|d| d.name() == "latency_seconds")
            .unwrap()
            .unit(),
        Some("seconds")
    );
}

#[test]
fn duplicates_and_cross_format_clashes_are_errors() {
    let r = quiet();
    r.register("x", "h", Counter::new()).unwrap();
    assert_eq!(
        r.register("x", "h", Counter::new()).unwrap_err(),
        Error::AlreadyRegistered { name: "x".into() }
    );
    for clashing in ["x_total", "x_created"] {
        let err = r.register(clashing, "h", Gauge::new()).unwrap_err();
        assert!(
            matches!(&err, Error::Clash { existing, .. } if existing == "x"),
            "{err:?}"
        );
    }
    // The other way round: a gauge first, then a counter whose `_total` would collide.
    r.register("y_total", "h", Gauge::new()).unwrap();
    let err = r.register("y", "h", Counter::new()).unwrap_err();
    assert!(
        matches!(&err, Error::Clash { exposed, .. } if exposed == "y_total"),
        "{err:?}"
    );
    // Unregistering frees every name the family held.
    assert!(r.unregister("x"));
    assert!(!r.unregister("x"));
    r.register("x_total", "h", Gauge::new()).unwrap();
}

#[test]
fn self_telemetry_names_are_reserved_only_when_it_is_on() {
    let r = Registry::new();
    let err = r.register("prism_series", "h", Gauge::new()).unwrap_err();
    assert!(err.to_string().contains("self-telemetry"), "{err}");
    let err = r
        .register("prism_updates_total", "h", Gauge::new())
        .unwrap_err();
    assert!(matches!(err, Error::Clash { .. }), "{err:?}");
    assert!(quiet().register("prism_series", "h", Gauge::new()).is_ok());
}

#[test]
fn get_or_register_shares_or_explains() {
    let r = quiet();
    let a = r
        .get_or_register("jobs", "h", || Family::<Counter>::new(["queue"]))
        .unwrap();
    let b = r
        .get_or_register("jobs", "h", || Family::<Counter>::new(["queue"]))
        .unwrap();
    a.get(&["q1"]).inc();
    assert_eq!(b.get(&["q1"]).get(), 1, "the same family came back");

    let err = r
        .get_or_register("jobs", "h", || Family::<Counter>::new(["other"]))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Mismatch { reason, .. } if reason.contains("label names")),
        "{err:?}"
    );
    let err = r
        .get_or_register("jobs", "h", || Family::<Gauge>::new(["queue"]))
        .unwrap_err();
    assert!(matches!(err, Error::Mismatch { .. }));
    let err = r.get_or_register("jobs", "h", Counter::new).unwrap_err();
    assert!(matches!(err, Error::Mismatch { .. }));
    let err = r
        .get_or_register_with(Metadata::new("jobs", "h").unit("x"), || {
            Family::<Counter>::new(["queue"])
        })
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Mismatch { .. } | Error::InvalidUnit { .. }
    ));
}

#[test]
fn every_kind_reads_through_the_registry() {
    let r = quiet();
    r.register("a_counter", "h", Counter::new())
        .unwrap()
        .add(1 << 60);
    r.register("b_float_counter", "h", FloatCounter::new())
        .unwrap()
        .add(1.5);
    r.register("c_gauge", "h", Gauge::new()).unwrap().set(-4);
    r.register("d_float_gauge", "h", FloatGauge::new())
        .unwrap()
        .set(f64::INFINITY);
    r.register("e_max", "h", Max::new()).unwrap().observe(9);
    r.register("f_min", "h", Min::new()).unwrap().observe(-9);
    let capped = r.register("g_capped", "h", Capped::new(1)).unwrap();
    assert!(capped.try_inc() && !capped.try_inc());
    r.register("h_counter_fn", "h", CounterFn::new(|| 5u64))
        .unwrap();
    r.register("i_gauge_fn", "h", GaugeFn::new(|| 2.5)).unwrap();
    r.register("j_family", "h", Family::<Gauge>::new(["k"]))
        .unwrap()
        .get(&["v"])
        .set(3);

    let snap = r.snapshot();
    let names: Vec<&str> = snap.families.iter().map(|f| f.descriptor.name()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "families come in name order");
    let value = |name: &str| snap.family(name).unwrap().series[0].value.clone();
    assert_eq!(value("a_counter"), Value::Counter(1 << 60));
    assert_eq!(value("b_float_counter"), Value::CounterF64(1.5));
    assert_eq!(value("c_gauge"), Value::Gauge(-4));
    assert_eq!(value("d_float_gauge"), Value::GaugeF64(f64::INFINITY));
    assert_eq!(value("e_max"), Value::Gauge(9));
    assert_eq!(value("f_min"), Value::Gauge(-9));
    assert_eq!(value("g_capped"), Value::Counter(1));
    assert_eq!(value("h_counter_fn"), Value::Counter(5));
    assert_eq!(value("i_gauge_fn"), Value::GaugeF64(2.5));
    let fam = snap.family("j_family").unwrap();
    assert_eq!(fam.descriptor.label_names(), ["k"]);
    assert_eq!(fam.descriptor.kind(), Kind::Gauge);
    assert_eq!(fam.series(&["v"]).unwrap().value, Value::Gauge(3));
    assert_eq!(
        snap.family("a_counter").unwrap().descriptor.kind(),
        Kind::Counter
    );
    for f in &snap.families {
        for s in &f.series {
            assert!(
                s.created_unix_nanos > 1_600_000_000_000_000_000,
                "{}: start time set",
                f.descriptor.name()
            );
        }
    }
}

#[test]
fn self_telemetry_reports_families_series_refusals_and_updates() {
    let r = Registry::new();
    let c = r.register("hits", "h", Counter::new()).unwrap();
    let f = r
        .register(
            "by_user",
            "h",
            Family::<Counter>::builder(["user"])
                .cardinality_limit(2)
                .build()
                .unwrap(),
        )
        .unwrap();
    r.register("level", "h", Gauge::new()).unwrap().set(100);
    c.add(10);
    for user in ["a", "b", "c", "d", "a"] {
        f.get(&[user]).inc();
    }
    let snap = r.snapshot();
    let names: Vec<&str> = snap.families.iter().map(|f| f.descriptor.name()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "self-telemetry is merged into name order");
    assert!(names.contains(&"prism_series") && names.contains(&"by_user"));
    let one = |name: &str, labels: &[&str]| {
        snap.family(name)
            .unwrap()
            .series(labels)
            .unwrap()
            .value
            .clone()
    };
    assert_eq!(one("prism_families", &[]), Value::Gauge(3));
    assert_eq!(
        one("prism_series", &["by_user"]),
        Value::Gauge(3),
        "2 live + overflow"
    );
    assert_eq!(one("prism_series", &["hits"]), Value::Gauge(1));
    assert_eq!(
        one("prism_cardinality_limit", &["by_user"]),
        Value::Gauge(2)
    );
    assert_eq!(
        one("prism_refused_label_sets", &["by_user"]),
        Value::Counter(2)
    );
    assert_eq!(
        one("prism_updates", &[]),
        Value::Counter(15),
        "10 + 5 family increments; gauges not counted"
    );
    assert!(snap
        .family("prism_refused_label_sets")
        .unwrap()
        .series(&["hits"])
        .is_none());
    let overflow = snap.family("by_user").unwrap().overflow().unwrap();
    assert_eq!(overflow.value, Value::Counter(2));
    assert!(overflow.label_values.is_empty());
}

#[test]
fn the_default_registry_is_one_process_wide_registry() {
    let a = prism_core::default_registry();
    let c = a
        .get_or_register("registry_test_default_hits", "h", Counter::new)
        .unwrap();
    c.inc();
    let b = prism_core::default_registry();
    assert_eq!(
        b.snapshot()
            .family("registry_test_default_hits")
            .unwrap()
            .series[0]
            .value,
        Value::Counter(1)
    );
}
