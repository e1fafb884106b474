//! Families registered through a [`Scope`](prism_core::Scope) reach every format under
//! their prefixed names with the scope's constant labels on every series (the overflow
//! series excepted, which carries its marker alone), and the formats agree.

use prism_conformance::read::{Schema, Unknown};
use prism_conformance::{assert_conformant, Format, Labels, Number, Point};
use prism_core::{Counter, Family, Gauge, Histogram, Registry};

fn registry() -> Registry {
    let registry = Registry::new();
    let scope = registry
        .scoped()
        .prefix("mylib")
        .unwrap()
        .label("instance", "a")
        .unwrap();
    scope
        .register("restarts", "Restarts.", Counter::new())
        .unwrap()
        .add(2);
    let errors = scope
        .register(
            "errors",
            "Errors by kind.",
            Family::<Counter>::builder(["kind"])
                .cardinality_limit(2)
                .build()
                .unwrap(),
        )
        .unwrap();
    errors.get(&["timeout"]).add(3);
    errors.get(&["reset"]).inc();
    errors.get(&["refused"]).add(5); // past the limit: the overflow series
    let pool = scope.prefix("pool").unwrap().label("pool", "main").unwrap();
    pool.register("open", "Open connections.", Gauge::new())
        .unwrap()
        .set(4);
    pool.register("wait", "Waits.", Histogram::new())
        .unwrap()
        .record(200);
    registry
}

#[test]
fn every_format_agrees_on_scoped_families() {
    assert_conformant(&registry());
}

#[test]
fn every_format_prints_the_prefix_and_the_constant_labels() {
    let registry = registry();
    let schema = Schema::of_registry(&registry);
    for format in Format::ALL {
        let bytes = format.render(&registry);
        let samples = format
            .read(&bytes, &schema, Unknown::Error)
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        let point = |family: &str, labels: Labels| {
            samples
                .family(family)
                .unwrap_or_else(|| panic!("{format}: no family {family}"))
                .series
                .get(&labels)
                .unwrap_or_else(|| panic!("{format}: no {family} {labels:?}"))
                .point
                .clone()
        };
        let int = |n: i128| Point::Number(Number::Int(n));
        assert_eq!(
            point("mylib_restarts", Labels::new([("instance", "a")])),
            int(2),
            "{format}"
        );
        assert_eq!(
            point(
                "mylib_errors",
                Labels::new([("instance", "a"), ("kind", "timeout")])
            ),
            int(3),
            "{format}"
        );
        assert_eq!(
            point("mylib_errors", Labels::overflow()),
            int(5),
            "{format}"
        );
        assert_eq!(
            point(
                "mylib_pool_open",
                Labels::new([("instance", "a"), ("pool", "main")])
            ),
            int(4),
            "{format}"
        );
        assert!(
            matches!(
                point(
                    "mylib_pool_wait",
                    Labels::new([("instance", "a"), ("pool", "main")])
                ),
                Point::Histogram { count: 1, .. }
            ),
            "{format}"
        );
        // Self-telemetry names the family by its full name.
        assert_eq!(
            point("prism_series", Labels::new([("family", "mylib_errors")])),
            int(3),
            "{format}"
        );
    }
}
