//! Registration through a `Scope`: prefixes join, constant labels accumulate and lead every
//! series' labels, and every refusal is an error that says what to do.

use prism_core::{Counter, Error, Family, Gauge, Histogram, Registry, MAX_CONST_LABELS};

#[test]
fn prefixes_join_and_labels_accumulate() {
    let registry = Registry::new();
    let lib = registry.scoped().prefix("mylib").unwrap();
    let inner = lib
        .label("instance", "a")
        .unwrap()
        .prefix("pool")
        .unwrap()
        .label("pool", "main")
        .unwrap();
    inner
        .register("open", "Open.", Family::<Gauge>::new(["state"]))
        .unwrap()
        .get(&["idle"])
        .set(3);
    lib.register("plain", "No labels.", Counter::new())
        .unwrap()
        .inc();
    let read = registry.snapshot();
    let open = read.family("mylib_pool_open").unwrap();
    assert_eq!(open.descriptor.label_names(), ["instance", "pool", "state"]);
    assert_eq!(
        open.descriptor.const_labels().collect::<Vec<_>>(),
        [("instance", "a"), ("pool", "main")]
    );
    assert_eq!(open.series[0].label_values, ["a", "main", "idle"]);
    let plain = read.family("mylib_plain").unwrap();
    assert!(plain.descriptor.label_names().is_empty());
    assert_eq!(plain.descriptor.const_labels().len(), 0);
    assert_eq!(inner.full_name("x"), "mylib_pool_x");
}

#[test]
fn a_scope_without_prefix_or_labels_registers_as_the_registry_does() {
    let registry = Registry::new();
    registry
        .scoped()
        .register("jobs", "Jobs.", Counter::new())
        .unwrap();
    let err = registry
        .register("jobs", "Jobs.", Counter::new())
        .unwrap_err();
    assert!(matches!(err, Error::AlreadyRegistered { .. }), "{err}");
}

#[test]
fn the_overflow_series_carries_the_constant_labels_alone() {
    let registry = Registry::new();
    let scope = registry.scoped().label("instance", "a").unwrap();
    let f = scope
        .register(
            "jobs",
            "Jobs.",
            Family::<Counter>::builder(["k"])
                .cardinality_limit(1)
                .build()
                .unwrap(),
        )
        .unwrap();
    f.get(&["a"]).inc();
    f.get(&["b"]).add(2);
    let read = registry.snapshot();
    let overflow = read.family("jobs").unwrap().overflow().unwrap();
    assert!(overflow.overflow);
    assert_eq!(overflow.label_values, ["a"]);
    assert_eq!(overflow.value, prism_core::Value::Counter(2));
}

#[test]
fn a_family_label_clashing_with_a_constant_label_is_refused() {
    let registry = Registry::new();
    let scope = registry.scoped().label("instance", "a").unwrap();
    let err = scope
        .register(
            "jobs",
            "Jobs.",
            Family::<Counter>::new(["kind", "instance"]),
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidLabelName { family, label, .. } if family == "jobs" && label == "instance"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("rename the family's label"),
        "{err}"
    );
    assert!(registry.snapshot().family("jobs").is_none());
}

#[test]
fn reserved_labels_hold_for_constant_labels_too() {
    let registry = Registry::new();
    let scope = registry.scoped().label("le", "x").unwrap();
    let err = scope
        .register("latency", "Latency.", Histogram::new())
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidLabelName { label, .. } if label == "le"),
        "{err:?}"
    );
    scope
        .register("ok", "A counter may.", Counter::new())
        .unwrap();
}

#[test]
fn bad_prefixes_and_labels_are_refused_with_what_to_do() {
    let registry = Registry::new();
    let scope = registry.scoped();
    for prefix in ["", "9lib", "my-lib", "__lib"] {
        assert!(
            matches!(scope.prefix(prefix), Err(Error::InvalidName { .. })),
            "{prefix:?}"
        );
    }
    let a = scope.label("instance", "a").unwrap();
    let err = a.prefix("lib").unwrap().label("instance", "b").unwrap_err();
    assert!(
        matches!(&err, Error::InvalidConstLabel { label, .. } if label == "instance"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("give this label another name"),
        "{err}"
    );
    for (name, value) in [
        ("", "v"),
        ("__x", "v"),
        ("a-b", "v"),
        (prism_core::OVERFLOW_LABEL, "v"),
        ("nul", "a\0b"),
    ] {
        assert!(
            matches!(
                scope.label(name, value),
                Err(Error::InvalidConstLabel { .. })
            ),
            "{name:?}={value:?}"
        );
    }
    let long = "x".repeat(prism_core::MAX_LABEL_VALUE_BYTES + 1);
    assert!(scope.label("long", &long).is_err());
    let mut full = scope.clone();
    for i in 0..MAX_CONST_LABELS {
        full = full.label(&format!("l{i}"), "v").unwrap();
    }
    assert!(full.label("one_more", "v").is_err());
}

#[test]
fn names_stay_unique_across_scopes() {
    let registry = Registry::new();
    let a = registry
        .scoped()
        .prefix("lib")
        .unwrap()
        .label("i", "a")
        .unwrap();
    let b = registry
        .scoped()
        .prefix("lib")
        .unwrap()
        .label("i", "b")
        .unwrap();
    a.register("hits", "Hits.", Counter::new()).unwrap();
    let err = b.register("hits", "Hits.", Counter::new()).unwrap_err();
    assert!(
        matches!(&err, Error::AlreadyRegistered { name } if name == "lib_hits"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("give each its own prefix"),
        "{err}"
    );
    // get_or_register reuses only with the same constant labels.
    let err = b
        .get_or_register("hits", "Hits.", Counter::new)
        .unwrap_err();
    assert!(
        matches!(&err, Error::Mismatch { reason, .. } if reason.contains("constant labels")),
        "{err:?}"
    );
    let again = a.get_or_register("hits", "Hits.", Counter::new).unwrap();
    again.inc();
    assert_eq!(
        registry.snapshot().family("lib_hits").unwrap().series[0].value,
        prism_core::Value::Counter(1)
    );
    assert!(a.unregister("hits"));
    assert!(registry.snapshot().family("lib_hits").is_none());
}
